// Issue 12, finding 5: a second process on the embedded database (PGlite) corrupted it. Real
// commands, as an operator runs them, on one DATA_DIR: while `npm run mpi:link` holds the
// database, audit:export, keys:rotate-field and mpi:calibrate are refused with one line naming the
// holder (audit:verify reads a copy), and the database is intact afterwards; a holder killed with
// SIGKILL leaves a lock the next command takes over. Embedded mode by nature: DATABASE_URL is
// removed from the commands' environment in both test modes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LOCK_FILE } from '../platform/data-dir-lock.ts';
import { openDatabase } from '../platform/db.ts';

const script = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'embedded-lock-'));
const dataDir = join(work, 'data');
const pgDir = join(dataDir, 'pg');
const keysDir = join(work, 'keys');
after(() => rmSync(work, { recursive: true, force: true }));

const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, KEYS_DIR: keysDir, LOG_LEVEL: 'warn' };
  delete e.DATABASE_URL;
  delete e.DB_SCHEMA;
  delete e.DEBUG;
  return e;
};

function run(name: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script(name), ...args], { env: env(), timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** `npm run mpi:link -- --input - --out FILE`: holds the database until its standard input ends. */
async function startHolder(out: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script('mpi-link.ts'), '--input', '-', '--out', out], {
    env: env(),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // The CSV header is written once the database is open and migrated.
  for (let waited = 0; !existsSync(`${out}.partial`) || readFileSync(`${out}.partial`, 'utf8') === ''; waited += 100) {
    if (child.exitCode !== null) assert.fail(`mpi:link exited early: ${stderr}`);
    if (waited > 120_000) assert.fail('mpi:link did not open the database in 2 minutes');
    await sleep(100);
  }
  return child;
}
const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));

const patient = (id: string, family: string) =>
  JSON.stringify({ resourceType: 'Patient', id, name: [{ family, given: ['Test'] }], birthDate: '1970-01-01', gender: 'female' });

/** One line on stderr, no stack frame. */
function assertOneLine(stderr: string): void {
  assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
  assert.doesNotMatch(stderr, /^\s+at /m);
}

test('while a command holds the embedded database, every other command is refused in one line', async () => {
  const out = join(work, 'clusters.csv');
  const holder = await startHolder(out);
  try {
    const keyFile = join(keysDir, 'field-encryption.json');
    const keysBefore = readFileSync(keyFile, 'utf8');
    const refusals = [
      await run('audit-export.ts', '--out', join(work, 'audit.ndjson')),
      await run('rotate-field-key.ts'),
      await run('mpi-calibrate.ts', '--out', join(work, 'calibrated.json')),
      await run('mpi-link.ts', '--input', '-', '--out', join(work, 'second.csv')),
    ];
    for (const r of refusals) {
      assert.notEqual(r.code, 0, r.stdout + r.stderr);
      assertOneLine(r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`in use by \`node .*mpi-link\\.ts\` \\(pid ${holder.pid}, since .*\\): stop it and run this again`),
      );
    }
    assert.equal(readFileSync(keyFile, 'utf8'), keysBefore, 'no key was added while re-encryption could not run');
    assert.equal(existsSync(join(work, 'audit.ndjson')), false);

    // A read-only check reads a copy and says so.
    const verify = await run('audit-verify.ts');
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /is in use: verified a copy taken now/);
  } finally {
    holder.stdin!.end(`${patient('a-1', 'Lockwood')}\n${patient('a-2', 'Keyes')}\n`);
  }
  assert.equal(await exited(holder), 0, 'the holder finished its work undisturbed');
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 3);
  assert.equal(existsSync(join(pgDir, LOCK_FILE)), false, 'released on close');
});

test('once the holder is done, the next command opens the database', async () => {
  const exported = await run('audit-export.ts', '--out', join(work, 'audit.ndjson'));
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /AuditEvent resources written/);
});

test('a holder killed with SIGKILL leaves its lock behind; the next command takes it over', async () => {
  const holder = await startHolder(join(work, 'killed.csv'));
  holder.kill('SIGKILL');
  await exited(holder);
  const left = JSON.parse(readFileSync(join(pgDir, LOCK_FILE), 'utf8')) as { pid: number };
  assert.equal(left.pid, holder.pid);

  const exported = await run('audit-export.ts', '--out', join(work, 'after-kill.ndjson'));
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /AuditEvent resources written/);
  assert.equal(existsSync(join(pgDir, LOCK_FILE)), false);
  const db = await openDatabase({ dataDir: pgDir });
  try {
    assert.equal((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_record')).rows[0]!.n, 2);
  } finally {
    await db.close();
  }
});
