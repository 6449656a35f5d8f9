import assert from 'node:assert/strict';
import test from 'node:test';
import { errors } from './test-helpers.ts';

const obs = (code: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'Observation',
  status: 'final',
  code,
  ...extra,
});

test('required bindings: a code outside an enumerable required ValueSet is an error', () => {
  assert.deepEqual(errors(obs({ text: 'x' }, { status: 'completed' })), [
    'Observation.status: code is not in the required ValueSet http://hl7.org/fhir/ValueSet/observation-status',
  ]);
  const active = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] };
  assert.deepEqual(
    errors({
      resourceType: 'AllergyIntolerance',
      clinicalStatus: active,
      patient: { reference: 'Patient/1' },
      _category: [{ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] }],
    }),
    ['AllergyIntolerance.category: no code given where one is required from a ValueSet'],
  );
});

test('codes of the specification’s own code systems must exist; other systems are not judged', () => {
  const legal = (code: string): Record<string, unknown> => ({
    resourceType: 'Contract',
    legalState: { coding: [{ system: 'http://hl7.org/fhir/contract-legalstate', code }] },
  });
  assert.deepEqual(errors(legal('executed')), []);
  assert.deepEqual(errors(legal('no-such-state')), [
    'Contract.legalState.coding[0].code: code is not defined in the CodeSystem http://hl7.org/fhir/contract-legalstate',
  ]);
  assert.deepEqual(errors(obs({ coding: [{ system: 'http://loinc.org', code: 'anything' }] })), []);
});

test('Coding.system is an absolute URI naming a CodeSystem', () => {
  assert.deepEqual(errors(obs({ coding: [{ system: 'local', code: 'a' }] })), [
    'Observation.code.coding[0].system: Coding.system must be an absolute URI',
  ]);
  assert.deepEqual(errors(obs({ coding: [{ system: 'http://hl7.org/fhir/ValueSet/observation-codes', code: 'a' }] })), [
    'Observation.code.coding[0].system: Coding.system names a ValueSet, not a CodeSystem',
  ]);
});

test('SNOMED CT codes are valid concept ids; expressions are let through', () => {
  const sct = (code: string): Record<string, unknown> => obs({ coding: [{ system: 'http://snomed.info/sct', code }] });
  assert.deepEqual(errors(sct('22298006')), []);
  assert.deepEqual(errors(sct('446151000124109')), []);
  assert.deepEqual(errors(sct('276885007x')), [
    'Observation.code.coding[0].code: not a valid SNOMED CT identifier (not 6 to 18 digits without a leading zero)',
  ]);
  assert.deepEqual(errors(sct('22298007')), [
    'Observation.code.coding[0].code: not a valid SNOMED CT identifier (check digit does not match)',
  ]);
  assert.deepEqual(errors(sct('128045006:{363698007=56459004}')), []);
});
