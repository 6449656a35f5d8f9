// Table upkeep on a real database: past its mark a run analyzes and vacuums the tables a load
// grows (PostgreSQL); on PGlite there is none.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHURN_TABLES, UPKEEP_TABLES, createUpkeep } from './upkeep.ts';
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
  const upkeep = createUpkeep(t.db, { minRecords: 100, growth: 2, churnEvery: 1_000_000 });
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

const vacuums = async (table: string): Promise<number> =>
  Number(
    (
      await t.db.query<{ n: string }>(
        'SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = $1',
        [table],
      )
    ).rows[0]?.n ?? 0,
  );

test('between the growth-paced runs, the rewritten counts are vacuumed every churnEvery records', async (ctx) => {
  if (t.db.kind !== 'postgres') return ctx.skip('upkeep runs only on PostgreSQL (set DATABASE_URL)');
  const upkeep = createUpkeep(t.db, { minRecords: 1_000, growth: 10, churnEvery: 100 });
  const before = await vacuums(CHURN_TABLES[0]);
  upkeep.linked(99);
  await upkeep.settled();
  assert.equal(upkeep.churnRuns, 0, 'below churnEvery: nothing');
  upkeep.linked(1);
  await upkeep.settled();
  assert.deepEqual([upkeep.runs, upkeep.churnRuns], [0, 1], 'the counts alone, no full run');
  // Statistics reach pg_stat_user_tables a little after the command.
  for (let i = 0; i < 50 && (await vacuums(CHURN_TABLES[0])) === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await vacuums(CHURN_TABLES[0]), before + 1);
  upkeep.linked(50);
  await upkeep.settled();
  assert.equal(upkeep.churnRuns, 1, '150 linked: the next churn mark is 200');
  upkeep.linked(850); // 1,000: the full run, which vacuums the counts too
  await upkeep.settled();
  assert.deepEqual([upkeep.runs, upkeep.churnRuns], [1, 1]);
  upkeep.linked(50); // 1,050: the churn mark moved to 1,100 with the full run
  await upkeep.settled();
  assert.equal(upkeep.churnRuns, 1);
  upkeep.linked(50);
  await upkeep.settled();
  assert.equal(upkeep.churnRuns, 2);
});

test('a run gathers statistics for the columns queries filter and join on, none for the JSON payloads', async (ctx) => {
  if (t.db.kind !== 'postgres') return ctx.skip('upkeep runs only on PostgreSQL (set DATABASE_URL)');
  await t.db.query(
    `INSERT INTO golden_patient (id, name, addresses) VALUES ('00000000-0000-4000-8000-000000000001', '{"family": "X"}', '[]')`,
  );
  await t.db.query(
    `INSERT INTO source_record (source, source_patient_id, golden_id, demographics, features)
     VALUES ('s', 'p1', '00000000-0000-4000-8000-000000000001', '{}', '{}')`,
  );
  const upkeep = createUpkeep(t.db, { minRecords: 1, growth: 2, churnEvery: 1_000_000 });
  upkeep.linked(1);
  await upkeep.settled();
  const { rows } = await t.db.query<{ tablename: string; attname: string }>(
    `SELECT tablename, attname FROM pg_stats WHERE schemaname = current_schema() AND tablename IN ('golden_patient', 'source_record')`,
  );
  const columns = new Set(rows.map((r) => `${r.tablename}.${r.attname}`));
  for (const c of ['golden_patient.id', 'source_record.golden_id', 'source_record.source_patient_id']) assert.ok(columns.has(c), c);
  for (const c of ['golden_patient.name', 'golden_patient.addresses', 'source_record.demographics', 'source_record.features'])
    assert.ok(!columns.has(c), `${c}: ANALYZE skips it`);
});
