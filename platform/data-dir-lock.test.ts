// The embedded database's lock on its own (no PGlite): one holder at a time, in this process and
// across processes; a dead holder's lock taken over, by exactly one of several processes racing
// for it; another host's lock never judged stale; the lock gone when its process exits.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCK_FILE, lockDataDir, type LockOwner } from './data-dir-lock.ts';
import { ProductError } from './errors.ts';

const LOCK_MODULE = fileURLToPath(new URL('./data-dir-lock.ts', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'data-dir-lock-'));
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
const freshDir = (): string => mkdtempSync(join(work, `d${n++}-`));
const ownerOf = (dir: string): LockOwner => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockOwner;
const inUse = (e: unknown): boolean => e instanceof ProductError && e.code === 'DATABASE_UNAVAILABLE' && e.details.reason === 'in_use';

/** A child process that takes the lock (at the given time, if any), says so on stdout, then runs `then` (JS source). */
function childHolding(dir: string, then: string, at?: number) {
  const source = `import { lockDataDir } from ${JSON.stringify(LOCK_MODULE)};
    ${at ? `while (Date.now() < ${at}) await new Promise((r) => setTimeout(r, 1));` : ''}
    try { const lock = await lockDataDir(${JSON.stringify(dir)}); console.log('locked'); ${then} }
    catch (e) { console.log(e.details?.reason === 'in_use' ? 'refused' : 'error ' + e.message); }`;
  return spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
}
const firstLine = (child: ReturnType<typeof childHolding>): Promise<string> =>
  new Promise((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', () => resolve(out.split('\n')[0]!));
  });
const exited = (child: ReturnType<typeof childHolding>): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

test('one holder at a time in this process; released, it can be taken again', async () => {
  const dir = freshDir();
  const lock = await lockDataDir(dir);
  assert.deepEqual([ownerOf(dir).pid, ownerOf(dir).host], [process.pid, hostname()]);
  await assert.rejects(lockDataDir(dir), (e: unknown) => inUse(e) && /in use by this process already/.test((e as Error).message));
  lock.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  (await lockDataDir(dir)).release();
});

test('a live process holds it: refused with one line naming its command and pid; free again once it exits', async () => {
  const dir = freshDir();
  const holder = childHolding(dir, 'await new Promise((r) => setTimeout(r, 60_000));');
  try {
    assert.equal(await firstLine(holder), 'locked');
    const error = await lockDataDir(dir).then(
      () => assert.fail('taken while held'),
      (e: unknown) => e,
    );
    assert.ok(inUse(error));
    const message = (error as Error).message;
    assert.match(message, new RegExp(`in use by \`node\` \\(pid ${holder.pid}, since \\d{4}-`));
    assert.match(message, /stop it and run this again/);
    assert.doesNotMatch(message, /\n/);
  } finally {
    holder.kill('SIGTERM');
    await exited(holder);
  }
  // SIGTERM without a handler skips 'exit' handlers: the lock stays behind, and its process is dead.
  assert.equal(existsSync(join(dir, LOCK_FILE)), true);
  const lock = await lockDataDir(dir);
  assert.equal(ownerOf(dir).pid, process.pid);
  lock.release();
});

test('a process that exits without releasing removes its lock (process.exit, end of the event loop)', async () => {
  const dir = freshDir();
  const child = childHolding(dir, 'process.exit(0);');
  assert.equal(await firstLine(child), 'locked');
  await exited(child);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

test('a SIGKILLed holder: its lock is taken over, by exactly one of eight processes starting at once', async () => {
  const dir = freshDir();
  const victim = childHolding(dir, 'await new Promise((r) => setTimeout(r, 60_000));');
  assert.equal(await firstLine(victim), 'locked');
  victim.kill('SIGKILL');
  await exited(victim);
  assert.equal(ownerOf(dir).pid, victim.pid, 'the dead process left its lock');

  // They load first, then all ask at the same instant.
  const at = Date.now() + 6000;
  const racers = Array.from({ length: 8 }, () => childHolding(dir, 'await new Promise((r) => setTimeout(r, 60_000));', at));
  const outcomes = await Promise.all(racers.map(firstLine));
  const winner = racers.find((_, i) => outcomes[i] === 'locked');
  assert.equal(winner && ownerOf(dir).pid, winner?.pid);
  for (const r of racers) r.kill('SIGTERM');
  await Promise.all(racers.map(exited));
  assert.deepEqual(outcomes.filter((o) => o === 'locked').length, 1, `one winner: ${outcomes.join(', ')}`);
  assert.deepEqual(outcomes.filter((o) => o !== 'locked').sort(), Array(7).fill('refused'));
});

test("another host's lock is never judged stale; an unreadable lock only once it is old; this pid from a previous life is stale", async () => {
  const dir = freshDir();
  const write = (owner: Partial<LockOwner> | string) =>
    writeFileSync(join(dir, LOCK_FILE), typeof owner === 'string' ? owner : JSON.stringify(owner));
  const base = { command: 'npm run start', since: '2025-01-01T00:00:00.000Z', token: 'x' };
  write({ ...base, pid: 999_999_999, host: `not-${hostname()}` });
  await assert.rejects(lockDataDir(dir), (e: unknown) => inUse(e) && /pid 999999999 on not-/.test((e as Error).message));

  write('');
  await assert.rejects(lockDataDir(dir), inUse);

  // A container restarted with the same pid (1): the lock names our pid but not our lock.
  write({ ...base, pid: process.pid, host: hostname() });
  const lock = await lockDataDir(dir);
  assert.notEqual(ownerOf(dir).token, 'x');
  lock.release();

  write('{"pid":');
  // Backdated past the 10 s a writer may take: abandoned.
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(dir, LOCK_FILE), old, old);
  (await lockDataDir(dir)).release();
});

test('taking over goes through the takeover guard: a fresh guard (someone is taking over) is waited for, an abandoned one removed', async () => {
  const dir = freshDir();
  const lockPath = join(dir, LOCK_FILE);
  const guard = `${lockPath}.takeover`;
  const dead = { pid: 999_999_999, host: hostname(), command: 'npm run start', since: '2025-01-01T00:00:00.000Z', token: 'dead' };
  writeFileSync(lockPath, JSON.stringify(dead));
  writeFileSync(guard, JSON.stringify({ ...dead, pid: process.pid, token: 'taker' }));
  // The other taker never finishes: after waiting, refused rather than racing it.
  await assert.rejects(lockDataDir(dir), inUse);
  assert.equal(ownerOf(dir).token, 'dead', 'the stale lock was left to the taker that holds the guard');

  // A guard older than a taker needs (its process died mid-takeover) is removed, and the takeover proceeds.
  const old = new Date(Date.now() - 60_000);
  utimesSync(guard, old, old);
  const lock = await lockDataDir(dir);
  assert.equal(ownerOf(dir).pid, process.pid);
  assert.equal(existsSync(guard), false);
  lock.release();
});
