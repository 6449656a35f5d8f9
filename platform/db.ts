// One database interface over two engines: real PostgreSQL through `pg` (services mode, CI,
// production) and embedded PostgreSQL (PGlite) on disk (the default). The SQL is the same;
// only how a connection is obtained differs. Each store runs inside its own schema so a test
// run can create one and drop it without touching anything else.
//
// This is also the one place where PostgreSQL being away (a dropped or terminated connection, a
// restart, a server that does not answer in time) becomes the product's DATABASE_UNAVAILABLE:
// callers never see pg's own errors for it, and nothing here waits without a bound.
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { lockDataDir } from './data-dir-lock.ts';
import { ProductError } from './errors.ts';
import { logger } from './log.ts';
import { metrics } from './metrics.ts';
import { traceStatement, traceTransaction } from './tracing.ts';

export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
}

/** Work that is meant to last (migrations, a batch lock held for a whole load, table upkeep, a full audit walk). */
export type WorkOptions = {
  /** No statement, idle-in-transaction or client-side timeout for this work (a connection is still waited for at most connectMs). */
  readonly unbounded?: boolean;
  /**
   * PostgreSQL: a name under which each connection keeps the statement parsed and planned (a hot
   * statement, run for every inbound message, say); the same name must always carry the same text.
   */
  readonly prepared?: string;
};

export interface Database extends Queryable {
  query<T extends Row = Row>(text: string, params?: readonly unknown[], options?: WorkOptions): Promise<{ rows: T[] }>;
  /** Runs fn in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: WorkOptions): Promise<T>;
  /** Resolves when the database answers a trivial query (readiness checks); throws DATABASE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  readonly kind: 'postgres' | 'pglite';
  readonly schema: string;
  close(): Promise<void>;
}

/** Bounds on waiting for PostgreSQL, in milliseconds; 0 = no bound. */
export type DatabaseTimeouts = {
  /** A connection: a new one, or a pooled one to become free. */
  readonly connectMs: number;
  /** Set as statement_timeout on every connection: the server cancels a statement that runs longer (a lock held, a slow plan). */
  readonly statementMs: number;
  /** Set as idle_in_transaction_session_timeout: the server ends a session left idle inside a transaction (and frees its locks). */
  readonly idleInTransactionMs: number;
  /** pg's query_timeout: the client stops waiting for an answer that does not come (a frozen server, a silent network). */
  readonly queryMs: number;
};

/**
 * The serving processes' bounds (gateway subgraphs: npm start, compose services). A subgraph
 * request waits at most about two queryMs (its own statement, then its audit row), under the
 * gateway's 10 s cutoff for a subgraph call, so a client gets DATABASE_UNAVAILABLE rather than a
 * cut-off request. Online statements take milliseconds (BENCHMARKS.md).
 */
export const SERVING_TIMEOUTS: DatabaseTimeouts = { connectMs: 3000, statementMs: 3000, idleInTransactionMs: 10_000, queryMs: 3500 };

/**
 * The loader's bounds (the initial load, incremental sync, reconciliation and the application of
 * their events), on a pool of its own beside the serving one: its statements are set-based batches
 * (a page of patients linked at once, thousands of clinical items stored in one statement) that a
 * machine busy with other work slows far past the serving 3 s, and a failed statement fails a whole
 * source's load. Still bounded, so that a lock some stuck session holds cannot stall a load forever.
 */
export const LOADING_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 10_000,
  statementMs: 120_000,
  idleInTransactionMs: 180_000,
  queryMs: 125_000,
};

/** Batch commands (mpi:link, audit:verify, audit:export, ...): statements may run long; only connecting is bounded. */
export const BATCH_TIMEOUTS: DatabaseTimeouts = { connectMs: 5000, statementMs: 0, idleInTransactionMs: 0, queryMs: 0 };

const TIMEOUT_VARIABLES = {
  connectMs: 'DATABASE_CONNECT_TIMEOUT_MS',
  statementMs: 'DATABASE_STATEMENT_TIMEOUT_MS',
  idleInTransactionMs: 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS',
  queryMs: 'DATABASE_QUERY_TIMEOUT_MS',
} as const satisfies Record<keyof DatabaseTimeouts, string>;

/** SERVING_TIMEOUTS with the DATABASE_*_TIMEOUT_MS overrides; the query timeout follows a changed statement timeout (+500 ms). */
export function servingTimeoutsFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseTimeouts {
  const read = (key: keyof DatabaseTimeouts): number | undefined => {
    const name = TIMEOUT_VARIABLES[key];
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    if (!/^\d+$/.test(text) || Number(text) > MAX_TIMER_MS)
      throw new Error(`${name} must be a whole number of milliseconds (0 = no limit)`);
    return Number(text);
  };
  const statementMs = read('statementMs') ?? SERVING_TIMEOUTS.statementMs;
  return {
    connectMs: read('connectMs') ?? SERVING_TIMEOUTS.connectMs,
    statementMs,
    idleInTransactionMs: read('idleInTransactionMs') ?? SERVING_TIMEOUTS.idleInTransactionMs,
    queryMs: read('queryMs') ?? (statementMs === 0 ? 0 : statementMs + SERVING_TIMEOUTS.queryMs - SERVING_TIMEOUTS.statementMs),
  };
}

export type DatabaseOptions = {
  /** postgres:// URL; when absent, PGlite is used. */
  readonly url?: string;
  /** Directory for PGlite's files; absent = in memory. */
  readonly dataDir?: string;
  /** Schema holding this product's tables (created when missing). */
  readonly schema?: string;
  /** Pool size for PostgreSQL. */
  readonly maxConnections?: number;
  /** PostgreSQL only; BATCH_TIMEOUTS when absent. */
  readonly timeouts?: DatabaseTimeouts;
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** The largest delay a Node timer takes (a larger one fires at once): "unbounded" work gets this, about 24 days. */
const MAX_TIMER_MS = 2_147_483_647;

/** Our connections' application_name (pg_stat_activity), so an operator can tell them apart: `pgw:<schema>`. */
export const applicationName = (schema: string): string => `pgw:${schema}`.slice(0, 63);

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const schema = options.schema ?? 'patient_gateway';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${schema}`);
  return traced(
    options.url
      ? await openPostgres(options.url, schema, options.maxConnections ?? 10, options.timeouts ?? BATCH_TIMEOUTS)
      : await openPglite(options.dataDir, schema),
  );
}

/** Each statement and transaction a span when tracing is on (platform/tracing.ts): its kind and table, never its parameters. */
function traced(db: Database): Database {
  const inTransaction = (tx: Queryable): Queryable => ({
    query: <T extends Row>(text: string, params?: readonly unknown[]) =>
      traceStatement(db.schema, text, undefined, () => tx.query<T>(text, params)),
  });
  return {
    kind: db.kind,
    schema: db.schema,
    query: <T extends Row>(text: string, params?: readonly unknown[], options?: WorkOptions) =>
      traceStatement(db.schema, text, options?.prepared, () => db.query<T>(text, params, options)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>, options?: WorkOptions) =>
      traceTransaction(db.schema, () => db.transaction((tx) => fn(inTransaction(tx)), options)),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}

const log = logger('db');

// SQLSTATEs that mean "the database is away or did not answer in time", not "this statement is wrong":
// connection exceptions (class 08), insufficient resources to connect (53300), operator intervention
// (57P01 terminated by an administrator, 57P02 crash, 57P03 cannot connect now, 57P05 idle session),
// a cancelled statement (57014: statement_timeout), and a session ended for idling in a transaction (25P03).
const UNAVAILABLE_STATES = new Set(['53300', '57P01', '57P02', '57P03', '57P05', '57014', '25P03']);
const TIMEOUT_STATES = new Set(['57014', '25P03']);
// Errors pg and pg-pool raise themselves (no SQLSTATE) when a connection is lost, refused or not answering.
const CONNECTION_LOST =
  /^(Connection terminated|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end)/;
const CLIENT_TIMEOUT = /^(Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout)/;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

type Failure = { readonly reason: 'timeout' | 'connection'; readonly state: string };

/** Whether an error from pg means the database is unavailable, and why; undefined for any other error (a constraint, a syntax error). */
export function unavailability(error: unknown): Failure | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const state = typeof code === 'string' ? code : '';
  if (TIMEOUT_STATES.has(state)) return { reason: 'timeout', state };
  if (state.startsWith('08') || UNAVAILABLE_STATES.has(state) || SOCKET_CODES.has(state)) return { reason: 'connection', state };
  if (CLIENT_TIMEOUT.test(error.message)) return { reason: 'timeout', state: 'client-timeout' };
  if (CONNECTION_LOST.test(error.message)) return { reason: 'connection', state: 'connection-lost' };
  // An AggregateError (every address of a host refused) carries the socket errors inside.
  if (error instanceof AggregateError) return error.errors.map(unavailability).find((f) => f !== undefined);
  return undefined;
}

const MESSAGES = {
  timeout: 'the database did not answer in time; retry shortly',
  connection: 'the database is unreachable; retry shortly',
} as const;

/** The one mapping: an outage becomes DATABASE_UNAVAILABLE (pg's error kept as cause, never shown); other errors pass unchanged. */
export function mapDatabaseError(error: unknown): unknown {
  if (error instanceof ProductError) return error;
  const failure = unavailability(error);
  if (!failure) return error;
  // Not logged here: the caller reports it once (a server's formatError, a command's one line).
  return new ProductError('DATABASE_UNAVAILABLE', MESSAGES[failure.reason], { reason: failure.reason }, { cause: error });
}

const rethrow = (error: unknown): never => {
  throw mapDatabaseError(error);
};

async function openPostgres(url: string, schema: string, max: number, timeouts: DatabaseTimeouts): Promise<Database> {
  // Set per connection at connect time so every pooled connection has them: search_path sees our
  // schema; jit off because every statement here is short, and PostgreSQL's JIT, triggered by
  // cost estimates (blocking-key lookups are estimated at thousands of rows per key), spent ~100 ms
  // compiling each 10 ms batch-linking query.
  const pool = new pg.Pool({
    connectionString: url,
    max,
    options: `-c search_path=${schema},public -c jit=off`,
    application_name: applicationName(schema),
    connectionTimeoutMillis: timeouts.connectMs,
    ...(timeouts.statementMs > 0 ? { statement_timeout: timeouts.statementMs } : {}),
    ...(timeouts.idleInTransactionMs > 0 ? { idle_in_transaction_session_timeout: timeouts.idleInTransactionMs } : {}),
    ...(timeouts.queryMs > 0 ? { query_timeout: timeouts.queryMs } : {}),
    // A peer that vanished without closing (a network partition) is noticed by TCP, not only by the next query.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // pg emits 'error' on a client whose connection dies (terminated, PostgreSQL restarted); without a
  // listener that exits the process. The pool listens while a client is idle and drops it; this
  // listener covers a client checked out for a transaction: its next query fails and it is dropped
  // on release. Nothing else to do here: the caller gets DATABASE_UNAVAILABLE from that query.
  pool.on('connect', (client) => {
    client.on('error', (error: Error) => log.warn('database_connection_lost', { state: unavailability(error)?.state ?? 'other' }));
  });
  pool.on('error', () => {
    /* an idle client died (logged by its own listener above); the pool replaces it */
  });
  const unboundedConfig = (text: string, values?: readonly unknown[]) => ({
    text,
    values: values as unknown[],
    query_timeout: MAX_TIMER_MS,
  });
  // Only when missing: an application role that does not own the schema may not even ask (audit:harden).
  const exists = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]).catch(rethrow);
  if (exists.rows.length === 0) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch(rethrow);

  const transaction = async <T>(fn: (tx: Queryable) => Promise<T>, options: WorkOptions = {}): Promise<T> => {
    const client = await pool.connect().catch(rethrow);
    let broken: unknown;
    try {
      await client.query('BEGIN');
      if (options.unbounded) await client.query('SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0');
      const tx: Queryable = {
        query: async <R extends Row>(t: string, p?: readonly unknown[]) =>
          (options.unbounded ? client.query<R>(unboundedConfig(t, p)) : client.query<R>(t, p as unknown[])).catch(rethrow),
      };
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      const mapped = mapDatabaseError(error);
      // A connection that lost its server, or still waits for an answer it gave up on, is not reused.
      if (mapped instanceof ProductError && mapped.code === 'DATABASE_UNAVAILABLE') broken = mapped;
      else await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      throw mapped;
    } finally {
      client.release(broken !== undefined);
    }
  };

  // The pool's figures in /metrics (platform/metrics.ts) while it is open.
  const unwatch = metrics.watchPool(() => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }));
  return {
    kind: 'postgres',
    schema,
    query: async <T extends Row>(text: string, params?: readonly unknown[], options: WorkOptions = {}) => {
      if (!options.unbounded)
        return (
          options.prepared
            ? pool.query<T>({ name: options.prepared, text, values: params as unknown[] })
            : pool.query<T>(text, params as unknown[])
        ).catch(rethrow);
      // Outside a transaction (VACUUM cannot run in one): lift the session's timeout for this
      // statement, on a connection dropped afterwards rather than handed back with it lifted.
      const client = await pool.connect().catch(rethrow);
      try {
        await client.query('SET statement_timeout = 0');
        return await client.query<T>(unboundedConfig(text, params));
      } catch (error) {
        throw mapDatabaseError(error);
      } finally {
        client.release(true);
      }
    },
    transaction,
    async ping() {
      await pool.query('SELECT 1').catch(rethrow);
    },
    close: () => (unwatch(), pool.end()),
  };
}

async function openPglite(dataDir: string | undefined, schema: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // PGlite serves one process: a second one on the same files corrupts them (platform/data-dir-lock.ts).
  const lock = dataDir ? await lockDataDir(dataDir) : undefined;
  let db: InstanceType<typeof PGlite>;
  try {
    db = await PGlite.create(dataDir ? { dataDir } : {});
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public;`);
  } catch (error) {
    lock?.release();
    throw error;
  }
  // In the process, one connection, no network: nothing to lose or time out; WorkOptions do not apply.
  return {
    kind: 'pglite',
    schema,
    query: async <T extends Row>(text: string, params?: readonly unknown[]) => db.query<T>(text, params as unknown[]),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      db.transaction((tx) => fn({ query: async <R extends Row>(t: string, p?: readonly unknown[]) => tx.query<R>(t, p as unknown[]) })),
    async ping() {
      await db.query('SELECT 1');
    },
    close: async () => {
      try {
        await db.close();
      } finally {
        lock?.release();
      }
    },
  };
}

export type Migration = { readonly id: string; readonly sql: string };

/** Applies each migration once, in order, recording it in schema_migrations. */
export async function migrate(db: Database, migrations: readonly Migration[]): Promise<void> {
  // Created only when missing: a role without CREATE on the schema may run an up-to-date migrate.
  const table = await db.query<{ t: string | null }>("SELECT to_regclass(format('%I.schema_migrations', current_schema()))::text AS t");
  if (!table.rows[0]?.t)
    await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const m of migrations) {
    // Unbounded: building an index on a large table takes longer than any online statement may.
    await db.transaction(
      async (tx) => {
        // A transaction-scoped advisory lock keeps two processes from applying the same migration.
        await tx.query('SELECT pg_advisory_xact_lock(727001)');
        const done = await tx.query('SELECT 1 FROM schema_migrations WHERE id = $1', [m.id]);
        if (done.rows.length > 0) return;
        for (const statement of splitStatements(m.sql)) await tx.query(statement);
        await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
      },
      { unbounded: true },
    );
  }
}

/** Migrations are plain DDL without functions bodies containing ';', so a split on ';' is safe. */
const splitStatements = (sql: string): string[] =>
  sql
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** Drops a schema and everything in it: used by tests to leave nothing behind. */
export async function dropSchema(db: Database): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`, [], { unbounded: true });
}
