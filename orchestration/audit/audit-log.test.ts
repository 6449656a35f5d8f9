// The audit table: what a row holds, that it cannot be changed or removed, its monthly
// partitions, and a chain that stays linear under many concurrent writers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { dropSchema, openDatabase, type Database } from '../../platform/db.ts';
import { AUDIT_MIGRATIONS, SOFTWARE_VERSION, ensureAuditPartitions, writeAuditEvents } from './audit-log.ts';
import { documentHash, rowHash, GENESIS_HASH } from './canonical.ts';
import { applyAuditGrants } from './grants.ts';
import { listAuditPartitions } from './retention.ts';
import { verifyAuditLog } from './verify.ts';
import { ENGINES, openAuditDb, resetLog, rowAt, testPrincipal } from './test-helpers.ts';

for (const { engine, url, skip } of ENGINES) {
  describe(`${engine}: audit table`, { skip }, () => {
    let db: Database;
    before(async () => {
      db = await openAuditDb(url);
    });
    after(async () => {
      if (!db) return;
      await dropSchema(db);
      await db.close();
    });

    test('a row holds who, which patient, which fields, the operation, decision and chain; unknown values stay null', async () => {
      await resetLog(db);
      const principal = testPrincipal({
        sub: 'dr-ñ',
        roles: ['clinician'],
        purposeOfUse: 'ETREAT',
        breakGlassReason: 'unconscious patient 🚑',
        requestId: 'req-content',
      });
      const written = await writeAuditEvents(
        db,
        {
          principal,
          subgraph: 'mpi',
          operationName: 'Chart',
          documentHash: documentHash('query Chart { patient(id: "1") { birthDate } }'),
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          outcome: 'success',
        },
        [{ patientRef: 'Patient/1', fields: ['Patient.birthDate'], rules: ['clinicianForTreatment'] }],
        [{ patientRef: '', fields: ['Query.auditEvents'] }],
      );
      assert.equal(written, 2);
      const permit = await rowAt(db, 1);
      assert.deepEqual(
        { ...permit, recorded_at: undefined, prev_hash: undefined, hash: undefined },
        {
          seq: '1',
          recorded_at: undefined,
          request_id: 'req-content',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          subgraph: 'mpi',
          subgraph_version: SOFTWARE_VERSION,
          actor_sub: 'dr-ñ',
          actor_roles: ['clinician'],
          client_id: 'chart-app',
          client_ip: '10.1.2.3',
          purpose_of_use: 'ETREAT',
          break_glass_reason: 'unconscious patient 🚑',
          patient_ref: 'Patient/1',
          fields: ['Patient.birthDate'],
          operation_name: 'Chart',
          document_hash: documentHash('query Chart { patient(id: "1") { birthDate } }'),
          decision: 'permit',
          policy_rules: ['clinicianForTreatment'],
          outcome: 'success',
          prev_hash: undefined,
          hash: undefined,
        },
      );
      assert.match(permit.recorded_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      // The database's hash is the one the verifier recomputes in JavaScript.
      assert.equal(permit.prev_hash, GENESIS_HASH.toString('hex'));
      assert.equal(permit.hash, rowHash(GENESIS_HASH, permit).toString('hex'));
      const deny = await rowAt(db, 2);
      assert.equal(deny.prev_hash, permit.hash);
      assert.equal(deny.hash, rowHash(Buffer.from(permit.hash, 'hex'), deny).toString('hex'));
      assert.deepEqual([deny.decision, deny.patient_ref, deny.policy_rules, deny.fields], ['deny', null, null, ['Query.auditEvents']]);
      // Optional context absent: null, not a guess.
      await writeAuditEvents(
        db,
        { principal: testPrincipal({ clientId: null, clientIp: null, purposeOfUse: null }), subgraph: 'epic', operationName: null },
        [{ patientRef: 'SourceRecord/x', fields: ['EpicRecord.observations'] }],
        [],
      );
      const bare = await rowAt(db, 3);
      assert.deepEqual(
        [
          bare.traceparent,
          bare.client_id,
          bare.client_ip,
          bare.purpose_of_use,
          bare.operation_name,
          bare.document_hash,
          bare.outcome,
          bare.policy_rules,
        ],
        [null, null, null, null, null, null, null, null],
      );
      assert.equal(await writeAuditEvents(db, { principal, subgraph: 'mpi', operationName: null }, [], []), 0);
    });

    test('UPDATE, DELETE and TRUNCATE are refused on the log, each partition, checkpoints and purges', async () => {
      await resetLog(db);
      await writeAuditEvents(
        db,
        { principal: testPrincipal(), subgraph: 'mpi', operationName: null },
        [{ patientRef: 'Patient/1', fields: ['Patient.id'] }],
        [],
      );
      const partitions = (await listAuditPartitions(db)).map((p) => p.name);
      const holding = (await db.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM audit_event')).rows[0]!.p;
      const statements = [
        "UPDATE audit_event SET actor_sub = 'someone-else'",
        'DELETE FROM audit_event',
        'TRUNCATE audit_event',
        `UPDATE ${holding} SET patient_ref = NULL`,
        `DELETE FROM ${holding}`,
        ...partitions.map((p) => `TRUNCATE ${p}`),
        "INSERT INTO audit_checkpoint (from_seq, to_seq, merkle_root, head_hash, key_id, payload, signature) VALUES (1, 1, '\\x00', '\\x00', 'k', '{}', 's')",
        "UPDATE audit_checkpoint SET key_id = 'x'",
        'DELETE FROM audit_checkpoint',
        'TRUNCATE audit_checkpoint',
        'TRUNCATE audit_purge',
        'DELETE FROM audit_chain_head',
      ];
      for (const sql of statements) {
        if (sql.startsWith('INSERT')) {
          await db.query(sql);
          continue;
        }
        await assert.rejects(db.query(sql), /append-only/, sql);
      }
      assert.equal((await rowAt(db, 1)).actor_sub, 'clin-1');
      await resetLog(db);
    });

    test('monthly partitions: this month and the next exist, creation is idempotent and concurrent-safe, a default catches the rest', async () => {
      const now = new Date();
      const name = (d: Date) => `audit_event_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
      const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      const before = await listAuditPartitions(db);
      assert.ok(before.some((p) => p.isDefault));
      for (const d of [now, next]) {
        const p = before.find((x) => x.name === name(d));
        assert.ok(p, name(d));
        assert.equal(p.from!.getUTCDate(), 1);
        assert.equal(p.from!.getUTCHours(), 0);
      }
      const made = await Promise.all([1, 2, 3].map(() => ensureAuditPartitions(db, new Date('2031-02-14T12:00:00Z'))));
      assert.equal(
        made.reduce((a, b) => a + b, 0),
        2,
      );
      assert.equal(await ensureAuditPartitions(db, new Date('2031-02-14T12:00:00Z')), 0);
      const feb = (await listAuditPartitions(db)).find((p) => p.name === 'audit_event_y2031m02');
      assert.deepEqual([feb?.from?.toISOString(), feb?.to?.toISOString()], ['2031-02-01T00:00:00.000Z', '2031-03-01T00:00:00.000Z']);
      await assert.rejects(db.query('TRUNCATE audit_event_y2031m03'), /append-only/);
      await db.query('DROP TABLE audit_event_y2031m02, audit_event_y2031m03');
    });

    test('many concurrent writers keep one linear, gap-free chain', async () => {
      await resetLog(db);
      // Several pools (separate connections on PostgreSQL) and many requests in flight on each.
      const writers = url ? await Promise.all([1, 2, 3, 4].map(() => openDatabase({ url, schema: db.schema, maxConnections: 4 }))) : [db];
      try {
        const perWriter = url ? 30 : 60;
        await Promise.all(
          writers.flatMap((w, wi) =>
            Array.from({ length: perWriter }, (_, i) =>
              writeAuditEvents(
                w,
                { principal: testPrincipal({ requestId: `w${wi}-${i}` }), subgraph: `sg${wi}`, operationName: null },
                Array.from({ length: 1 + (i % 3) }, (_, j) => ({ patientRef: `Patient/${wi}-${i}-${j}`, fields: ['Patient.id'] })),
                i % 5 === 0 ? [{ patientRef: `Patient/${wi}-${i}`, fields: ['Patient.ssn'] }] : [],
              ),
            ),
          ),
        );
        const expected =
          writers.length * Array.from({ length: perWriter }, (_, i) => 1 + (i % 3) + (i % 5 === 0 ? 1 : 0)).reduce((a, b) => a + b, 0);
        const { rows } = await db.query<{ n: string; lo: string; hi: string; distinct_seq: string }>(
          'SELECT count(*)::text AS n, min(seq)::text AS lo, max(seq)::text AS hi, count(DISTINCT seq)::text AS distinct_seq FROM audit_event',
        );
        assert.deepEqual(rows[0], { n: String(expected), lo: '1', hi: String(expected), distinct_seq: String(expected) });
        // Each request's rows are contiguous (one batch never interleaves with another).
        const requests = await db.query<{ request_id: string; span: string; n: string }>(
          'SELECT request_id, (max(seq) - min(seq) + 1)::text AS span, count(*)::text AS n FROM audit_event GROUP BY request_id',
        );
        assert.ok(requests.rows.every((r) => r.span === r.n));
        const report = await verifyAuditLog(db, { publicKeys: [] });
        assert.equal(report.ok, true, JSON.stringify(report.problems));
        assert.equal(report.rows, expected);
      } finally {
        if (url) await Promise.all(writers.map((w) => w.close()));
      }
    });

    test('a failed append fails its own request only, and leaves the chain intact', async () => {
      await resetLog(db);
      const ok = writeAuditEvents(
        db,
        { principal: testPrincipal(), subgraph: 'mpi', operationName: null },
        [{ patientRef: 'Patient/1', fields: ['Patient.id'] }],
        [],
      );
      // A NUL character cannot be stored in PostgreSQL text: this request's append fails.
      const bad = writeAuditEvents(
        db,
        { principal: testPrincipal({ sub: 'bad\u0000sub' }), subgraph: 'mpi', operationName: null },
        [{ patientRef: 'Patient/2', fields: ['Patient.id'] }],
        [],
      );
      const ok2 = writeAuditEvents(
        db,
        { principal: testPrincipal(), subgraph: 'mpi', operationName: null },
        [{ patientRef: 'Patient/3', fields: ['Patient.id'] }],
        [],
      );
      const results = await Promise.allSettled([ok, bad, ok2]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      const report = await verifyAuditLog(db, { publicKeys: [] });
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      assert.equal(report.rows, 2);
    });

    test('an application role that does not own the log can append and read, nothing else', async (t) => {
      const role = `audit_app_${randomBytes(4).toString('hex')}`;
      try {
        await db.query(`CREATE ROLE ${role} NOLOGIN`);
      } catch (error) {
        t.skip(`cannot create roles here: ${(error as Error).message}`);
        return;
      }
      try {
        await applyAuditGrants(db, { appRole: role });
        const asApp = (sql: string) =>
          db.transaction(async (tx) => {
            await tx.query(`SET LOCAL ROLE ${role}`);
            return tx.query(sql);
          });
        await asApp(
          `SELECT audit_append('[{"request_id":"r-app","subgraph":"mpi","actor_sub":"app","actor_roles":["clinician"],"fields":["Patient.id"],"decision":"permit"}]'::jsonb)`,
        );
        assert.ok((await asApp("SELECT count(*) FROM audit_event WHERE request_id = 'r-app'")).rows.length === 1);
        const partition = (await listAuditPartitions(db)).find((p) => !p.isDefault)!.name;
        for (const sql of [
          "INSERT INTO audit_event (seq, recorded_at, request_id, subgraph, actor_sub, actor_roles, fields, decision, prev_hash, hash) VALUES (999, now(), 'x', 'x', 'x', '{}', '{}', 'permit', '\\x00', '\\x00')",
          "UPDATE audit_event SET actor_sub = 'x'",
          'DELETE FROM audit_event',
          'TRUNCATE audit_event',
          `DROP TABLE ${partition}`,
          `ALTER TABLE audit_event DETACH PARTITION ${partition}`,
          'ALTER TABLE audit_event DISABLE TRIGGER ALL',
          'UPDATE audit_chain_head SET seq = 0',
          "INSERT INTO audit_checkpoint (from_seq, to_seq, merkle_root, head_hash, key_id, payload, signature) VALUES (1, 1, '\\x00', '\\x00', 'k', '{}', 's')",
        ]) {
          await assert.rejects(asApp(sql), /permission denied|must be owner|must be the owner/, sql);
        }
      } finally {
        await db.query(`DROP OWNED BY ${role}`).catch(() => undefined);
        await db.query(`DROP ROLE IF EXISTS ${role}`);
      }
    });
  });
}

test('the migration is one statement list whose function bodies survive the migration runner', () => {
  const sql = AUDIT_MIGRATIONS[0]!.sql;
  for (const statement of sql.split(/;\s*\n/))
    assert.equal((statement.match(/\$(fn|do)\$/g) ?? []).length % 2, 0, `a function body was split: ${statement.slice(0, 80)}`);
});
