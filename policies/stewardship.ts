// Identity stewardship (MPI subgraph): the review queue, link history and the mutations that
// link, unlink, merge and separate patients or set a golden field by hand are data stewards' work
// only. Clinicians see how a patient's records are linked (Patient.links, provenance) through
// patient.ts.
import { allOf, reachedThroughAuthorizedField, scopeToRead, steward } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

const stewardOnly = allOf(steward, scopeToRead('Patient'));
const through = reachedThroughAuthorizedField;

export const stewardshipPolicies = {
  Query: { reviewQueue: stewardOnly, linkHistory: stewardOnly },
  Mutation: {
    linkRecord: stewardOnly,
    unlinkRecord: stewardOnly,
    mergePatients: stewardOnly,
    unmergePatient: stewardOnly,
    markNotDuplicate: stewardOnly,
    resolveReview: stewardOnly,
    setPatientFields: stewardOnly,
  },
  // Result and queue types are reachable only through the steward-only fields above; the patients
  // they lead to are held to patient.ts field by field.
  ReviewItemConnection: { edges: through, pageInfo: through, totalCount: through },
  ReviewItemEdge: { cursor: through, node: through },
  ReviewItem: {
    id: through,
    kind: through,
    status: through,
    score: through,
    evidence: through,
    record: through,
    patient: through,
    candidate: through,
    createdAt: through,
    decision: through,
    reason: through,
    resolvedAt: through,
  },
  LinkResult: { record: through, patient: through, previousPatientId: through, state: through, origin: through, changed: through },
  MergeResult: { survivor: through, mergedId: through, movedRecords: through, changed: through },
  NotDuplicateResult: { patients: through, changed: through },
  ReviewResult: { item: through, changed: through },
  PatientFieldsResult: { patient: through, changedFields: through, changed: through },
  MatchEvidence: { field: through, level: through, weight: through },
  FieldProvenance: { field: through, rule: through, sourceRecordIds: through, setBy: through, setAt: through },
  PatientLink: {
    sourceRecordId: through,
    source: through,
    state: through,
    origin: through,
    score: through,
    evidence: through,
    dataQuality: through,
    linkedAt: through,
  },
  LinkEvent: {
    at: through,
    sourceRecordId: through,
    patientId: through,
    previousPatientId: through,
    state: through,
    origin: through,
    score: through,
    evidence: through,
    action: through,
    reason: through,
    actor: through,
  },
} as const satisfies PolicySet;
