// Saved cohorts against real PostgreSQL (or PGlite): versions are immutable and written under
// optimistic concurrency (concurrent updates from one version: one wins, the other is CONFLICT);
// a snapshot keeps its members while new matching patients arrive, answers a member merged away
// by its survivor once, and pages by keyset without repeats.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProductError } from '../../platform/errors.ts';
import { mergePatients } from '../mpi/stewardship.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';
import { cohortCriteria, type PatientFilterInput } from './criteria.ts';
import { cohortPage } from './page.ts';
import {
  cohortName,
  cohortVersions,
  createCohort,
  snapshotAt,
  snapshotPage,
  snapshotPageStatement,
  takeSnapshot,
  updateCohort,
  type CohortSnapshot,
  type SavedCohort,
} from './saved.ts';
import { EPIC, identifiedTestContext, openCohortTestDb, someone, steward } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => (t = await openCohortTestDb()));
after(() => t.close());

const context = identifiedTestContext();
const coarsening = { oldestCategoryBirthYear: 1936, restrictedZip3: [] };
const audited: string[] = [];
const audit = async (_tx: unknown, id: string, version: number) => void audited.push(`${id}@${version}`);

let seq = 0;
const newPatient = (gender: string) =>
  someone(t, EPIC, `S${++seq}`, { gender, birthDate: `19${String(30 + seq * 3).padStart(2, '0')}-0${1 + (seq % 9)}-1${seq % 10}` });

const snapshotOf = (c: SavedCohort): Promise<CohortSnapshot> =>
  takeSnapshot(t.db, {
    cohortId: c.id,
    version: c.version,
    criteria: cohortCriteria(c.filter, context),
    coarsening,
    actor: 'analyst-a',
  });

async function allMembers(snapshot: CohortSnapshot, size: number): Promise<{ ids: string[]; total: number }> {
  const ids: string[] = [];
  let position = null;
  let total = -1;
  for (let i = 0; i < 100; i++) {
    const page = await snapshotPage(t.db, t.protection, { snapshot, first: size, after: position });
    if (total < 0) total = page.totalCount;
    ids.push(...page.members.map((m) => m.patient.id));
    if (!page.hasNextPage) return { ids, total };
    position = page.members.at(-1)!.position;
  }
  throw new Error('paging did not end');
}

test('a cohort name is trimmed, printable and bounded', () => {
  assert.equal(cohortName('  Diabetics 2026 '), 'Diabetics 2026');
  assert.equal(cohortName('   '), null);
  assert.equal(cohortName('a\u0000b'), null);
  assert.equal(cohortName('x'.repeat(201)), null);
});

test('versions are immutable; an update from a stale version is CONFLICT, and concurrent updates cannot both win', async () => {
  const c = await createCohort(t.db, { name: 'women', filter: { gender: 'female' }, view: 'deidentified', actor: 'analyst-a' }, audit);
  assert.equal(c.version, 1);
  const v2 = await updateCohort(t.db, { id: c.id, filter: { gender: 'male' }, expectedVersion: 1, actor: 'analyst-b' }, audit);
  assert.equal(v2.version, 2);
  await assert.rejects(
    updateCohort(t.db, { id: c.id, filter: { gender: 'other' }, expectedVersion: 1, actor: 'analyst-c' }, audit),
    (e: ProductError) => e.code === 'CONFLICT',
  );
  // Two writers from version 2 at once: exactly one gets version 3.
  const racing = await Promise.allSettled(
    ['unknown', 'other'].map((gender) =>
      updateCohort(t.db, { id: c.id, filter: { gender }, expectedVersion: 2, actor: `w-${gender}` }, audit),
    ),
  );
  assert.equal(racing.filter((r) => r.status === 'fulfilled').length, 1);
  assert.equal((racing.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code, 'CONFLICT');
  const versions = await cohortVersions(t.db, c.id);
  assert.deepEqual(
    versions.map((v) => [v.version, v.createdBy]),
    [
      [1, 'analyst-a'],
      [2, 'analyst-b'],
      [3, versions[2]!.createdBy],
    ],
  );
  assert.ok(['w-unknown', 'w-other'].includes(versions[2]!.createdBy));
  assert.deepEqual(versions[0]!.filter, { gender: 'female' });
  await assert.rejects(t.db.query(`UPDATE cohort_version SET filter = '{}' WHERE cohort_id = $1`, [c.id]), /immutable/);
  await assert.rejects(t.db.query(`DELETE FROM cohort_version WHERE cohort_id = $1`, [c.id]), /immutable/);
  await assert.rejects(
    updateCohort(t.db, { id: '00000000-0000-4000-8000-000000000000', filter: {}, expectedVersion: 1, actor: 'x' }, audit),
    (e: ProductError) => e.code === 'NOT_FOUND',
  );
  // Every change audited with its version; the refused ones not.
  assert.deepEqual(
    audited.filter((a) => a.startsWith(c.id)),
    [`${c.id}@1`, `${c.id}@2`, `${c.id}@3`],
  );
});

test('a snapshot keeps its members while new ones match; a merged member is answered by its survivor once', async () => {
  const gender = 'other';
  const before: string[] = [];
  for (let i = 0; i < 5; i++) before.push(await newPatient(gender));
  assert.equal(new Set(before).size, 5);
  const c = await createCohort(t.db, { name: 'others', filter: { gender } as PatientFilterInput, view: 'identified', actor: 'a' }, audit);
  const snapshot = await snapshotOf(c);
  assert.equal(snapshot.memberCount, 5);
  const late = await newPatient(gender);
  // Live: six; the snapshot: the five of its time.
  const live = await cohortPage(t.db, t.protection, {
    criteria: cohortCriteria(c.filter, context),
    order: 'ID',
    deidentified: false,
    coarsening,
    onlyId: null,
    first: 50,
    after: null,
  });
  assert.deepEqual(live.members.map((m) => m.patient.id).sort(), [...before, late].sort());
  const taken = await allMembers(snapshot, 2);
  assert.deepEqual([...taken.ids].sort(), [...before].sort());
  assert.equal(taken.total, 5);
  // Merge two members (the larger id into the smaller and the late patient into a member): each survivor once.
  const [x, y] = [...before].sort();
  await mergePatients(steward(t.db, t.protection), x!, y!);
  await mergePatients(steward(t.db, t.protection), before[2]! === x || before[2]! === y ? before[3]! : before[2]!, late);
  const after = await allMembers(snapshot, 1);
  assert.equal(new Set(after.ids).size, after.ids.length, 'no survivor twice');
  assert.deepEqual([...after.ids].sort(), before.filter((id) => id !== y).sort());
  assert.equal(after.total, 4);
  // A member merged into a patient outside the snapshot is answered by that patient.
  const outsider = await newPatient('unknown');
  await mergePatients(steward(t.db, t.protection), outsider, x!);
  const third = await allMembers(snapshot, 3);
  assert.ok(third.ids.includes(outsider) && !third.ids.includes(x!));
  assert.equal(third.ids.length, 4);
  // asOf: the snapshot in effect then; none before the first.
  assert.equal((await snapshotAt(t.db, c.id, new Date().toISOString()))?.id, snapshot.id);
  assert.equal(await snapshotAt(t.db, c.id, '2000-01-01T00:00:00Z'), null);
});

test('a snapshot of a version that changed meanwhile is CONFLICT', async () => {
  const c = await createCohort(t.db, { name: 'stale', filter: { gender: 'male' }, view: 'identified', actor: 'a' }, audit);
  await updateCohort(t.db, { id: c.id, filter: { gender: 'female' }, expectedVersion: 1, actor: 'b' }, audit);
  await assert.rejects(snapshotOf(c), (e: ProductError) => e.code === 'CONFLICT');
});

test('a snapshot page seeks to its cursor through indexes: no scan of golden_patient, whatever the snapshot size', async () => {
  // Synthetic rows only: invented ids, no names.
  await t.db.query(`INSERT INTO golden_patient (id, birth_date, gender, updated_at)
    SELECT gen_random_uuid(), '1950-01-01', 'unknown', now() FROM generate_series(1, 3000)`);
  await t.db.query('ANALYZE golden_patient');
  const c = await createCohort(t.db, { name: 'plan', filter: { gender: 'unknown' }, view: 'identified', actor: 'a' }, audit);
  const snapshot = await snapshotOf(c);
  await t.db.query('ANALYZE cohort_snapshot_member');
  const middle = await t.db.query<{ id: string }>(
    'SELECT golden_id::text AS id FROM cohort_snapshot_member WHERE snapshot_id = $1 ORDER BY golden_id OFFSET 1500 LIMIT 1',
    [snapshot.id],
  );
  const statement = snapshotPageStatement(snapshot.id, { key: null, id: middle.rows[0]!.id }, 101);
  const plan = (await t.db.query(`EXPLAIN ${statement.text}`, statement.values)).rows.map((r) => String(Object.values(r)[0])).join('\n');
  assert.doesNotMatch(plan, /Seq Scan on golden_patient/, plan);
  assert.match(plan, /cohort_snapshot_member_pkey/, plan);
});
