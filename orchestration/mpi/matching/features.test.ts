import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchFeatures, blockingKeys, frequencyTerms, parseName, featuresAreCurrent } from './features.ts';
import { config, person, bare } from './test-helpers.ts';

test('features are normalized, precomputed and JSON round-trip', () => {
  const f = matchFeatures(person({ family: 'Garcia-López', given: ['Bill', 'Henry'], suffix: ['Jr.'], birthDate: '1980-02-01' }), config);
  assert.equal(f.family, 'garcialopez');
  assert.deepEqual(f.familyTokens, ['garcia', 'lopez']);
  assert.equal(f.given, 'bill');
  assert.deepEqual(f.givenNick, ['william']);
  assert.equal(f.givenSdx, 'B400');
  assert.equal(f.suffix, 'jr');
  assert.equal(f.dob, '19800201');
  assert.equal(f.ssn, '900112233');
  assert.deepEqual(f.phones, ['2175550142']);
  assert.equal(f.addresses[0]!.full, '12 main st');
  assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
  assert.equal(featuresAreCurrent(JSON.parse(JSON.stringify(f))), true);
  assert.equal(featuresAreCurrent({ ...f, v: 1 }), false);
});

test('only configured identifier systems give an SSN', () => {
  const d = person({ identifiers: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: '900-11-2233', type: 'SS', source: null }] });
  assert.equal(matchFeatures(d, config).ssn, '900112233');
  const mrn = person({ identifiers: [{ system: 'urn:example:mrn', value: '900112233', type: 'MR', source: null }] });
  assert.equal(matchFeatures(mrn, config).ssn, null);
});

test('names: suffix in a given or family token, unstructured text', () => {
  assert.deepEqual(parseName({ use: null, family: 'Smith III', given: ['John'], prefix: [], suffix: [], text: null }), {
    family: ['smith'],
    given: ['john'],
    suffix: 'iii',
  });
  assert.deepEqual(parseName({ use: null, family: null, given: [], prefix: [], suffix: [], text: 'Smith, John Paul' }), {
    family: ['smith'],
    given: ['john'],
    suffix: null,
  });
  assert.deepEqual(parseName({ use: null, family: null, given: [], prefix: [], suffix: [], text: 'John Paul Smith' }), {
    family: ['smith'],
    given: ['john'],
    suffix: null,
  });
});

test('blocking keys carry a kind prefix and only the configured kinds', () => {
  const f = matchFeatures(person(), config);
  const keys = blockingKeys(f, config);
  assert.ok(keys.includes('ssn:900112233'));
  assert.ok(keys.includes('tel:2175550142'));
  assert.ok(keys.includes('gsx:J500|19800201'));
  assert.ok(keys.includes('fdm:SM0|1980'));
  assert.ok(keys.includes('pcd:62701|19800201'));
  assert.ok(keys.every((k) => /^[a-z]{3}:/.test(k)));
  assert.equal(new Set(keys).size, keys.length);
  assert.deepEqual(blockingKeys(f, { ...config, blocking: { ...config.blocking, keys: ['ssn'] } }), ['ssn:900112233']);
  // Swapped names share the order-free name key.
  const swapped = matchFeatures(person({ family: 'John', given: ['Smith'] }), config);
  assert.ok(blockingKeys(swapped, config).some((k) => k.startsWith('nms:') && keys.includes(k)));
  // Typo'd, impossible birth date still blocks on its year.
  const typo = matchFeatures(person({ birthDate: null, birthDateAsRecorded: '19801302' }), config);
  assert.ok(blockingKeys(typo, config).includes('fdm:SM0|1980'));
  assert.deepEqual(blockingKeys(matchFeatures(bare(), config), config), []);
});

test('frequency terms: the normalized names and places the store counts (the street without its numbers)', () => {
  assert.deepEqual(
    frequencyTerms(matchFeatures(person({ family: "O'Neil", given: ['Mary Ann'], line: ['412 Main Street Apt 3'] }), config)),
    [
      { field: 'family', value: 'oneil' },
      { field: 'given', value: 'maryann' },
      { field: 'city', value: 'springfield' },
      { field: 'postal_code', value: '62701' },
      { field: 'address', value: 'main st apt' },
    ],
  );
  assert.deepEqual(frequencyTerms(matchFeatures(bare(), config)), []);
});
