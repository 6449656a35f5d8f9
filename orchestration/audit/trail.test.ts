// A patient's audit trail across identity changes, as an auditor asks "who saw this person's
// data": accesses made before an unlink, a merge or an unmerge stay in the trail of the person
// whose data was shown (README.md beside this file, "A patient's trail"). Also: paging through a
// trail, and counts that are exact and cheap without a filter, bounded with one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema, migrate, openDatabase, type Database } from '../../platform/db.ts';
import { fieldCipher, loadFieldKeys } from '../../security/field-encryption.ts';
import { identifierProtection, type IdentifierProtection } from '../../security/identifier-protection.ts';
import { uniqueSchema } from '../../test/support/env.ts';
import { linkSourceRecord } from '../mpi/linking.ts';
import { MPI_MIGRATIONS } from '../mpi/migrations.ts';
import { linkRecord, mergePatients, unlinkRecord, unmergePatient, type StewardContext } from '../mpi/stewardship.ts';
import { loadSurvivorshipConfig } from '../mpi/survivorship.ts';
import { person } from '../mpi/test-helpers.ts';
import { AUDIT_MIGRATIONS, writeAuditEvents } from './audit-log.ts';
import { auditEventCount, auditEventPage, type AuditFilter } from './query.ts';
import { ENGINES, resetLog, testPrincipal } from './test-helpers.ts';
import { mergeScopes, trailScopes } from './trail.ts';

test('scopes: unbounded refs for the identity, bounded golden refs from the link history, merged per ref', () => {
  const scopes = trailScopes({
    goldenIds: ['P', 'M'],
    records: ['epic:1', 'epic:2'],
    history: [
      { record: 'epic:1', goldenId: 'A', previousGoldenId: null, at: '2026-01-01T00:00:00.000001Z' },
      { record: 'epic:1', goldenId: 'P', previousGoldenId: 'A', at: '2026-02-01T00:00:00.000000Z' },
      // Linked before the history began: the first change names where it was.
      { record: 'epic:2', goldenId: 'P', previousGoldenId: 'B', at: '2026-01-15T00:00:00.000000Z' },
      { record: 'epic:2', goldenId: 'A', previousGoldenId: 'P', at: '2026-01-20T00:00:00.000000Z' },
      { record: 'epic:2', goldenId: 'P', previousGoldenId: 'A', at: '2026-03-01T00:00:00.000000Z' },
    ],
  });
  const byRef = Map.groupBy(scopes, (s) => s.ref);
  assert.deepEqual(byRef.get('Patient/P'), [{ ref: 'Patient/P', from: null, to: null }]);
  assert.deepEqual(byRef.get('Patient/M'), [{ ref: 'Patient/M', from: null, to: null }]);
  assert.deepEqual(byRef.get('SourceRecord/epic:2'), [{ ref: 'SourceRecord/epic:2', from: null, to: null }]);
  assert.deepEqual(byRef.get('Patient/B'), [{ ref: 'Patient/B', from: null, to: '2026-01-15T00:00:00.000000Z' }]);
  // epic:1 in A from Jan 1 to Feb 1 and epic:2 in A from Jan 20 to Mar 1: one interval.
  assert.deepEqual(byRef.get('Patient/A'), [{ ref: 'Patient/A', from: '2026-01-01T00:00:00.000001Z', to: '2026-03-01T00:00:00.000000Z' }]);
  assert.deepEqual(
    mergeScopes([
      { ref: 'x', from: '2026-05', to: '2026-06' },
      { ref: 'x', from: '2026-01', to: '2026-02' },
      { ref: 'x', from: '2026-02', to: '2026-03' },
    ]),
    [
      { ref: 'x', from: '2026-01', to: '2026-03' },
      { ref: 'x', from: '2026-05', to: '2026-06' },
    ],
  );
});

for (const { engine, url, skip } of ENGINES) {
  describe(`${engine}: a patient's trail across identity changes`, { skip }, () => {
    let db: Database;
    let protection: IdentifierProtection;
    let keysDir: string;
    before(async () => {
      db = await openDatabase({ url, schema: uniqueSchema('trail') });
      await migrate(db, [...AUDIT_MIGRATIONS, ...MPI_MIGRATIONS]);
      keysDir = mkdtempSync(join(tmpdir(), 'trail-keys-'));
      protection = identifierProtection(fieldCipher(loadFieldKeys(keysDir, true)));
    });
    after(async () => {
      if (db) {
        await dropSchema(db);
        await db.close();
      }
      rmSync(keysDir, { recursive: true, force: true });
    });

    const steward = (reason: string): StewardContext => ({
      db,
      protection,
      survivorship: loadSurvivorshipConfig(),
      who: { actor: 'steward-1', reason, requestId: 'req-steward' },
    });
    /** One synthetic person per n (names, birth dates and SSNs unlike any other's). */
    const someone = (source: string, id: string, n: number) =>
      person({
        source,
        id,
        family: ['Quillfeather', 'Ravensworth', 'Stonebridge', 'Thistlewood', 'Underhill', 'Vantongeren', 'Whitlock', 'Yarborough'][n]!,
        given: [['Aurelia', 'Benedikt', 'Cosima', 'Desmond', 'Eulalia', 'Fitzgerald', 'Gwendolyn', 'Horatio'][n]!],
        birthDate: `19${50 + n * 3}-0${n + 1}-2${n}`,
        ssn: `9${String(10000000 + n * 7919).slice(0, 8)}`,
      });
    let requests = 0;
    /** An access by `actor` to each ref (a permit row per ref); returns its request id. */
    const access = async (actor: string, ...refs: string[]): Promise<string> => {
      const requestId = `req-${++requests}`;
      await writeAuditEvents(
        db,
        { principal: testPrincipal({ sub: actor, requestId }), subgraph: 'mpi', operationName: 'Chart' },
        refs.map((patientRef) => ({
          patientRef,
          fields: [patientRef.startsWith('Patient/') ? 'Patient.name' : 'EpicRecord.observations'],
        })),
        [],
      );
      return requestId;
    };
    /** The request ids in a trail, read page by page (2 rows a page) to exercise the keyset. */
    const trail = async (filter: AuditFilter): Promise<string[]> => {
      const seen: string[] = [];
      let cursor: { seq: string; recordedAt: string } | null = null;
      for (;;) {
        const page = await auditEventPage(db, filter, 2, cursor);
        seen.push(...page.events.map((e) => `${e.requestId} ${e.patientRef}`));
        if (!page.hasNextPage) break;
        const last = page.events.at(-1)!;
        cursor = { seq: last.seq, recordedAt: last.recordedAt };
      }
      const count = await auditEventCount(db, filter);
      assert.deepEqual(count, { count: seen.length, exact: true }, 'totalCount agrees with the rows paged through');
      return seen;
    };
    const has = (rows: string[], request: string, ref: string) => rows.includes(`${request} ${ref}`);

    test('unlink: the moved record, and the golden record that showed it, stay in its person’s trail', async () => {
      await resetLog(db);
      const a = await linkSourceRecord(db, someone('epic-main', 'U1', 0), protection);
      const moved = await linkSourceRecord(
        db,
        { ...someone('epic-main', 'U1', 0), source: 'cerner-main', sourcePatientId: 'U1c' },
        protection,
      );
      assert.equal(moved.goldenId, a.goldenId, 'the same person in two EHRs is one golden record');
      const early = await access('dr-early', `Patient/${a.goldenId}`, 'SourceRecord/epic-main:U1', 'SourceRecord/cerner-main:U1c');
      const fresh = await unlinkRecord(steward('two people: different mothers'), { source: 'cerner-main', sourcePatientId: 'U1c' });
      const late = await access('dr-late', `Patient/${a.goldenId}`, `Patient/${fresh.goldenId}`, 'SourceRecord/cerner-main:U1c');

      const theirs = await trail({ patientId: fresh.goldenId });
      assert.ok(has(theirs, early, 'SourceRecord/cerner-main:U1c'), 'their record read before the unlink');
      assert.ok(has(theirs, early, `Patient/${a.goldenId}`), 'the golden record that showed their record before the unlink');
      assert.ok(has(theirs, late, `Patient/${fresh.goldenId}`) && has(theirs, late, 'SourceRecord/cerner-main:U1c'));
      assert.ok(!has(theirs, late, `Patient/${a.goldenId}`), 'the other golden record, read after it no longer held their record');
      assert.ok(!has(theirs, early, 'SourceRecord/epic-main:U1'), 'the other person’s record');

      const remaining = await trail({ patientId: a.goldenId });
      assert.ok(has(remaining, early, `Patient/${a.goldenId}`) && has(remaining, late, `Patient/${a.goldenId}`));
      assert.ok(has(remaining, early, 'SourceRecord/epic-main:U1'));
      assert.ok(!has(remaining, early, 'SourceRecord/cerner-main:U1c'), 'a record that turned out to be someone else’s data');
      // Filters combine with the trail.
      assert.deepEqual(
        (await trail({ patientId: fresh.goldenId, actor: 'dr-early' })).sort(),
        [`${early} Patient/${a.goldenId}`, `${early} SourceRecord/cerner-main:U1c`].sort(),
      );
    });

    test('merge: the merged id’s earlier accesses join the survivor’s trail; the merged id answers with it', async () => {
      await resetLog(db);
      const a = await linkSourceRecord(db, someone('epic-main', 'M1', 1), protection);
      const b = await linkSourceRecord(db, someone('cerner-main', 'M2', 2), protection);
      assert.notEqual(a.goldenId, b.goldenId);
      const beforeMerge = await access('dr-b', `Patient/${b.goldenId}`, 'SourceRecord/cerner-main:M2');
      await mergePatients(steward('same person: confirmed with registration'), a.goldenId, b.goldenId);
      const afterMerge = await access('dr-a', `Patient/${a.goldenId}`);

      const survivor = await trail({ patientId: a.goldenId });
      assert.ok(has(survivor, beforeMerge, `Patient/${b.goldenId}`), 'an access to the merged id before the merge');
      assert.ok(has(survivor, beforeMerge, 'SourceRecord/cerner-main:M2'));
      assert.ok(has(survivor, afterMerge, `Patient/${a.goldenId}`));
      assert.deepEqual((await trail({ patientId: b.goldenId })).sort(), survivor.sort(), 'a merged id stands for its survivor');
    });

    test('unmerge: accesses to the survivor while it held the restored patient’s records stay in that patient’s trail', async () => {
      await resetLog(db);
      const a = await linkSourceRecord(db, someone('epic-main', 'N1', 3), protection);
      const b = await linkSourceRecord(db, someone('cerner-main', 'N2', 4), protection);
      const ownB = await access('dr-1', `Patient/${b.goldenId}`);
      const ownA = await access('dr-1', `Patient/${a.goldenId}`);
      await mergePatients(steward('looked alike'), a.goldenId, b.goldenId);
      const whileMerged = await access('dr-2', `Patient/${a.goldenId}`, 'SourceRecord/cerner-main:N2');
      await unmergePatient(steward('different people: twins'), b.goldenId);
      const afterUnmerge = await access('dr-3', `Patient/${a.goldenId}`, `Patient/${b.goldenId}`);

      const restored = await trail({ patientId: b.goldenId });
      assert.ok(has(restored, ownB, `Patient/${b.goldenId}`));
      assert.ok(has(restored, whileMerged, `Patient/${a.goldenId}`), 'the merged golden record showed their record');
      assert.ok(has(restored, whileMerged, 'SourceRecord/cerner-main:N2'));
      assert.ok(has(restored, afterUnmerge, `Patient/${b.goldenId}`));
      assert.ok(!has(restored, afterUnmerge, `Patient/${a.goldenId}`), 'the survivor after the unmerge no longer shows their data');
      assert.ok(!has(restored, ownA, `Patient/${a.goldenId}`), 'the survivor before the merge never showed their data');

      const survivor = await trail({ patientId: a.goldenId });
      assert.ok(has(survivor, ownA, `Patient/${a.goldenId}`) && has(survivor, whileMerged, `Patient/${a.goldenId}`));
      assert.ok(!has(survivor, ownB, `Patient/${b.goldenId}`), 'the restored patient’s own accesses leave the survivor’s trail');
      assert.ok(!has(survivor, whileMerged, 'SourceRecord/cerner-main:N2'));
    });

    test('a steward’s link: the record’s earlier accesses follow it to its new golden record', async () => {
      await resetLog(db);
      const a = await linkSourceRecord(db, someone('epic-main', 'L1', 5), protection);
      await linkSourceRecord(db, someone('epic-main', 'L0', 6), protection);
      const b = await linkSourceRecord(db, someone('cerner-main', 'L2', 7), protection);
      // Two records in a, so that moving one leaves a in place (no redirect).
      await linkRecord(steward('same person'), { source: 'epic-main', sourcePatientId: 'L0' }, a.goldenId);
      const early = await access('dr-1', `Patient/${a.goldenId}`, 'SourceRecord/epic-main:L1');
      await linkRecord(steward('this record is b’s'), { source: 'epic-main', sourcePatientId: 'L1' }, b.goldenId);
      const target = await trail({ patientId: b.goldenId });
      assert.ok(has(target, early, 'SourceRecord/epic-main:L1') && has(target, early, `Patient/${a.goldenId}`));
      const source = await trail({ patientId: a.goldenId });
      assert.ok(has(source, early, `Patient/${a.goldenId}`) && !has(source, early, 'SourceRecord/epic-main:L1'));
    });

    test('counts: exact without a filter (also over a time range), bounded with one', async () => {
      await resetLog(db);
      for (let i = 0; i < 7; i++) await access(`dr-${i % 2}`, `Patient/00000000-0000-4000-8000-00000000000${i}`);
      const { rows } = await db.query<{ at: string; actor: string; request: string }>(
        `SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, actor_sub AS actor, request_id AS request
         FROM audit_event ORDER BY seq`,
      );
      // Rows may share a recorded_at (the clock's resolution): expectations come from the rows themselves.
      const expected = (f: { from?: string; to?: string; actor?: string }) =>
        rows.filter((r) => (!f.from || r.at >= f.from) && (!f.to || r.at < f.to) && (!f.actor || r.actor === f.actor));
      const at = rows.map((r) => r.at);
      assert.deepEqual(await auditEventCount(db, {}), { count: 7, exact: true });
      for (const f of [{ from: at[2], to: at[5] }, { from: at[6] }, { to: at[0] }, { from: at[1], to: at[1] }, { to: at[4] }])
        assert.deepEqual(await auditEventCount(db, f), { count: expected(f).length, exact: true }, JSON.stringify(f));
      assert.deepEqual(await auditEventCount(db, { from: '2999-01-01' }), { count: 0, exact: true });
      assert.deepEqual(await auditEventCount(db, { actor: 'dr-0' }), { count: 4, exact: true });
      assert.deepEqual(await auditEventCount(db, { actor: 'dr-0' }, 3), { count: 3, exact: false });
      const late = { actor: 'dr-0', from: at[3] };
      assert.deepEqual(await auditEventCount(db, late, 3), { count: expected(late).length, exact: expected(late).length <= 3 });
      const page = await auditEventPage(db, { from: at[2], to: at[5] }, 10, null);
      assert.deepEqual(
        page.events.map((e) => e.requestId),
        expected({ from: at[2], to: at[5] })
          .map((r) => r.request)
          .reverse(),
      );
      await resetLog(db);
      assert.deepEqual(await auditEventCount(db, {}), { count: 0, exact: true });
    });
  });
}
