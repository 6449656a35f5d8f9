// The fault suites' hold on this host's PostgreSQL cluster: whether it can be stopped and started
// from here (root, pg_ctlcluster, the cluster "main" on DATABASE_URL's port), and doing it.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';

/** Why PostgreSQL cannot be restarted from here, or null when it can (this host's cluster, as root). */
export async function restartUnavailable(url: string): Promise<string | null> {
  const target = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1'].includes(target.hostname)) return `DATABASE_URL is not on this host (${target.hostname})`;
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/usr/bin/pg_ctlcluster') || !existsSync('/etc/postgresql')) return 'pg_ctlcluster is not installed';
  const versions = readdirSync('/etc/postgresql');
  if (versions.length !== 1) return `expected one PostgreSQL version in /etc/postgresql, found ${versions.length}`;
  const { stdout } = await promisify(execFile)('pg_lsclusters', ['--no-header']);
  const main = stdout.split('\n').find((line) => /^\S+\s+main\s/.test(line));
  if (main?.split(/\s+/)[2] !== (target.port || '5432')) return 'the cluster "main" does not listen on DATABASE_URL\'s port';
  return null;
}

/** pg_ctlcluster <version> main <action> (restartUnavailable must have said null). */
export async function clusterCtl(action: 'stop' | 'start' | 'restart'): Promise<void> {
  const version = readdirSync('/etc/postgresql')[0]!;
  // -m fast on stop: sessions are ended, not waited for (the point is an outage, now).
  const mode = action === 'start' ? [] : ['-m', 'fast'];
  await promisify(execFile)('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action, ...mode], { timeout: 60_000 });
}
