import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { applicationName, type Database, type Queryable } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';
import { claim, complete, fail, inboxState, receive, replay } from './inbox.ts';
import { message, NO_CONNECTION_TO_KILL, openInboxTestDb, POSTGRES_ONLY } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => {
  t = await openInboxTestDb();
});
after(() => t.close());

const policy = { baseMs: 1, capMs: 5, maxAttempts: 3 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = async (db: Queryable = t.db): Promise<number> =>
  Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM inbox_message')).rows[0]!.n);
const rowVersion = async (id: string) =>
  (
    await t.db.query<{ xmin: string; payload: unknown; ack: Buffer }>('SELECT xmin::text, payload, ack FROM inbox_message WHERE id = $1', [
      id,
    ])
  ).rows[0]!;
/** Leaves nothing claimable behind for the next test. */
const drain = async () => {
  await t.db.query("UPDATE inbox_message SET state = 'done' WHERE state <> 'done'");
};
const claimOne = (workerId = 'w', leaseMs = 60_000) => claim(t.db, { limit: 1, workerId, leaseMs, policy }, t.protection);

test('accepted, then the same message again: the stored ACK, nothing written', async () => {
  const first = await receive(t.db, message('C-1', { patientKey: 'p1' }), t.protection);
  assert.equal(first.status, 'accepted');
  const before = await rowVersion(first.id);
  const n = await count();
  // The resend is built with another ACK (a new timestamp): the first one is what comes back.
  const again = await receive(t.db, message('C-1', { patientKey: 'p1', ack: 'MSH|other ack' }), t.protection);
  assert.equal(again.status, 'duplicate');
  assert.equal(again.id, first.id);
  assert.ok(again.status === 'duplicate' && first.status === 'accepted' && again.ack.equals(first.ack));
  assert.equal(await count(), n);
  assert.equal((await rowVersion(first.id)).xmin, before.xmin, 'the row was not rewritten');
  // No sequence value was spent on the duplicate either: the next id follows at once.
  const next = await receive(t.db, message('C-2'), t.protection);
  assert.equal(BigInt(next.id), BigInt(first.id) + 1n);
  await drain();
});

test('same key, another payload: conflict, never an overwrite', async () => {
  const first = await receive(t.db, message('C-10', { body: 'ORIGINAL^ONE' }), t.protection);
  const before = await rowVersion(first.id);
  const other = await receive(t.db, message('C-10', { body: 'CHANGED^TWO' }), t.protection);
  assert.deepEqual(other, { status: 'conflict', id: first.id });
  const after = await rowVersion(first.id);
  assert.equal(after.xmin, before.xmin);
  assert.match(t.protection.revealPayload(after.payload) as string, /ORIGINAL\^ONE/);
  // Another channel, facility or application is another message.
  const elsewhere = await receive(t.db, message('C-10', { body: 'CHANGED^TWO', channel: 'other-mllp' }), t.protection);
  assert.equal(elsewhere.status, 'accepted');
  await drain();
});

test('the payload is sealed and its digest is keyed, not a plain hash', async () => {
  const m = message('C-20', { body: 'SEALED^CHECK' });
  const r = await receive(t.db, m, t.protection);
  const raw = (
    await t.db.query<{ payload: unknown; payload_digest: string }>('SELECT payload, payload_digest FROM inbox_message WHERE id = $1', [
      r.id,
    ])
  ).rows[0]!;
  assert.doesNotMatch(JSON.stringify(raw.payload), /SEALED/);
  for (const plain of [m.payload, JSON.stringify(m.payload)])
    assert.notEqual(raw.payload_digest, createHash('sha256').update(plain).digest('hex'));
  await drain();
});

test('concurrent deliveries of one message: one accepted, the others duplicates with its ACK', async () => {
  const results = await Promise.all(Array.from({ length: 6 }, () => receive(t.db, message('C-30'), t.protection)));
  assert.deepEqual(results.map((r) => r.status).sort(), ['accepted', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
  assert.equal(new Set(results.map((r) => r.id)).size, 1);
  assert.equal(
    Number((await t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM inbox_message WHERE control_id = 'C-30'")).rows[0]!.n),
    1,
  );
  await drain();
});

test('complete, and a transient failure retried with backoff until dead after maxAttempts', async () => {
  const { id } = await receive(t.db, message('C-40'), t.protection);
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [m] = await claimOne();
    assert.equal(m?.id, id);
    assert.equal(m.attempt, attempt);
    assert.match(m.payload, /C-40/);
    const outcome = await fail(t.db, m, 'transient', 'EHR_TIMEOUT', policy);
    assert.equal(outcome?.state, attempt < 3 ? 'pending' : 'dead');
    await sleep(10);
  }
  assert.deepEqual(await inboxState(t.db, id), { state: 'dead', attempts: 3, lastError: 'EHR_TIMEOUT', deadReason: 'max-attempts' });
  assert.deepEqual(await claimOne(), []);

  const ok = await receive(t.db, message('C-41'), t.protection);
  const [m] = await claimOne();
  assert.equal(m?.id, ok.id);
  assert.equal(await complete(t.db, m), true);
  assert.equal(await complete(t.db, m), false, 'a finished claim cannot be completed twice');
  assert.equal((await inboxState(t.db, ok.id))?.state, 'done');
  await drain();
});

test('a transient failure is not claimed again before its delay', async () => {
  const { id } = await receive(t.db, message('C-45'), t.protection);
  const [m] = await claimOne();
  await fail(t.db, m!, 'transient', 'X', { baseMs: 60_000, capMs: 60_000, maxAttempts: 5 }, () => 0.5);
  assert.deepEqual(await claimOne(), []);
  const due = await t.db.query<{ s: number }>(
    'SELECT extract(epoch FROM next_attempt_at - now())::float AS s FROM inbox_message WHERE id = $1',
    [id],
  );
  assert.ok(due.rows[0]!.s > 25 && due.rows[0]!.s <= 30, String(due.rows[0]!.s));
  await drain();
});

test('a permanent failure is dead at once; replay by id and by filter is idempotent', async () => {
  const a = await receive(t.db, message('C-50'), t.protection);
  const b = await receive(t.db, message('C-51', { channel: 'feed-b' }), t.protection);
  for (const _ of [a, b]) {
    const [m] = await claimOne();
    assert.deepEqual(await fail(t.db, m!, 'permanent', 'PermanentFailure: unsupported event', policy), {
      state: 'dead',
      reason: 'permanent',
    });
  }
  const byId = await replay(t.db, { ids: [a.id, 'not-a-number'] });
  assert.deepEqual(
    byId.map((r) => [r.id, r.reason, r.attempts, r.lastError]),
    [[a.id, 'permanent', 1, 'PermanentFailure: unsupported event']],
  );
  assert.deepEqual(await replay(t.db, { ids: [a.id] }), [], 'a second replay changes nothing');
  assert.deepEqual((await inboxState(t.db, a.id))?.state, 'pending');
  assert.equal((await claimOne())[0]?.id, a.id, 'replayed: claimable again, attempts start over');
  assert.deepEqual(await replay(t.db, { filter: { channel: 'sim-mllp' } }), []);
  const byFilter = await replay(t.db, { filter: { channel: 'feed-b', reason: 'permanent' } });
  assert.deepEqual(
    byFilter.map((r) => r.id),
    [b.id],
  );
  assert.deepEqual(await replay(t.db, { filter: { channel: 'feed-b' } }), []);
  await drain();
});

test('per patient: a message waits while an earlier one of the same patient is pending or in flight; a dead letter does not hold it', async () => {
  const p1 = await receive(t.db, message('C-60', { patientKey: 'pa' }), t.protection);
  const p2 = await receive(t.db, message('C-61', { patientKey: 'pa' }), t.protection);
  const q = await receive(t.db, message('C-62', { patientKey: 'pb' }), t.protection);
  const n = await receive(t.db, message('C-63', { patientKey: null }), t.protection);
  const first = await claim(t.db, { limit: 10, workerId: 'w', policy }, t.protection);
  assert.deepEqual(
    first.map((m) => m.id),
    [p1.id, q.id, n.id],
  );
  assert.deepEqual(await claimOne(), [], 'p2 waits for p1 in flight');
  await fail(t.db, first[0]!, 'transient', 'X', policy, () => 0);
  assert.deepEqual(
    (await claim(t.db, { limit: 10, workerId: 'w', policy }, t.protection)).map((m) => m.id),
    [p1.id],
    'p1 retried first',
  );
  const again = { id: p1.id, attempt: 2 };
  await fail(t.db, again, 'permanent', 'X', policy);
  assert.deepEqual(
    (await claimOne()).map((m) => m.id),
    [p2.id],
  );
  await drain();
});

test('a worker that dies holding a claim: its lease expires and the message is claimed again; the stale claim cannot finish it', async () => {
  const { id } = await receive(t.db, message('C-70', { patientKey: 'pc' }), t.protection);
  const later = await receive(t.db, message('C-71', { patientKey: 'pc' }), t.protection);
  const [dying] = await claimOne('dies', 50);
  assert.equal(dying?.id, id);
  assert.deepEqual(await claimOne(), [], 'leased');
  await sleep(120);
  const [taken] = await claimOne('survivor');
  assert.deepEqual([taken?.id, taken?.attempt], [id, 2]);
  assert.equal(await complete(t.db, dying!), false, 'the dead worker woke up late: its claim is gone');
  assert.equal(await fail(t.db, dying!, 'permanent', 'X', policy), undefined);
  assert.equal(await complete(t.db, taken!), true);
  assert.equal((await claimOne())[0]?.id, later.id, 'order kept through the re-claim');
  await drain();
});

test('a message whose worker dies at every attempt goes to the dead letters (lease expired)', async () => {
  const { id } = await receive(t.db, message('C-80'), t.protection);
  for (let i = 0; i < 3; i++) {
    assert.equal((await claimOne('dies', 20))[0]?.id, id);
    await sleep(50);
  }
  assert.deepEqual(await claimOne(), []);
  assert.deepEqual(await inboxState(t.db, id), { state: 'dead', attempts: 3, lastError: 'lease expired', deadReason: 'lease-expired' });
  await drain();
});

test('two workers never claim the same row (SKIP LOCKED)', { skip: process.env.DATABASE_URL ? false : POSTGRES_ONLY }, async () => {
  for (let i = 0; i < 300; i++) await receive(t.db, message(`S-${i}`, { patientKey: null }), t.protection);
  const seen: string[] = [];
  await Promise.all(
    Array.from({ length: 6 }, async (_, w) => {
      for (;;) {
        const got = await claim(t.db, { limit: 7, workerId: `w${w}`, policy }, t.protection);
        if (got.length === 0) return;
        seen.push(...got.map((m) => m.id));
      }
    }),
  );
  assert.equal(seen.length, 300);
  assert.equal(new Set(seen).size, 300);
  await drain();
});

/**
 * The database, with its transaction's connection terminated from another connection (as an
 * operator or a failover would) right after a statement matching `after`.
 */
const killedAfter = (after: RegExp): Database => ({
  ...t.db,
  transaction: (fn) =>
    t.db.transaction(async (tx) => {
      const pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      return fn({
        query: async (text, params) => {
          const r = await tx.query(text, params);
          // Waits (up to 5 s) until the backend is gone and its row locks are released.
          if (after.test(text)) await t.db.query('SELECT pg_terminate_backend($1, 5000)', [pid]);
          return r;
        },
      } as Queryable);
    }),
});
const unavailable = (e: unknown) => e instanceof ProductError && e.code === 'DATABASE_UNAVAILABLE';

test(
  'the connection killed while receive waits for its answer: it rejects (no positive ACK) and nothing is written',
  { skip: process.env.DATABASE_URL ? false : NO_CONNECTION_TO_KILL },
  async () => {
    const n = await count();
    const rollback = new Error('rollback');
    // An uncommitted insert of the same key holds receive's statement (ON CONFLICT waits for it) while its connection is killed.
    await assert.rejects(
      t.db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO inbox_message (channel, sending_application, sending_facility, control_id, payload, payload_digest, ack)
           VALUES ('sim-mllp', 'SIMADT', 'SIMHOSP', 'K-1', '{}', 'x', '\\x00')`,
        );
        // Settled into a value at once: it rejects while the kill is awaited below.
        const pending = receive(t.db, message('K-1'), t.protection).then(
          (r) => r.status,
          (e: unknown) => e,
        );
        let waiting: { pid: number }[] = [];
        while (waiting.length === 0) {
          await sleep(20);
          waiting = (
            await t.db.query<{ pid: number }>(
              "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE 'WITH found%'",
              [applicationName(t.db.schema)],
            )
          ).rows;
        }
        await t.db.query('SELECT pg_terminate_backend($1, 5000)', [waiting[0]!.pid]);
        assert.ok(unavailable(await pending));
        throw rollback;
      }),
      (e) => e === rollback,
    );
    assert.equal(await count(), n);
    // The sender retries: accepted now, once.
    assert.equal((await receive(t.db, message('K-1'), t.protection)).status, 'accepted');
    assert.equal(await count(), n + 1);
    await drain();
  },
);

test(
  'the connection killed mid-claim: the message stays pending, not claimed by nobody',
  { skip: process.env.DATABASE_URL ? false : NO_CONNECTION_TO_KILL },
  async () => {
    const { id } = await receive(t.db, message('K-2'), t.protection);
    await assert.rejects(claim(killedAfter(/WITH ready/), { limit: 1, workerId: 'w', policy }, t.protection), unavailable);
    assert.deepEqual(await inboxState(t.db, id), { state: 'pending', attempts: 0, lastError: null, deadReason: null });
    assert.equal((await claimOne())[0]?.id, id);
    await drain();
  },
);
