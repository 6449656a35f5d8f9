// The cohort benchmark's population at a few hundred patients: exact item totals, the ids and
// items the same at every build, a complete population reused rather than rebuilt, the indexes it
// dropped for the load back, and items the clinical store's own merged read returns.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dropSchema, type Database } from '../../platform/db.ts';
import { mergedItems } from '../../orchestration/clinical-store/read.ts';
import { openStorage } from '../../runtime/components.ts';
import { databaseUrl, uniqueSchema } from '../../test/support/env.ts';
import { ensurePopulation, goldenId } from './population.ts';

const PATIENTS = 300;
const spec = { seed: 42, patients: PATIENTS };
let db: Database;
before(async () => (db = await openStorage({ url: databaseUrl(), schema: uniqueSchema('bcoh'), maxConnections: 3 })));
after(async () => {
  await dropSchema(db);
  await db.close();
});

const indexes = async () =>
  (await db.query<{ n: string }>(`SELECT indexname AS n FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1`)).rows.map(
    (r) => r.n,
  );

test('a population is built with exact totals, its indexes back, and reused when complete', async () => {
  const before = await indexes();
  const built = await ensurePopulation(db, spec, () => undefined);
  assert.equal(built.reused, false);
  // Pairs of patients share 40 observations and 4 conditions: totals are exact.
  assert.deepEqual(
    { patients: built.size.patients, observations: built.size.observations, conditions: built.size.conditions },
    { patients: PATIENTS, observations: 20 * PATIENTS, conditions: 2 * PATIENTS },
  );
  assert.ok(built.size.sourceRecords > PATIENTS && built.size.sourceRecords < PATIENTS * 1.3, 'about 10 % have a second record');
  const after = (await indexes()).filter((n) => !n.startsWith('bench_cohort_population'));
  assert.deepEqual(after, before, 'every index dropped for the load is rebuilt');
  const missing = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT DISTINCT t FROM clinical_item, unnest(codes) AS t EXCEPT SELECT token FROM clinical_code_token) x`,
  );
  assert.equal(missing.rows[0]!.n, 0, 'every code token of the items is stored, as the writer keeps them');
  const stamp = async () => (await db.query<{ s: string }>(`SELECT max(stored_at)::text AS s FROM clinical_item`)).rows[0]!.s;
  const storedAt = await stamp();
  const again = await ensurePopulation(db, spec, () => undefined);
  assert.equal(again.reused, true);
  assert.equal(await stamp(), storedAt, 'nothing is written again');
  assert.equal(goldenId(42, 7), goldenId(42, 7));
  assert.notEqual(goldenId(42, 7), goldenId(43, 7));
});

test("generated items read back through the clinical store's merged view", async () => {
  const id = goldenId(42, 0);
  const page = await mergedItems(db, { goldenId: id, types: ['Observation', 'Condition'], first: 100 });
  const n = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM clinical_item i JOIN source_record s ON s.source = i.source AND s.source_patient_id = i.subject_id
     WHERE s.golden_id = $1`,
    [id],
  );
  assert.ok(n.rows[0]!.n > 0);
  assert.equal(page.items.length, n.rows[0]!.n, JSON.stringify(page).slice(0, 300));
});
