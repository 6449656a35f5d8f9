// Where each stored clinical type says "entered in error", per FHIR R4 (each resource's page): a new
// type in CLINICAL_FIELDS must be added here, so that nobody stores a type whose withdrawals stay visible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLINICAL_FIELDS, enteredInError, type ClinicalResourceType } from './clinical-fields.ts';

const ERROR_CODING = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' }] };

/** The element, and the value meaning withdrawn, for every stored type (FHIR R4). */
const R4: Record<ClinicalResourceType, { readonly element: string; readonly withdrawn: unknown; readonly kept: unknown }> = {
  Observation: { element: 'status', withdrawn: 'entered-in-error', kept: 'final' },
  Condition: { element: 'verificationStatus', withdrawn: ERROR_CODING, kept: { coding: [{ code: 'confirmed' }] } },
  MedicationRequest: { element: 'status', withdrawn: 'entered-in-error', kept: 'active' },
  MedicationAdministration: { element: 'status', withdrawn: 'entered-in-error', kept: 'completed' },
  MedicationStatement: { element: 'status', withdrawn: 'entered-in-error', kept: 'active' },
  CarePlan: { element: 'status', withdrawn: 'entered-in-error', kept: 'active' },
  Goal: { element: 'lifecycleStatus', withdrawn: 'entered-in-error', kept: 'active' },
  Procedure: { element: 'status', withdrawn: 'entered-in-error', kept: 'completed' },
  DiagnosticReport: { element: 'status', withdrawn: 'entered-in-error', kept: 'final' },
  Encounter: { element: 'status', withdrawn: 'entered-in-error', kept: 'finished' },
  ServiceRequest: { element: 'status', withdrawn: 'entered-in-error', kept: 'active' },
  Immunization: { element: 'status', withdrawn: 'entered-in-error', kept: 'completed' },
};

test('every stored type is withdrawn by entered-in-error in its own element, and by nothing else', () => {
  assert.deepEqual(Object.keys(R4).sort(), Object.keys(CLINICAL_FIELDS).sort());
  for (const [type, r] of Object.entries(R4) as [ClinicalResourceType, (typeof R4)[ClinicalResourceType]][]) {
    assert.equal(enteredInError({ resourceType: type, [r.element]: r.withdrawn }, type), true, `${type}.${r.element}`);
    assert.equal(enteredInError({ resourceType: type, [r.element]: r.kept }, type), false, `${type} kept`);
    // Another element saying it (a Condition's clinicalStatus, a Goal's achievementStatus) is not a withdrawal.
    const elsewhere = r.element === 'status' ? 'clinicalStatus' : 'status';
    assert.equal(enteredInError({ resourceType: type, [elsewhere]: r.withdrawn }, type), false, `${type}.${elsewhere}`);
  }
});
