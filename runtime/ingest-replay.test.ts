// `npm run ingest:replay` as an operator runs it: a child process on the product's storage (a
// unique PostgreSQL schema when DATABASE_URL is set, else an embedded database in a temporary
// DATA_DIR). A dry run changes nothing; a replay returns the dead letters to work once and records
// who did it in the audit log; bad options are refused before the database is opened.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropSchema, type Database } from '../platform/db.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';
import { inboxState } from '../orchestration/ingest/inbox.ts';
import { makeDeadLetters, message } from '../orchestration/ingest/test-helpers.ts';
import { openStorage, protectionFor } from './components.ts';
import { runCommandScript } from '../test/support/command.ts';

const CLI = fileURLToPath(new URL('./ingest-replay.ts', import.meta.url));
const url = databaseUrl();
const work = mkdtempSync(join(tmpdir(), 'ingest-replay-'));
const schema = uniqueSchema('ireplay');

const cli = (...args: string[]) => runCommandScript(CLI, args, { dataDir: join(work, 'data'), schema });

const open = () => openStorage({ url, dataDir: url ? undefined : join(work, 'data', 'pg'), schema });
let db: Database;
let dead: string[];
before(async () => {
  db = await open();
  const protection = protectionFor({ dir: join(work, 'keys'), generateMissing: true });
  dead = await makeDeadLetters({ db, protection, close: async () => undefined }, [
    message('CLI-1'),
    message('CLI-2', { channel: 'feed-b' }),
    message('CLI-3', { channel: 'feed-b' }),
  ]);
  // PGlite serves one process: the command gets the directory once this one has let it go.
  if (!url) await db.close();
});
after(async () => {
  if (url) {
    await dropSchema(db);
    await db.close();
  }
  rmSync(work, { recursive: true, force: true });
});

/** The messages' states and the replay audit rows, read from a fresh handle (PGlite: between commands). */
async function observe(): Promise<{ states: (string | undefined)[]; audited: string[] }> {
  const reader = url ? db : await open();
  try {
    const states = await Promise.all(dead.map(async (id) => (await inboxState(reader, id))?.state));
    const rows = await reader.query<{ patient_ref: string; actor_sub: string }>(
      "SELECT patient_ref, actor_sub FROM audit_event WHERE subgraph = 'ingest-replay' ORDER BY seq",
    );
    return { states, audited: rows.rows.map((r) => `${r.actor_sub} ${r.patient_ref}`) };
  } finally {
    if (!url) await reader.close();
  }
}

test('bad options are refused with one line and exit 2', async () => {
  for (const args of [[], ['--id', 'x'], ['--id', '1', '--channel', 'a'], ['--reason', 'bored'], ['--since', 'yesterday']]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ingest:replay: .+\n$/);
  }
});

test('a dry run lists the dead letters it would replay and changes nothing', async () => {
  const r = await cli('--channel', 'feed-b', '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `${dead[1]} feed-b SIMADT SIMHOSP CLI-2 permanent attempts=1 last_error="PermanentFailure: test"`,
    `${dead[2]} feed-b SIMADT SIMHOSP CLI-3 permanent attempts=1 last_error="PermanentFailure: test"`,
    'ingest:replay: dry run: would replay 2 dead letters (permanent 2, max-attempts 0, lease-expired 0)',
  ]);
  assert.deepEqual(await observe(), { states: ['dead', 'dead', 'dead'], audited: [] });
});

test('replay by id, then by filter: each dead letter once, every replay audited', async () => {
  const byId = await cli('--id', dead[0]!, '--id', '999999', '--operator', 'ops-1');
  assert.equal(byId.code, 0, byId.stderr);
  assert.match(
    byId.stdout,
    /^ingest:replay: replayed 1 dead letter \(permanent 1, max-attempts 0, lease-expired 0\); 1 of the ids given is not a dead letter \(left as they are\); recorded in the audit log as ingest-replay-[0-9a-f-]{36}\n$/,
  );
  const again = await cli('--id', dead[0]!, '--operator', 'ops-1');
  assert.equal(
    again.stdout,
    'ingest:replay: replayed 0 dead letters (permanent 0, max-attempts 0, lease-expired 0); 1 of the ids given is not a dead letter (left as they are)\n',
  );
  const byFilter = await cli('--channel', 'feed-b', '--reason', 'permanent', '--operator', 'ops-2');
  assert.equal(byFilter.code, 0, byFilter.stderr);
  assert.match(byFilter.stdout, /^ingest:replay: replayed 2 dead letters \(permanent 2,/);
  assert.deepEqual(await observe(), {
    states: ['pending', 'pending', 'pending'],
    audited: [`ops-1 InboxMessage/${dead[0]}`, `ops-2 InboxMessage/${dead[1]}`, `ops-2 InboxMessage/${dead[2]}`],
  });
  const none = await cli('--all');
  assert.equal(none.stdout, 'ingest:replay: replayed 0 dead letters (permanent 0, max-attempts 0, lease-expired 0)\n');
});
