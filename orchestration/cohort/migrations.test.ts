// The cohort indexes at work: on a few thousand generated rows (ANALYZEd), the planner reads the
// keyset orders from their indexes and clinical criteria from the live-item indexes. Plans, not
// timings, are asserted (figures belong to bench/).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mod10CheckDigit } from '../../translation/terminology/code-syntax.ts';
import { loadUnitRules } from '../../translation/units.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';
import { cohortCriteria, type PatientFilterInput } from './criteria.ts';
import { COHORT_ORDER, pageStatement, type CohortOrder } from './page.ts';
import { openCohortTestDb } from './test-helpers.ts';

const PATIENTS = 5000;
const ITEMS_PER_PATIENT = 8;
const CODES = Array.from({ length: 40 }, (_, i) => `${1000 + i}-${mod10CheckDigit(String(1000 + i))}`);

let t: MpiTestDb;
before(async () => {
  t = await openCohortTestDb();
  // Synthetic rows only: invented ids, no names. 40 LOINC-like codes, 8 items a patient, one in ten encounters.
  await t.db.query(`INSERT INTO golden_patient (id, birth_date, gender, updated_at)
    SELECT gen_random_uuid(), to_char(date '1930-01-01' + (i * 7919 % 30000), 'YYYY-MM-DD'), (ARRAY['female','male'])[1 + i % 2],
      now() - make_interval(mins => i) FROM generate_series(1, ${PATIENTS}) i`);
  await t.db.query(`INSERT INTO source_record (source, source_patient_id, golden_id, demographics)
    SELECT 'epic-a', 'G' || row_number() OVER (ORDER BY id), id, '{}' FROM golden_patient`);
  await t.db.query(
    `INSERT INTO clinical_item (resource_type, source, resource_id, version, version_order, content_digest, subject_id,
      code_system, code, codes, effective_at, value_num, value_unit, fact_key, resource, lineage, retrieved_at)
    SELECT CASE WHEN k % 10 = 0 THEN 'Encounter' ELSE 'Observation' END, 'epic-a', 'i' || p || '-' || k, '1', '1', 'd', 'G' || p,
      'http://loinc.org', ($1::text[])[1 + (p * 31 + k) % 40], ARRAY['http://loinc.org|' || ($1::text[])[1 + (p * 31 + k) % 40]],
      timestamptz '2025-01-01' + make_interval(days => (p + k * 37) % 700), (p * 13 + k) % 200, 'mg/dL', 'f' || p || '-' || k,
      '{"resourceType":"Observation"}', '{}', now()
    FROM generate_series(1, ${PATIENTS}) p, generate_series(1, ${ITEMS_PER_PATIENT}) k`,
    [CODES],
  );
  // One statement per query: the embedded database prepares every query, and a prepared statement holds one command.
  for (const table of ['golden_patient', 'source_record', 'clinical_item']) await t.db.query(`ANALYZE ${table}`);
});
after(() => t.close());

const context = { deidentified: false, sources: new Set(['epic-a']), units: loadUnitRules(), descendants: () => [], today: '2026-12-05' };

async function plan(filter: PatientFilterInput, order: CohortOrder = COHORT_ORDER.id): Promise<string> {
  const s = pageStatement({
    criteria: cohortCriteria(filter, context),
    order,
    deidentified: false,
    coarsening: { oldestCategoryBirthYear: 1936, restrictedZip3: [] },
    onlyId: null,
    first: 20,
    after: null,
  });
  const { rows } = await t.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${s.text}`, s.values);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

test('keyset orders read their index, without sorting the cohort', async () => {
  const byBirth = await plan({}, COHORT_ORDER.birthDate);
  assert.match(byBirth, /golden_patient_cohort_birth/, byBirth);
  assert.doesNotMatch(byBirth, /Sort/, byBirth);
  const byUpdate = await plan({}, COHORT_ORDER.updatedAt);
  assert.match(byUpdate, /golden_patient_cohort_updated/, byUpdate);
  assert.doesNotMatch(byUpdate, /Sort/, byUpdate);
});

test('clinical criteria read the live-item indexes', async () => {
  const value = await plan({ observation: { code: CODES[3]!, valueFrom: 190, unit: 'mg/dL' } });
  assert.match(value, /clinical_item_cohort_code/, value);
  const encounter = await plan({ encounter: { from: '2025-02-01', to: '2025-02-03' } });
  assert.match(encounter, /clinical_item_cohort_time/, encounter);
});

test('an OR over clinical criteria is paged branch by branch (a keyset page each), never a hashed subplan', async () => {
  const or = await plan({
    or: [
      { observation: { code: CODES[3]!, valueFrom: 10, unit: 'mg/dL' } },
      { observation: { code: CODES[5]!, valueFrom: 10, unit: 'mg/dL' } },
    ],
    not: { gender: 'male' },
  });
  assert.doesNotMatch(or, /hashed SubPlan/, or);
  assert.match(or, /Append/, or);
  assert.equal((or.match(/-> {2}Limit/g) ?? []).length, 2, or);
});
