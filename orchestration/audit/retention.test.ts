// Retention: only whole monthly partitions older than the retention period leave, recorded so the
// chain still verifies; anything younger is refused; a purge faked to hide young rows is caught.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dropSchema, type Database } from '../../platform/db.ts';
import { ensureAuditPartitions } from './audit-log.ts';
import { GENESIS_HASH, type AuditContent } from './canonical.ts';
import { createCheckpoint } from './checkpoint.ts';
import { AuditRetentionError, dropAuditPartition, listAuditPartitions, purgeExpiredAuditPartitions } from './retention.ts';
import { formatReport, verifyAuditLog } from './verify.ts';
import {
  ENGINES,
  appendRequests,
  asAttacker,
  insertRow,
  openAuditDb,
  resetLog,
  rowAt,
  testSigningKey,
  type TestKey,
} from './test-helpers.ts';

const oldRow = (i: number): AuditContent => ({
  recorded_at: `2018-01-1${i}T09:00:00.000000Z`,
  request_id: `old-${i}`,
  traceparent: null,
  subgraph: 'mpi',
  subgraph_version: '0.0.1',
  actor_sub: 'clin-old',
  actor_roles: ['clinician'],
  client_id: null,
  client_ip: null,
  purpose_of_use: 'TREAT',
  break_glass_reason: null,
  patient_ref: `Patient/old-${i}`,
  fields: ['Patient.name'],
  operation_name: null,
  document_hash: null,
  decision: 'permit',
  policy_rules: null,
  outcome: null,
});

const monthName = (d: Date) => `audit_event_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`;

for (const { engine, url, skip } of ENGINES) {
  describe(`${engine}: retention`, { skip }, () => {
    let db: Database;
    let key: TestKey;
    before(async () => {
      db = await openAuditDb(url);
      key = await testSigningKey();
    });
    after(async () => {
      if (!db) return;
      await dropSchema(db);
      await db.close();
    });

    /** Seqs 1..3 recorded in January 2018 (imported by the owner), 4..7 now; one checkpoint over all. */
    const build = async () => {
      await resetLog(db);
      await ensureAuditPartitions(db, new Date('2018-01-15T00:00:00Z'));
      let prev = GENESIS_HASH.toString('hex');
      await asAttacker(db, async (tx) => {
        for (let i = 1; i <= 3; i++) prev = await insertRow(tx, i, prev, oldRow(i));
        await tx.query(`UPDATE audit_chain_head SET seq = 3, hash = decode($1, 'hex'), recorded_at = $2`, [prev, oldRow(3).recorded_at]);
      });
      await appendRequests(db, 2, 2);
      await createCheckpoint(db, key);
    };
    const verify = () => verifyAuditLog(db, { publicKeys: [key.publicJwk] });

    test('partitions younger than the retention period, and the default partition, are never dropped', async () => {
      await build();
      const current = monthName(new Date());
      await assert.rejects(
        dropAuditPartition(db, current),
        (e: unknown) => e instanceof AuditRetentionError && /inside the 6-year retention period/.test(e.message),
      );
      await assert.rejects(dropAuditPartition(db, current, { retentionYears: 1 }), AuditRetentionError);
      await assert.rejects(dropAuditPartition(db, 'audit_event_default'), /default partition/);
      // January 2018 is young as seen from June 2021.
      await assert.rejects(dropAuditPartition(db, 'audit_event_y2018m01', { now: new Date('2021-06-01T00:00:00Z') }), AuditRetentionError);
      assert.deepEqual((await purgeExpiredAuditPartitions(db, { now: new Date('2021-06-01T00:00:00Z') })).dropped, []);
      await assert.rejects(purgeExpiredAuditPartitions(db, { retentionYears: 0 }), /at least 1/);
      await assert.rejects(
        purgeExpiredAuditPartitions(db, { now: new Date(Date.now() + 3 * 86_400_000) }),
        /later than the database clock/,
      );
      assert.ok((await listAuditPartitions(db)).some((p) => p.name === 'audit_event_y2018m01'));
      assert.equal((await verify()).ok, true);
    });

    test('expired partitions are purged oldest first and the retained chain still verifies', async () => {
      await build();
      const { dropped } = await purgeExpiredAuditPartitions(db);
      assert.deepEqual(
        dropped.map((d) => [d.partition, d.rows, d.firstSeq, d.lastSeq]),
        [
          ['audit_event_y2018m01', 3, 1, 3],
          ['audit_event_y2018m02', 0, null, null],
        ],
      );
      assert.ok(!(await listAuditPartitions(db)).some((p) => p.name.startsWith('audit_event_y2018')));
      let report = await verify();
      assert.equal(report.ok, true, formatReport(report));
      assert.deepEqual(
        [report.purgedThroughSeq, report.firstSeq, report.lastSeq, report.checkpointsSigned, report.checkpointsRecomputed],
        [3, 4, 7, 1, 0],
      );
      // The chain goes on from there, and new checkpoints tile after the old one.
      await appendRequests(db, 1, 1);
      assert.equal((await createCheckpoint(db, key))?.payload.from_seq, 8);
      report = await verify();
      assert.equal(report.ok, true, formatReport(report));
      assert.equal(report.checkpointsRecomputed, 1);
    });

    test('young rows deleted behind a faked purge record are reported', async () => {
      await build();
      await purgeExpiredAuditPartitions(db);
      const five = await rowAt(db, 5);
      await asAttacker(db, async (tx) => {
        await tx.query('DELETE FROM audit_event WHERE seq IN (4, 5)');
        await tx.query(
          `INSERT INTO audit_purge (partition_name, range_from, range_to, retention_years, row_count, first_seq, last_seq, last_hash)
           VALUES ($1, date_trunc('month', now()), now(), 0, 2, 4, 5, decode($2, 'hex'))`,
          [monthName(new Date()), five.hash],
        );
      });
      const report = await verify();
      assert.equal(report.ok, false);
      assert.deepEqual([report.problems[0]!.kind, report.problems[0]!.seq], ['purge-invalid', 4]);
      assert.match(report.problems[0]!.message, /purged inside the retention period/);
    });
  });
}
