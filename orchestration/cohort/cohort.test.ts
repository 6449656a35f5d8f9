// Cohort filters against a real database: each criterion selects exactly the expected members of a
// small population with traps (the same code in another system, an entered-in-error item, a value
// sent in another unit, a merged patient); bad filters are BAD_USER_INPUT naming the argument.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProductError } from '../../platform/errors.ts';
import { buildTerminology } from '../../translation/terminology/translate.ts';
import { loadUnitRules } from '../../translation/units.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';
import { cohortCriteria, type CriteriaContext, type PatientFilterInput } from './criteria.ts';
import { snomedDescendants } from './descendants.ts';
import { budgetedCount, COHORT_ORDER, cohortPage, pageForm, pageStatement, sampleEstimate } from './page.ts';
import { compile, params } from './sql.ts';
import { buildFixture, CERNER, EPIC, openCohortTestDb, type Fixture } from './test-helpers.ts';

let t: MpiTestDb;
let f: Fixture;
before(async () => {
  t = await openCohortTestDb();
  f = await buildFixture(t);
});
after(() => t.close());

// A SNOMED CT hierarchy as a deployment would add it: type 2 diabetes mellitus under diabetes mellitus.
const hierarchy = buildTerminology([
  {
    file: 'test',
    canonical: 'urn:test|1',
    map: {
      resourceType: 'ConceptMap',
      id: 'snomed-hierarchy',
      url: 'urn:test',
      version: '1',
      status: 'active',
      group: [
        {
          source: 'http://snomed.info/sct',
          target: 'http://snomed.info/sct',
          element: [{ code: '44054006', target: [{ code: '73211009', equivalence: 'wider' }] }],
        },
      ],
    },
  },
]);

const ctx = (deidentified = false): CriteriaContext => ({
  deidentified,
  sources: new Set([EPIC, CERNER]),
  units: loadUnitRules(),
  descendants: snomedDescendants(hierarchy),
  today: '2026-12-05',
});
const coarsening = { oldestCategoryBirthYear: 1936, restrictedZip3: ['036'] };

async function members(filter: PatientFilterInput, deidentified = false): Promise<string[]> {
  const page = await cohortPage(t.db, t.protection, {
    criteria: cohortCriteria(filter, ctx(deidentified)),
    order: COHORT_ORDER.id,
    deidentified,
    coarsening,
    onlyId: null,
    first: 100,
    after: null,
  });
  assert.equal(page.totalCount, page.members.length);
  const names = new Map(Object.entries(f).map(([k, v]) => [v, k]));
  return page.members.map((m) => names.get(m.patient.id) ?? m.patient.id).sort();
}

const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
const SCT = 'http://snomed.info/sct';

test('demographic filters: gender, birth dates, ages, postal code prefix, source, updated since', async () => {
  assert.deepEqual(await members({}), ['ann', 'bob', 'cara', 'eve']);
  assert.deepEqual(await members({ gender: 'female' }), ['ann', 'cara', 'eve']);
  assert.deepEqual(await members({ birthDateFrom: '1985', birthDateTo: '1995' }), ['bob', 'eve']);
  assert.deepEqual(await members({ birthDateFrom: '1985-01-02' }), ['cara', 'eve']);
  // On 2026-12-05: ann 66, bob 41, cara 26, eve 36.
  assert.deepEqual(await members({ ageFrom: 30, ageTo: 50 }), ['bob', 'eve']);
  assert.deepEqual(await members({ ageFrom: 66 }), ['ann']);
  assert.deepEqual(await members({ ageTo: 26 }), ['cara']);
  assert.deepEqual(await members({ postalCodePrefix: '606' }), ['ann', 'cara']);
  // eve's own record is Cerner's; dan's Epic record moved to her with the merge.
  assert.deepEqual(await members({ source: CERNER }), ['cara', 'eve']);
  assert.deepEqual(await members({ source: EPIC }), ['ann', 'bob', 'eve']);
  assert.deepEqual(await members({ updatedSince: '2000' }), ['ann', 'bob', 'cara', 'eve']);
  assert.deepEqual(await members({ updatedSince: '2999' }), []);
});

test('conditions: ICD-10-CM prefixes (not the same code in another system), SNOMED CT with descendants, merged and retired records', async () => {
  assert.deepEqual(await members({ condition: { system: ICD, codes: ['E11'] } }), ['ann', 'eve']);
  assert.deepEqual(await members({ condition: { system: ICD, codes: ['E1'] } }), ['ann', 'eve']);
  assert.deepEqual(await members({ condition: { system: ICD, codes: ['E11.65'] } }), []);
  assert.deepEqual(await members({ condition: { system: ICD, codes: ['E11.9'], from: '2025' } }), ['ann']);
  assert.deepEqual(await members({ condition: { system: SCT, codes: ['44054006'] } }), ['cara']);
  assert.deepEqual(await members({ condition: { system: SCT, codes: ['73211009'] } }), ['cara']);
  // cara's I10 was retired (no longer returned by her source).
  assert.deepEqual(await members({ condition: { system: ICD, codes: ['I10'] } }), []);
});

test('observations: a LOINC code, a value range in the stored unit, a date window; withdrawn items left out', async () => {
  assert.deepEqual(await members({ observation: { code: '4548-4' } }), ['ann', 'cara']);
  // cara's 10 % was entered in error: only ann is above 9.
  assert.deepEqual(await members({ observation: { code: '4548-4', valueFrom: 9 } }), ['ann']);
  assert.deepEqual(await members({ observation: { code: '4548-4', valueFrom: 5, valueTo: 7 } }), ['cara']);
  // bob's 8 mmol/L is 144 mg/dL in the store.
  assert.deepEqual(await members({ observation: { code: '2345-7', valueFrom: 140, unit: 'mg/dL' } }), ['bob']);
  assert.deepEqual(await members({ observation: { code: '2345-7', valueTo: 130 } }), []);
  assert.deepEqual(await members({ observation: { code: '4548-4', from: '2026-06-01', to: '2026-06-01' } }), ['ann']);
  assert.deepEqual(await members({ observation: { code: '4548-4', from: '2026-07' } }), []);
});

test('medications (RxNorm) and encounters in a period', async () => {
  assert.deepEqual(await members({ medication: { codes: ['860975'] } }), ['cara']);
  assert.deepEqual(await members({ medication: { codes: ['860975'], to: '2026-01' } }), []);
  assert.deepEqual(await members({ encounter: { from: '2026-03', to: '2026-03' } }), ['ann']);
  assert.deepEqual(await members({ encounter: { from: '2026-04' } }), []);
});

test('AND, OR and NOT compose; NOT of an unknown value counts as not matching', async () => {
  assert.deepEqual(await members({ and: [{ gender: 'female' }, { condition: { system: ICD, codes: ['E11'] } }] }), ['ann', 'eve']);
  assert.deepEqual(await members({ or: [{ gender: 'male' }, { medication: { codes: ['860975'] } }] }), ['bob', 'cara']);
  assert.deepEqual(await members({ not: { gender: 'female' } }), ['bob']);
  assert.deepEqual(await members({ gender: 'female', not: { observation: { code: '4548-4' } } }), ['eve']);
  assert.deepEqual(await members({ not: { or: [{ source: EPIC }, { postalCodePrefix: '606' }] } }), []);
});

test('de-identified callers filter on what they see: years, not dates', async () => {
  assert.deepEqual(await members({ ageFrom: 30, ageTo: 50 }, true), ['bob', 'eve']);
  assert.deepEqual(await members({ observation: { code: '4548-4', from: '2026' } }, true), ['ann', 'cara']);
  const refused = (filter: PatientFilterInput, argument: string) =>
    assert.throws(
      () => cohortCriteria(filter, ctx(true)),
      (e: ProductError) => e.code === 'BAD_USER_INPUT' && e.details?.argument === argument,
      argument,
    );
  refused({ birthDateFrom: '1960-05-10' }, 'filter.birthDateFrom');
  refused({ observation: { code: '4548-4', from: '2026-06-01' } }, 'filter.observation.from');
  refused({ updatedSince: '2026-12-01' }, 'filter.updatedSince');
});

test('bad filters are BAD_USER_INPUT naming the argument, never an empty cohort', () => {
  const cases: [PatientFilterInput, string][] = [
    [{ gender: 'F' }, 'filter.gender'],
    [{ source: 'nowhere' }, 'filter.source'],
    [{ ageFrom: 50, ageTo: 30 }, 'filter.ageTo'],
    [{ birthYearFrom: 2000, birthYearTo: 1990 }, 'filter.birthYearTo'],
    [{ birthDateFrom: '1990-02-30' }, 'filter.birthDateFrom'],
    [{ and: [] }, 'filter.and'],
    [{ or: [] }, 'filter.or'],
    [{ or: [{ gender: 'male' }, { condition: { system: 'http://example.org/codes', codes: ['X'] } }] }, 'filter.or[1].condition.system'],
    [{ condition: { system: ICD, codes: [] } }, 'filter.condition.codes'],
    [{ condition: { system: ICD, codes: ['E11', 'e11'] } }, 'filter.condition.codes[1]'],
    [{ condition: { system: SCT, codes: ['44054007'] } }, 'filter.condition.codes[0]'],
    [{ observation: { code: '4548-5' } }, 'filter.observation.code'],
    [{ observation: { code: '4548-4', valueFrom: 9, valueTo: 7 } }, 'filter.observation.valueTo'],
    [{ observation: { code: '2345-7', valueFrom: 7, unit: 'mmol/L' } }, 'filter.observation.unit'],
    [{ observation: { code: '4548-4', from: '2026-06', to: '2026-05' } }, 'filter.observation.to'],
    [{ medication: { codes: ['metformin'] } }, 'filter.medication.codes[0]'],
    [{ not: { encounter: { from: 'yesterday' } } }, 'filter.not.encounter.from'],
    [{ postalCodePrefix: '6060' }, 'filter.postalCodePrefix'],
  ];
  for (const [filter, argument] of cases)
    assert.throws(
      () => cohortCriteria(filter, ctx()),
      (e: ProductError) => e.code === 'BAD_USER_INPUT' && e.details?.argument === argument,
      `${JSON.stringify(filter)} names ${argument}`,
    );
});

test('totalCount is exact up to the bound, then estimated and flagged', async () => {
  const request = {
    criteria: cohortCriteria({}, ctx()),
    order: COHORT_ORDER.id,
    deidentified: false,
    coarsening,
    onlyId: null,
    first: 2,
    after: null,
  };
  // The default sample holds every active patient here: it is the exact count.
  const whole = await cohortPage(t.db, t.protection, { ...request, countBound: 3 });
  assert.deepEqual([whole.totalCount, whole.totalCountIsEstimate, whole.members.length, whole.hasNextPage], [4, false, 2, true]);
  // A sample of 2 of the 4: the bounded count decides, then the estimate above the bound.
  const exact = await cohortPage(t.db, t.protection, { ...request, countBound: 4, countSample: 2 });
  assert.deepEqual([exact.totalCount, exact.totalCountIsEstimate], [4, false]);
  const estimated = await cohortPage(t.db, t.protection, { ...request, countBound: 3, countSample: 2 });
  assert.equal(estimated.totalCountIsEstimate, true);
  assert.ok(estimated.totalCount >= 4, `estimate ${estimated.totalCount} is above the bound`);
});

test('a cohort far above the bound by the sample is estimated without counting, scaled to the active patients', async () => {
  await t.db.query('ANALYZE golden_patient');
  const request = {
    criteria: cohortCriteria({}, ctx()),
    order: COHORT_ORDER.id,
    deidentified: false,
    coarsening,
    onlyId: null,
    first: 1,
    after: null,
  };
  const sample = await sampleEstimate(t.db, { ...request, countBound: 1 }, 2);
  assert.deepEqual([sample.matched, sample.sampled, sample.whole], [2, 2, false]);
  assert.ok(sample.estimate >= 3 && sample.estimate <= 6, `2 of 2 sampled, scaled to about 4 active patients: ${sample.estimate}`);
  const page = await cohortPage(t.db, t.protection, { ...request, countBound: 1, countSample: 2 });
  assert.deepEqual([page.totalCount, page.totalCountIsEstimate, page.members.length], [sample.estimate, true, 1]);
});

test('a count that needs longer than its budget gives up (the page never waits for it); its connection stays usable', async () => {
  const request = {
    criteria: cohortCriteria({ gender: 'female' }, ctx()),
    order: COHORT_ORDER.id,
    deidentified: false,
    coarsening,
    onlyId: null,
    first: 1,
    after: null,
  };
  // Another transaction holds golden_patient: the count waits, and its budget ends the wait.
  let release = () => undefined as void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked = () => undefined as void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = t.db.transaction(async (tx) => {
    await tx.query('LOCK TABLE golden_patient IN ACCESS EXCLUSIVE MODE');
    locked();
    await held;
  });
  await isLocked;
  const t0 = performance.now();
  const n = await budgetedCount(t.db, request, 10, 50);
  const waited = performance.now() - t0;
  release();
  await holder;
  assert.equal(n, null);
  assert.ok(waited < 2000, `gave up at its budget, not the serving timeout (${Math.round(waited)} ms)`);
  // The pool's connections all still answer (none was left in an aborted transaction).
  const answers = await Promise.all(Array.from({ length: 4 }, () => budgetedCount(t.db, request, 10, 1000)));
  assert.deepEqual(answers, [3, 3, 3, 3]);
});

test('an estimated count still decides small cells exactly: the floor is proven by the page or the sample, else counted', async () => {
  const page = await cohortPage(t.db, t.protection, {
    criteria: cohortCriteria({ gender: 'female' }, ctx(true)),
    order: COHORT_ORDER.id,
    deidentified: true,
    coarsening,
    onlyId: null,
    first: 1,
    after: null,
    countBound: 1,
    countSample: 1,
    smallCellFloor: 11,
  });
  // Three members: estimated from a sample of one, but a small cell, so counted exactly.
  assert.deepEqual([page.totalCount, page.totalCountIsEstimate, page.members.length, page.hasNextPage], [3, false, 1, true]);
});

test('OR and NOT of clinical criteria are per-patient probes (never a hashed subplan); prefixes are stored tokens', () => {
  const p = params();
  const sql = compile(
    cohortCriteria(
      {
        or: [{ condition: { system: ICD, codes: ['E11'] } }, { observation: { code: '2345-7', valueFrom: 126, unit: 'mg/dL' } }],
        not: { medication: { codes: ['860975'] } },
      },
      ctx(),
    ),
    p,
    coarsening,
  );
  assert.equal((sql.match(/coalesce\(\(SELECT true FROM source_record s JOIN clinical_item i/g) ?? []).length, 3, sql);
  assert.doesNotMatch(sql, /EXISTS/, sql);
  assert.match(
    sql,
    /i\.codes && \(SELECT coalesce\(array_agg\(k\.token\), '\{\}'\) FROM clinical_code_token k WHERE k\.token LIKE \$\d+\)/,
    sql,
  );
  assert.ok(p.values.includes(`${ICD}|E11%`), JSON.stringify(p.values));
  // At the top of the filter (AND) a criterion stays an EXISTS: a semi join the planner may drive from either side.
  const and = compile(cohortCriteria({ condition: { system: ICD, codes: ['I10'] } }, ctx()), params(), coarsening);
  assert.match(and, /^EXISTS \(SELECT 1 FROM source_record s JOIN clinical_item i/, and);
});

test('an OR paged branch by branch: one member a page through the cursor gives the whole cohort, each member once, in order', async () => {
  const filter: PatientFilterInput = {
    or: [{ condition: { system: ICD, codes: ['E11'] } }, { observation: { code: '4548-4' } }, { gender: 'male' }],
  };
  const all = await members(filter);
  const seen: string[] = [];
  let position: { key: string | null; id: string } | null = null;
  for (let i = 0; i < 10; i++) {
    const page = await cohortPage(t.db, t.protection, {
      criteria: cohortCriteria(filter, ctx()),
      order: COHORT_ORDER.id,
      deidentified: false,
      coarsening,
      onlyId: null,
      first: 1,
      after: position,
      count: false,
    });
    seen.push(...page.members.map((m) => m.patient.id));
    if (!page.hasNextPage) break;
    position = page.members.at(-1)!.position;
  }
  const names = new Map(Object.entries(f).map(([k, v]) => [v, k]));
  assert.deepEqual(seen, [...new Set(seen)].sort(), 'in id order, each once');
  assert.deepEqual(seen.map((id) => names.get(id) ?? id).sort(), all);
  assert.ok(all.length >= 3, JSON.stringify(all));
});

test('a dense cohort is paged by walking the order with per-patient probes; a rare one as the planner chooses', async () => {
  const request = (filter: PatientFilterInput, first = 1) => ({
    criteria: cohortCriteria(filter, ctx()),
    order: COHORT_ORDER.id,
    deidentified: false,
    coarsening,
    onlyId: null,
    first,
    after: null,
  });
  // Two of the four active patients have an E11 condition (dan's is answered by eve): walking finds a page at once.
  const dense = request({ condition: { system: ICD, codes: ['E11'] } });
  assert.equal((await pageForm(t.db, dense)).form, 'probe');
  const walk = pageStatement(dense, 'probe').text;
  assert.doesNotMatch(walk, /EXISTS|UNION/, walk);
  // No member in the sample: nothing says walking would find one soon.
  assert.equal((await pageForm(t.db, request({ condition: { system: ICD, codes: ['Z99'] } }))).form, 'semi');
  // Nothing over the records: the planner's choice is the walk or an index of the demographics.
  assert.equal((await pageForm(t.db, request({ gender: 'female' }))).form, 'semi');
  assert.match(pageStatement(dense, 'semi').text, /EXISTS/);
});
