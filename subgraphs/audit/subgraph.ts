// The audit subgraph: serves the audit log to the security role. Reading audit rows about a
// patient is itself audited, as an access to that patient's audit trail.
import type { Database } from '../../platform/db.ts';
import { auditPolicies } from '../../policies/audit.ts';
import { federationPolicies } from '../../policies/federation.ts';
import type { AuditEventRecord } from '../../orchestration/audit/query.ts';
import { auditTypeDefs } from '../../schema/subgraph-sdl.ts';
import type { SubgraphDefinition } from '../shared/subgraph-server.ts';
import { auditResolvers } from './resolvers.ts';

export function auditSubgraph(deps: { readonly db: Database }): SubgraphDefinition {
  return {
    name: 'audit',
    typeDefs: auditTypeDefs(),
    resolvers: auditResolvers(deps) as SubgraphDefinition['resolvers'],
    policies: [federationPolicies, auditPolicies],
    auditSubjects: { AuditEvent: (e) => (e as AuditEventRecord).patientRef ?? 'AuditLog' },
  };
}
