// Saved cohorts: a name and a filter, versioned. Every change is a new immutable version (a trigger
// refuses UPDATE and DELETE of cohort_version) written under optimistic concurrency: an update names
// the version it was based on, and a stale one is CONFLICT. A cohort keeps the view it was defined
// in (identified, or de-identified for analysts): its filter is checked and compiled in that view,
// so its members are the same whoever reads them, and never finer than a de-identified reader sees.
//
// Snapshots materialize the members of the current version at one instant (one INSERT ... SELECT,
// so one consistent read): cohort_snapshot_member keeps the golden ids. Paging a snapshot answers
// each id by its current survivor (a member merged away since is shown as the patient it was merged
// into), and each survivor once: at the first snapshot row that leads to it. Data changed after the
// snapshot (a new matching patient, a changed observation) does not change its membership.
import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../platform/db.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { goldenByIds, type GoldenPatient } from '../mpi/store.ts';
import type { Criterion, PatientFilterInput } from './criteria.ts';
import { canonicalJson, type CursorPosition } from './cursor.ts';
import { cohortWhere, COUNT_BOUND } from './page.ts';
import { params, type CohortCoarsening } from './sql.ts';

export const COHORT_VIEW = { identified: 'identified', deidentified: 'deidentified' } as const;
export type CohortView = (typeof COHORT_VIEW)[keyof typeof COHORT_VIEW];

export type SavedCohort = {
  readonly id: string;
  readonly name: string;
  readonly view: CohortView;
  readonly version: number;
  readonly filter: PatientFilterInput;
  readonly createdBy: string;
  readonly createdAt: string;
};
export type CohortVersion = {
  readonly cohortId: string;
  readonly version: number;
  readonly filter: PatientFilterInput;
  readonly createdBy: string;
  readonly createdAt: string;
};
export type CohortSnapshot = {
  readonly id: string;
  readonly cohortId: string;
  readonly version: number;
  readonly takenAt: string;
  readonly takenBy: string;
  readonly memberCount: number;
};

/** Writes the audit record of a change in the change's own transaction (fail closed: no record, no change). */
export type CohortAudit = (tx: Queryable, cohortId: string, version: number) => Promise<void>;

const MAX_NAME = 200;
const iso = (v: Date | string): string => (v instanceof Date ? v : new Date(v)).toISOString();

/** A cohort name: trimmed, 1 to 200 printable characters (it is shown in lists and audit tools). */
export function cohortName(name: string): string | null {
  const trimmed = name.trim();
  return trimmed.length === 0 || trimmed.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(trimmed) ? null : trimmed;
}

/** The filter as stored: canonical JSON (sorted keys, no nulls), so equal filters are stored alike. */
const storedFilter = (filter: PatientFilterInput): string => canonicalJson(filter);

type CohortRow = {
  id: string;
  name: string;
  view: CohortView;
  current_version: number;
  filter: PatientFilterInput;
  created_by: string;
  created_at: Date | string;
};
const toCohort = (r: CohortRow): SavedCohort => ({
  id: r.id,
  name: r.name,
  view: r.view,
  version: r.current_version,
  filter: r.filter,
  createdBy: r.created_by,
  createdAt: iso(r.created_at),
});
const COHORT_SELECT = `SELECT c.id::text, c.name, c.view, c.current_version, v.filter, c.created_by, c.created_at
  FROM cohort c JOIN cohort_version v ON v.cohort_id = c.id AND v.version = c.current_version`;

export async function createCohort(
  db: Database,
  c: { readonly name: string; readonly filter: PatientFilterInput; readonly view: CohortView; readonly actor: string },
  audit: CohortAudit,
): Promise<SavedCohort> {
  const id = randomUUID();
  return db.transaction(async (tx) => {
    await tx.query('INSERT INTO cohort (id, name, view, current_version, created_by) VALUES ($1, $2, $3, 1, $4)', [
      id,
      c.name,
      c.view,
      c.actor,
    ]);
    await tx.query('INSERT INTO cohort_version (cohort_id, version, filter, created_by) VALUES ($1, 1, $2::jsonb, $3)', [
      id,
      storedFilter(c.filter),
      c.actor,
    ]);
    await audit(tx, id, 1);
    return (await cohortIn(tx, id))!;
  });
}

/**
 * A new version of the cohort's filter, based on `expectedVersion`: CONFLICT when the cohort has
 * moved on since (someone else's change is never overwritten unseen), NOT_FOUND when it does not exist.
 */
export async function updateCohort(
  db: Database,
  c: { readonly id: string; readonly filter: PatientFilterInput; readonly expectedVersion: number; readonly actor: string },
  audit: CohortAudit,
): Promise<SavedCohort> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ current_version: number }>('SELECT current_version FROM cohort WHERE id = $1 FOR UPDATE', [c.id]);
    const current = rows[0]?.current_version;
    if (current === undefined) throw notFound(`no cohort ${c.id}`);
    if (current !== c.expectedVersion)
      throw conflict(`cohort ${c.id} is at version ${current}, not ${c.expectedVersion}: read it again and re-apply the change`);
    const version = current + 1;
    await tx.query('INSERT INTO cohort_version (cohort_id, version, filter, created_by) VALUES ($1, $2, $3::jsonb, $4)', [
      c.id,
      version,
      storedFilter(c.filter),
      c.actor,
    ]);
    await tx.query('UPDATE cohort SET current_version = $2 WHERE id = $1', [c.id, version]);
    await audit(tx, c.id, version);
    return (await cohortIn(tx, c.id))!;
  });
}

async function cohortIn(db: Queryable, id: string): Promise<SavedCohort | null> {
  const { rows } = await db.query<CohortRow>(`${COHORT_SELECT} WHERE c.id = $1`, [id]);
  return rows[0] ? toCohort(rows[0]) : null;
}

/** Cohorts by id (absent when unknown), for a request's DataLoader. */
export async function cohortsByIds(db: Queryable, ids: readonly string[]): Promise<Map<string, SavedCohort>> {
  const { rows } = await db.query<CohortRow>(`${COHORT_SELECT} WHERE c.id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((r) => [r.id, toCohort(r)]));
}

/** Every version of a cohort, oldest first: who created or changed it, when, and to what. */
export async function cohortVersions(db: Queryable, id: string): Promise<CohortVersion[]> {
  const { rows } = await db.query<{ version: number; filter: PatientFilterInput; created_by: string; created_at: Date | string }>(
    'SELECT version, filter, created_by, created_at FROM cohort_version WHERE cohort_id = $1 ORDER BY version',
    [id],
  );
  return rows.map((r) => ({ cohortId: id, version: r.version, filter: r.filter, createdBy: r.created_by, createdAt: iso(r.created_at) }));
}

type SnapshotRow = {
  id: string;
  cohort_id: string;
  version: number;
  taken_at: Date | string;
  taken_by: string;
  member_count: number;
};
const toSnapshot = (r: SnapshotRow): CohortSnapshot => ({
  id: r.id,
  cohortId: r.cohort_id,
  version: r.version,
  takenAt: iso(r.taken_at),
  takenBy: r.taken_by,
  memberCount: r.member_count,
});
const SNAPSHOT_SELECT = 'SELECT id::text, cohort_id::text, version, taken_at, taken_by, member_count FROM cohort_snapshot';

/**
 * Materializes the members of the cohort's current version now: `criteria` must be that version's
 * filter checked in the cohort's view (the caller compiles it, as for live pages).
 */
export async function takeSnapshot(
  db: Database,
  s: {
    readonly cohortId: string;
    readonly version: number;
    readonly criteria: Criterion;
    readonly coarsening: CohortCoarsening;
    readonly actor: string;
  },
): Promise<CohortSnapshot> {
  const id = randomUUID();
  return db.transaction(
    async (tx) => {
      // The version read when the criteria were compiled must still be current: otherwise the snapshot would be labelled wrongly.
      const { rows } = await tx.query<{ current_version: number }>('SELECT current_version FROM cohort WHERE id = $1 FOR SHARE', [
        s.cohortId,
      ]);
      if (rows[0]?.current_version !== s.version)
        throw conflict(`cohort ${s.cohortId} changed while the snapshot was being taken: take it again`);
      await tx.query(
        'INSERT INTO cohort_snapshot (id, cohort_id, version, taken_at, taken_by, member_count) VALUES ($1, $2, $3, statement_timestamp(), $4, 0)',
        [id, s.cohortId, s.version, s.actor],
      );
      const p = params([id]);
      const where = cohortWhere({ criteria: s.criteria, coarsening: s.coarsening, onlyId: null }, p);
      await tx.query(
        `INSERT INTO cohort_snapshot_member (snapshot_id, golden_id) SELECT $1::uuid, g.id FROM golden_patient g WHERE ${where}`,
        p.values,
      );
      const made = await tx.query<SnapshotRow>(
        `UPDATE cohort_snapshot SET member_count = (SELECT count(*)::int FROM cohort_snapshot_member WHERE snapshot_id = $1)
         WHERE id = $1 RETURNING id::text, cohort_id::text, version, taken_at, taken_by, member_count`,
        [id],
      );
      return toSnapshot(made.rows[0]!);
    },
    // Materializing a large cohort is batch work, not an online statement.
    { unbounded: true },
  );
}

export async function snapshotById(db: Queryable, id: string): Promise<CohortSnapshot | null> {
  const { rows } = await db.query<SnapshotRow>(`${SNAPSHOT_SELECT} WHERE id = $1`, [id]);
  return rows[0] ? toSnapshot(rows[0]) : null;
}

/** The snapshot in effect at `at`: the cohort's latest taken at or before it (null when none was). */
export async function snapshotAt(db: Queryable, cohortId: string, at: string): Promise<CohortSnapshot | null> {
  const { rows } = await db.query<SnapshotRow>(
    `${SNAPSHOT_SELECT} WHERE cohort_id = $1 AND taken_at <= $2::timestamptz ORDER BY taken_at DESC, id LIMIT 1`,
    [cohortId, at],
  );
  return rows[0] ? toSnapshot(rows[0]) : null;
}

export async function cohortSnapshots(db: Queryable, cohortId: string): Promise<CohortSnapshot[]> {
  const { rows } = await db.query<SnapshotRow>(`${SNAPSHOT_SELECT} WHERE cohort_id = $1 ORDER BY taken_at, id`, [cohortId]);
  return rows.map(toSnapshot);
}

// The active golden record a snapshot row's id leads to now, and whether this row is the first of
// the snapshot leading there. Most rows are of active patients nobody was merged into: one probe of
// golden_patient's key and one of golden_patient_merged_into settle them. Only rows of merged
// patients follow the redirect chain (bounded as in the MPI store), and only survivors of a merge
// look up the other rows that lead to them. (`merged_into IS NOT NULL` lets the planner use the
// partial index golden_patient_merged_into.)
const SURVIVOR = `(WITH RECURSIVE chain (id, status, merged_into, depth) AS (
    SELECT x.id, x.status, x.merged_into, 0 FROM golden_patient x WHERE x.id = g.merged_into
    UNION ALL
    SELECT x.id, x.status, x.merged_into, c.depth + 1 FROM chain c JOIN golden_patient x ON x.id = c.merged_into
    WHERE c.status = 'MERGED' AND c.depth < 32)
  SELECT id FROM chain WHERE status = 'ACTIVE' LIMIT 1)`;
const FIRST_FOR_SURVIVOR = `NOT EXISTS (WITH RECURSIVE into_survivor (id, depth) AS (
    SELECT v.survivor, 0
    UNION ALL
    SELECT x.id, t.depth + 1 FROM into_survivor t JOIN golden_patient x ON x.merged_into = t.id WHERE x.merged_into IS NOT NULL AND t.depth < 32)
  SELECT 1 FROM into_survivor t JOIN cohort_snapshot_member o ON o.snapshot_id = m.snapshot_id AND o.golden_id = t.id
  WHERE o.golden_id < m.golden_id)`;
/** The snapshot's rows with their survivors, each survivor at its first row only; `$1` is the snapshot. */
const SHOWN = `SELECT m.golden_id, v.survivor FROM cohort_snapshot_member m
  JOIN golden_patient g ON g.id = m.golden_id
  CROSS JOIN LATERAL (SELECT CASE WHEN g.status = 'ACTIVE' THEN g.id ELSE ${SURVIVOR} END AS survivor) v
  WHERE m.snapshot_id = $1 %AFTER% AND v.survivor IS NOT NULL
    AND ((v.survivor = m.golden_id AND NOT EXISTS (SELECT 1 FROM golden_patient x WHERE x.merged_into = m.golden_id AND x.merged_into IS NOT NULL))
      OR ${FIRST_FOR_SURVIVOR})`;

/** A snapshot page's statement (exported for EXPLAIN in tests): the rows after the cursor, `limit` of them. */
export function snapshotPageStatement(snapshotId: string, after: CursorPosition | null, limit: number) {
  // Bounded on both sides of the join, so the planner seeks to the cursor rather than merge from the start.
  const bound = after ? 'AND m.golden_id > $2::uuid AND g.id > $2::uuid' : '';
  return {
    text: `${SHOWN.replace('%AFTER%', bound)} ORDER BY m.golden_id LIMIT ${after ? '$3' : '$2'}`,
    values: after ? [snapshotId, after.id, limit] : [snapshotId, limit],
  };
}

export type SnapshotMember = { readonly patient: GoldenPatient; readonly position: CursorPosition };
export type SnapshotPage = {
  readonly members: readonly SnapshotMember[];
  /** Where the next page starts: the last row read (its member may have left since and not be shown). */
  readonly end: CursorPosition | null;
  readonly hasNextPage: boolean;
  readonly totalCount: number;
  readonly totalCountIsEstimate: boolean;
};

/**
 * One keyset page of a snapshot, in the order of the golden ids it stored: each member answered by
 * its survivor, once. The count is of the distinct survivors, exact up to COUNT_BOUND and above it
 * the number of stored rows (an upper bound, flagged as an estimate).
 */
export async function snapshotPage(
  db: Queryable,
  protection: IdentifierProtection,
  r: {
    readonly snapshot: CohortSnapshot;
    readonly first: number;
    readonly after: CursorPosition | null;
    readonly count?: boolean;
    readonly countBound?: number;
  },
): Promise<SnapshotPage> {
  const bound = r.countBound ?? COUNT_BOUND;
  const statement = snapshotPageStatement(r.snapshot.id, r.after, r.first + 1);
  const countSql = `SELECT count(*)::int AS n FROM (${SHOWN.replace('%AFTER%', '')} LIMIT ${bound + 1}) x`;
  const [page, counted] = await Promise.all([
    db.query<{ golden_id: string; survivor: string }>(statement.text, statement.values),
    r.count === false ? null : db.query<{ n: number }>(countSql, [r.snapshot.id]),
  ]);
  const rows = page.rows.slice(0, r.first);
  const found = await goldenByIds(
    db,
    rows.map((x) => x.survivor),
    protection,
  );
  const members = rows.flatMap((x) => {
    const patient = found.get(x.survivor);
    return patient ? [{ patient, position: { key: null, id: x.golden_id } }] : [];
  });
  const n = counted?.rows[0]?.n ?? 0;
  const over = counted !== null && n > bound;
  const last = rows.at(-1);
  return {
    members,
    end: last ? { key: null, id: last.golden_id } : null,
    hasNextPage: page.rows.length > r.first,
    totalCount: over ? Math.max(bound + 1, r.snapshot.memberCount) : n,
    totalCountIsEstimate: over,
  };
}
