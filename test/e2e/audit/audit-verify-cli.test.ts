// `npm run audit:verify` (runtime/audit-verify.ts) as an operator runs it: on the product's
// storage (DATABASE_URL, or the embedded database under DATA_DIR/pg), OK with counts and exit 0
// on an untouched log, the first bad record and exit 1 once someone with DBA rights edited it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropSchema, migrate, openDatabase, type Database } from '../../../platform/db.ts';
import { loadKeyPair } from '../../../platform/keys.ts';
import { AUDIT_MIGRATIONS } from '../../../orchestration/audit/audit-log.ts';
import { AUDIT_CHECKPOINT_ALG, AUDIT_CHECKPOINT_KEY, createCheckpoint } from '../../../orchestration/audit/checkpoint.ts';
import { appendRequests, asAttacker } from '../../../orchestration/audit/test-helpers.ts';
import { databaseUrl, uniqueSchema } from '../../support/env.ts';

const CLI = fileURLToPath(new URL('../../../runtime/audit-verify.ts', import.meta.url));
const url = databaseUrl();
const dataDir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
const keysDir = join(dataDir, 'keys');
const schema = uniqueSchema('auditcli');

/** The product's storage, opened by the test only while the CLI is not running (PGlite serves one process). */
const open = async (): Promise<Database> => openDatabase({ url, dataDir: url ? undefined : join(dataDir, 'pg'), schema });
async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, KEYS_DIR: keysDir, DB_SCHEMA: schema, LOG_LEVEL: 'warn' };
  if (!url) delete env.DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  await withDb(async (db) => {
    await migrate(db, AUDIT_MIGRATIONS);
    await appendRequests(db, 3, 2);
    await createCheckpoint(db, await loadKeyPair({ dir: keysDir, generateMissing: true }, AUDIT_CHECKPOINT_KEY, AUDIT_CHECKPOINT_ALG));
    await appendRequests(db, 1, 1);
  });
});
after(async () => {
  if (url) await withDb((db) => dropSchema(db));
  rmSync(dataDir, { recursive: true, force: true });
});

test('an untouched log: OK with counts, exit 0; --checkpoint signs the unsigned tail', async () => {
  let run = await cli();
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`schema ${schema}: audit log OK: 7 rows \\(seqs 1\\.\\.7\\), 1/1 checkpoints signed, 1 recomputed`));
  assert.match(run.stdout, /seqs 7\.\.7 are not yet covered/);
  run = await cli('--checkpoint');
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /signed checkpoint #2 over seqs 7\.\.7/);
});

test(
  'the embedded database in use by the product is verified from a copy, never opened twice',
  { skip: url ? 'embedded mode only' : false },
  async () => {
    const db = await open();
    try {
      const run = await cli();
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /is in use: verified a copy/);
      assert.match(run.stdout, /audit log OK: 7 rows/);
      assert.equal((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event')).rows[0]!.n, 7);
    } finally {
      await db.close();
    }
  },
);

test('an edited row: the first bad record, exit 1; without a trusted key or a log: exit 2', async () => {
  await withDb((db) => asAttacker(db, (tx) => tx.query("UPDATE audit_event SET patient_ref = 'Patient/someone-else' WHERE seq = 3")));
  const run = await cli();
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /audit log TAMPERED: first bad record seq 3 \[edited\]/);
  const json = await cli('--json');
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as { ok: boolean; schema: string; problems: { seq: number; kind: string }[] };
  assert.deepEqual([report.ok, report.schema, report.problems[0]?.kind, report.problems[0]?.seq], [false, schema, 'edited', 3]);
  const noKey = await cli('--public-keys', join(dataDir, 'missing.json'));
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /^audit:verify: public key file .* does not exist/);
});
