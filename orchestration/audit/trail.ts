// Which audit rows make up one person's trail, across identity changes (README.md beside this
// file, "A patient's trail"). Rows name what was returned when it was returned: `Patient/<golden
// id>` (the golden record then active) or `SourceRecord/<connection>:<id>` (one EHR record).
// The MPI's own history says which records belonged to which golden record when: link_event (every
// link change of a record, with its time) and golden_patient.merged_into (redirects). The trail of
// golden patient P holds
//   1. every row on P and on every golden id merged into P (redirects, followed transitively);
//   2. every row on a source record now linked to P (soft-deleted ones included), whenever it was
//      read: a record's data is the data of the person it belongs to, even if it was linked to
//      someone else at the time (that golden record's own rows stay in its trail);
//   3. every row on a golden record G made while a record now linked to P was linked to G: G then
//      showed that record's data.
// A merged id stands for its survivor. Link changes are timed by the MPI's clock at the change,
// audit rows by the audit append: a read racing a link change may fall on either side of it.
import type { Queryable } from '../../platform/db.ts';

/** Rows on `ref` recorded in [from, to); null is unbounded. */
export type TrailScope = { readonly ref: string; readonly from: string | null; readonly to: string | null };

/** One link change of a record: from `at` on, the record belongs to `goldenId` (`previousGoldenId` before). */
export type LinkChangeAt = {
  readonly record: string;
  readonly goldenId: string;
  readonly previousGoldenId: string | null;
  readonly at: string;
};

export type Identity = {
  /** The golden ids that are this person now: the active one and every id merged into it. */
  readonly goldenIds: readonly string[];
  /** `<connection>:<id>` of every source record linked to it now. */
  readonly records: readonly string[];
  /** Every link change of those records, oldest first per record. */
  readonly history: readonly LinkChangeAt[];
};

/** ISO instants with microseconds compare as text; null sorts first as a lower bound and last as an upper one. */
const before = (a: string | null, b: string | null, nullIs: 'min' | 'max'): boolean => {
  if (a === b) return false;
  if (a === null) return nullIs === 'min';
  if (b === null) return nullIs === 'max';
  return a < b;
};

/** The same scopes with each ref's intervals merged (a row matches at most one scope). */
export function mergeScopes(scopes: readonly TrailScope[]): TrailScope[] {
  const byRef = Map.groupBy(scopes, (s) => s.ref);
  const merged: TrailScope[] = [];
  for (const [ref, list] of byRef) {
    const sorted = [...list].sort((a, b) => (before(a.from, b.from, 'min') ? -1 : before(b.from, a.from, 'min') ? 1 : 0));
    let current: { from: string | null; to: string | null } | null = null;
    for (const s of sorted) {
      if (current && !before(current.to, s.from, 'max')) {
        if (before(current.to, s.to, 'max')) current.to = s.to;
      } else {
        if (current) merged.push({ ref, ...current });
        current = { from: s.from, to: s.to };
      }
    }
    if (current) merged.push({ ref, ...current });
  }
  return merged;
}

/** The trail's scopes from an identity (rules 1 to 3 above). */
export function trailScopes(identity: Identity): TrailScope[] {
  const scopes: TrailScope[] = [
    ...identity.goldenIds.map((g) => ({ ref: `Patient/${g}`, from: null, to: null })),
    ...identity.records.map((r) => ({ ref: `SourceRecord/${r}`, from: null, to: null })),
  ];
  for (const [, changes] of Map.groupBy(identity.history, (c) => c.record)) {
    const first = changes[0]!;
    // History began after the record was linked (a database older than the link history).
    if (first.previousGoldenId && first.previousGoldenId !== first.goldenId)
      scopes.push({ ref: `Patient/${first.previousGoldenId}`, from: null, to: first.at });
    changes.forEach((c, i) => scopes.push({ ref: `Patient/${c.goldenId}`, from: c.at, to: changes[i + 1]?.at ?? null }));
  }
  return mergeScopes(scopes);
}

/**
 * Who golden patient `goldenId` is, from the MPI's tables: the active record a merged id leads to,
 * the ids merged into it, its records and their link history. An unknown id is just itself.
 */
export async function identityOf(db: Queryable, goldenId: string): Promise<Identity> {
  const active = await db.query<{ id: string }>(
    `WITH RECURSIVE up (id, status, merged_into, depth) AS (
       SELECT id, status, merged_into, 0 FROM golden_patient WHERE id = $1::uuid
       UNION ALL
       SELECT g.id, g.status, g.merged_into, u.depth + 1 FROM up u JOIN golden_patient g ON g.id = u.merged_into WHERE u.status = 'MERGED' AND u.depth < 32)
     SELECT id::text FROM up WHERE status = 'ACTIVE'`,
    [goldenId],
  );
  const person = active.rows[0]?.id ?? goldenId;
  const ids = await db.query<{ id: string }>(
    `WITH RECURSIVE down (id) AS (
       SELECT $1::uuid UNION SELECT g.id FROM golden_patient g JOIN down d ON g.merged_into = d.id)
     SELECT id::text FROM down`,
    [person],
  );
  const goldenIds = [person, ...ids.rows.map((r) => r.id).filter((id) => id !== person)];
  const records = await db.query<{ source: string; source_patient_id: string }>(
    'SELECT source, source_patient_id FROM source_record WHERE golden_id = ANY($1::uuid[]) ORDER BY source, source_patient_id',
    [goldenIds],
  );
  const history = await db.query<{ record: string; golden_id: string; previous_golden_id: string | null; at: string }>(
    `SELECT e.source || ':' || e.source_patient_id AS record, e.golden_id::text, e.previous_golden_id::text,
            to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
     FROM unnest($1::text[], $2::text[]) AS r (source, id)
     JOIN link_event e ON e.source = r.source AND e.source_patient_id = r.id
     ORDER BY e.source, e.source_patient_id, e.seq`,
    [records.rows.map((r) => r.source), records.rows.map((r) => r.source_patient_id)],
  );
  return {
    goldenIds,
    records: records.rows.map((r) => `${r.source}:${r.source_patient_id}`),
    history: history.rows.map((r) => ({ record: r.record, goldenId: r.golden_id, previousGoldenId: r.previous_golden_id, at: r.at })),
  };
}
