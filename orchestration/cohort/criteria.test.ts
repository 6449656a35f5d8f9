// Filter checks without a database: the periods dates name, ages as birth-date bounds, and the
// criterion tree a composed filter becomes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProductError } from '../../platform/errors.ts';
import { loadUnitRules } from '../../translation/units.ts';
import { cohortCriteria, period, type CriteriaContext } from './criteria.ts';

const ctx = (today: string, deidentified = false): CriteriaContext => ({
  deidentified,
  sources: new Set(['epic-a']),
  units: loadUnitRules(),
  descendants: (code) => [`http://snomed.info/sct|${code}`],
  today,
});

test('a date names a period: a year, a month, a day (UTC), or an instant', () => {
  assert.deepEqual(period('2024', 'x', false), { start: '2024-01-01T00:00:00.000Z', end: '2025-01-01T00:00:00.000Z' });
  assert.deepEqual(period('2024-02', 'x', false), { start: '2024-02-01T00:00:00.000Z', end: '2024-03-01T00:00:00.000Z' });
  assert.deepEqual(period('2024-12-31', 'x', false), { start: '2024-12-31T00:00:00.000Z', end: '2025-01-01T00:00:00.000Z' });
  assert.deepEqual(period('2024-06-01T10:00:00+02:00', 'x', false), { start: '2024-06-01T08:00:00.000Z', end: '2024-06-01T08:00:00.000Z' });
  for (const [value, yearsOnly] of [
    ['2023-02-29', false],
    ['2024-13', false],
    ['last year', false],
    ['2024-06', true],
    ['2024-06-01T10:00:00Z', true],
  ] as const)
    assert.throws(
      () => period(value, 'filter.encounter.from', yearsOnly),
      (e: ProductError) => e.code === 'BAD_USER_INPUT' && e.details?.argument === 'filter.encounter.from',
      value,
    );
});

test('ages are birth-date bounds counted to today (identified) or birth-year bounds (de-identified)', () => {
  assert.deepEqual(cohortCriteria({ ageFrom: 30, ageTo: 40 }, ctx('2026-12-05')), {
    kind: 'birthDay',
    from: '1985-12-06',
    to: '1996-12-05',
  });
  assert.deepEqual(cohortCriteria({ ageFrom: 30, ageTo: 40 }, ctx('2026-12-05', true)), { kind: 'shownBirthYear', from: 1986, to: 1996 });
});

test('a composed filter becomes one tree: the fields of one filter AND, then and, or, not', () => {
  assert.deepEqual(
    cohortCriteria(
      { gender: 'female', or: [{ source: 'epic-a' }, { medication: { codes: ['860975'] } }], not: { postalCodePrefix: '606' } },
      ctx('2026-12-05'),
    ),
    {
      kind: 'all',
      of: [
        { kind: 'gender', value: 'female' },
        {
          kind: 'any',
          of: [
            { kind: 'source', value: 'epic-a' },
            {
              kind: 'clinical',
              types: ['MedicationRequest', 'MedicationAdministration', 'MedicationStatement'],
              tokens: ['http://www.nlm.nih.gov/research/umls/rxnorm|860975'],
              prefixes: [],
              code: null,
              value: null,
              window: { from: null, to: null },
            },
          ],
        },
        { kind: 'not', of: { kind: 'zip3', value: '606' } },
      ],
    },
  );
  assert.deepEqual(cohortCriteria(null, ctx('2026-12-05')), { kind: 'all', of: [] });
});
