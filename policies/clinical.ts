// Clinical data from source EHRs (vendor adapter subgraphs): clinicians acting for treatment
// only. Stewards may resolve a source record (its key) but never read its clinical content.
import { allOf, clinicianForTreatment, identityWork, reachedThroughAuthorizedField, scopeToRead } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

const r = reachedThroughAuthorizedField;

export const clinicalPolicies = {
  // Applies to every vendor record type (EpicRecord, CernerRecord, ...).
  SourceRecord: {
    id: allOf(identityWork, scopeToRead('Patient')),
    // Each clinical list also needs a SMART scope for its FHIR resource type.
    observations: allOf(clinicianForTreatment, scopeToRead('Observation')),
    conditions: allOf(clinicianForTreatment, scopeToRead('Condition')),
    medications: allOf(clinicianForTreatment, scopeToRead('MedicationRequest')),
  },
  Observation: {
    id: r,
    status: r,
    category: r,
    code: r,
    effective: r,
    valueQuantity: r,
    valueString: r,
    valueCodeableConcept: r,
    provenance: r,
  },
  Condition: { id: r, clinicalStatus: r, verificationStatus: r, code: r, onset: r, recordedDate: r, provenance: r },
  MedicationRequest: { id: r, status: r, intent: r, medication: r, authoredOn: r, dosageText: r, provenance: r },
  ServiceRequest: { id: r, status: r, intent: r, code: r, authoredOn: r, orderNumbers: r, provenance: r },
  Immunization: {
    id: r,
    status: r,
    vaccineCode: r,
    occurrence: r,
    lotNumber: r,
    doseQuantity: r,
    primarySource: r,
    provenance: r,
  },
  CodeableConcept: { coding: r, text: r },
  Coding: { system: r, code: r, display: r },
  Quantity: { value: r, unit: r, system: r, code: r },
  Provenance: { source: r, resourceType: r, resourceId: r, retrievedAt: r },
} as const satisfies PolicySet;
