// The MPI subgraph: owns Patient (the golden record) and the source-record entity interface.
import { cohortPolicies } from '../../policies/cohort.ts';
import { federationPolicies } from '../../policies/federation.ts';
import { patientPolicies } from '../../policies/patient.ts';
import { stewardshipPolicies } from '../../policies/stewardship.ts';
import type { GoldenPatient, LinkEvent, ReviewItem, SourceLink } from '../../orchestration/mpi/store.ts';
import type { ExportJob } from '../../orchestration/cohort/export.ts';
import type { SavedCohort } from '../../orchestration/cohort/saved.ts';
import { mpiTypeDefs } from '../../schema/subgraph-sdl.ts';
import type { SubgraphDefinition } from '../shared/subgraph-server.ts';
import { exportDownloadRoute } from './export-downloads.ts';
import { mpiResolvers, type MpiDependencies } from './resolvers.ts';

export function mpiSubgraph(deps: MpiDependencies): SubgraphDefinition {
  const linkSubject = (link: unknown) => `Patient/${(link as SourceLink).goldenId}`;
  return {
    name: 'mpi',
    typeDefs: mpiTypeDefs(deps.adapters),
    resolvers: mpiResolvers(deps) as SubgraphDefinition['resolvers'],
    ...(deps.exports ? { routes: [exportDownloadRoute(deps.db, deps.exports.dir)] } : {}),
    policies: [federationPolicies, patientPolicies, stewardshipPolicies, cohortPolicies],
    auditSubjects: {
      Patient: (p) => `Patient/${(p as GoldenPatient).id}`,
      PatientLink: linkSubject,
      // A link change names the patient the record moved to and the one it left.
      LinkEvent: (e) => {
        const { goldenId, previousGoldenId } = e as LinkEvent;
        return previousGoldenId && previousGoldenId !== goldenId
          ? [`Patient/${goldenId}`, `Patient/${previousGoldenId}`]
          : `Patient/${goldenId}`;
      },
      // A review item compares two patients: its score and evidence are about both.
      ReviewItem: (r) => [`Patient/${(r as ReviewItem).goldenId}`, `Patient/${(r as ReviewItem).candidateId}`],
      SourceRecord: linkSubject,
      // Reading or changing a cohort, and an export's status, are recorded against the cohort and the export.
      Cohort: (c) => `Cohort/${(c as SavedCohort).id}`,
      ExportJob: (j) => `CohortExport/${(j as ExportJob).id}`,
      ...Object.fromEntries(deps.adapters.map((a) => [a.recordType, linkSubject])),
    },
  };
}
