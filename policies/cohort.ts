// Saved cohorts and cohort exports (MPI subgraph): whoever may page through patients (patient.ts:
// clinicians for treatment, stewards, analysts) may save cohorts, read them and export them. What
// each sees of a member is Patient's own field policy; which cohorts, snapshots and exports a
// caller reaches is decided per object in the resolvers (subgraphs/mpi/cohort-resolvers.ts):
// identified cohorts never reach de-identified callers, an export only its requester, and small
// cells are withheld from de-identified callers there too.
import { allOf, deidentifiedAccess, scopeToRead } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

const cohortWork = allOf(deidentifiedAccess, scopeToRead('Patient'));

export const cohortPolicies = {
  Query: { cohort: cohortWork, exportJob: cohortWork },
  Mutation: { createCohort: cohortWork, updateCohort: cohortWork, snapshotCohort: cohortWork, exportCohort: cohortWork },
  Cohort: {
    id: cohortWork,
    name: cohortWork,
    view: cohortWork,
    version: cohortWork,
    filter: cohortWork,
    createdBy: cohortWork,
    createdAt: cohortWork,
    versions: cohortWork,
    snapshots: cohortWork,
    members: cohortWork,
  },
  CohortVersion: { version: cohortWork, filter: cohortWork, createdBy: cohortWork, createdAt: cohortWork },
  CohortSnapshot: {
    id: cohortWork,
    version: cohortWork,
    takenAt: cohortWork,
    takenBy: cohortWork,
    memberCount: cohortWork,
    countSuppressed: cohortWork,
  },
  ExportJob: {
    id: cohortWork,
    cohortId: cohortWork,
    snapshotId: cohortWork,
    status: cohortWork,
    membersTotal: cohortWork,
    membersDone: cohortWork,
    resourcesWritten: cohortWork,
    types: cohortWork,
    requestedAt: cohortWork,
    completedAt: cohortWork,
    expiresAt: cohortWork,
    manifestUrl: cohortWork,
    error: cohortWork,
  },
} as const satisfies PolicySet;
