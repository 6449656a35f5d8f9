// The data steward's API on the MPI subgraph: the review queue, link history, the identity
// mutations and a steward's field values. Field policies (policies/stewardship.ts) admit stewards
// only; here each mutation checks its arguments, runs in one transaction with its audit record,
// and maps refusals to GraphQL error codes (NOT_FOUND, CONFLICT, BAD_USER_INPUT) that name ids,
// never demographics.
import type { Queryable } from '../../platform/db.ts';
import { writeAuditEvents } from '../../orchestration/audit/audit-log.ts';
import {
  goldenIdsByName,
  linkBySourceRecord,
  linkHistory,
  type GoldenPatient,
  linkHistoryForGolden,
  reviewQueueCounts,
  reviewQueuePage,
  type LinkEvent,
  type ReviewFilter,
  type ReviewKeyset,
  type ReviewItem,
  type SourceLink,
} from '../../orchestration/mpi/store.ts';
import {
  KEPT_CLOSED,
  linkRecord,
  markNotDuplicate,
  mergePatients,
  resolveReview,
  setPatientFields,
  unlinkRecord,
  unmergePatient,
  type KeptClosed,
  type MergeResult,
  type StewardContext,
} from '../../orchestration/mpi/stewardship.ts';
import { describeReason, type MatchReasonCode } from '../../orchestration/mpi/match-reasons.ts';
import type { ClosedReview, MatchReason, QueryFindPatientsArgs, QueryReviewQueueArgs } from './__generated__/resolvers.ts';
import { parseManualFields, type ManualField, type ManualFieldsInput } from '../../orchestration/mpi/manual-values.ts';
import { defaultLinkConfig } from '../../orchestration/mpi/linking.ts';
import { mayAccessPatients } from '../../policies/object-access.ts';
import { badUserInput, forbidden } from '../../platform/errors.ts';
import { cursorCodec, pageSize, text } from '../shared/arguments.ts';
import { perRequest, type SubgraphContext } from '../shared/context.ts';
import type { MpiDependencies } from './resolvers.ts';
import DataLoader from 'dataloader';
import { createHash } from 'node:crypto';

export const MAX_REVIEW_PAGE = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Review queue cursors: `<binding>.<seq>.<score>`, where the binding is a digest of the order and
 * filter the page was asked with, so a cursor reused with another filter or order is refused
 * rather than silently skipping or repeating items.
 */
const reviewCursors = cursorCodec('review', (key) => /^[0-9a-f]{16}\.\d{1,18}\.-?\d+(\.\d+)?(e-?\d+)?$/.test(key));
const reviewCursorBinding = (order: string, filter: ReviewFilter): string =>
  createHash('sha256')
    .update(JSON.stringify([order, filter.source ?? null, filter.reason ?? null, filter.kind ?? null]))
    .digest('hex')
    .slice(0, 16);
const encodeReviewCursor = (item: ReviewItem, binding: string): string => reviewCursors.encode(`${binding}.${item.seq}.${item.score}`);
function decodeReviewCursor(cursor: string, binding: string): ReviewKeyset {
  const [bound, seq, ...score] = reviewCursors.decode(cursor).split('.');
  if (bound !== binding) throw badUserInput('`after` was returned for another filter or order', 'after');
  return { seq: seq!, score: Number(score.join('.')) };
}

/** The queue filter's source must be a configured connection (a typo would show an empty queue, not an error). */
function reviewFilter(filter: QueryReviewQueueArgs['filter'], sources: ReadonlySet<string>): ReviewFilter {
  const source = filter?.source ?? null;
  if (source !== null && !sources.has(source))
    throw badUserInput('`filter.source` must be a configured source connection id', 'filter.source');
  return { source, reason: filter?.reason ?? null, kind: filter?.kind ?? null };
}

export const SOURCE_RECORD_ID = /^([a-z0-9][a-z0-9-]*):(.{1,200})$/;

/** `epic-main:E123` -> { source, sourcePatientId }, or BAD_USER_INPUT. */
export function parseSourceRecordId(id: string, argument = 'sourceRecordId'): { source: string; sourcePatientId: string } {
  const m = SOURCE_RECORD_ID.exec(id);
  if (!m || /[\u0000-\u001f\u007f]/.test(id))
    throw badUserInput(`\`${argument}\` must be a source record id such as "epic-main:E123"`, argument);
  return { source: m[1]!, sourcePatientId: m[2]! };
}

function patientId(id: string, argument: string): string {
  if (!UUID.test(id)) throw badUserInput(`\`${argument}\` must be a golden patient id (a UUID)`, argument);
  return id.toLowerCase();
}

/** A reason is required, bounded, and printable (it is kept in the link history). */
function reasonArg(reason: string): string {
  const trimmed = reason.trim();
  if (!trimmed) throw badUserInput('`reason` must not be empty', 'reason');
  if (trimmed.length > 1000 || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(trimmed))
    throw badUserInput('`reason` must be at most 1000 printable characters', 'reason');
  return trimmed;
}

/** The start of a name to search for: trimmed, printable, at least `min` characters. */
function namePrefix(value: string, argument: string, min: number): string {
  const trimmed = text(value, argument)!.trim();
  if (trimmed.length < min) throw badUserInput(`\`${argument}\` must have at least ${min} characters`, argument);
  return trimmed;
}

/** GraphQL's ManualField names and the golden fields they stand for. */
const MANUAL_FIELD_ENUM = {
  NAME: 'name',
  BIRTH_DATE: 'birthDate',
  GENDER: 'gender',
  ADDRESSES: 'addresses',
  TELECOM: 'telecom',
} as const satisfies Record<string, ManualField>;

async function steward<T>(ctx: SubgraphContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    // Patients read later in this request (the result, a second mutation) must see the change.
    ctx.perRequest.clear();
  }
}

/** Who acts and why, and the audit record written in the mutation's own transaction. */
function stewardContext(deps: MpiDependencies, ctx: SubgraphContext, field: string, reason: string): StewardContext {
  return {
    db: deps.db,
    protection: deps.protection,
    survivorship: defaultLinkConfig().survivorship,
    who: { actor: ctx.principal.sub, reason, requestId: ctx.principal.requestId },
    audit: (tx: Queryable, ids: readonly string[], written: readonly string[]) =>
      writeAuditEvents(
        tx,
        {
          principal: ctx.principal,
          subgraph: ctx.subgraph,
          operationName: ctx.client.operationName,
          documentHash: ctx.client.documentHash,
          traceparent: ctx.client.traceparent,
          outcome: 'success',
        },
        ids.map((id) => ({ patientRef: `Patient/${id}`, fields: [`Mutation.${field}`, ...written], rules: ['steward'] })),
        [],
      ).then(() => undefined),
  };
}

// Typed with the SDL's types: a code the orchestration writes but the schema's enum lacks is a compile error, not a failed response.
const matchReason = (code: MatchReasonCode): MatchReason => describeReason(code);
const closedReview = (k: KeptClosed): ClosedReview => ({ ...k, description: KEPT_CLOSED[k.code] });

const evidence = (e: readonly { field: string; level: string; weight: number }[]) =>
  e.map((x) => ({ field: x.field, level: x.level, weight: Math.round(x.weight * 1000) / 1000 }));

export function stewardResolvers(deps: MpiDependencies, patientById: (id: string, ctx: SubgraphContext) => Promise<GoldenPatient | null>) {
  const { db } = deps;
  const sources = new Set(deps.connections.map((c) => c.id));
  const historyLoader = (ctx: SubgraphContext) =>
    perRequest(
      ctx,
      'linkHistory',
      () =>
        new DataLoader<string, LinkEvent[]>(async (ids) => {
          const found = await linkHistoryForGolden(db, ids);
          return ids.map((id) => found.get(id) ?? []);
        }),
    );
  // Stewards work across patients: a token bound to one patient (SMART launch) cannot.
  const guard = (ctx: SubgraphContext): void => {
    if (!mayAccessPatients(ctx.principal) || ctx.principal.patientContext !== null) throw forbidden();
  };
  const recordLink = (ref: { source: string; sourcePatientId: string } | null) =>
    ref ? linkBySourceRecord(db, ref.source, ref.sourcePatientId).then((l) => l ?? null) : null;

  return {
    Query: {
      async reviewQueue(_p: unknown, args: QueryReviewQueueArgs, ctx: SubgraphContext) {
        const size = pageSize(args.first, 20, MAX_REVIEW_PAGE);
        const order = args.orderBy ?? 'OLDEST';
        const filter = reviewFilter(args.filter, sources);
        const binding = reviewCursorBinding(order, filter);
        const after = args.after ? decodeReviewCursor(args.after, binding) : undefined;
        guard(ctx);
        const page = await reviewQueuePage(db, size, after, { filter, order });
        const edges = page.items.map((node) => ({ cursor: encodeReviewCursor(node, binding), node }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: page.totalCount,
          // Each count is computed only when a client selects it (ReviewQueueCounts' resolvers).
          counts: { openQueue: true } as const,
        };
      },
      async findPatients(_p: unknown, args: QueryFindPatientsArgs, ctx: SubgraphContext) {
        const family = namePrefix(args.family, 'family', 2);
        const given = args.given ? namePrefix(args.given, 'given', 1) : null;
        const birthDate = args.birthDate ?? null;
        if (birthDate !== null && (!/^\d{4}-\d{2}-\d{2}$/.test(birthDate) || Number.isNaN(Date.parse(birthDate))))
          throw badUserInput('`birthDate` must be a date (YYYY-MM-DD)', 'birthDate');
        const size = pageSize(args.first, 20, MAX_REVIEW_PAGE);
        guard(ctx);
        const ids = await goldenIdsByName(db, { family, given, birthDate }, size);
        const found = await Promise.all(ids.map((id) => patientById(id, ctx)));
        return found.filter((p): p is GoldenPatient => p !== null);
      },
      async linkHistory(_p: unknown, { sourceRecordId }: { sourceRecordId: string }, ctx: SubgraphContext) {
        const ref = parseSourceRecordId(sourceRecordId);
        guard(ctx);
        return linkHistory(db, ref.source, ref.sourcePatientId);
      },
    },
    Mutation: {
      linkRecord: (_p: unknown, a: { sourceRecordId: string; patientId: string; reason: string }, ctx: SubgraphContext) => {
        const ref = parseSourceRecordId(a.sourceRecordId);
        const target = patientId(a.patientId, 'patientId');
        const reason = reasonArg(a.reason);
        guard(ctx);
        return steward(ctx, () => linkRecord(stewardContext(deps, ctx, 'linkRecord', reason), ref, target));
      },
      unlinkRecord: (_p: unknown, a: { sourceRecordId: string; reason: string }, ctx: SubgraphContext) => {
        const ref = parseSourceRecordId(a.sourceRecordId);
        const reason = reasonArg(a.reason);
        guard(ctx);
        return steward(ctx, () => unlinkRecord(stewardContext(deps, ctx, 'unlinkRecord', reason), ref));
      },
      mergePatients: (_p: unknown, a: { survivorId: string; mergedId: string; reason: string }, ctx: SubgraphContext) => {
        const survivor = patientId(a.survivorId, 'survivorId');
        const merged = patientId(a.mergedId, 'mergedId');
        const reason = reasonArg(a.reason);
        guard(ctx);
        return steward(ctx, () => mergePatients(stewardContext(deps, ctx, 'mergePatients', reason), survivor, merged));
      },
      unmergePatient: (_p: unknown, a: { patientId: string; reason: string }, ctx: SubgraphContext) => {
        const id = patientId(a.patientId, 'patientId');
        const reason = reasonArg(a.reason);
        guard(ctx);
        return steward(ctx, () => unmergePatient(stewardContext(deps, ctx, 'unmergePatient', reason), id));
      },
      markNotDuplicate: (_p: unknown, a: { patientId: string; otherPatientId: string; reason: string }, ctx: SubgraphContext) => {
        const x = patientId(a.patientId, 'patientId');
        const y = patientId(a.otherPatientId, 'otherPatientId');
        const reason = reasonArg(a.reason);
        guard(ctx);
        return steward(ctx, () => markNotDuplicate(stewardContext(deps, ctx, 'markNotDuplicate', reason), x, y));
      },
      resolveReview: (_p: unknown, a: { id: string; decision: 'MATCH' | 'NO_MATCH'; reason: string }, ctx: SubgraphContext) => {
        const id = patientId(a.id, 'id');
        const reason = reasonArg(a.reason);
        guard(ctx);
        return steward(ctx, () => resolveReview(stewardContext(deps, ctx, 'resolveReview', reason), id, a.decision));
      },
      setPatientFields: (_p: unknown, a: { patientId: string; fields: ManualFieldsInput; reason: string }, ctx: SubgraphContext) => {
        const id = patientId(a.patientId, 'patientId');
        const change = parseManualFields(a.fields);
        const reason = reasonArg(a.reason);
        guard(ctx);
        return steward(ctx, () => setPatientFields(stewardContext(deps, ctx, 'setPatientFields', reason), id, change));
      },
    },
    ManualField: MANUAL_FIELD_ENUM,
    Patient: {
      mergedInto: (p: { id: string; redirectedFrom?: string }) => (p.redirectedFrom ? p.id : null),
      redirectedFrom: (p: { redirectedFrom?: string }) => p.redirectedFrom ?? null,
      provenance: (p: { provenance: readonly { field: string; rule: string; records: readonly string[] }[] }) => [...p.provenance],
      linkHistory: (p: { id: string }, _a: unknown, ctx: SubgraphContext) => historyLoader(ctx).load(p.id),
    },
    FieldProvenance: {
      sourceRecordIds: (p: { records: readonly string[] }) => [...p.records],
      setBy: (p: { actor?: string }) => p.actor ?? null,
      setAt: (p: { at?: string }) => p.at ?? null,
    },
    PatientFieldsResult: {
      patient: (r: { goldenId: string }, _a: unknown, ctx: SubgraphContext) => patientById(r.goldenId, ctx),
    },
    PatientLink: {
      sourceRecordId: (l: SourceLink) => `${l.source}:${l.sourcePatientId}`,
      evidence: (l: SourceLink) => evidence(l.evidence),
      matchReason: (l: SourceLink) => matchReason(l.matchReason),
    },
    LinkEvent: {
      sourceRecordId: (e: LinkEvent) => `${e.source}:${e.sourcePatientId}`,
      patientId: (e: LinkEvent) => e.goldenId,
      previousPatientId: (e: LinkEvent) => e.previousGoldenId,
      evidence: (e: LinkEvent) => evidence(e.evidence),
      matchReason: (e: LinkEvent) => matchReason(e.matchReason),
    },
    ReviewQueueCounts: {
      byReason: () => reviewQueueCounts(db, 'reason'),
      byKind: () => reviewQueueCounts(db, 'kind'),
      bySource: () => reviewQueueCounts(db, 'source'),
    },
    ReviewItem: {
      matchReason: (r: ReviewItem) => matchReason(r.matchReason),
      evidence: (r: ReviewItem) => evidence(r.evidence),
      record: (r: ReviewItem) => recordLink(r.record),
      patient: (r: ReviewItem, _a: unknown, ctx: SubgraphContext) => patientById(r.goldenId, ctx),
      candidate: (r: ReviewItem, _a: unknown, ctx: SubgraphContext) => patientById(r.candidateId, ctx),
    },
    LinkResult: {
      record: (r: { record: { source: string; sourcePatientId: string } }) => recordLink(r.record),
      patient: (r: { goldenId: string }, _a: unknown, ctx: SubgraphContext) => patientById(r.goldenId, ctx),
      previousPatientId: (r: { previousGoldenId: string }) => r.previousGoldenId,
    },
    MergeResult: {
      survivor: (r: { survivorId: string }, _a: unknown, ctx: SubgraphContext) => patientById(r.survivorId, ctx),
      reopenedReviews: (r: MergeResult) => [...r.reopenedReviews],
      reviewsKeptClosed: (r: MergeResult) => r.reviewsKeptClosed.map(closedReview),
    },
    NotDuplicateResult: {
      patients: async (r: { patientIds: readonly string[] }, _a: unknown, ctx: SubgraphContext) =>
        (await Promise.all(r.patientIds.map((id) => patientById(id, ctx)))).filter(Boolean),
    },
  };
}
