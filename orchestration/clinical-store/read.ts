// The merged clinical view of a golden patient: the items of every source record linked to it
// (the MPI's source_record), one entry per fact, keyset-paged, in one SQL statement per page
// whatever the number of source records. Items of two sources that state the same fact (same
// fact_key: type, standard code, instant and normalized value) come back once, with both lineages.
// An item its source marked entered-in-error, or no longer returns, is left out.
import type { Queryable } from '../../platform/db.ts';
import type { ClinicalResourceType, FhirJson } from '../../translation/fhir-r4/clinical-fields.ts';
import type { TranslationIssue } from '../../translation/issues.ts';
import type { Lineage } from '../../translation/lineage.ts';

export type MergedQuery = {
  readonly goldenId: string;
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
  readonly effective: { readonly instant: string; readonly precision: string } | null;
  readonly value: { readonly value: number | null; readonly unit: string | null } | null;
  /** The canonical resource of the first source (by source id): sources agree on the fact, not on every detail. */
  readonly resource: FhirJson;
  readonly flags: readonly TranslationIssue[];
  /** One per source item stating the fact. */
  readonly provenance: readonly Lineage[];
};

export type MergedPage = { readonly items: readonly MergedItem[]; readonly endCursor: string | null; readonly hasNextPage: boolean };

export const MAX_PAGE = 200;
const NO_TIME = '-infinity';

type Cursor = readonly [string, string];
const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');
function decodeCursor(text: string): Cursor {
  const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
  if (!Array.isArray(c) || c.length !== 2 || !c.every((x) => typeof x === 'string')) throw new Error('invalid cursor');
  return c as unknown as Cursor;
}

// Items are sorted newest first; one without a time sorts last (as -infinity).
const SORT = `coalesce(i.effective_at, '${NO_TIME}'::timestamptz)`;
const first = (column: string): string => `(array_agg(i.${column} ORDER BY i.source, i.resource_id))[1] AS ${column}`;

const MERGED = `SELECT i.fact_key, ${SORT} AS sort_at, ${first('resource_type')}, ${first('code_system')}, ${first('code')},
    ${first('effective_at')}, ${first('effective_precision')}, ${first('value_num')}, ${first('value_unit')},
    ${first('resource')}, ${first('flags')}, jsonb_agg(i.lineage ORDER BY i.source, i.resource_id) AS provenance
  FROM source_record s
  JOIN clinical_item i ON i.source = s.source AND i.subject_id = s.source_patient_id
  WHERE s.golden_id = $1::uuid AND s.deleted_at IS NULL AND NOT i.entered_in_error AND i.deleted_at IS NULL
    AND i.resource_type = ANY($2::text[])
    AND ($3::text IS NULL OR i.codes @> ARRAY[$3::text])
    AND ($4::timestamptz IS NULL OR i.effective_at >= $4::timestamptz)
    AND ($5::timestamptz IS NULL OR i.effective_at < $5::timestamptz)
    AND ($6::timestamptz IS NULL OR ${SORT} < $6::timestamptz OR (${SORT} = $6::timestamptz AND i.fact_key > $7::text))
  GROUP BY i.fact_key, ${SORT}
  ORDER BY ${SORT} DESC, i.fact_key
  LIMIT $8`;

type Row = {
  fact_key: string;
  sort_at: unknown;
  resource_type: ClinicalResourceType;
  code_system: string | null;
  code: string | null;
  effective_at: Date | string | null;
  effective_precision: string | null;
  value_num: string | number | null;
  value_unit: string | null;
  resource: FhirJson;
  flags: TranslationIssue[];
  provenance: Lineage[];
};

const iso = (v: Date | string): string => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

const toItem = (r: Row): MergedItem => ({
  factKey: r.fact_key,
  resourceType: r.resource_type,
  code: r.code === null ? null : { system: r.code_system, code: r.code },
  effective: r.effective_at === null ? null : { instant: iso(r.effective_at), precision: r.effective_precision ?? 'unknown' },
  value:
    r.value_num === null && r.value_unit === null ? null : { value: r.value_num === null ? null : Number(r.value_num), unit: r.value_unit },
  resource: r.resource,
  flags: r.flags,
  provenance: r.provenance,
});

/** One page of a golden patient's merged items of the given types (one SQL statement). */
export async function mergedItems(db: Queryable, q: MergedQuery): Promise<MergedPage> {
  const limit = Math.max(1, Math.min(q.first, MAX_PAGE));
  const after = q.after ? decodeCursor(q.after) : undefined;
  const rows = (
    await db.query<Row>(MERGED, [
      q.goldenId,
      q.types,
      q.code ?? null,
      q.from ?? null,
      q.to ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      limit + 1,
    ])
  ).rows;
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const lastSort = last ? (last.effective_at === null ? NO_TIME : iso(last.effective_at)) : null;
  return {
    items: page.map(toItem),
    endCursor: last && lastSort ? encodeCursor([lastSort, last.fact_key]) : null,
    hasNextPage: rows.length > limit,
  };
}
