// The clinical subgraph: the merged clinical view of golden patients, from the canonical clinical
// store. Every list it returns is about the patient it hangs from: audited as that patient's.
import { clinicalViewPolicies } from '../../policies/clinical-view.ts';
import { federationPolicies } from '../../policies/federation.ts';
import { patientPolicies } from '../../policies/patient.ts';
import { clinicalTypeDefs } from '../../schema/subgraph-sdl.ts';
import type { SubgraphDefinition } from '../shared/subgraph-server.ts';
import type { ClinicalPatient } from './model.ts';
import { clinicalResolvers, type ClinicalDependencies } from './resolvers.ts';

export function clinicalSubgraph(deps: ClinicalDependencies): SubgraphDefinition {
  return {
    name: 'clinical',
    typeDefs: clinicalTypeDefs(),
    resolvers: clinicalResolvers(deps) as SubgraphDefinition['resolvers'],
    // Patient.id and PageInfo as the MPI decides them; the clinical lists in clinical-view.ts.
    policies: [federationPolicies, patientPolicies, clinicalViewPolicies],
    auditSubjects: { Patient: (p) => `Patient/${(p as ClinicalPatient).id}` },
  };
}
