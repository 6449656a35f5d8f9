// Quarantine, re-processing and lineage impact (integration subgraph): integration engineers'
// work; security and compliance officers read it (what was refused, what a change touched) but do
// not re-process. Neither sees the refused resources themselves: the API never returns them.
// Both read ingestion health (ingestionStatus), which names no patient.
import { anyOf, integrationEngineer, reachedThroughAuthorizedField, securityOfficer } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

const read = anyOf(integrationEngineer, securityOfficer);
const through = reachedThroughAuthorizedField;

export const integrationPolicies = {
  Query: { quarantine: read, impact: read, ingestionStatus: read },
  // Replaying dead letters changes what the pipeline applies: integration engineers only, like re-processing.
  Mutation: { reprocessQuarantine: integrationEngineer, replayInboxMessages: integrationEngineer },
  QuarantineConnection: { edges: through, pageInfo: through },
  QuarantineEdge: { cursor: through, node: through },
  PageInfo: { hasNextPage: through, endCursor: through },
  QuarantinedResource: {
    id: through,
    source: through,
    resourceType: through,
    resourceId: through,
    receivedAt: through,
    firstReceivedAt: through,
    attempts: through,
    outcome: through,
  },
  OperationOutcome: { issues: through },
  OperationOutcomeIssue: { severity: through, code: through, diagnostics: through, expression: through },
  ReprocessResult: { reloaded: through, stillRefused: through, resources: through },
  ReprocessedResource: { id: through, source: through, resourceType: through, resourceId: through, status: through, outcome: through },
  InboxReplayResult: { replayed: through, more: through, messages: through },
  ReplayedInboxMessage: {
    id: through,
    channel: through,
    sendingApplication: through,
    sendingFacility: through,
    controlId: through,
    reason: through,
    attempts: through,
    lastError: through,
  },
  Impact: { items: through, pageInfo: through, goldenPatientIds: through, goldenPatientIdsComplete: through },
  DerivedItem: { source: through, resourceType: through, resourceId: through, version: through, goldenPatientId: through },
  ConnectionIngestionStatus: {
    connectionId: through,
    kind: through,
    lagSeconds: through,
    inboxDepth: through,
    deadLetters: through,
    lastMessageAt: through,
    lastAppliedAt: through,
    watermark: through,
    breakerState: through,
    breakerSince: through,
    lastSuccessAt: through,
    lastErrorCode: through,
    lastErrorAt: through,
    fhirVersion: through,
    softwareName: through,
    softwareVersion: through,
    reconciledAt: through,
    reconcileDeletions: through,
    reconcileWarning: through,
    reconcileWarningAt: through,
  },
} as const satisfies PolicySet;
