// Freshness bookkeeping and per-source reads of the store. A retrieval is one read of a
// connection's list of one resource type for one patient (clinical_retrieval): when it happened
// and whether it was complete. The read-through serves a list from the store while its last
// retrieval is younger than the connection's TTL, and says how old it is when the EHR cannot be
// asked. One statement a batch of patients, whatever its size.
import type { Queryable } from '../../platform/db.ts';
import type { ClinicalResourceType, FhirJson } from '../../translation/fhir-r4/clinical-fields.ts';
import type { Lineage } from '../../translation/lineage.ts';

/** Why the last retrieval of a list was incomplete (see protocol/fhir/client.ts SearchResult). */
export type RetrievalTruncation = {
  readonly returned: number;
  readonly total: number | null;
  readonly maxPages: number;
  readonly stoppedBy: 'pages' | 'deadline';
};

export type Retrieval = {
  readonly patientId: string;
  readonly retrievedAt: string;
  /** Absent when every page was read. */
  readonly truncated?: RetrievalTruncation;
};

/** Records retrievals of one connection's lists of one type (newer ones win; an older one arriving late is ignored). */
export async function recordRetrievals(
  db: Queryable,
  source: string,
  type: ClinicalResourceType,
  retrievals: readonly Retrieval[],
): Promise<void> {
  if (retrievals.length === 0) return;
  const rows = retrievals.map((r) => ({
    p: r.patientId,
    at: r.retrievedAt,
    c: r.truncated === undefined,
    n: r.truncated?.returned ?? null,
    t: r.truncated?.total ?? null,
    m: r.truncated?.maxPages ?? null,
    s: r.truncated?.stoppedBy ?? null,
  }));
  await db.query(
    `INSERT INTO clinical_retrieval AS r (source, resource_type, patient_id, retrieved_at, complete, returned, total, max_pages, stopped_by)
     SELECT DISTINCT ON (x.p) $1, $2, x.p, x.at, x.c, x.n, x.t, x.m, x.s
     FROM jsonb_to_recordset($3::jsonb) AS x(p text, at timestamptz, c boolean, n int, t int, m int, s text)
     ORDER BY x.p, x.at DESC
     ON CONFLICT (source, resource_type, patient_id) DO UPDATE SET
       retrieved_at = excluded.retrieved_at, complete = excluded.complete, returned = excluded.returned,
       total = excluded.total, max_pages = excluded.max_pages, stopped_by = excluded.stopped_by
     WHERE r.retrieved_at <= excluded.retrieved_at`,
    [source, type, JSON.stringify(rows)],
  );
}

type RetrievalRow = {
  patient_id: string;
  retrieved_at: Date | string;
  complete: boolean;
  returned: number | null;
  total: number | null;
  max_pages: number | null;
  stopped_by: string | null;
};

const iso = (v: Date | string): string => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

/** The last retrieval of each patient's list that has one. */
export async function lastRetrievals(
  db: Queryable,
  source: string,
  type: ClinicalResourceType,
  patientIds: readonly string[],
): Promise<Map<string, Retrieval>> {
  const rows = (
    await db.query<RetrievalRow>(
      `SELECT patient_id, retrieved_at, complete, returned, total, max_pages, stopped_by FROM clinical_retrieval
       WHERE source = $1 AND resource_type = $2 AND patient_id = ANY($3::text[])`,
      [source, type, patientIds],
    )
  ).rows;
  return new Map(
    rows.map((r) => [
      r.patient_id,
      {
        patientId: r.patient_id,
        retrievedAt: iso(r.retrieved_at),
        ...(r.complete
          ? {}
          : {
              truncated: {
                returned: r.returned ?? 0,
                total: r.total,
                maxPages: r.max_pages ?? 0,
                stoppedBy: r.stopped_by === 'deadline' ? ('deadline' as const) : ('pages' as const),
              },
            }),
      },
    ]),
  );
}

/** A stored item as one source sent it: its canonical resource and lineage. */
export type SourceItem = { readonly resource: FhirJson; readonly lineage: Lineage };

/**
 * Each patient's stored items of one type from one connection (newest first; undated last), in one
 * statement served by the clinical_item_subject index. Items the source withdrew (entered-in-error)
 * or no longer returns (marked deleted) are left out, as from every clinical view.
 */
export async function sourceItems(
  db: Queryable,
  source: string,
  type: ClinicalResourceType,
  patientIds: readonly string[],
): Promise<Map<string, SourceItem[]>> {
  const lists = new Map<string, SourceItem[]>(patientIds.map((id) => [id, []]));
  const rows = (
    await db.query<{ subject_id: string; resource: FhirJson; lineage: Lineage }>(
      `SELECT subject_id, resource, lineage FROM clinical_item
       WHERE source = $1 AND resource_type = $2 AND subject_id = ANY($3::text[])
         AND deleted_at IS NULL AND NOT entered_in_error
       ORDER BY subject_id, effective_at DESC NULLS LAST, resource_id`,
      [source, type, patientIds],
    )
  ).rows;
  for (const r of rows) lists.get(r.subject_id)?.push({ resource: r.resource, lineage: r.lineage });
  return lists;
}
