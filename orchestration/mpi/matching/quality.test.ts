import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataQualityFlags, QUALITY_FLAGS as Q } from './quality.ts';
import { person, bare } from './test-helpers.ts';

const TODAY = new Date('2026-11-15T00:00:00Z');
const flags = (d: Parameters<typeof dataQualityFlags>[0]) => dataQualityFlags(d, TODAY);

test('a complete record has no flags', () => {
  assert.deepEqual(flags(person()), []);
});

test('names: none, partial, and names that normalize to nothing', () => {
  assert.deepEqual(flags(person({ family: null, given: [] })), [Q.NO_NAME]);
  assert.deepEqual(flags(person({ family: 'Smith', given: [] })), [Q.PARTIAL_NAME]);
  assert.deepEqual(flags(person({ family: null, given: ['John'] })), [Q.PARTIAL_NAME]);
  assert.deepEqual(flags(person({ family: '\u200B', given: ['😀', ' '] })), [Q.NO_NAME]); // zero-width and emoji are not names
  assert.deepEqual(flags({ ...person(), name: null }), [Q.NO_NAME]);
  assert.deepEqual(flags({ ...person(), name: { use: null, family: null, given: [], prefix: [], suffix: [], text: 'Smith, John' } }), []);
});

test('birth dates: none, invalid (kept as recorded), future, before 1900', () => {
  assert.deepEqual(flags(person({ birthDate: null })), [Q.NO_BIRTH_DATE]);
  assert.deepEqual(flags(person({ birthDate: null, birthDateAsRecorded: '1908-13-09' })), [Q.INVALID_BIRTH_DATE]);
  assert.deepEqual(flags(person({ birthDate: '1980-02-30' })), [Q.INVALID_BIRTH_DATE]); // not translated: still caught
  assert.deepEqual(flags(person({ birthDate: '2027-01-01' })), [Q.FUTURE_BIRTH_DATE]);
  assert.deepEqual(flags(person({ birthDate: '2030' })), [Q.FUTURE_BIRTH_DATE]);
  assert.deepEqual(flags(person({ birthDate: '1899-12-31' })), [Q.IMPLAUSIBLE_BIRTH_DATE]);
  assert.deepEqual(flags(person({ birthDate: '1980' })), []); // partial dates are valid FHIR dates
  assert.deepEqual(flags(bare()), [Q.NO_NAME, Q.NO_BIRTH_DATE]);
});
