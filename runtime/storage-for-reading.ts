// The product's storage opened by a command that only reads it (audit:verify, translation:report):
// DATABASE_URL, else the embedded database under DATA_DIR/pg. PGlite serves one process only, so
// while the product holds that directory (`npm start`), a copy taken now is read instead.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDir } from '../platform/config.ts';
import { LOCK_FILE } from '../platform/data-dir-lock.ts';
import { openDatabase, type Database } from '../platform/db.ts';
import { ProductError } from '../platform/errors.ts';
import { usageError } from './cli.ts';

const inUse = (error: unknown): boolean =>
  error instanceof ProductError && error.code === 'DATABASE_UNAVAILABLE' && error.details.reason === 'in_use';

export type StorageForReading = { readonly db: Database; readonly note?: string; cleanup(): void };

/** `verb` says what the command does with the copy, for its note ("verified a copy taken now"). */
export async function openStorageForReading(verb: string, env: NodeJS.ProcessEnv = process.env): Promise<StorageForReading> {
  const schema = env.DB_SCHEMA || undefined;
  if (env.DATABASE_URL) return { db: await openDatabase({ url: env.DATABASE_URL, schema, maxConnections: 2 }), cleanup: () => undefined };
  const dir = join(dataDir(env), 'pg');
  if (!existsSync(join(dir, 'PG_VERSION'))) throw usageError(`no embedded database in ${dir} (and DATABASE_URL is not set)`);
  try {
    return { db: await openDatabase({ dataDir: dir, schema }), cleanup: () => undefined };
  } catch (error) {
    if (!inUse(error)) throw error;
  }
  // The product holds the directory: never open it from a second process; read a copy taken now.
  const copy = mkdtempSync(join(tmpdir(), 'pgw-read-'));
  cpSync(dir, copy, { recursive: true });
  for (const file of ['postmaster.pid', LOCK_FILE]) rmSync(join(copy, file), { force: true });
  return {
    db: await openDatabase({ dataDir: copy, schema }),
    note: `the embedded database in ${dir} is in use: ${verb} a copy taken now`,
    cleanup: () => rmSync(copy, { recursive: true, force: true }),
  };
}
