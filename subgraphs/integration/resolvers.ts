// Integration subgraph resolvers: quarantine, re-processing and lineage impact for integration
// engineers (security reads too). They check arguments and call layer 3; each call is audited by
// the subgraph's audit plugin through the types named in subgraph.ts (a row per patient an entry
// or item is about, and one for the call itself).
import { badUserInput, forbidden } from '../../platform/errors.ts';
import { impact, impactSelector } from '../../orchestration/quarantine/impact.ts';
import { listQuarantine, MAX_QUARANTINE_PAGE, type QuarantineKey } from '../../orchestration/quarantine/list.ts';
import {
  MAX_REPROCESS,
  REPROCESS_STATUS,
  reprocessQuarantine,
  type ReprocessStatus as Status,
  type ReprocessDeps,
} from '../../orchestration/quarantine/reprocess.ts';
import { deadLetters, replay, type ReplaySelection } from '../../orchestration/ingest/inbox.ts';
import { MAX_REPLAY } from '../../orchestration/ingest/replay.ts';
import { DEAD_REASONS, type DeadReason } from '../../orchestration/ingest/state.ts';
import { ingestionStatus } from '../../orchestration/sync/status.ts';
import { cursorCodec, pageSize, text } from '../shared/arguments.ts';
import type { SubgraphContext } from '../shared/context.ts';
import type { BreakerState, DeadLetterFilter, DeadLetterReason, ReprocessStatus, Resolvers } from './__generated__/resolvers.ts';

/** What re-processing needs is all the subgraph needs (the translation configuration is read from disk at each call when absent). */
export type IntegrationDeps = ReprocessDeps;

/** A quarantine key as one opaque string: entry id and page cursor alike. */
const keys = cursorCodec('quarantine', (k) => {
  try {
    const v: unknown = JSON.parse(k);
    return Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'string');
  } catch {
    return false;
  }
});
const encodeKey = (k: QuarantineKey): string => keys.encode(JSON.stringify([k.source, k.resourceType, k.resourceId, k.payloadKey]));
function decodeKey(s: string): QuarantineKey {
  const [source, resourceType, resourceId, payloadKey] = JSON.parse(keys.decode(s)) as string[];
  return { source: source!, resourceType: resourceType!, resourceId: resourceId!, payloadKey: payloadKey! };
}
const impactCursors = cursorCodec('impact', (k) => /^\d{1,19}$/.test(k));

const STATUS = { [REPROCESS_STATUS.reloaded]: 'RELOADED', [REPROCESS_STATUS.stillRefused]: 'STILL_REFUSED' } as const satisfies Record<
  Status,
  ReprocessStatus
>;

const BREAKER = { closed: 'CLOSED', open: 'OPEN', 'half-open': 'HALF_OPEN' } as const satisfies Record<string, BreakerState>;
const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** Cross-patient work: a token bound to one patient (SMART launch) cannot do it. */
function guard(ctx: SubgraphContext): void {
  if (ctx.principal.patientContext !== null) throw forbidden();
}

const REASONS = {
  [DEAD_REASONS.permanent]: 'PERMANENT',
  [DEAD_REASONS.maxAttempts]: 'MAX_ATTEMPTS',
  [DEAD_REASONS.leaseExpired]: 'LEASE_EXPIRED',
} as const satisfies Record<DeadReason, DeadLetterReason>;
const REASON_OF = Object.fromEntries(Object.entries(REASONS).map(([k, v]) => [v, k])) as Record<DeadLetterReason, DeadReason>;

function instant(value: string | null | undefined, argument: string): Date | undefined {
  if (value === null || value === undefined) return undefined;
  if (Number.isNaN(Date.parse(value))) throw badUserInput(`\`${argument}\` must be an ISO 8601 instant`, argument);
  return new Date(value);
}

/** Which dead letters replayInboxMessages names: ids or a filter, checked before any work. */
function replaySelection(ids: readonly string[] | null | undefined, filter: DeadLetterFilter | null | undefined): ReplaySelection {
  if ((ids === null || ids === undefined) === (filter === null || filter === undefined))
    throw badUserInput('give either `ids` or `filter`', 'ids');
  if (ids) {
    if (ids.length > MAX_REPLAY) throw badUserInput(`at most ${MAX_REPLAY} \`ids\` a call`, 'ids');
    if (ids.some((id) => !/^\d{1,19}$/.test(id))) throw badUserInput('`ids` must be inbox ids (digits)', 'ids');
    return { ids };
  }
  return {
    filter: {
      channel: text(filter?.channel, 'filter.channel') ?? undefined,
      reason: filter?.reason ? REASON_OF[filter.reason] : undefined,
      since: instant(filter?.since, 'filter.since'),
      until: instant(filter?.until, 'filter.until'),
    },
  };
}

function required(value: string, argument: string): string {
  text(value, argument);
  if (value.trim() === '') throw badUserInput(`\`${argument}\` must not be empty`, argument);
  return value;
}

export function integrationResolvers(deps: IntegrationDeps): Resolvers {
  return {
    Query: {
      async quarantine(_p, { source, reason, resourceType, first, after }, ctx) {
        guard(ctx);
        const size = pageSize(first, 50, MAX_QUARANTINE_PAGE);
        const filter = { source: text(source, 'source'), reason: text(reason, 'reason'), resourceType: text(resourceType, 'resourceType') };
        const page = await listQuarantine(deps.db, filter, size, after ? decodeKey(after) : null);
        // Each entry found is audited under its patient, whatever the client then selects of it.
        for (const e of page.entries) ctx.audit.disclosed('QuarantinedResource', e, 'Query.quarantine');
        const edges = page.entries.map((node) => ({ cursor: encodeKey(node), node }));
        return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
      },
      async impact(_p, { sourceMessage, resource, conceptMap, first, after }, ctx) {
        guard(ctx);
        const size = pageSize(first, 100, 1000);
        text(sourceMessage, 'sourceMessage');
        if (resource) for (const [k, v] of Object.entries(resource)) required(v, `resource.${k}`);
        if (conceptMap) for (const [k, v] of Object.entries(conceptMap)) required(v, `conceptMap.${k}`);
        const selector = impactSelector({ sourceMessage, resource, conceptMap });
        const r = await impact(deps.db, selector, size, after ? impactCursors.decode(after) : null);
        for (const item of r.items) ctx.audit.disclosed('DerivedItem', item, 'Query.impact');
        return {
          items: [...r.items],
          pageInfo: { hasNextPage: r.hasNextPage, endCursor: r.endCursor ? impactCursors.encode(r.endCursor) : null },
          goldenPatientIds: [...r.goldenPatientIds],
          goldenPatientIdsComplete: r.goldenPatientIdsComplete,
        };
      },
      async ingestionStatus(_p, _args, ctx) {
        guard(ctx);
        const status = await ingestionStatus(deps.db, deps.connections);
        ctx.audit.disclosed('ConnectionIngestionStatus', {}, 'Query.ingestionStatus');
        return status;
      },
    },
    Mutation: {
      async reprocessQuarantine(_p, { source, ids, filter }, ctx) {
        guard(ctx);
        required(source, 'source');
        if ((ids === null || ids === undefined) === (filter === null || filter === undefined))
          throw badUserInput('give either `ids` or `filter`', 'ids');
        if (ids && ids.length > MAX_REPROCESS) throw badUserInput(`at most ${MAX_REPROCESS} \`ids\` a call`, 'ids');
        const selected = ids?.map((id) => {
          const k = (() => {
            try {
              return decodeKey(id);
            } catch {
              throw badUserInput('`ids` must be ids returned by `quarantine`', 'ids');
            }
          })();
          if (k.source !== source) throw badUserInput('every id of `ids` must belong to `source`', 'ids');
          return { resourceType: k.resourceType, resourceId: k.resourceId, payloadKey: k.payloadKey };
        });
        const report = await reprocessQuarantine(
          deps,
          selected
            ? { source, keys: selected }
            : {
                source,
                filter: { reason: text(filter?.reason, 'filter.reason'), resourceType: text(filter?.resourceType, 'filter.resourceType') },
              },
        );
        // Every re-processed resource was opened (decrypted) and translated: audited under its
        // patient as a write by this mutation, whatever the client selects of the result.
        for (const r of report.resources) ctx.audit.disclosed('ReprocessedResource', r, 'Mutation.reprocessQuarantine');
        return {
          reloaded: report.resources.filter((r) => r.status === REPROCESS_STATUS.reloaded).length,
          stillRefused: report.resources.filter((r) => r.status === REPROCESS_STATUS.stillRefused).length,
          resources: [...report.resources],
        };
      },
      async replayInboxMessages(_p, { ids, filter }, ctx) {
        guard(ctx);
        const selection = replaySelection(ids, filter);
        // One more than a call returns, in the same transaction: whether the filter still matches dead letters.
        const { messages, more } = await deps.db.transaction(async (tx) => {
          const replayed = await replay(tx, selection, MAX_REPLAY);
          const next = 'filter' in selection && replayed.length === MAX_REPLAY ? await deadLetters(tx, selection, 1) : [];
          return { messages: replayed, more: next.length > 0 };
        });
        // Every message returned to work is audited, whatever the client selects of the result.
        for (const m of messages) ctx.audit.disclosed('ReplayedInboxMessage', m, 'Mutation.replayInboxMessages');
        return { replayed: messages.length, more, messages };
      },
    },
    ReplayedInboxMessage: {
      channel: (m) => m.key.channel,
      sendingApplication: (m) => m.key.sendingApplication,
      sendingFacility: (m) => m.key.sendingFacility,
      controlId: (m) => m.key.controlId,
      reason: (m) => REASONS[m.reason],
    },
    QuarantinedResource: {
      id: (e) => encodeKey(e),
      receivedAt: (e) => e.lastSeenAt,
      firstReceivedAt: (e) => e.firstSeenAt,
    },
    ReprocessedResource: {
      id: (e) => encodeKey(e),
      status: (e) => STATUS[e.status],
    },
    OperationOutcome: {
      issues: (o) => [...o.issue],
    },
    OperationOutcomeIssue: {
      expression: (i) => [...(i.expression ?? [])],
    },
    Impact: {
      goldenPatientIds(i, _args, ctx) {
        // Golden ids name patients: each is audited as one (DerivedItem's subject is its golden patient).
        for (const goldenId of i.goldenPatientIds) ctx.audit.disclosed('DerivedItem', { goldenId }, 'Impact.goldenPatientIds');
        return i.goldenPatientIds;
      },
    },
    DerivedItem: {
      goldenPatientId: (i) => i.goldenId,
    },
    ConnectionIngestionStatus: {
      lastMessageAt: (s) => iso(s.lastMessageAt),
      lastAppliedAt: (s) => iso(s.lastAppliedAt),
      watermark: (s) => iso(s.watermark),
      breakerState: (s) => (s.health ? BREAKER[s.health.breakerState] : null),
      breakerSince: (s) => iso(s.health?.breakerSince),
      lastSuccessAt: (s) => iso(s.health?.lastSuccessAt),
      lastErrorCode: (s) => s.health?.lastErrorCode ?? null,
      lastErrorAt: (s) => iso(s.health?.lastErrorAt),
      fhirVersion: (s) => s.health?.fhirVersion ?? null,
      softwareName: (s) => s.health?.softwareName ?? null,
      softwareVersion: (s) => s.health?.softwareVersion ?? null,
      reconciledAt: (s) => iso(s.health?.reconciledAt),
      reconcileDeletions: (s) => s.health?.reconcileDeletions ?? null,
      reconcileWarning: (s) => s.health?.reconcileWarning ?? null,
      reconcileWarningAt: (s) => iso(s.health?.reconcileWarningAt),
    },
  };
}
