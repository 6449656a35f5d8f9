import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';
import { inboxState, receive, type ClaimedMessage } from './inbox.ts';
import { PermanentFailure } from './state.ts';
import { message, openInboxTestDb } from './test-helpers.ts';
import { runWorkers, type WakeUp } from './workers.ts';

let t: MpiTestDb;
before(async () => {
  t = await openInboxTestDb();
});
after(() => t.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const policy = { baseMs: 2, capMs: 10, maxAttempts: 5 };

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}
const open = async (): Promise<number> =>
  Number(
    (await t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM inbox_message WHERE state IN ('pending', 'processing')")).rows[0]!.n,
  );

test('4 workers: each patient’s messages applied in order, one at a time, each exactly once, through transient failures', async () => {
  // Fewer patients than workers: without the per-patient rule, workers would take one patient's
  // consecutive messages at once, and a retry (backing off) would be overtaken by the next message.
  const patients = ['pa', 'pb', 'pc'];
  // Interleaved arrival: message i of every patient, then i+1.
  for (let i = 0; i < 20; i++)
    for (const p of patients) await receive(t.db, message(`O-${p}-${String(i).padStart(2, '0')}`, { patientKey: p }), t.protection);
  const applied = new Map<string, number[]>();
  const inHand = new Set<string>();
  const failedOnce = new Set<string>();
  let overlap = 0;
  const seq = (m: ClaimedMessage) => Number(m.key.controlId.slice(-2));
  const workers = runWorkers({
    db: t.db,
    protection: t.protection,
    concurrency: 4,
    pollMs: 5,
    policy: { baseMs: 20, capMs: 40, maxAttempts: 5 },
    handler: async (m) => {
      const p = m.patientKey!;
      if (inHand.has(p)) overlap++;
      inHand.add(p);
      try {
        await sleep(Math.random() * 5);
        // Every 7th message fails once: its retry must still come before the patient's next message.
        if (seq(m) % 7 === 3 && !failedOnce.has(m.id)) {
          failedOnce.add(m.id);
          throw new Error('EHR timeout (synthetic)');
        }
        applied.set(p, [...(applied.get(p) ?? []), seq(m)]);
      } finally {
        inHand.delete(p);
      }
    },
  });
  try {
    await until(async () => (await open()) === 0);
  } finally {
    await workers.stop();
  }
  assert.equal(overlap, 0, 'two messages of one patient were in hand at once');
  assert.equal(failedOnce.size, 9);
  for (const p of patients) assert.deepEqual(applied.get(p), [...Array(20).keys()], p);
  const states = await t.db.query<{ state: string; n: string }>('SELECT state, count(*)::text AS n FROM inbox_message GROUP BY state');
  assert.deepEqual(
    states.rows.map((r) => [r.state, r.n]),
    [['done', '60']],
  );
});

test('a poison message goes to the dead letters with its reason; the patient’s next messages flow', async () => {
  const poison = await receive(t.db, message('P-1', { patientKey: 'pz' }), t.protection);
  const retried = await receive(t.db, message('P-2', { patientKey: 'pz' }), t.protection);
  const next = await receive(t.db, message('P-3', { patientKey: 'pz' }), t.protection);
  const done: string[] = [];
  const workers = runWorkers({
    db: t.db,
    protection: t.protection,
    concurrency: 2,
    pollMs: 5,
    policy,
    handler: async (m) => {
      if (m.id === poison.id) throw new PermanentFailure('unsupported message type');
      // Quotes the payload: must not reach last_error.
      if (m.id === retried.id) throw new Error(`cannot apply ${m.payload}`);
      done.push(m.id);
    },
  });
  try {
    await until(async () => (await open()) === 0);
  } finally {
    await workers.stop();
  }
  assert.deepEqual(done, [next.id]);
  assert.deepEqual(await inboxState(t.db, poison.id), {
    state: 'dead',
    attempts: 1,
    lastError: 'PermanentFailure: unsupported message type',
    deadReason: 'permanent',
  });
  assert.deepEqual(await inboxState(t.db, retried.id), { state: 'dead', attempts: 5, lastError: 'Error', deadReason: 'max-attempts' });
});

test('a wake-up makes an idle worker look at once; without it, polling finds the message', async () => {
  const listeners = new Set<() => void>();
  const wakeUp: WakeUp = {
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  const seen: string[] = [];
  const workers = runWorkers({
    db: t.db,
    protection: t.protection,
    concurrency: 2,
    pollMs: 60_000,
    wakeUp,
    handler: async (m) => void seen.push(m.id),
  });
  try {
    await sleep(100); // both workers idle, for a minute
    const { id } = await receive(t.db, message('W-1'), t.protection);
    for (const fn of listeners) fn();
    await until(async () => seen.includes(id), 2000);
  } finally {
    await workers.stop();
  }
  assert.equal(listeners.size, 0, 'stop unsubscribes');

  const polling = runWorkers({
    db: t.db,
    protection: t.protection,
    concurrency: 1,
    pollMs: 20,
    handler: async (m) => void seen.push(m.id),
  });
  try {
    await sleep(50);
    const { id } = await receive(t.db, message('W-2'), t.protection);
    await until(async () => seen.includes(id), 2000);
  } finally {
    await polling.stop();
  }
});

test('an outcome the database could not take is written once it is back, not a lease later', async () => {
  let refused = 0;
  // The database away for the first two attempts to mark the message done (a restart, say).
  const flaky: Database = {
    ...t.db,
    query: async (text, params, options) => {
      if (text.includes("SET state = 'done'") && refused < 2) {
        refused++;
        throw new ProductError('DATABASE_UNAVAILABLE', 'the database is unreachable; retry shortly');
      }
      return t.db.query(text, params, options);
    },
  };
  const applied: string[] = [];
  const workers = runWorkers({
    db: flaky,
    protection: t.protection,
    concurrency: 1,
    pollMs: 20,
    leaseMs: 60_000,
    handler: async (m) => void applied.push(m.id),
  });
  try {
    const { id } = await receive(t.db, message('F-1'), t.protection);
    await until(async () => (await inboxState(t.db, id))?.state === 'done', 5000);
    assert.deepEqual(applied, [id], 'applied once: the outcome was retried, not the message');
    assert.equal(refused, 2);
  } finally {
    await workers.stop();
  }
});
