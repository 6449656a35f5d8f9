import assert from 'node:assert/strict';
import test from 'node:test';
import { errors, patient } from './test-helpers.ts';

test('resource ids: 1 to 64 of A-Z a-z 0-9 - .', () => {
  assert.deepEqual(errors(patient({ id: 'bad_id' })), ['Patient.id: invalid resource id: characters other than A-Z a-z 0-9 - .']);
  assert.deepEqual(errors(patient({ id: 'x'.repeat(65) })), ['Patient.id: invalid resource id: longer than 64 characters']);
  assert.deepEqual(errors(patient({ id: 'A-z.0' })), []);
});

test('contained resources: local references resolve (ref-1) and each contained resource is referenced (dom-3)', () => {
  const org = { resourceType: 'Organization', id: 'org1', name: 'Clinic' };
  assert.deepEqual(errors(patient({ contained: [org], managingOrganization: { reference: '#org1' } })), []);
  assert.deepEqual(errors(patient({ contained: [org] })), [
    'Patient.contained[0]: contained resource is not referenced from its container (dom-3)',
  ]);
  const dangling = errors(patient({ managingOrganization: { reference: '#nowhere' } }));
  assert.ok(
    dangling.includes('Patient.managingOrganization: local reference does not name a contained resource (ref-1)'),
    dangling.join('\n'),
  );
  // A contained resource may refer to a sibling.
  const practitioner = { resourceType: 'Practitioner', id: 'pr1', name: [{ family: 'Doe' }] };
  const role = { resourceType: 'PractitionerRole', id: 'r1', practitioner: { reference: '#pr1' } };
  assert.deepEqual(errors(patient({ contained: [practitioner, role], generalPractitioner: [{ reference: '#r1' }] })), []);
});

test('a literal reference names a type the element allows', () => {
  assert.deepEqual(errors(patient({ managingOrganization: { reference: 'Practitioner/1' } })), [
    'Patient.managingOrganization.reference: reference to type Practitioner, where the element allows Organization',
  ]);
  assert.deepEqual(errors(patient({ managingOrganization: { reference: 'https://ehr.example/fhir/Organization/1' } })), []);
  assert.deepEqual(errors(patient({ managingOrganization: { reference: 'urn:uuid:2ae2ff34-279e-43c2-9018-b054fd3fc1ce' } })), []);
});
