// Clinical data from source EHRs (vendor adapter subgraphs): clinicians acting for treatment
// only. Stewards may resolve a source record (its key) but never read its clinical content.
import { clinicianForTreatment, identityWork, reachedThroughAuthorizedField } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

const r = reachedThroughAuthorizedField;

export const clinicalPolicies = {
  // Applies to every vendor record type (EpicRecord, CernerRecord, ...).
  SourceRecord: {
    id: identityWork,
    observations: clinicianForTreatment,
    conditions: clinicianForTreatment,
    medications: clinicianForTreatment,
  },
  Observation: { id: r, status: r, category: r, code: r, effective: r, valueQuantity: r, valueString: r, valueCodeableConcept: r, provenance: r },
  Condition: { id: r, clinicalStatus: r, verificationStatus: r, code: r, onset: r, recordedDate: r, provenance: r },
  MedicationRequest: { id: r, status: r, intent: r, medication: r, authoredOn: r, dosageText: r, provenance: r },
  CodeableConcept: { coding: r, text: r },
  Coding: { system: r, code: r, display: r },
  Quantity: { value: r, unit: r, system: r, code: r },
  Provenance: { source: r, resourceType: r, resourceId: r, retrievedAt: r },
} as const satisfies PolicySet;
