// Impact queries over lineage: every stored item derived from one inbound message, one source
// resource, or one concept-map (or unit rules) version, with the golden patient each touched.
// One statement a page (keyset on the item id), served by clinical_item's message_id and
// map_ids indexes and its (source, resource_type, resource_id) key.
import type { Queryable } from '../../platform/db.ts';
import type { LoadedConceptMap } from '../../translation/terminology/concept-maps.ts';

export type ImpactSelector =
  | { readonly messageId: string }
  | { readonly mapId: string }
  | { readonly source: string; readonly resourceType: string; readonly resourceId: string };

export type ImpactRow = {
  readonly source: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly version: string;
  /** The source patient the item is about (source_record.source_patient_id). */
  readonly subjectId: string;
  /** The golden patient of the item's source record; null while the record is not linked. */
  readonly goldenId: string | null;
};

export type ImpactPage = { readonly items: readonly ImpactRow[]; readonly endCursor: string | null; readonly hasNextPage: boolean };

function where(s: ImpactSelector): { readonly sql: string; readonly params: readonly string[] } {
  if ('messageId' in s) return { sql: 'i.message_id = $1', params: [s.messageId] };
  if ('mapId' in s) return { sql: 'i.map_ids @> ARRAY[$1::text]', params: [s.mapId] };
  return { sql: 'i.source = $1 AND i.resource_type = $2 AND i.resource_id = $3', params: [s.source, s.resourceType, s.resourceId] };
}

export async function derivedFrom(db: Queryable, selector: ImpactSelector, first = 100, after?: string): Promise<ImpactPage> {
  const w = where(selector);
  const n = w.params.length;
  const size = Math.max(1, Math.min(first, 1000));
  // One row more than asked says whether there is a next page.
  const fetched = (
    await db.query<{
      id: string;
      source: string;
      resource_type: string;
      resource_id: string;
      version: string;
      subject_id: string;
      golden_id: string | null;
    }>(
      `SELECT i.id::text, i.source, i.resource_type, i.resource_id, i.version, i.subject_id, s.golden_id::text
       FROM clinical_item i
       LEFT JOIN source_record s ON s.source = i.source AND s.source_patient_id = i.subject_id AND s.deleted_at IS NULL
       WHERE ${w.sql} AND i.id > $${n + 1}::bigint
       ORDER BY i.id LIMIT $${n + 2}`,
      [...w.params, after ?? '0', size + 1],
    )
  ).rows;
  const rows = fetched.slice(0, size);
  return {
    items: rows.map((r) => ({
      source: r.source,
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      version: r.version,
      subjectId: r.subject_id,
      goldenId: r.golden_id,
    })),
    endCursor: rows.at(-1)?.id ?? null,
    hasNextPage: fetched.length > size,
  };
}

/**
 * The golden patients everything derived from the selector touched, distinct, at most `limit`
 * (`complete` false when there are more). A source Patient resource touches its own golden record.
 */
export async function goldenPatientsTouched(
  db: Queryable,
  selector: ImpactSelector,
  limit = 1000,
): Promise<{ readonly ids: readonly string[]; readonly complete: boolean }> {
  const w = where(selector);
  const n = w.params.length;
  const patient =
    'resourceType' in selector && selector.resourceType === 'Patient'
      ? `UNION SELECT golden_id FROM source_record WHERE source = $1 AND source_patient_id = $3 AND deleted_at IS NULL`
      : '';
  const rows = (
    await db.query<{ golden_id: string }>(
      `SELECT golden_id::text FROM (
         SELECT s.golden_id FROM clinical_item i
         JOIN source_record s ON s.source = i.source AND s.source_patient_id = i.subject_id AND s.deleted_at IS NULL
         WHERE ${w.sql} ${patient}) g
       WHERE golden_id IS NOT NULL ORDER BY 1 LIMIT $${n + 1}`,
      [...w.params, limit + 1],
    )
  ).rows;
  return { ids: rows.slice(0, limit).map((r) => r.golden_id), complete: rows.length <= limit };
}

/**
 * The map id lineage records (`url|version`) for a concept map named by its id or its canonical
 * url; an id no loaded map has is taken as a url only when it looks like one (a map since removed).
 */
export function conceptMapLineageId(
  ref: { readonly id: string; readonly version: string },
  maps: readonly LoadedConceptMap[],
): string | null {
  const byId = maps.find((m) => m.map.id === ref.id);
  if (byId) return `${byId.map.url}|${ref.version}`;
  return /^[a-z][a-z0-9+.-]*:/i.test(ref.id) ? `${ref.id}|${ref.version}` : null;
}
