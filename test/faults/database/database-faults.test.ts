// An operator's view of PostgreSQL failing under load: every connection of the running product
// terminated, PostgreSQL restarted, and PostgreSQL frozen behind a lock. The process keeps
// running, every request ends within its bound with data or DATABASE_UNAVAILABLE (never an
// internal error, never a hang), and the product answers normally again by itself.
// Real PostgreSQL only (DATABASE_URL); the restart also needs root and pg_ctlcluster on this host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { applicationName, SERVING_TIMEOUTS } from '../../../platform/db.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { databaseUrl, uniqueSchema } from '../../support/env.ts';
import { clusterCtl, restartUnavailable } from '../../support/postgres-cluster.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const url = databaseUrl();
const SKIP = url ? false : 'DATABASE_URL is not set: database faults are injected into a real PostgreSQL';

/** Beyond this a request counts as hung: the gateway's own cutoff for a subgraph call (gateway/server.ts). */
const GATEWAY_CUTOFF_MS = 10_000;
/** The product must answer normally again within this long after a fault (issue 12). */
const RECOVERY_MS = 20_000;
/** Readers (a clinician's patient queries) and writers (a steward's field changes, each one transaction). */
const READERS = 6;
const WRITERS = 2;

const READ = `query Faults($id: ID!) { patient(id: $id) { id name { family } sourceRecords { source observations { id } } } }`;
const WRITE = `mutation Faults($id: ID!, $gender: String!) {
  setPatientFields(patientId: $id, fields: { gender: $gender }, reason: "fault test") { patient { id } }
}`;

type Outcome = {
  readonly started: number;
  readonly ms: number;
  readonly ok: boolean;
  readonly codes: readonly string[];
  readonly write: boolean;
};

let stack: Stack;
let clinician: string;
let steward: string;
let ids: string[];
const schema = uniqueSchema('faults');
const outcomes: Outcome[] = [];
let stopLoad = false;
// What would have ended the product's process (an 'error' event nobody listens to, say): the test
// runner catches it, so it is recorded here (the monitor changes nothing) and asserted at the end.
const uncaught: string[] = [];
process.on('uncaughtExceptionMonitor', (error) => uncaught.push(`${error.name}: ${error.message}`));
let load: Promise<unknown>;

type Answer = { patient?: { id: string } | null; setPatientFields?: { patient: { id: string } | null } };

/** One request as the load sends it: ok (the patient, with no error), or the error codes it ended with. */
async function request(id: string, write = false, n = 0): Promise<Outcome> {
  const started = performance.now();
  try {
    const res = await Promise.race([
      write ? gql<Answer>(stack, steward, WRITE, { id, gender: n % 2 ? 'female' : 'male' }) : gql<Answer>(stack, clinician, READ, { id }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('HUNG')), 3 * GATEWAY_CUTOFF_MS).unref()),
    ]);
    const codes = (res.body.errors ?? []).map((e) => String(e.extensions?.code ?? `no code: ${e.message}`));
    const patient = write ? res.body.data?.setPatientFields?.patient : res.body.data?.patient;
    return { started, ms: performance.now() - started, ok: res.status === 200 && codes.length === 0 && patient?.id === id, codes, write };
  } catch (error) {
    return { started, ms: performance.now() - started, ok: false, codes: [`NETWORK ${(error as Error).message}`], write };
  }
}

/** A connection of the fault injector's own (never one of the product's), opened per use so it survives a restart. */
async function admin<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'pgw-fault-injector' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Time from `since` until a fresh request succeeds (polled every 250 ms), failing past RECOVERY_MS. */
async function recoveredAfter(since: number): Promise<number> {
  for (;;) {
    const probe = await request(ids[0]!);
    if (probe.ok) return performance.now() - since;
    if (performance.now() - since > RECOVERY_MS)
      assert.fail(`no normal answer ${RECOVERY_MS} ms after the fault: ${probe.codes.join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What requests in flight during [from, to) ended with; none may be an internal error or hang. */
function judge(label: string, from: number, to: number): { requests: number; failed: number; maxMs: number } {
  // In flight at some point in [from, to): sent before `to`, answered after `from`.
  const window = outcomes.filter((o) => o.started < to && o.started + o.ms >= from);
  const failed = window.filter((o) => !o.ok);
  const unexpected = failed.filter((o) => o.codes.some((c) => c !== 'DATABASE_UNAVAILABLE' && c !== 'AUDIT_UNAVAILABLE'));
  assert.deepEqual(
    unexpected.map((o) => o.codes.join(',')),
    [],
    `${label}: every failed request ends with DATABASE_UNAVAILABLE (or AUDIT_UNAVAILABLE)`,
  );
  const maxMs = Math.max(0, ...window.map((o) => o.ms));
  assert.ok(maxMs < GATEWAY_CUTOFF_MS, `${label}: the slowest request took ${Math.round(maxMs)} ms`);
  return { requests: window.length, failed: failed.length, maxMs: Math.round(maxMs) };
}

const report = (label: string, figures: Record<string, number>): void => {
  process.stdout.write(`# ${label}: ${JSON.stringify(figures)}\n`);
};

before(async () => {
  if (SKIP) return;
  stack = await startTestStack({ dbSchema: schema });
  clinician = (await tokenFor(stack, ['clinician'])).token;
  steward = (await tokenFor(stack, ['steward'])).token;
  ids = (await stack.db.query<{ id: string }>('SELECT id::text AS id FROM golden_patient ORDER BY id LIMIT 20')).rows.map((r) => r.id);
  assert.equal(ids.length, 20);
  // Readers read the first 16 patients; each writer changes a patient of its own (no two writers race).
  const readers = Array.from({ length: READERS }, async (_, worker) => {
    for (let i = worker; !stopLoad; i++) outcomes.push(await request(ids[i % 16]!));
  });
  const writers = Array.from({ length: WRITERS }, async (_, worker) => {
    for (let i = 0; !stopLoad; i++) outcomes.push(await request(ids[16 + worker]!, true, i));
  });
  load = Promise.all([...readers, ...writers]);
  // Warm: every worker has had answers (the first requests plan queries and open connections).
  for (const deadline = performance.now() + 60_000; outcomes.length < 2 * (READERS + WRITERS) && performance.now() < deadline;)
    await new Promise((r) => setTimeout(r, 100));
});

after(async () => {
  stopLoad = true;
  await load;
  await stack?.close();
});

test('under load, requests succeed before any fault', { skip: SKIP }, () => {
  const ok = outcomes.filter((o) => o.ok).length;
  assert.ok(ok > 0 && ok === outcomes.length, JSON.stringify(outcomes.filter((o) => !o.ok).slice(0, 3)));
});

/**
 * A transaction of the injector's own locking golden records: the whole table (ACCESS EXCLUSIVE:
 * whoever reads or writes any waits), or the given rows (FOR UPDATE: only writers of those wait).
 */
async function lockGoldenRecords(rows?: readonly string[]): Promise<{ requestedAt: number; release(): Promise<void> }> {
  const locker = new pg.Client({ connectionString: url, application_name: 'pgw-fault-injector' });
  locker.on('error', () => undefined);
  await locker.connect();
  await locker.query('BEGIN');
  const requestedAt = performance.now();
  if (rows) await locker.query(`SELECT id FROM ${schema}.golden_patient WHERE id = ANY($1::uuid[]) FOR UPDATE`, [rows]);
  else await locker.query(`LOCK TABLE ${schema}.golden_patient IN ACCESS EXCLUSIVE MODE`);
  return {
    requestedAt,
    async release() {
      await locker.query('COMMIT').catch(() => undefined);
      await locker.end().catch(() => undefined);
    },
  };
}

/** The product's backends waiting, inside a transaction it opened, for the lock (a steward's write). */
const writesWaiting = async (): Promise<number> =>
  (
    await admin<{ n: number }>(
      // An explicit transaction started before its current statement (a lone statement's starts with it).
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND xact_start < query_start",
      [applicationName(schema)],
    )
  )[0]!.n;

/** Ends every backend of the running product (and none of another test run's); returns how many. */
const terminateProductConnections = async (): Promise<number> =>
  (
    await admin<{ n: number }>('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [
      applicationName(schema),
    ])
  )[0]!.n;

async function waitFor(condition: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const deadline = performance.now() + ms; performance.now() < deadline; await new Promise((r) => setTimeout(r, 50)))
    if (await condition()) return true;
  return false;
}

test('every connection of the product terminated, transactions included: it keeps running and recovers', { skip: SKIP }, async () => {
  // Catch the writers inside their transactions: waiting for their patients' rows, then terminated there.
  const lock = await lockGoldenRecords(ids.slice(16));
  const at = performance.now();
  const terminated = await (async () => {
    try {
      assert.ok(await waitFor(async () => (await writesWaiting()) > 0, 5000), 'a steward write waits inside its transaction');
      return await terminateProductConnections();
    } finally {
      await lock.release();
    }
  })();
  assert.ok(terminated > 0, 'the product has connections named after its schema');
  const recoveryMs = await recoveredAfter(at);
  await new Promise((r) => setTimeout(r, 1000));
  const figures = judge('terminate', at, performance.now());
  report('terminate every connection', { terminated, ...figures, recoveryMs: Math.round(recoveryMs) });
});

test('PostgreSQL restarted under load: the process keeps running, requests end in time, and it recovers', { skip: SKIP }, async (t) => {
  const why = await restartUnavailable(url!);
  if (why) {
    t.skip(`PostgreSQL is not restarted by this test: ${why}`);
    return;
  }
  const at = performance.now();
  // One quick restart: other test runs on this machine share this PostgreSQL.
  await clusterCtl('restart');
  const restartMs = performance.now() - at;
  const recoveryMs = await recoveredAfter(at);
  await new Promise((r) => setTimeout(r, 1000));
  const figures = judge('restart', at, performance.now());
  assert.ok(figures.failed > 0, 'requests in flight during the restart saw it');
  report('restart PostgreSQL', { restartMs: Math.round(restartMs), ...figures, recoveryMs: Math.round(recoveryMs) });
});

test('PostgreSQL frozen behind a lock: requests end with DATABASE_UNAVAILABLE within the statement timeout', { skip: SKIP }, async () => {
  // From the moment the lock is asked for, every new read of a golden record queues behind it.
  // Requests already waiting end at the statement timeout and the load sends new ones, which must
  // end the same way; a request reaches its statement a while after it is sent (gateway,
  // identity, planning), so those sent in the last `lead` ms plus a statement timeout may succeed.
  const lead = 1500;
  const holdMs = 3 * SERVING_TIMEOUTS.statementMs + 2000;
  const lock = await lockGoldenRecords();
  const at = lock.requestedAt;
  try {
    await new Promise((r) => setTimeout(r, holdMs));
  } finally {
    await lock.release();
  }
  const released = performance.now();
  const recoveryMs = await recoveredAfter(released);
  // Each within the statement timeout (plus a wait for a pooled connection, bounded by the connect timeout).
  const frozen = outcomes.filter((o) => o.started >= at && o.started < released - SERVING_TIMEOUTS.statementMs - lead);
  assert.ok(frozen.length > 0);
  assert.deepEqual(
    frozen.filter((o) => o.ok || o.codes.length === 0 || o.codes.some((c) => c !== 'DATABASE_UNAVAILABLE')),
    [],
    'requests started while the golden records were locked all ended with DATABASE_UNAVAILABLE',
  );
  const figures = judge('freeze', at, performance.now());
  const bound = SERVING_TIMEOUTS.statementMs + SERVING_TIMEOUTS.connectMs + 1000;
  assert.ok(Math.max(...frozen.map((o) => o.ms)) < bound, `frozen requests end within ${bound} ms`);
  report(`lock held for ${holdMs} ms`, {
    ...figures,
    frozenRequests: frozen.length,
    frozenMaxMs: Math.round(Math.max(...frozen.map((o) => o.ms))),
    recoveryMs: Math.round(recoveryMs),
  });
});

test(
  'PostgreSQL backends frozen (SIGSTOP): requests end within the client-side query timeout, new connections carry on',
  { skip: SKIP },
  async (t) => {
    if (!['127.0.0.1', 'localhost', '::1'].includes(new URL(url!).hostname)) {
      t.skip('PostgreSQL is not on this host: its backends cannot be stopped from here');
      return;
    }
    // A backend that stops answering without closing its connection (a frozen VM, a stalled disk):
    // only the client's own timer ends the wait.
    const pids = (
      await admin<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName(schema)])
    ).map((r) => r.pid);
    assert.ok(pids.length > 0);
    const stopped: number[] = [];
    const at = performance.now();
    try {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGSTOP');
          stopped.push(pid);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // gone meanwhile
        }
      }
      await new Promise((r) => setTimeout(r, SERVING_TIMEOUTS.queryMs + 3000));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') {
        t.skip('not allowed to signal PostgreSQL backends (run as root or postgres)');
        return;
      }
      throw error;
    } finally {
      for (const pid of stopped) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          /* already gone */
        }
      }
    }
    const resumed = performance.now();
    const recoveryMs = await recoveredAfter(resumed);
    await new Promise((r) => setTimeout(r, 1000));
    const figures = judge('SIGSTOP', at, performance.now());
    report(`backends stopped for ${Math.round(resumed - at)} ms`, {
      stopped: stopped.length,
      ...figures,
      recoveryMs: Math.round(recoveryMs),
    });
  },
);

test('the product is still the same running process, answering normally', { skip: SKIP }, async () => {
  assert.deepEqual(uncaught, [], 'nothing would have ended the process');
  const res = await request(ids[1 % ids.length]!);
  assert.equal(res.ok, true, res.codes.join(','));
  const ready = await fetch(new URL('/ready', stack.gateway.url));
  assert.equal(ready.status, 200, await ready.text());
});
