// One vendor adapter subgraph (epic, cerner, ...): serves every connection configured for it.
import type { AdapterConfig } from '../../platform/config.ts';
import { clinicalPolicies } from '../../policies/clinical.ts';
import { federationPolicies } from '../../policies/federation.ts';
import { vendorAdapterTypeDefs } from '../../schema/subgraph-sdl.ts';
import type { SubgraphDefinition } from '../shared/subgraph-server.ts';
import type { RecordRef } from './record-ref.ts';
import { vendorAdapterResolvers, type VendorAdapterDeps } from './resolvers.ts';

export function vendorAdapterSubgraph(adapter: AdapterConfig, deps: VendorAdapterDeps): SubgraphDefinition {
  return {
    name: adapter.name,
    typeDefs: vendorAdapterTypeDefs(adapter),
    resolvers: vendorAdapterResolvers(adapter.recordType, deps) as SubgraphDefinition['resolvers'],
    policies: [federationPolicies, clinicalPolicies],
    auditSubjects: { [adapter.recordType]: (r) => `SourceRecord/${(r as RecordRef).id}` },
  };
}
