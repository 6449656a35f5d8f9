import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allows, allowsRead, parseScope, parseScopes } from './smart-scopes.ts';

const actions = (scope: string) => [...(parseScope(scope)?.actions ?? [])].sort().join('');

test('v1 and v2 scopes expand to the same canonical actions', () => {
  assert.equal(actions('patient/*.read'), 'rs');
  assert.equal(actions('patient/*.rs'), 'rs');
  assert.equal(actions('user/Observation.write'), 'cdu');
  assert.equal(actions('user/*.cruds'), 'cdrsu');
  assert.equal(actions('system/Patient.*'), 'cdrsu');
  assert.equal(parseScope('patient/Observation.rs')?.context, 'patient');
  assert.equal(parseScope('system/Patient.read')?.resourceType, 'Patient');
});

test('malformed, out-of-order, non-resource and narrowed scopes grant nothing', () => {
  for (const s of [
    'openid',
    'launch/patient',
    'fhirUser',
    'patient/Observation.sr',
    'patient/Observation.rr',
    'patient/Observation.',
    'admin/*.read',
    'patient/Observation.rs?category=laboratory',
    'patient/Obs-ervation.rs',
  ]) {
    assert.equal(parseScope(s), undefined, s);
  }
});

test('reading needs read and search; wildcards cover every type', () => {
  assert.equal(allowsRead(parseScopes(['patient/*.read']), 'Condition'), true);
  assert.equal(allowsRead(parseScopes(['patient/Observation.r']), 'Observation'), false);
  assert.equal(allowsRead(parseScopes(['patient/Observation.r', 'patient/Observation.s']), 'Observation'), true);
  assert.equal(allowsRead(parseScopes(['user/Observation.rs']), 'Condition'), false);
  assert.equal(allows(parseScopes(['user/*.cud']), 'Patient', 'r'), false);
  assert.equal(allowsRead([], 'Patient'), false);
});
