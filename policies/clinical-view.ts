// The merged clinical view of a golden patient (clinical subgraph, from the canonical store):
// clinicians acting for treatment only, like the per-source clinical lists (clinical.ts), each list
// with the SMART scopes of the FHIR resource types it returns. Stewards and analysts reach the
// patient's id but none of its clinical data.
import { allOf, clinicianForTreatment, reachedThroughAuthorizedField, scopeToRead } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

const r = reachedThroughAuthorizedField;

export const clinicalViewPolicies = {
  Patient: {
    observations: allOf(clinicianForTreatment, scopeToRead('Observation')),
    conditions: allOf(clinicianForTreatment, scopeToRead('Condition')),
    // Requests, administrations and statements in one list: the token must read all three.
    medications: allOf(
      clinicianForTreatment,
      scopeToRead('MedicationRequest'),
      scopeToRead('MedicationAdministration'),
      scopeToRead('MedicationStatement'),
    ),
    carePlans: allOf(clinicianForTreatment, scopeToRead('CarePlan')),
    goals: allOf(clinicianForTreatment, scopeToRead('Goal')),
    procedures: allOf(clinicianForTreatment, scopeToRead('Procedure')),
    diagnosticReports: allOf(clinicianForTreatment, scopeToRead('DiagnosticReport')),
    encounters: allOf(clinicianForTreatment, scopeToRead('Encounter')),
    orders: allOf(clinicianForTreatment, scopeToRead('ServiceRequest')),
    immunizations: allOf(clinicianForTreatment, scopeToRead('Immunization')),
  },
  ClinicalItemConnection: { edges: r, nodes: r, pageInfo: r },
  ClinicalItemEdge: { cursor: r, node: r },
  ClinicalItem: {
    id: r,
    resourceType: r,
    status: r,
    code: r,
    codings: r,
    originalCodings: r,
    effective: r,
    value: r,
    flags: r,
    provenance: r,
    fhir: r,
  },
  ClinicalCode: { system: r, code: r, display: r },
  ClinicalTime: { instant: r, precision: r },
  ClinicalValue: { value: r, unit: r, originalValue: r, originalUnit: r },
  TranslationFlag: { severity: r, path: r, message: r },
  Lineage: {
    source: r,
    resourceType: r,
    resourceId: r,
    version: r,
    retrievedAt: r,
    messageId: r,
    transformations: r,
    softwareVersion: r,
  },
  Transformation: { kind: r, mapId: r, from: r, to: r },
} as const satisfies PolicySet;
