// Shared by the integration subgraph's tests: two FHIR connections and the epic adapter, and one
// operation through the subgraph's schema (policies and the audit collector included), as the
// subgraph server runs it, without HTTP.
import { execute, parse } from 'graphql';
import type { AdapterConfig, ConnectionConfig } from '../../platform/config.ts';
import { auditCollector } from '../../orchestration/audit/collector.ts';
import type { Principal } from '../../security/principal.ts';
import { buildSubgraph } from '../shared/subgraph-server.ts';
import type { SubgraphContext } from '../shared/context.ts';
import { integrationSubgraph } from './subgraph.ts';
import type { IntegrationDeps } from './resolvers.ts';

export const connections: ConnectionConfig[] = ['src-a', 'src-b'].map((id) => ({
  id,
  adapter: 'epic',
  baseUrl: 'http://127.0.0.1:1/fhir',
  clientId: id,
  scope: 's',
  timeZone: 'UTC',
  timeoutMs: 1000,
}));
export const adapters: AdapterConfig[] = [{ name: 'epic', recordType: 'EpicRecord', profile: 'epic' }];

export async function runIntegration(deps: IntegrationDeps, document: string, principal: Principal, variables?: Record<string, unknown>) {
  const def = integrationSubgraph(deps);
  const contextValue: SubgraphContext = {
    principal,
    audit: auditCollector(def.auditSubjects),
    subgraph: 'integration',
    client: { operationName: null, documentHash: null, traceparent: null },
    perRequest: new Map(),
  };
  const result = await execute({ schema: buildSubgraph(def), document: parse(document), contextValue, variableValues: variables });
  return { result, audit: contextValue.audit };
}
