// The audit log (audit subgraph): security and compliance officers only. Every field is listed;
// a field missing here is denied to everyone.
import { reachedThroughAuthorizedField, securityOfficer } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

const s = securityOfficer;

export const auditPolicies = {
  Query: { auditEvents: s },
  AuditEventConnection: { edges: s, pageInfo: s, totalCount: s, totalCountExact: s },
  AuditEventEdge: { cursor: s, node: s },
  PageInfo: { hasNextPage: reachedThroughAuthorizedField, endCursor: reachedThroughAuthorizedField },
  AuditEvent: {
    seq: s,
    recordedAt: s,
    requestId: s,
    traceparent: s,
    subgraph: s,
    subgraphVersion: s,
    actorSub: s,
    actorRoles: s,
    clientId: s,
    clientIp: s,
    purposeOfUse: s,
    breakGlassReason: s,
    patientRef: s,
    fields: s,
    operationName: s,
    documentHash: s,
    decision: s,
    outcome: s,
    fhir: s,
  },
} as const satisfies PolicySet;
