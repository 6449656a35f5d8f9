import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import pg from 'pg';
import {
  applicationName,
  dropSchema,
  migrate,
  openDatabase,
  servingTimeoutsFromEnv,
  SERVING_TIMEOUTS,
  type DatabaseTimeouts,
} from './db.ts';
import { ProductError } from './errors.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';

const url = databaseUrl();
const NO_POSTGRES = !url && 'DATABASE_URL is not set';

const engines = [
  ['pglite', undefined],
  ['postgres', url],
] as const;

for (const [engine, engineUrl] of engines) {
  test(
    `${engine}: migrations apply once, transactions roll back, schemas isolate`,
    { skip: engine === 'postgres' && NO_POSTGRES },
    async () => {
      const db = await openDatabase({ url: engineUrl, schema: uniqueSchema('db') });
      try {
        const migrations = [{ id: 'm1', sql: 'CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1)' }];
        await migrate(db, migrations);
        await migrate(db, migrations);
        assert.deepEqual((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows, [{ n: 1 }]);
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.query('INSERT INTO t VALUES (2)');
            throw new Error('boom');
          }),
        );
        assert.deepEqual((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows, [{ n: 1 }]);
        // Errors that are not an outage reach the caller as they are (a unique violation keeps its SQLSTATE).
        await assert.rejects(
          db.query('INSERT INTO t VALUES (1)'),
          (e: unknown) => !(e instanceof ProductError) && (e as { code?: string }).code === '23505',
        );
        await db.ping();
      } finally {
        await dropSchema(db);
        await db.close();
      }
    },
  );
}

/** Every wait bounded, short, so the tests below take a second each. */
const SHORT: DatabaseTimeouts = { connectMs: 1000, statementMs: 300, idleInTransactionMs: 500, queryMs: 1500 };

const isUnavailable = (reason: 'timeout' | 'connection') => (e: unknown) => {
  assert.ok(e instanceof ProductError, `a ProductError, not ${String(e)}`);
  assert.deepEqual([e.code, e.details.reason], ['DATABASE_UNAVAILABLE', reason]);
  // What a client sees names no host, user, SQL or pg message.
  assert.doesNotMatch(e.message, /127\.0\.0\.1|postgres|pg_|select|terminat|statement/i);
  return true;
};

/** What would end a real process: the test runner catches it, so it is watched here (the monitor changes nothing). */
function watchUncaught(): { readonly errors: string[]; stop(): void } {
  const errors: string[] = [];
  const monitor = (error: Error) => errors.push(error.message);
  process.on('uncaughtExceptionMonitor', monitor);
  return { errors, stop: () => process.off('uncaughtExceptionMonitor', monitor) };
}

const terminate = async (name: string): Promise<number> => {
  const admin = new pg.Client({ connectionString: url, application_name: 'pgw-db-test' });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [name],
    );
    return rows[0]!.n;
  } finally {
    await admin.end();
  }
};

test(
  'postgres: a connection terminated inside a transaction is DATABASE_UNAVAILABLE, the process lives on, the pool recovers',
  { skip: NO_POSTGRES },
  async () => {
    const schema = uniqueSchema('dbfault');
    const db = await openDatabase({ url, schema, timeouts: SHORT, maxConnections: 2 });
    const uncaught = watchUncaught();
    try {
      // Between two statements of a transaction (the client checked out, idle): pg emits 'error' on it.
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('SELECT 1');
          assert.equal(await terminate(applicationName(schema)), 1);
          await new Promise((r) => setTimeout(r, 200));
          await tx.query('SELECT 1');
        }),
        isUnavailable('connection'),
      );
      // During a statement.
      await assert.rejects(
        db.transaction(async (tx) => {
          const sleeping = tx.query('SELECT pg_sleep(0.25)');
          sleeping.catch(() => undefined); // awaited below, once the backend is gone
          await new Promise((r) => setTimeout(r, 50));
          await terminate(applicationName(schema));
          await sleeping;
        }),
        isUnavailable('connection'),
      );
      // Idle pooled connections terminated: the pool drops them and opens new ones.
      await Promise.all([db.query('SELECT 1'), db.query('SELECT 1')]);
      await terminate(applicationName(schema));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
      assert.deepEqual(await db.transaction(async (tx) => (await tx.query('SELECT 2 AS two')).rows), [{ two: 2 }]);
      assert.deepEqual(uncaught.errors, []);
    } finally {
      uncaught.stop();
      await dropSchema(db);
      await db.close();
    }
  },
);

test(
  'postgres: statement, idle-in-transaction and client timeouts end the wait with DATABASE_UNAVAILABLE; unbounded work is exempt',
  { skip: NO_POSTGRES },
  async () => {
    const db = await openDatabase({ url, schema: uniqueSchema('dbtime'), timeouts: SHORT, maxConnections: 2 });
    const clientOnly = await openDatabase({
      url,
      schema: db.schema,
      timeouts: { ...SHORT, statementMs: 0, queryMs: 300 },
      maxConnections: 1,
    });
    try {
      // The server cancels a statement past statement_timeout (57014).
      await assert.rejects(db.query('SELECT pg_sleep(1)'), isUnavailable('timeout'));
      await assert.rejects(
        db.transaction((tx) => tx.query('SELECT pg_sleep(1)')),
        isUnavailable('timeout'),
      );
      // A transaction left idle past idle_in_transaction_session_timeout is ended by the server.
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('SELECT 1');
          await new Promise((r) => setTimeout(r, SHORT.idleInTransactionMs + 500));
          await tx.query('SELECT 1');
        }),
        isUnavailable('connection'),
      );
      // A server that does not answer: the client's own timer (here the server would sleep for a second).
      const started = performance.now();
      await assert.rejects(clientOnly.query('SELECT pg_sleep(1)'), isUnavailable('timeout'));
      assert.ok(performance.now() - started < 900);
      // The connection that gave up is not handed out again with its statement still running.
      assert.deepEqual((await clientOnly.query('SELECT 3 AS three')).rows, [{ three: 3 }]);
      // Work declared unbounded outlives every bound, in and out of a transaction, and the bounds come back after it.
      assert.deepEqual(
        await db.transaction(async (tx) => (await tx.query('SELECT true AS slept FROM pg_sleep(0.6)')).rows, { unbounded: true }),
        [{ slept: true }],
      );
      assert.deepEqual((await db.query('SELECT true AS slept FROM pg_sleep(0.6)', [], { unbounded: true })).rows, [{ slept: true }]);
      await assert.rejects(db.query('SELECT pg_sleep(1)'), isUnavailable('timeout'));
      assert.deepEqual((await db.query<{ t: string }>('SHOW statement_timeout')).rows, [{ statement_timeout: '300ms' }]);
    } finally {
      await clientOnly.close();
      await dropSchema(db);
      await db.close();
    }
  },
);

test('postgres: a database that refuses connections, or never answers them, is DATABASE_UNAVAILABLE within the connect timeout', async () => {
  // A port nobody listens on, and a listener that accepts and never speaks.
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  try {
    await assert.rejects(openDatabase({ url: `postgres://x@127.0.0.1:${closedPort}/x`, timeouts: SHORT }), isUnavailable('connection'));
    const started = performance.now();
    const silentPort = (silent.address() as { port: number }).port;
    await assert.rejects(openDatabase({ url: `postgres://x@127.0.0.1:${silentPort}/x`, timeouts: SHORT }), isUnavailable('timeout'));
    assert.ok(performance.now() - started < SHORT.connectMs + 1000);
  } finally {
    silent.close();
  }
});

test('postgres: our connections carry application_name pgw:<schema>', { skip: NO_POSTGRES }, async () => {
  const db = await openDatabase({ url, schema: uniqueSchema('dbname') });
  try {
    const { rows } = await db.query<{ name: string }>('SELECT application_name AS name FROM pg_stat_activity WHERE pid = pg_backend_pid()');
    assert.deepEqual(rows, [{ name: applicationName(db.schema) }]);
  } finally {
    await dropSchema(db);
    await db.close();
  }
});

test('serving timeouts: defaults, DATABASE_*_TIMEOUT_MS overrides, the query timeout following the statement timeout', () => {
  assert.deepEqual(servingTimeoutsFromEnv({}), SERVING_TIMEOUTS);
  assert.deepEqual(servingTimeoutsFromEnv({ DATABASE_STATEMENT_TIMEOUT_MS: '5000', DATABASE_CONNECT_TIMEOUT_MS: '1000' }), {
    connectMs: 1000,
    statementMs: 5000,
    idleInTransactionMs: SERVING_TIMEOUTS.idleInTransactionMs,
    queryMs: 5500,
  });
  assert.equal(servingTimeoutsFromEnv({ DATABASE_STATEMENT_TIMEOUT_MS: '0' }).queryMs, 0);
  assert.equal(servingTimeoutsFromEnv({ DATABASE_QUERY_TIMEOUT_MS: '9000' }).queryMs, 9000);
  for (const bad of ['-1', '1.5', 'soon', '9999999999'])
    assert.throws(
      () => servingTimeoutsFromEnv({ DATABASE_STATEMENT_TIMEOUT_MS: bad }),
      /DATABASE_STATEMENT_TIMEOUT_MS must be a whole number/,
    );
});
