// One database interface over two engines: real PostgreSQL through `pg` (services mode, CI,
// production) and embedded PostgreSQL (PGlite) on disk (the default). The SQL is the same;
// only how a connection is obtained differs. Each store runs inside its own schema so a test
// run can create one and drop it without touching anything else.
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { lockDataDir } from './data-dir-lock.ts';

export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
}

export interface Database extends Queryable {
  /** Runs fn in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  readonly kind: 'postgres' | 'pglite';
  readonly schema: string;
  close(): Promise<void>;
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
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const schema = options.schema ?? 'patient_gateway';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${schema}`);
  return options.url ? openPostgres(options.url, schema, options.maxConnections ?? 10) : openPglite(options.dataDir, schema);
}

async function openPostgres(url: string, schema: string, max: number): Promise<Database> {
  // Set per connection at connect time so every pooled connection has them: search_path sees our
  // schema; jit off because every statement here is short, and PostgreSQL's JIT, triggered by
  // cost estimates (blocking-key lookups are estimated at thousands of rows per key), spent ~100 ms
  // compiling each 10 ms batch-linking query.
  const pool = new pg.Pool({
    connectionString: url,
    max,
    options: `-c search_path=${schema},public -c jit=off`,
    connectionTimeoutMillis: 5000,
  });
  pool.on('error', () => {
    /* an idle client died; the pool replaces it. Never crash the process on it. */
  });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  return {
    kind: 'postgres',
    schema,
    query: async <T extends Row>(text: string, params?: readonly unknown[]) => pool.query<T>(text, params as unknown[]),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: async <R extends Row>(t: string, p?: readonly unknown[]) => client.query<R>(t, p as unknown[]) });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
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
  return {
    kind: 'pglite',
    schema,
    query: async <T extends Row>(text: string, params?: readonly unknown[]) => db.query<T>(text, params as unknown[]),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      db.transaction((tx) => fn({ query: async <R extends Row>(t: string, p?: readonly unknown[]) => tx.query<R>(t, p as unknown[]) })),
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
  await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const m of migrations) {
    await db.transaction(async (tx) => {
      // A transaction-scoped advisory lock keeps two processes from applying the same migration.
      await tx.query('SELECT pg_advisory_xact_lock(727001)');
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE id = $1', [m.id]);
      if (done.rows.length > 0) return;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
    });
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
  await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
}
