// The integration subgraph: quarantine, re-processing and lineage impact for integration
// engineers (security reads). Every call is audited: an entry or item names the patient it is
// about (the source record, or the golden patient an item's record is linked to); the list or
// result itself is recorded as `Quarantine` or `Lineage`, so a call that found nothing is audited too;
// ingestion health (no patient in it) as `IngestionStatus`.
import { federationPolicies } from '../../policies/federation.ts';
import { integrationPolicies } from '../../policies/integration.ts';
import type { ImpactRow } from '../../orchestration/clinical-store/impact.ts';
import type { QuarantinedResource } from '../../orchestration/quarantine/list.ts';
import { inboxMessageRef } from '../../orchestration/ingest/replay.ts';
import type { Replayed } from '../../orchestration/ingest/inbox.ts';
import { integrationTypeDefs } from '../../schema/subgraph-sdl.ts';
import type { SubgraphDefinition } from '../shared/subgraph-server.ts';
import { integrationResolvers, type IntegrationDeps } from './resolvers.ts';

/** The patient a quarantined resource is about, as a source record; the quarantine itself when it names none. */
const entryRef = (e: Pick<QuarantinedResource, 'source' | 'subjectId'>): string =>
  e.subjectId ? `SourceRecord/${e.source}:${e.subjectId}` : QUARANTINE_REF;

export const QUARANTINE_REF = 'Quarantine';
export const LINEAGE_REF = 'Lineage';
/** A replay call itself (one row even when it found no dead letter); each message replayed has its own row. */
export const INBOX_REF = 'Inbox';
export const INGESTION_STATUS_REF = 'IngestionStatus';

export function integrationSubgraph(deps: IntegrationDeps): SubgraphDefinition {
  return {
    name: 'integration',
    typeDefs: integrationTypeDefs(),
    resolvers: integrationResolvers(deps) as SubgraphDefinition['resolvers'],
    policies: [federationPolicies, integrationPolicies],
    auditSubjects: {
      QuarantineConnection: () => QUARANTINE_REF,
      QuarantinedResource: (e) => entryRef(e as QuarantinedResource),
      ReprocessResult: () => QUARANTINE_REF,
      ReprocessedResource: (e) => entryRef(e as QuarantinedResource),
      InboxReplayResult: () => INBOX_REF,
      ReplayedInboxMessage: (m) => inboxMessageRef((m as Replayed).id),
      Impact: () => LINEAGE_REF,
      ConnectionIngestionStatus: () => INGESTION_STATUS_REF,
      DerivedItem: (i) => {
        const item = i as ImpactRow;
        return item.goldenId ? `Patient/${item.goldenId}` : `SourceRecord/${item.source}:${item.subjectId}`;
      },
    },
  };
}
