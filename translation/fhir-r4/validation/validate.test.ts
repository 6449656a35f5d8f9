import assert from 'node:assert/strict';
import test from 'node:test';
import { errors, patient, warnings } from './test-helpers.ts';
import { isAccepted, validateJson, validateResource } from './validate.ts';

test('a valid resource has no issues and is accepted', () => {
  const issues = validateResource(patient());
  assert.deepEqual(issues, []);
  assert.equal(isAccepted(issues), true);
});

test('input that is not a resource is an error, never an exception', () => {
  assert.deepEqual(errors(null), [': not a FHIR resource: a JSON object with a resourceType is expected']);
  assert.deepEqual(errors({ resourceType: 'Nonsense' }), ['resourceType: unknown resource type Nonsense']);
  assert.deepEqual(
    validateJson('{"resourceType": "Patient",').map((i) => i.message),
    ['not valid JSON'],
  );
  assert.equal(isAccepted(validateJson('\uFEFF{"resourceType": "Patient"}')), true);
});

test('structure and cardinality come from @medplum/core', () => {
  assert.deepEqual(errors({ resourceType: 'Observation', status: 'final' }), ['Observation.code: Missing required property']);
  assert.deepEqual(errors(patient({ unknownElement: 1 })), ['Patient.unknownElement: Invalid additional property "unknownElement"']);
  assert.deepEqual(errors(patient({ birthDate: 'not a date' })), ['Patient.birthDate: Invalid date format']);
});

test('issue messages never quote the values of the resource', () => {
  const secret = 'Zyxwvut-9876';
  const bad = patient({
    id: `${secret}_`,
    birthDate: secret,
    gender: secret,
    unknown: secret,
    text: { status: 'generated', div: `<div><script>${secret}</script></div>` },
  });
  const all = [...errors(bad), ...warnings(bad)];
  assert.ok(all.length >= 4, all.join('\n'));
  for (const line of all) assert.ok(!line.includes(secret), line);
});
