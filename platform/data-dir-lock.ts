// One process at a time on an embedded (PGlite) data directory. PGlite has no postmaster to
// arbitrate: a second process that opens the same files writes WAL and checkpoints of its own,
// and the next start panics ("could not locate a valid checkpoint record"). So whoever opens the
// directory first creates `owner.lock` in it with O_EXCL (who: pid, host, command, since when),
// and removes it when it closes the database or exits. A lock whose process is dead (SIGKILL,
// a crash, a power cut) is taken over; a live one is a refusal that names its holder.
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProductError } from './errors.ts';

export const LOCK_FILE = 'owner.lock';

export type LockOwner = {
  readonly pid: number;
  readonly host: string;
  /** How the holder was started (`npm run start`, `node runtime/mpi-link.ts`), to tell the user what to stop. */
  readonly command: string;
  readonly since: string;
  /** Tells this process's own lock from one a previous process with the same pid left (containers reuse pid 1). */
  readonly token: string;
};

export type DataDirLock = { readonly path: string; readonly owner: LockOwner; release(): void };

/** Locks this process holds, by lock path: a second open in the same process is refused too. */
const held = new Map<string, LockOwner>();

const ownCommand = (): string => {
  const entry = process.argv[1];
  const file = entry ? relative(process.cwd(), entry) || basename(entry) : undefined;
  // npm's variables are inherited by every child of a script (`npm test` spawning commands): name the
  // npm script only when it is the one that ran this very file.
  const script = process.env.npm_lifecycle_event;
  if (script && file && process.env.npm_lifecycle_script?.includes(file)) return script === 'start' ? 'npm start' : `npm run ${script}`;
  return file ? `node ${file}` : 'node';
};

function readOwner(path: string): LockOwner | null | 'missing' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string' ? (o as LockOwner) : null;
  } catch {
    return null;
  }
}

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
};

/** A lock written by a process that can no longer hold it. Another host's processes cannot be checked: never stale. */
function isStale(owner: LockOwner | null, path: string): boolean {
  if (owner === null) {
    // Unreadable: its writer is between creating and writing it, or died there. Only old ones are stale.
    try {
      return Date.now() - statSync(path).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  if (owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return held.get(path)?.token !== owner.token;
  return !processAlive(owner.pid);
}

export function inUseMessage(dir: string, owner: LockOwner | null): string {
  const who =
    owner === null
      ? 'another process (its lock file is being written)'
      : owner.pid === process.pid && owner.host === hostname()
        ? 'this process already'
        : `\`${owner.command}\` (pid ${owner.pid}${owner.host !== hostname() ? ` on ${owner.host}` : ''}, since ${owner.since})`;
  return (
    `the embedded database in ${dir} is in use by ${who}: stop it and run this again ` +
    `(one process at a time can open an embedded database; with PostgreSQL, DATABASE_URL, commands run beside the product)`
  );
}

const inUse = (dir: string, path: string, owner: LockOwner | null): ProductError =>
  new ProductError('DATABASE_UNAVAILABLE', inUseMessage(dir, owner), {
    reason: 'in_use',
    lock: path,
    pid: owner?.pid ?? null,
  });

function tryCreate(path: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${JSON.stringify(owner)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

const removeIf = (path: string, matches: (o: LockOwner | null | 'missing') => boolean): void => {
  if (!matches(readOwner(path))) return;
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
};

/**
 * Takes the directory's lock or throws DATABASE_UNAVAILABLE naming the holder. Taking over a stale
 * lock goes through `owner.lock.takeover` (also O_EXCL), so two processes that find the same stale
 * lock cannot both remove it and each create one of their own: one takes over, the other is refused.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  const guard = `${path}.takeover`;
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    command: ownCommand(),
    since: new Date().toISOString(),
    token: randomUUID(),
  };
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(path, owner)) break;
    const current = readOwner(path);
    if (current === 'missing') continue; // released meanwhile
    if (!isStale(current, path) || attempt >= 50) throw inUse(dir, path, current);
    if (!tryCreate(guard, owner)) {
      // Another process is taking over (or died doing it: a guard older than a few seconds is abandoned).
      const since = statSync(guard, { throwIfNoEntry: false })?.mtimeMs;
      if (since !== undefined && Date.now() - since > 5_000) removeIf(guard, () => true);
      await sleep(50);
      continue;
    }
    try {
      // Still the stale lock we judged (not a fresh one someone created meanwhile)?
      const again = readOwner(path);
      const same = again === 'missing' || (again === null ? current === null : again.token === current?.token);
      if (same) removeIf(path, () => true);
      if (same && tryCreate(path, owner)) break;
    } finally {
      removeIf(guard, (o) => o !== 'missing' && o?.token === owner.token);
    }
  }
  held.set(path, owner);
  const release = (): void => {
    if (held.get(path)?.token !== owner.token) return;
    held.delete(path);
    process.off('exit', release);
    removeIf(path, (o) => o !== 'missing' && o?.token === owner.token);
  };
  // A command that ends with process.exit() without closing the database must not leave a live-looking lock.
  process.on('exit', release);
  return { path, owner, release };
}
