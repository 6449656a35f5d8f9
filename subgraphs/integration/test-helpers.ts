// Shared by the integration subgraph's tests: two FHIR connections, the epic adapter, and a run of a
// document through the subgraph's schema (policies and audit included) as a principal.
import { execute, parse } from 'graphql';
import type { AdapterConfig, ConnectionConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { auditCollector } from '../../orchestration/audit/collector.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { Principal } from '../../security/principal.ts';
import { buildSubgraph } from '../shared/subgraph-server.ts';
import type { SubgraphContext } from '../shared/context.ts';
import { integrationSubgraph } from './subgraph.ts';

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

export async function runIntegration(
  t: { readonly db: Database; readonly protection: IdentifierProtection },
  document: string,
  principal: Principal,
  variables?: Record<string, unknown>,
) {
  const def = integrationSubgraph({ db: t.db, protection: t.protection, connections, adapters });
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
