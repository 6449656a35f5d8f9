// Table upkeep on a real database: past its mark a run analyzes and vacuums the tables a load
// grows (PostgreSQL); on PGlite there is none.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { UPKEEP_TABLES, createUpkeep } from './upkeep.ts';
import { openMpiTestDb, type MpiTestDb } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => (t = await openMpiTestDb()));
after(() => t.close());

const maintained = async (): Promise<string[]> =>
  (
    await t.db.query<{ relname: string }>(
      `SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL ORDER BY relname`,
    )
  ).rows.map((r) => r.relname);

test('a run starts once the records linked pass the mark, one at a time, and the next mark grows with the load', async (ctx) => {
  const upkeep = createUpkeep(t.db, { minRecords: 100, growth: 2 });
  if (t.db.kind !== 'postgres') {
    upkeep.linked(1_000);
    await upkeep.settled();
    assert.equal(upkeep.runs, 0, 'PGlite: no upkeep');
    return ctx.skip('upkeep runs only on PostgreSQL (set DATABASE_URL)');
  }
  upkeep.linked(99);
  await upkeep.settled();
  assert.equal(upkeep.runs, 0, 'below the mark: nothing');
  assert.deepEqual(await maintained(), []);
  upkeep.linked(1);
  upkeep.linked(1_000); // while the first run is in progress: not a second one
  await upkeep.settled();
  assert.equal(upkeep.runs, 1);
  assert.deepEqual(await maintained(), [...UPKEEP_TABLES].sort(), 'every grown table vacuumed and analyzed');
  upkeep.linked(1); // 1,101 linked: the next mark was set at 200 when the first run started
  await upkeep.settled();
  assert.equal(upkeep.runs, 2);
  upkeep.linked(1); // 1,102: the next mark is now 2,202 (twice the records linked)
  await upkeep.settled();
  assert.equal(upkeep.runs, 2);
});
