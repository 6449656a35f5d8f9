// The merged clinical view of a golden patient: the items of every source record linked to it
// (the MPI's source_record), one entry per fact, keyset-paged, in one SQL statement per page
// whatever the number of source records (and, with mergedItemsFor, whatever the number of
// patients). Items of two sources that state the same fact (same fact_key: type, standard code,
// instant and normalized value) come back once, with both lineages.
// An item its source marked entered-in-error, or no longer returns, is left out.
import type { Queryable } from '../../platform/db.ts';
import { mainConcept, type ClinicalResourceType, type FhirJson } from '../../translation/fhir-r4/clinical-fields.ts';
import type { CanonicalItem } from '../../translation/fhir-r4/clinical-item.ts';
import type { TranslationIssue } from '../../translation/issues.ts';
import { TRANSFORMATION_KIND, type Lineage } from '../../translation/lineage.ts';
import type { Coding } from '../../translation/terminology/translate.ts';

export type MergedQuery = {
  readonly goldenId: string;
} & MergedFilter;

/** What a page asks for, the same for every patient of a batch. */
export type MergedFilter = {
  readonly types: readonly ClinicalResourceType[];
  /** `system|code`: any coding of the item (standard or as sent). */
  readonly code?: string;
  /** Instants; `from` inclusive, `to` exclusive. */
  readonly from?: string;
  readonly to?: string;
  readonly first: number;
  readonly after?: string;
};

export type MergedItem = {
  readonly factKey: string;
  readonly resourceType: ClinicalResourceType;
  readonly code: { readonly system: string | null; readonly code: string } | null;
  /** Every coding of the main concept kept (of the first source): what concept maps gave, then the codings as sent. */
  readonly codings: readonly Coding[];
  /** The codings as the source sent them (not produced by a concept map). */
  readonly originalCodings: readonly Coding[];
  readonly effective: { readonly instant: string; readonly precision: string } | null;
  /** Normalized (preferred UCUM unit), with the value and unit as that first source sent them. */
  readonly value: CanonicalItem['value'];
  /**
   * The canonical resource of the first source (one that needed no unit conversion, then by source id): sources
   * agree on the fact, not on every detail.
   */
  readonly resource: FhirJson;
  readonly flags: readonly TranslationIssue[];
  /** One per source item stating the fact. */
  readonly provenance: readonly Lineage[];
  /** Where a page that ends with this item goes on (`after`). */
  readonly cursor: string;
};

export type MergedPage = { readonly items: readonly MergedItem[]; readonly endCursor: string | null; readonly hasNextPage: boolean };

export const MAX_PAGE = 200;
const NO_TIME = '-infinity';

type Cursor = readonly [string, string];
const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The cursor's position, or undefined when it is not one this module wrote (its instant goes into SQL). */
function parseCursor(text: string): Cursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(c) || c.length !== 2 || !c.every((x) => typeof x === 'string')) return undefined;
    const [at, key] = c as [string, string];
    return (at === NO_TIME || (INSTANT.test(at) && !Number.isNaN(Date.parse(at)))) && /^[0-9a-f]{1,64}$/.test(key) ? [at, key] : undefined;
  } catch {
    return undefined;
  }
}

export const isMergedCursor = (text: string): boolean => parseCursor(text) !== undefined;

function decodeCursor(text: string): Cursor {
  const c = parseCursor(text);
  if (!c) throw new Error('invalid cursor');
  return c;
}

// Items are sorted newest first; one without a time sorts last (as -infinity).
const SORT = `coalesce(i.effective_at, '${NO_TIME}'::timestamptz)`;
// The item shown for a fact is the first source's that stated it without a unit conversion (76 mg/dL rather than
// 4.22 mmol/L converted to 76.03), then by source id.
const CONVERTED = `(i.lineage->'transformations') @> '[{"kind": "${TRANSFORMATION_KIND.unitConversion}"}]'`;
const first = (column: string): string => `(array_agg(i.${column} ORDER BY ${CONVERTED}, i.source, i.resource_id))[1] AS ${column}`;

// One page per requested patient (LATERAL), all in one statement.
const MERGED = `SELECT p.golden_id::text AS golden_id, m.* FROM unnest($1::uuid[]) AS p(golden_id) CROSS JOIN LATERAL (
  SELECT i.fact_key, ${SORT} AS sort_at, ${first('resource_type')}, ${first('code_system')}, ${first('code')},
    ${first('effective_at')}, ${first('effective_precision')}, ${first('value_num')}, ${first('value_unit')},
    ${first('original_value')}, ${first('original_unit')},
    ${first('resource')}, ${first('flags')}, jsonb_agg(i.lineage ORDER BY i.source, i.resource_id) AS provenance
  FROM source_record s
  JOIN clinical_item i ON i.source = s.source AND i.subject_id = s.source_patient_id
  WHERE s.golden_id = p.golden_id AND s.deleted_at IS NULL AND NOT i.entered_in_error AND i.deleted_at IS NULL
    AND i.resource_type = ANY($2::text[])
    AND ($3::text IS NULL OR i.codes @> ARRAY[$3::text])
    AND ($4::timestamptz IS NULL OR i.effective_at >= $4::timestamptz)
    AND ($5::timestamptz IS NULL OR i.effective_at < $5::timestamptz)
    AND ($6::timestamptz IS NULL OR ${SORT} < $6::timestamptz OR (${SORT} = $6::timestamptz AND i.fact_key > $7::text))
  GROUP BY i.fact_key, ${SORT}
  ORDER BY ${SORT} DESC, i.fact_key
  LIMIT $8) m
  ORDER BY p.golden_id, m.sort_at DESC, m.fact_key`;

type Row = {
  golden_id: string;
  fact_key: string;
  sort_at: unknown;
  resource_type: ClinicalResourceType;
  code_system: string | null;
  code: string | null;
  effective_at: Date | string | null;
  effective_precision: string | null;
  value_num: string | number | null;
  value_unit: string | null;
  original_value: string | null;
  original_unit: string | null;
  resource: FhirJson;
  flags: TranslationIssue[];
  provenance: Lineage[];
};

const iso = (v: Date | string): string => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

const sortKey = (r: Row): string => (r.effective_at === null ? NO_TIME : iso(r.effective_at));

const token = (c: Coding): string => `${c.system ?? ''}|${c.code ?? ''}`;

/** The main concept's codings, and which of them the source sent: a concept map's output is named by the lineage. */
function codingsOf(
  resource: FhirJson,
  type: ClinicalResourceType,
  lineage: Lineage | undefined,
): Pick<MergedItem, 'codings' | 'originalCodings'> {
  const concept = mainConcept(resource, type)?.value as { coding?: unknown } | undefined;
  const codings = Array.isArray(concept?.coding) ? (concept.coding as Coding[]).filter((c) => c && typeof c === 'object') : [];
  const mapped = (lineage?.transformations ?? []).filter((t) => t.kind === TRANSFORMATION_KIND.conceptMap);
  const produced = new Set(mapped.map((t) => t.to));
  const sent = new Set(mapped.map((t) => t.from));
  return { codings, originalCodings: codings.filter((c) => sent.has(token(c)) || !produced.has(token(c))) };
}

const toItem = (r: Row): MergedItem => ({
  factKey: r.fact_key,
  resourceType: r.resource_type,
  code: r.code === null ? null : { system: r.code_system, code: r.code },
  ...codingsOf(r.resource, r.resource_type, r.provenance[0]),
  effective: r.effective_at === null ? null : { instant: iso(r.effective_at), precision: r.effective_precision ?? 'unknown' },
  value:
    r.value_num === null && r.value_unit === null && r.original_value === null && r.original_unit === null
      ? null
      : {
          value: r.value_num === null ? null : Number(r.value_num),
          unit: r.value_unit,
          originalValue: r.original_value,
          originalUnit: r.original_unit,
        },
  resource: r.resource,
  flags: r.flags,
  provenance: r.provenance,
  cursor: encodeCursor([sortKey(r), r.fact_key]),
});

/** One page of a golden patient's merged items of the given types (one SQL statement). */
export async function mergedItems(db: Queryable, q: MergedQuery): Promise<MergedPage> {
  const { goldenId, ...filter } = q;
  return (await mergedItemsFor(db, [goldenId], filter)).get(goldenId.toLowerCase())!;
}

/**
 * One page for each of these golden patients (lower-case UUIDs), the same filter for all: one SQL
 * statement whatever the number of patients and of their source records. Every id requested has a
 * page in the result, empty when it has no items.
 */
export async function mergedItemsFor(db: Queryable, goldenIds: readonly string[], q: MergedFilter): Promise<Map<string, MergedPage>> {
  const ids = [...new Set(goldenIds.map((id) => id.toLowerCase()))];
  const pages = new Map<string, MergedPage>();
  if (ids.length === 0) return pages;
  const limit = Math.max(1, Math.min(q.first, MAX_PAGE));
  const after = q.after ? decodeCursor(q.after) : undefined;
  const rows = (
    await db.query<Row>(MERGED, [
      ids,
      q.types,
      q.code ?? null,
      q.from ?? null,
      q.to ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      limit + 1,
    ])
  ).rows;
  const byPatient = new Map<string, Row[]>();
  for (const r of rows) {
    const list = byPatient.get(r.golden_id);
    if (list) list.push(r);
    else byPatient.set(r.golden_id, [r]);
  }
  for (const id of ids) {
    const all = byPatient.get(id) ?? [];
    const items = all.slice(0, limit).map(toItem);
    pages.set(id, { items, endCursor: items.at(-1)?.cursor ?? null, hasNextPage: all.length > limit });
  }
  return pages;
}
