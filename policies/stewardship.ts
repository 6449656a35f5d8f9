// Identity stewardship (MPI subgraph): the review queue, link history and the mutations that
// link, unlink, merge and separate patients or set a golden field by hand are data stewards' work
// only. Clinicians see how a patient's records are linked (Patient.links, provenance) through
// patient.ts.
import { allOf, reachedThroughAuthorizedField, scopeToRead, steward } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

const stewardOnly = allOf(steward, scopeToRead('Patient'));
const through = reachedThroughAuthorizedField;

export const stewardshipPolicies = {
  Query: { reviewQueue: stewardOnly, linkHistory: stewardOnly, findPatients: stewardOnly },
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
  ReviewItemConnection: { edges: through, pageInfo: through, totalCount: through, counts: through },
  ReviewQueueCounts: { byReason: through, byKind: through, bySource: through },
  ReviewQueueCount: { key: through, count: through },
  ReviewItemEdge: { cursor: through, node: through },
  ReviewItem: {
    id: through,
    kind: through,
    status: through,
    matchReason: through,
    score: through,
    thresholds: through,
    evidence: through,
    record: through,
    patient: through,
    candidate: through,
    createdAt: through,
    decision: through,
    reason: through,
    resolvedAt: through,
    reopens: through,
  },
  LinkResult: { record: through, patient: through, previousPatientId: through, state: through, origin: through, changed: through },
  MergeResult: {
    survivor: through,
    mergedId: through,
    movedRecords: through,
    changed: through,
    reopenedReviews: through,
    reviewsKeptClosed: through,
  },
  ClosedReview: { id: through, code: through, description: through },
  NotDuplicateResult: { patients: through, changed: through },
  ReviewResult: { item: through, changed: through },
  PatientFieldsResult: { patient: through, changedFields: through, changed: through },
  MatchEvidence: { field: through, level: through, weight: through },
  MatchReason: { code: through, description: through },
  MatchThresholds: { autoLink: through, review: through },
  FieldProvenance: { field: through, rule: through, sourceRecordIds: through, setBy: through, setAt: through },
  PatientLink: {
    sourceRecordId: through,
    source: through,
    state: through,
    origin: through,
    score: through,
    evidence: through,
    // Why the matcher decided as it did (its guards: twins, households, SSN-only pairs) is
    // stewards' work; clinicians see how records are linked, not the rules that held them.
    matchReason: stewardOnly,
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
    matchReason: stewardOnly,
    actor: through,
  },
} as const satisfies PolicySet;
