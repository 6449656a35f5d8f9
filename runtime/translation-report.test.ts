// `npm run translation:report` as a user runs it: a child process on the product's storage (a
// unique PostgreSQL schema when DATABASE_URL is set, else an embedded database in a temporary
// DATA_DIR), beside a process that holds that storage open, as the running product would.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropSchema, type Database } from '../platform/db.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';
import { ingestResources } from '../orchestration/clinical-store/ingest.ts';
import { context, observation } from '../orchestration/clinical-store/test-helpers.ts';
import { openStorage, protectionFor } from './components.ts';
import { runCommandScript } from '../test/support/command.ts';

const CLI = fileURLToPath(new URL('./translation-report.ts', import.meta.url));
const url = databaseUrl();
const work = mkdtempSync(join(tmpdir(), 'translation-report-'));
const schema = uniqueSchema('treport');
const LOCAL = { system: 'urn:test:report-codes', code: 'R-1' };

const cli = (...args: string[]) => runCommandScript(CLI, args, { dataDir: join(work, 'data'), schema });

const open = () => openStorage({ url, dataDir: url ? undefined : join(work, 'data', 'pg'), schema });
let db: Database;
before(async () => {
  db = await open();
  const protection = protectionFor({ dir: join(work, 'keys'), generateMissing: true });
  await ingestResources(
    db,
    [
      observation({ id: 'r1', patient: 'p1', coding: LOCAL }),
      observation({ id: 'r2', patient: 'p2', coding: LOCAL }),
      observation({ id: 'r3', patient: 'p2', coding: { system: LOCAL.system, code: 'R-2' } }),
      // Refused (no subject), and its code unmapped: counted from the reasons, the code stays sealed.
      observation({ id: 'r4', patient: 'x', coding: { system: LOCAL.system, code: 'SECRET-9' }, extra: { subject: undefined } }),
      observation({ id: 'r5', patient: 'p1' }),
    ],
    context('epic-t'),
    protection,
  );
  // PGlite writes its files on close; PostgreSQL stays open, as the running product would.
  if (!url) await db.close();
});
after(async () => {
  if (url) {
    await dropSchema(db);
    await db.close();
  }
  rmSync(work, { recursive: true, force: true });
});

test('prints the unmapped codes per source with counts, most frequent first; never a sealed code', async () => {
  const r = await cli();
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^SOURCE\s+SYSTEM\s+CODE\s+STORED\s+QUARANTINED$/);
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(/\s{2,}/)),
    [
      ['epic-t', LOCAL.system, 'R-1', '2', '0'],
      ['epic-t', LOCAL.system, 'R-2', '1', '0'],
      ['epic-t', LOCAL.system, '(sealed)', '0', '1'],
    ],
  );
  assert.ok(!r.stdout.includes('SECRET-9') && !r.stdout.includes('loinc'));
});

test('--json and --source', async () => {
  const r = await cli('--json');
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout) as { unmapped: { source: string; code: string | null; stored: number }[] };
  assert.deepEqual(
    body.unmapped.map((u) => [u.code, u.stored]),
    [
      ['R-1', 2],
      ['R-2', 1],
      [null, 0],
    ],
  );
  const none = await cli('--source', 'cerner-t');
  assert.equal(none.stdout, 'no unmapped codes\n');
});

test('beside a process holding the storage (the running product), it still reports and changes nothing', async () => {
  const held = await open();
  try {
    const count = async () => (await held.query<{ n: string }>('SELECT count(*)::text AS n FROM clinical_item')).rows[0]!.n;
    const before = await count();
    const r = await cli();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /R-1/);
    if (!url) assert.match(r.stdout, /^note: .* in use: reported on a copy taken now/);
    assert.equal(await count(), before);
  } finally {
    if (!url) await held.close();
  }
});
