// Signed checkpoints and the verifier: an untouched log verifies; each kind of tampering by
// someone with DBA rights (triggers bypassed) is caught, naming the first bad record.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign, type JsonWebKey } from 'node:crypto';
import { dropSchema, type Database, type Queryable } from '../../platform/db.ts';
import { rowHash } from './canonical.ts';
import { AuditIntegrityError, createCheckpoint, readCheckpoints, startAuditCheckpoints, verifyCheckpointSignature } from './checkpoint.ts';
import { verifyAuditLog, formatReport, type AuditVerifyReport } from './verify.ts';
import {
  ENGINES,
  appendRequests,
  asAttacker,
  insertRow,
  openAuditDb,
  rehashFrom,
  resetLog,
  rowAt,
  testSigningKey,
  type TestKey,
} from './test-helpers.ts';

for (const { engine, url, skip } of ENGINES) {
  describe(`${engine}: checkpoints and verification`, { skip }, () => {
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

    const verify = () => verifyAuditLog(db, { publicKeys: [key.publicJwk] });
    /** Seqs 1..8 signed by one checkpoint, seqs 9..12 after it. */
    const build = async (): Promise<number> => {
      await resetLog(db);
      await appendRequests(db, 4, 2);
      const cp = await createCheckpoint(db, key);
      await appendRequests(db, 2, 2);
      return cp!.id;
    };
    const first = (report: AuditVerifyReport) => {
      assert.equal(report.ok, false, 'tampering went unnoticed');
      const p = report.problems[0]!;
      return { kind: p.kind, seq: p.seq, checkpointId: p.checkpointId };
    };
    const tamper = (fn: (tx: Queryable) => Promise<unknown>) => asAttacker(db, async (tx) => void (await fn(tx)));

    test('an untouched log verifies; checkpoints tile it and sign only new rows', async () => {
      const cpId = await build();
      let report = await verify();
      assert.equal(report.ok, true, formatReport(report));
      assert.deepEqual(
        [report.rows, report.firstSeq, report.lastSeq, report.checkpointsSigned, report.checkpointsRecomputed, report.signedThroughSeq],
        [12, 1, 12, 1, 1, 8],
      );
      assert.match(report.warnings.join(), /9\.\.12 are not yet covered/);
      const second = await createCheckpoint(db, key);
      assert.deepEqual([second?.payload.from_seq, second?.payload.to_seq, second?.payload.prev_hash], [9, 12, (await rowAt(db, 8)).hash]);
      assert.equal(await createCheckpoint(db, key), null, 'nothing new to sign');
      report = await verify();
      assert.equal(report.ok, true, formatReport(report));
      assert.deepEqual([report.checkpointsRecomputed, report.warnings], [2, []]);
      assert.match(formatReport(report), /^audit log OK: 12 rows \(seqs 1\.\.12\), 2\/2 checkpoints signed, 2 recomputed/);
      const stored = (await readCheckpoints(db)).find((c) => c.id === cpId)!;
      assert.ok('payload' in verifyCheckpointSignature(stored, [key.publicJwk]));
    });

    test('checkpointers running at once never overlap', async () => {
      await resetLog(db);
      await appendRequests(db, 3, 3);
      const made = await Promise.all([1, 2, 3].map(() => createCheckpoint(db, key)));
      assert.equal(made.filter((m) => m !== null).length, 1);
      await appendRequests(db, 1, 2);
      await Promise.all([createCheckpoint(db, key), createCheckpoint(db, key)]);
      const report = await verify();
      assert.equal(report.ok, true, formatReport(report));
      assert.deepEqual([report.checkpointsSigned, report.signedThroughSeq], [2, 11]);
    });

    test('the background checkpointer signs every N rows, and on demand', async () => {
      await resetLog(db);
      // The rows come first: with no checkpoint yet the scheduler signs whatever is there at its first
      // look, which on a loaded machine could fall between two of these requests.
      await appendRequests(db, 3, 2);
      const scheduler = startAuditCheckpoints(db, key, { everyRows: 5, maxAgeMs: 3_600_000, pollMs: 10 });
      try {
        // Up to 10 s: on a loaded machine the 10 ms poll can take far longer than 2 s to see the rows.
        for (let i = 0; i < 1000 && (await readCheckpoints(db)).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(
          (await readCheckpoints(db)).map((c) => [c.fromSeq, c.toSeq]),
          [[1, 6]],
        );
        await appendRequests(db, 1, 1);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal((await readCheckpoints(db)).length, 1, 'one unsigned row is below the threshold');
        assert.deepEqual([(await scheduler.runNow())?.payload.from_seq, (await scheduler.runNow())?.payload.from_seq], [7, undefined]);
        // Six more rows, two at a time: the scheduler may look at 2 or 4 (below the threshold, last
        // checkpoint fresh) but signs once 5 or more are unsigned, all of them.
        await appendRequests(db, 3, 2);
        for (let i = 0; i < 1000 && (await readCheckpoints(db)).length === 2; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual((await readCheckpoints(db)).map((c) => [c.fromSeq, c.toSeq]).at(-1), [8, 13]);
      } finally {
        await scheduler.stop();
      }
      assert.equal((await verify()).ok, true);
    });

    test('an edited row', async () => {
      await build();
      await tamper((tx) => tx.query("UPDATE audit_event SET fields = ARRAY['Patient.id'] WHERE seq = 5"));
      const report = await verify();
      assert.deepEqual(first(report), { kind: 'edited', seq: 5, checkpointId: undefined });
      assert.match(report.problems[0]!.message, /seq 5 was edited/);
      assert.match(formatReport(report), /^audit log TAMPERED: first bad record seq 5 \[edited\]/);
    });

    test('a deleted row', async () => {
      await build();
      await tamper((tx) => tx.query('DELETE FROM audit_event WHERE seq = 6'));
      assert.deepEqual(first(await verify()), { kind: 'deleted', seq: 6, checkpointId: undefined });
    });

    test('an inserted row beside a genuine one (same seq), even with a correct hash', async () => {
      await build();
      const six = await rowAt(db, 6);
      const seven = await rowAt(db, 7);
      // (seq, recorded_at) is the primary key: the forger shifts the time by a microsecond.
      const recorded_at = seven.recorded_at.replace(/\d(?=Z$)/, (d) => String((Number(d) + 1) % 10));
      await tamper((tx) =>
        insertRow(tx, 7, six.hash, { ...seven, recorded_at, request_id: 'forged-request', patient_ref: 'Patient/cover-story' }),
      );
      const report = await verify();
      assert.deepEqual(first(report), { kind: 'inserted', seq: 7, checkpointId: undefined });
      assert.match(report.problems[0]!.message, /appears 2 times.*forged-request/);
      assert.doesNotMatch(report.problems[0]!.message, /request req-3/, 'the genuine row is not blamed');
    });

    test('a row inserted in the middle, the rows after it renumbered', async () => {
      await build();
      const six = await rowAt(db, 6);
      await tamper(async (tx) => {
        await tx.query('UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 7');
        await tx.query('UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1000');
        await insertRow(tx, 7, six.hash, { ...six, request_id: 'forged-request', patient_ref: 'Patient/cover-story' });
        await tx.query('UPDATE audit_chain_head SET seq = seq + 1');
      });
      const report = await verify();
      assert.deepEqual(first(report), { kind: 'inserted', seq: 7, checkpointId: undefined });
    });

    test('reordered rows', async () => {
      await build();
      await tamper(async (tx) => {
        await tx.query('UPDATE audit_event SET seq = -10 WHERE seq = 10');
        await tx.query('UPDATE audit_event SET seq = 10 WHERE seq = 9');
        await tx.query('UPDATE audit_event SET seq = 9 WHERE seq = -10');
      });
      assert.deepEqual(first(await verify()), { kind: 'reordered', seq: 9, checkpointId: undefined });
    });

    test('a truncated tail, against the latest signed checkpoint', async () => {
      await build();
      const cp = await createCheckpoint(db, key);
      const ten = await rowAt(db, 10);
      await tamper(async (tx) => {
        await tx.query('DELETE FROM audit_event WHERE seq > 10');
        await tx.query(`UPDATE audit_chain_head SET seq = 10, hash = decode($1, 'hex')`, [ten.hash]);
      });
      const report = await verify();
      assert.deepEqual(first(report), { kind: 'truncated', seq: 11, checkpointId: cp!.id });
      assert.match(report.problems[0]!.message, /seqs 11\.\.12 were removed/);
    });

    test("a truncated unsigned tail, against the writers' chain head", async () => {
      await build();
      await tamper((tx) => tx.query('DELETE FROM audit_event WHERE seq > 11'));
      assert.deepEqual(first(await verify()), { kind: 'truncated', seq: 12, checkpointId: undefined });
    });

    test('a forged checkpoint: signed by another key under the trusted key id, or its columns altered', async () => {
      const cpId = await build();
      const attacker = await testSigningKey(key.kid);
      const payload = JSON.stringify({
        type: 'audit-checkpoint',
        v: 1,
        kid: key.kid,
        from_seq: 9,
        to_seq: 12,
        prev_hash: '00',
        merkle_root: '00',
        head_hash: '00',
        from_recorded_at: '',
        to_recorded_at: '',
        created_at: '',
      });
      const signature = sign(
        null,
        Buffer.from(payload),
        createPrivateKey({ key: attacker.privateJwk as JsonWebKey, format: 'jwk' }),
      ).toString('base64url');
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO audit_checkpoint (from_seq, to_seq, merkle_root, head_hash, key_id, payload, signature) VALUES (9, 12, '\\x00', '\\x00', $1, $2, $3) RETURNING id::text AS id`,
        [key.kid, payload, signature],
      );
      let report = await verify();
      assert.deepEqual(first(report), { kind: 'checkpoint-forged', seq: 9, checkpointId: Number(rows[0]!.id) });
      assert.match(report.problems[0]!.message, /signature does not verify/);

      await build();
      await tamper((tx) =>
        tx.query(`UPDATE audit_checkpoint SET to_seq = 7, merkle_root = '\\x01' WHERE id = (SELECT max(id) FROM audit_checkpoint)`),
      );
      report = await verify();
      assert.equal(first(report).kind, 'checkpoint-forged');
      assert.match(report.problems[0]!.message, /stored to_seq, merkle_root differ from what was signed/);
      assert.notEqual(cpId, undefined);
    });

    test('rows rewritten with every hash after them recomputed: the signed Merkle root disagrees', async () => {
      const cpId = await build();
      await tamper(async (tx) => {
        await tx.query("UPDATE audit_event SET actor_sub = 'someone-else' WHERE seq = 3");
        await rehashFrom(tx, 3);
      });
      const report = await verify();
      assert.deepEqual(first(report), { kind: 'checkpoint-mismatch', seq: 1, checkpointId: cpId });
      assert.match(report.problems[0]!.message, /seqs 1\.\.8 differ from signed checkpoint/);
    });

    test('one row rewritten with its own hash recomputed: the next row no longer links', async () => {
      await build();
      await tamper(async (tx) => {
        await tx.query("UPDATE audit_event SET purpose_of_use = 'HRESCH' WHERE seq = 4");
        const four = await rowAt(tx, 4);
        await tx.query(`UPDATE audit_event SET hash = decode($1, 'hex') WHERE seq = 4`, [
          rowHash(Buffer.from(four.prev_hash, 'hex'), four).toString('hex'),
        ]);
      });
      const report = await verify();
      assert.deepEqual(first(report), { kind: 'broken-link', seq: 5, checkpointId: undefined });
      assert.match(report.problems[0]!.message, /seq 4 was rewritten/);
    });

    test('a removed checkpoint', async () => {
      await build();
      const second = await createCheckpoint(db, key);
      await appendRequests(db, 1, 2);
      await createCheckpoint(db, key);
      await tamper((tx) => tx.query('DELETE FROM audit_checkpoint WHERE id = $1', [second!.id]));
      const report = await verify();
      assert.deepEqual(first(report), { kind: 'checkpoint-missing', seq: 9, checkpointId: second!.id + 1 });
    });

    test('the checkpointer refuses to sign a chain that does not verify', async () => {
      await build();
      await tamper((tx) => tx.query("UPDATE audit_event SET decision = 'deny' WHERE seq = 10"));
      await assert.rejects(
        createCheckpoint(db, key),
        (e: unknown) => e instanceof AuditIntegrityError && e.problem.kind === 'edited' && e.problem.seq === 10,
      );
      assert.equal((await readCheckpoints(db)).length, 1);
    });
  });
}
