import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { sharedDataPresent, SHARED_DATA_MISSING } from '../../../test/support/env.ts';
import { errors, patient, warnings } from './test-helpers.ts';
import { generate } from './us-core/generate.ts';

const US_CORE_PATIENT = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient';

test('a resource claiming a US Core profile: absent mandatory elements are errors, absent must-support ones warnings', () => {
  const claimed = patient({
    meta: { profile: [`${US_CORE_PATIENT}|7.0.0`] },
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: '1' }],
  });
  assert.deepEqual(errors(claimed), []);
  assert.deepEqual(warnings(claimed), [
    'Patient.telecom: must-support element of US Core profile us-core-patient is absent',
    'Patient.deceased[x]: must-support element of US Core profile us-core-patient is absent',
    'Patient.address: must-support element of US Core profile us-core-patient is absent',
    'Patient.communication: must-support element of US Core profile us-core-patient is absent',
  ]);
  const { identifier: _dropped, ...noIdentifier } = claimed;
  assert.deepEqual(errors(noIdentifier), ['Patient.identifier: required by US Core profile us-core-patient, and absent']);
});

test('US Core assumed by configuration only flags, and a choice element counts in any of its types', () => {
  assert.deepEqual(warnings(patient()), []);
  const flagged = warnings(patient({ deceasedBoolean: false }), { assumeUsCore: ['Patient'] });
  assert.ok(flagged.includes('Patient.identifier: required by US Core profile us-core-patient, and absent'), flagged.join('\n'));
  assert.ok(!flagged.some((w) => w.startsWith('Patient.deceased[x]')), flagged.join('\n'));
  assert.deepEqual(errors(patient(), { assumeUsCore: ['Patient'] }), []);
});

test(
  'the committed US Core table is what the generator makes from the US Core profiles',
  { skip: !sharedDataPresent() && SHARED_DATA_MISSING },
  () => {
    const committed = JSON.parse(readFileSync(new URL('./us-core/us-core-profiles.json', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(committed, generate());
  },
);
