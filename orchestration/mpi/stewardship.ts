// A data steward's decisions: link, unlink, merge, unmerge, mark not-duplicate and resolve a
// review item. Each one runs in one transaction that also writes its audit record (the caller's
// `audit` hook), takes a reason, and is idempotent: repeating it changes nothing and says so.
// Manual links carry origin MANUAL, which automatic re-matching never overrides.
import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../platform/db.ts';
import { badUserInput, conflict, notFound } from '../../platform/errors.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import {
  activeGoldenId,
  createGolden,
  hasOtherRecords,
  markedNotDuplicate,
  inTransaction,
  LINK_ACTIONS,
  LINK_ORIGINS,
  LINK_STATES,
  lockGoldens,
  lockKeys,
  obsoleteReviews,
  recomputeGolden,
  recordId,
  retireIfEmpty,
  setLink,
  type Actor,
  type FieldEvidenceRow,
  type LinkOrigin,
  type LinkState,
  type RecordRef,
} from './golden.ts';
import { MANUAL_FIELDS, sameValue, type ManualChange, type ManualField } from './manual-values.ts';
import type { MatchReasonCode } from './match-reasons.ts';
import { toReviewItem, type ReviewItem } from './store.ts';
import type { GoldenField, ManualValue, SurvivorshipConfig } from './survivorship.ts';

export type StewardContext = {
  readonly db: Database;
  readonly protection: IdentifierProtection;
  readonly survivorship: SurvivorshipConfig;
  /** Who acts, why (required) and the request id that ties history rows to audit rows. */
  readonly who: Actor & { readonly reason: string };
  /**
   * Writes the audit record of the operation inside its transaction (fail closed: no audit, no
   * change); `fields` names the golden fields a change wrote, when it wrote fields.
   */
  readonly audit?: (tx: Queryable, goldenIds: readonly string[], fields: readonly string[]) => Promise<void>;
};

export type LinkResult = {
  readonly record: RecordRef;
  readonly goldenId: string;
  readonly previousGoldenId: string;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  readonly changed: boolean;
};
export type MergeResult = {
  readonly survivorId: string;
  readonly mergedId: string;
  readonly movedRecords: number;
  readonly changed: boolean;
  /** Unmerge: the review items it reopened (new items, each naming the one it reopens); empty for a merge. */
  readonly reopenedReviews: readonly ReviewItem[];
  /** Unmerge: the items its merge closed that stay closed, and why. */
  readonly reviewsKeptClosed: readonly KeptClosed[];
};

/** Why an unmerge leaves a review item its merge closed as it is. */
export const KEPT_CLOSED = {
  PATIENT_MERGED: 'One of the two patients has been merged into another since: that pair no longer exists.',
  RECORD_MOVED: "The item's source record has been linked elsewhere or deleted since: its link was decided.",
  KEPT_APART: 'A steward has marked the two patients as different people since.',
  ALREADY_OPEN: 'An open review item for the same pair exists already.',
} as const;
export type KeptClosedCode = keyof typeof KEPT_CLOSED;
export type KeptClosed = { readonly id: string; readonly code: KeptClosedCode };
export type NotDuplicateResult = { readonly patientIds: readonly [string, string]; readonly changed: boolean };
export type FieldsResult = { readonly goldenId: string; readonly changedFields: readonly ManualField[]; readonly changed: boolean };

type Op<T> = (tx: Queryable, c: StewardContext) => Promise<{ result: T; touched: string[]; fields?: string[] }>;

async function run<T>(c: StewardContext, op: Op<T>): Promise<T> {
  if (!c.who.reason.trim()) throw badUserInput('`reason` must not be empty', 'reason');
  return inTransaction(c.db, async (tx) => {
    const { result, touched, fields = [] } = await op(tx, c);
    await c.audit?.(tx, [...new Set(touched)], fields);
    return result;
  });
}

type RecordRow = {
  golden_id: string;
  link_state: LinkState;
  link_origin: LinkOrigin;
  link_score: number | null;
  link_evidence: FieldEvidenceRow[] | null;
  match_reason: MatchReasonCode | null;
};

async function lockRecord(tx: Queryable, ref: RecordRef): Promise<RecordRow> {
  await lockKeys(tx, [`record|${recordId(ref)}`]);
  const { rows } = await tx.query<RecordRow>(
    'SELECT golden_id, link_state, link_origin, link_score, link_evidence, match_reason FROM source_record WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NULL FOR UPDATE',
    [ref.source, ref.sourcePatientId],
  );
  if (!rows[0]) throw notFound(`no source record ${recordId(ref)}`);
  return rows[0];
}

async function activeOrThrow(tx: Queryable, id: string): Promise<string> {
  const active = await activeGoldenId(tx, id);
  if (!active) throw notFound(`no patient ${id}`);
  return active;
}

/** Locks both golden records and checks neither was merged away while we waited. */
async function lockActive(tx: Queryable, ids: readonly string[]): Promise<void> {
  const states = await lockGoldens(tx, ids);
  for (const id of ids) if (states.get(id)?.status !== 'ACTIVE') throw conflict(`patient ${id} changed concurrently (merged); retry`);
}

async function recompute(tx: Queryable, c: StewardContext, ids: readonly string[]): Promise<void> {
  for (const id of new Set(ids)) await recomputeGolden(tx, id, c.survivorship, c.protection);
}

/**
 * The open review items of a record a steward just decided: the pair with the golden record it
 * joined is resolved as MATCH, the others no longer apply (closed by `mergeId` when the move is
 * recorded as a merge, so that its undo reopens them).
 */
async function closeRecordReviews(
  tx: Queryable,
  ref: RecordRef,
  matchedGolden: string | null,
  c: StewardContext,
  mergeId: string | null = null,
): Promise<void> {
  await tx.query(
    `UPDATE review_item SET status = CASE WHEN candidate_id = $3 THEN 'RESOLVED' ELSE 'OBSOLETE' END,
       decision = CASE WHEN candidate_id = $3 THEN 'MATCH' ELSE NULL END, reason = $4, resolved_by = $5, resolved_at = now(),
       closed_by_merge = CASE WHEN candidate_id = $3 THEN NULL ELSE $6::uuid END
     WHERE status = 'OPEN' AND record_source = $1 AND record_id = $2`,
    [ref.source, ref.sourcePatientId, matchedGolden, c.who.reason, c.who.actor, mergeId],
  );
}

/** The golden records on either side of the review items a merge closed: the merge changed their queue, so its audit names them. */
async function closedBy(tx: Queryable, mergeId: string | null): Promise<string[]> {
  if (!mergeId) return [];
  const { rows } = await tx.query<{ golden_id: string; candidate_id: string }>(
    'SELECT golden_id, candidate_id FROM review_item WHERE closed_by_merge = $1',
    [mergeId],
  );
  return rows.flatMap((r) => [r.golden_id, r.candidate_id]);
}

const linkRecordOp =
  (ref: RecordRef, goldenId: string): Op<LinkResult> =>
  async (tx, c) => {
    const rec = await lockRecord(tx, ref);
    const target = await activeOrThrow(tx, goldenId);
    await lockActive(tx, [rec.golden_id, target]);
    const touched = [target, rec.golden_id];
    const unchanged = rec.golden_id === target && rec.link_state === LINK_STATES.MATCH && rec.link_origin === LINK_ORIGINS.MANUAL;
    if (!unchanged) {
      // The record's last one leaving a golden record makes that record a redirect, recorded like a
      // merge so that unmergePatient can restore it.
      const alone = rec.golden_id !== target && !(await hasOtherRecords(tx, rec.golden_id, ref));
      const mergeId = alone
        ? await recordMove(tx, c, target, rec.golden_id, [
            {
              ...ref,
              state: rec.link_state,
              origin: rec.link_origin,
              score: rec.link_score,
              evidence: rec.link_evidence,
              reason: rec.match_reason,
            },
          ])
        : null;
      if (mergeId) await carryManualValues(tx, c, target, rec.golden_id, mergeId);
      await setLink(
        tx,
        {
          record: ref,
          goldenId: target,
          previousGoldenId: rec.golden_id,
          state: LINK_STATES.MATCH,
          origin: LINK_ORIGINS.MANUAL,
          score: null,
          evidence: null,
          action: LINK_ACTIONS.LINKED,
          mergeId,
          matchReason: 'STEWARD_LINKED',
        },
        c.who,
        null,
      );
      await closeRecordReviews(tx, ref, target, c, mergeId);
      if (!alone || !(await retireIfEmpty(tx, rec.golden_id, target, c.who, mergeId))) await recompute(tx, c, [rec.golden_id]);
      await recompute(tx, c, [target]);
      touched.push(...(await closedBy(tx, mergeId)));
    }
    return {
      result: {
        record: ref,
        goldenId: target,
        previousGoldenId: rec.golden_id,
        state: LINK_STATES.MATCH,
        origin: LINK_ORIGINS.MANUAL,
        changed: !unchanged,
      },
      touched,
    };
  };

/** Moves a source record into the golden record `goldenId` (following redirects) as a manual MATCH. */
export const linkRecord = (c: StewardContext, ref: RecordRef, goldenId: string): Promise<LinkResult> => run(c, linkRecordOp(ref, goldenId));

async function separate(tx: Queryable, c: StewardContext, a: string, b: string): Promise<boolean> {
  const [low, high] = a < b ? [a, b] : [b, a];
  const { rows } = await tx.query(
    'INSERT INTO not_duplicate (low, high, reason, actor) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1',
    [low, high, c.who.reason, c.who.actor],
  );
  await tx.query(
    `UPDATE review_item SET status = 'RESOLVED', decision = 'NO_MATCH', reason = $3, resolved_by = $4, resolved_at = now()
     WHERE status = 'OPEN' AND least(golden_id, candidate_id) = $1 AND greatest(golden_id, candidate_id) = $2`,
    [low, high, c.who.reason, c.who.actor],
  );
  return rows.length > 0;
}

/** Moves a source record out of its golden record into a new one (a manual NO_MATCH); the two are then kept apart. */
export const unlinkRecord = (c: StewardContext, ref: RecordRef): Promise<LinkResult> =>
  run<LinkResult>(c, async (tx) => {
    const rec = await lockRecord(tx, ref);
    await lockActive(tx, [rec.golden_id]);
    if (!(await hasOtherRecords(tx, rec.golden_id, ref))) {
      // Already alone: confirm it as a distinct person (idempotent repeat of an unlink).
      const changed = !(rec.link_state === LINK_STATES.NO_MATCH && rec.link_origin === LINK_ORIGINS.MANUAL);
      if (changed) {
        await setLink(
          tx,
          {
            record: ref,
            goldenId: rec.golden_id,
            previousGoldenId: rec.golden_id,
            state: LINK_STATES.NO_MATCH,
            origin: LINK_ORIGINS.MANUAL,
            score: null,
            evidence: null,
            action: LINK_ACTIONS.UNLINKED,
            matchReason: 'STEWARD_UNLINKED',
          },
          c.who,
          null,
        );
        await closeRecordReviews(tx, ref, null, c);
        await recompute(tx, c, [rec.golden_id]);
      }
      return {
        result: {
          record: ref,
          goldenId: rec.golden_id,
          previousGoldenId: rec.golden_id,
          state: LINK_STATES.NO_MATCH,
          origin: LINK_ORIGINS.MANUAL,
          changed,
        },
        touched: [rec.golden_id],
      };
    }
    const fresh = await createGolden(tx);
    await setLink(
      tx,
      {
        record: ref,
        goldenId: fresh,
        previousGoldenId: rec.golden_id,
        state: LINK_STATES.NO_MATCH,
        origin: LINK_ORIGINS.MANUAL,
        score: null,
        evidence: null,
        action: LINK_ACTIONS.UNLINKED,
        matchReason: 'STEWARD_UNLINKED',
      },
      c.who,
      null,
    );
    await closeRecordReviews(tx, ref, null, c);
    await separate(tx, c, rec.golden_id, fresh);
    await recompute(tx, c, [rec.golden_id, fresh]);
    return {
      result: {
        record: ref,
        goldenId: fresh,
        previousGoldenId: rec.golden_id,
        state: LINK_STATES.NO_MATCH,
        origin: LINK_ORIGINS.MANUAL,
        changed: true,
      },
      touched: [rec.golden_id, fresh],
    };
  });

type Moved = {
  source: string;
  sourcePatientId: string;
  state: LinkState;
  origin: LinkOrigin;
  score?: number | null;
  evidence?: FieldEvidenceRow[] | null;
  /** The link's reason before the move (absent in merges recorded before reasons were). */
  reason?: MatchReasonCode | null;
};

/** Records a merge (what moved, from where) so it can be undone. */
async function recordMove(
  tx: Queryable,
  c: StewardContext,
  survivorId: string,
  mergedId: string,
  moved: readonly Moved[],
): Promise<string> {
  const id = randomUUID();
  await tx.query(
    'INSERT INTO merge_event (id, survivor_id, merged_id, moved, reason, actor, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [id, survivorId, mergedId, JSON.stringify(moved), c.who.reason, c.who.actor, c.who.requestId ?? null],
  );
  return id;
}

const mergeOp =
  (survivorId: string, mergedId: string): Op<MergeResult> =>
  async (tx, c) => {
    const survivor = await activeOrThrow(tx, survivorId);
    const mergedNow = await activeGoldenId(tx, mergedId);
    if (!mergedNow) throw notFound(`no patient ${mergedId}`);
    if (mergedNow === survivor) {
      // Already one patient: a repeat of this merge (or of an equivalent one) changes nothing.
      if (mergedId !== survivor)
        return {
          result: { survivorId: survivor, mergedId, movedRecords: 0, changed: false, ...NO_REVIEWS },
          touched: [survivor, mergedId],
        };
      throw badUserInput('a patient cannot be merged into itself', 'mergedId');
    }
    if (mergedNow !== mergedId) throw conflict(`patient ${mergedId} was already merged into ${mergedNow}`);
    await lockActive(tx, [survivor, mergedId]);
    const { rows } = await tx.query<{
      source: string;
      source_patient_id: string;
      link_state: LinkState;
      link_origin: LinkOrigin;
      link_score: number | null;
      link_evidence: FieldEvidenceRow[] | null;
      match_reason: MatchReasonCode | null;
    }>(
      'SELECT source, source_patient_id, link_state, link_origin, link_score, link_evidence, match_reason FROM source_record WHERE golden_id = $1 AND deleted_at IS NULL ORDER BY source, source_patient_id FOR UPDATE',
      [mergedId],
    );
    const moved: Moved[] = rows.map((r) => ({
      source: r.source,
      sourcePatientId: r.source_patient_id,
      state: r.link_state,
      origin: r.link_origin,
      score: r.link_score,
      evidence: r.link_evidence,
      reason: r.match_reason,
    }));
    const mergeId = await recordMove(tx, c, survivor, mergedId, moved);
    for (const m of moved)
      await setLink(
        tx,
        {
          record: m,
          goldenId: survivor,
          previousGoldenId: mergedId,
          state: LINK_STATES.MATCH,
          origin: LINK_ORIGINS.MANUAL,
          score: null,
          evidence: null,
          action: LINK_ACTIONS.MERGED,
          mergeId,
          matchReason: 'STEWARD_MERGED',
        },
        c.who,
      );
    await carryManualValues(tx, c, survivor, mergedId, mergeId);
    await tx.query("UPDATE golden_patient SET status = 'MERGED', merged_into = $2, updated_at = now() WHERE id = $1", [mergedId, survivor]);
    const [low, high] = survivor < mergedId ? [survivor, mergedId] : [mergedId, survivor];
    await tx.query('DELETE FROM not_duplicate WHERE low = $1 AND high = $2', [low, high]);
    await tx.query(
      `UPDATE review_item SET status = 'RESOLVED', decision = 'MATCH', reason = $3, resolved_by = $4, resolved_at = now()
     WHERE status = 'OPEN' AND least(golden_id, candidate_id) = $1 AND greatest(golden_id, candidate_id) = $2`,
      [low, high, c.who.reason, c.who.actor],
    );
    await obsoleteReviews(tx, [mergedId], c.who, mergeId);
    await recompute(tx, c, [survivor]);
    return {
      result: { survivorId: survivor, mergedId, movedRecords: moved.length, changed: true, ...NO_REVIEWS },
      touched: [survivor, mergedId, ...(await closedBy(tx, mergeId))],
    };
  };

const NO_REVIEWS = { reopenedReviews: [], reviewsKeptClosed: [] } as const;

type UndoneMerge = { readonly id: string; readonly survivorId: string; readonly mergedId: string; readonly at: Date };

/**
 * Why a review item closed by a merge must stay closed after its undo, or null when it applies
 * again. A steward who, during the merge, kept the survivor apart from the item's other patient
 * judged the merged records too.
 */
async function keptClosed(tx: Queryable, item: ReviewItem, merge: UndoneMerge): Promise<KeptClosedCode | null> {
  const states = await lockGoldens(tx, [item.goldenId, item.candidateId]);
  if (states.get(item.goldenId)?.status !== 'ACTIVE' || states.get(item.candidateId)?.status !== 'ACTIVE') return 'PATIENT_MERGED';
  if (await markedNotDuplicate(tx, item.goldenId, item.candidateId)) return 'KEPT_APART';
  const other = item.goldenId === merge.mergedId ? item.candidateId : item.goldenId;
  const [low, high] = other < merge.survivorId ? [other, merge.survivorId] : [merge.survivorId, other];
  const apart = await tx.query('SELECT 1 FROM not_duplicate WHERE low = $1 AND high = $2 AND at >= $3', [low, high, merge.at]);
  if (apart.rows.length > 0) return 'KEPT_APART';
  if (item.record) {
    const { rows } = await tx.query<{ golden_id: string }>(
      'SELECT golden_id FROM source_record WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NULL',
      [item.record.source, item.record.sourcePatientId],
    );
    if (rows[0]?.golden_id !== item.goldenId) return 'RECORD_MOVED';
  }
  return null;
}

/**
 * Reopens the review items a merge closed, once the merge is undone: each one that still applies
 * comes back as a new open item (end of the queue, so no steward's page cursor skips it) naming the
 * one it reopens, which keeps its history; the others stay closed, and the merge records why.
 */
async function reopenReviews(tx: Queryable, merge: UndoneMerge): Promise<{ reopened: ReviewItem[]; kept: KeptClosed[] }> {
  const { rows } = await tx.query<Parameters<typeof toReviewItem>[0]>(
    "SELECT * FROM review_item WHERE closed_by_merge = $1 AND status = 'OBSOLETE' ORDER BY seq FOR UPDATE",
    [merge.id],
  );
  const reopened: ReviewItem[] = [];
  const kept: KeptClosed[] = [];
  for (const item of rows.map(toReviewItem)) {
    const why = await keptClosed(tx, item, merge);
    if (why) {
      kept.push({ id: item.id, code: why });
      continue;
    }
    const inserted = await tx.query<Parameters<typeof toReviewItem>[0]>(
      `INSERT INTO review_item (id, kind, record_source, record_id, golden_id, candidate_id, score, evidence, match_reason, thresholds, reopens)
       SELECT $1, kind, record_source, record_id, golden_id, candidate_id, score, evidence, match_reason, thresholds, id FROM review_item WHERE id = $2
       ON CONFLICT (least(golden_id, candidate_id), greatest(golden_id, candidate_id)) WHERE status = 'OPEN' DO NOTHING
       RETURNING *`,
      [randomUUID(), item.id],
    );
    if (inserted.rows[0]) reopened.push(toReviewItem(inserted.rows[0]));
    else kept.push({ id: item.id, code: 'ALREADY_OPEN' });
  }
  await tx.query('UPDATE merge_event SET review_outcome = $2 WHERE id = $1', [
    merge.id,
    JSON.stringify([
      ...reopened.map((r) => ({ item: r.reopens, reopenedAs: r.id })),
      ...kept.map((k) => ({ item: k.id, keptClosed: k.code })),
    ]),
  ]);
  return { reopened, kept };
}

/** Merges `mergedId` into `survivorId`: every record moves, and the merged id becomes a redirect. */
export const mergePatients = (c: StewardContext, survivorId: string, mergedId: string): Promise<MergeResult> =>
  run(c, mergeOp(survivorId, mergedId));

/**
 * Undoes the latest merge of `mergedId`: the records it moved go back (unless a steward has moved
 * them since), and so do records linked afterwards through one of them (their best match was a
 * record of the restored patient). The two are then kept apart.
 */
export const unmergePatient = (c: StewardContext, mergedId: string): Promise<MergeResult> =>
  run<MergeResult>(c, async (tx) => {
    const { rows } = await tx.query<{ id: string; survivor_id: string; moved: Moved[]; at: Date }>(
      'SELECT id, survivor_id, moved, at FROM merge_event WHERE merged_id = $1 AND undone_at IS NULL ORDER BY at DESC LIMIT 1 FOR UPDATE',
      [mergedId],
    );
    const ev = rows[0];
    if (!ev) {
      const exists = await tx.query<{ status: string }>('SELECT status FROM golden_patient WHERE id = $1', [mergedId]);
      if (exists.rows[0]?.status === 'ACTIVE')
        return { result: { survivorId: mergedId, mergedId, movedRecords: 0, changed: false, ...NO_REVIEWS }, touched: [mergedId] };
      throw notFound(`no merge of patient ${mergedId} to undo`);
    }
    const survivor = await activeOrThrow(tx, ev.survivor_id);
    const states = await lockGoldens(tx, [survivor, mergedId]);
    if (states.get(mergedId)?.mergedInto !== ev.survivor_id) throw conflict(`patient ${mergedId} is not merged into ${ev.survivor_id}`);
    // Records the merge moved that are still where the merge (or a later merge) put them.
    const back = new Map<string, Moved>();
    for (const m of ev.moved) {
      const last = await tx.query<{ action: string; merge_id: string | null }>(
        "SELECT action, merge_id FROM link_event WHERE source = $1 AND source_patient_id = $2 AND action <> 'UPDATED' ORDER BY seq DESC LIMIT 1",
        [m.source, m.sourcePatientId],
      );
      const current = await tx.query<{ golden_id: string }>(
        'SELECT golden_id FROM source_record WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NULL',
        [m.source, m.sourcePatientId],
      );
      const untouched = last.rows[0]?.merge_id === ev.id || last.rows[0]?.action === LINK_ACTIONS.MERGED;
      if (current.rows[0]?.golden_id === survivor && untouched) back.set(recordId(m), m);
    }
    // Records linked automatically since the merge whose best match was a restored record follow it.
    for (let grew = true; grew;) {
      grew = false;
      const later = await tx.query<{
        source: string;
        source_patient_id: string;
        link_score: number | null;
        link_evidence: FieldEvidenceRow[] | null;
        match_reason: MatchReasonCode | null;
      }>(
        `SELECT source, source_patient_id, link_score, link_evidence, match_reason FROM source_record
         WHERE golden_id = $1 AND deleted_at IS NULL AND link_origin = 'AUTO' AND linked_at >= $2 AND matched_via = ANY($3::text[])`,
        [survivor, ev.at, [...back.keys()]],
      );
      for (const r of later.rows) {
        const ref = { source: r.source, sourcePatientId: r.source_patient_id };
        if (back.has(recordId(ref))) continue;
        back.set(recordId(ref), {
          ...ref,
          state: LINK_STATES.MATCH,
          origin: LINK_ORIGINS.AUTO,
          score: r.link_score,
          evidence: r.link_evidence,
          reason: r.match_reason,
        });
        grew = true;
      }
    }
    await tx.query("UPDATE golden_patient SET status = 'ACTIVE', merged_into = NULL, updated_at = now() WHERE id = $1", [mergedId]);
    for (const m of back.values())
      await setLink(
        tx,
        {
          record: m,
          goldenId: mergedId,
          previousGoldenId: survivor,
          state: m.state,
          origin: m.origin,
          score: m.score ?? null,
          evidence: m.evidence ?? null,
          action: LINK_ACTIONS.UNMERGED,
          mergeId: ev.id,
          matchReason: m.reason ?? null,
        },
        c.who,
      );
    await returnManualValues(tx, c, survivor, ev.id);
    await tx.query('UPDATE merge_event SET undone_at = clock_timestamp(), undone_by = $2, undo_reason = $3 WHERE id = $1', [
      ev.id,
      c.who.actor,
      c.who.reason,
    ]);
    await separate(tx, c, survivor, mergedId);
    const { reopened, kept } = await reopenReviews(tx, { id: ev.id, survivorId: survivor, mergedId, at: ev.at });
    await recompute(tx, c, [survivor, mergedId]);
    return {
      result: {
        survivorId: survivor,
        mergedId,
        movedRecords: back.size,
        changed: true,
        reopenedReviews: reopened,
        reviewsKeptClosed: kept,
      },
      touched: [survivor, mergedId, ...reopened.flatMap((r) => [r.goldenId, r.candidateId])],
    };
  });

const notDuplicateOp =
  (a: string, b: string): Op<NotDuplicateResult> =>
  async (tx, c) => {
    const [x, y] = [await activeOrThrow(tx, a), await activeOrThrow(tx, b)];
    if (x === y) throw conflict(`patients ${a} and ${b} are one patient now; unmerge first`);
    await lockActive(tx, [x, y]);
    // A record parked beside a candidate (POSSIBLE_MATCH) is now confirmed as a person of its own.
    const parked = await tx.query<{ record_source: string; record_id: string }>(
      `SELECT record_source, record_id FROM review_item WHERE status = 'OPEN' AND kind = 'POSSIBLE_MATCH' AND least(golden_id, candidate_id) = least($1::uuid, $2::uuid) AND greatest(golden_id, candidate_id) = greatest($1::uuid, $2::uuid)`,
      [x, y],
    );
    const changed = await separate(tx, c, x, y);
    for (const r of parked.rows) {
      const ref = { source: r.record_source, sourcePatientId: r.record_id };
      const rec = await lockRecord(tx, ref);
      await setLink(
        tx,
        {
          record: ref,
          goldenId: rec.golden_id,
          previousGoldenId: rec.golden_id,
          state: LINK_STATES.NO_MATCH,
          origin: LINK_ORIGINS.MANUAL,
          score: null,
          evidence: null,
          action: LINK_ACTIONS.REVIEWED,
          matchReason: 'STEWARD_NOT_DUPLICATE',
        },
        c.who,
      );
    }
    await recompute(tx, c, [x, y]);
    return { result: { patientIds: [x, y], changed: changed || parked.rows.length > 0 }, touched: [x, y] };
  };

/** Records that two golden records are different people: no review will pair them again. */
export const markNotDuplicate = (c: StewardContext, a: string, b: string): Promise<NotDuplicateResult> => run(c, notDuplicateOp(a, b));

export const REVIEW_DECISIONS = { MATCH: 'MATCH', NO_MATCH: 'NO_MATCH' } as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[keyof typeof REVIEW_DECISIONS];

/**
 * Settles a review item. MATCH links the parked record to the candidate (POSSIBLE_MATCH) or merges
 * the two golden records (POSSIBLE_DUPLICATE, the one with more records survives); NO_MATCH keeps
 * them apart for good. Resolving again with the same decision changes nothing; with the other, it
 * is a conflict.
 */
export type ReviewOutcome = { readonly item: ReviewItem; readonly changed: boolean };

export const resolveReview = (c: StewardContext, id: string, decision: ReviewDecision): Promise<ReviewOutcome> =>
  run<ReviewOutcome>(c, async (tx) => {
    const { rows } = await tx.query<Parameters<typeof toReviewItem>[0]>('SELECT * FROM review_item WHERE id = $1 FOR UPDATE', [id]);
    const item = rows[0] ? toReviewItem(rows[0]) : undefined;
    if (!item) throw notFound(`no review item ${id}`);
    const touched = [item.goldenId, item.candidateId];
    if (item.status === 'RESOLVED') {
      if (item.decision === decision) return { result: { item, changed: false }, touched };
      throw conflict(`review item ${id} was already resolved as ${item.decision}`);
    }
    if (item.status === 'OBSOLETE') {
      const again = await tx.query<{ id: string }>("SELECT id FROM review_item WHERE reopens = $1 AND status = 'OPEN'", [id]);
      if (again.rows[0]) throw conflict(`review item ${id} was reopened as ${again.rows[0].id}: settle that one`);
      throw conflict(`review item ${id} no longer applies (its records were linked or merged since)`);
    }
    if (decision === REVIEW_DECISIONS.MATCH) {
      if (item.kind === 'POSSIBLE_MATCH' && item.record) await linkRecordOp(item.record, item.candidateId)(tx, c);
      else {
        const sizes = await tx.query<{ golden_id: string; n: number }>(
          'SELECT golden_id, count(*)::int AS n FROM source_record WHERE golden_id = ANY($1::uuid[]) AND deleted_at IS NULL GROUP BY golden_id',
          [touched],
        );
        const size = (g: string): number => sizes.rows.find((r) => r.golden_id === g)?.n ?? 0;
        const [survivor, merged] =
          size(item.candidateId) >= size(item.goldenId) ? [item.candidateId, item.goldenId] : [item.goldenId, item.candidateId];
        await mergeOp(survivor, merged)(tx, c);
      }
    } else await notDuplicateOp(item.goldenId, item.candidateId)(tx, c);
    await tx.query(
      "UPDATE review_item SET status = 'RESOLVED', decision = $2, reason = $3, resolved_by = $4, resolved_at = now() WHERE id = $1",
      [id, decision, c.who.reason, c.who.actor],
    );
    const after = await tx.query<Parameters<typeof toReviewItem>[0]>('SELECT * FROM review_item WHERE id = $1', [id]);
    return { result: { item: toReviewItem(after.rows[0]!), changed: true }, touched };
  });

// ---------------------------------------------------------------------------------------------
// Manual values: a steward's value for a golden field wins over every survivorship rule until it
// is cleared. golden_patient.manual_values holds the current ones; manual_value_event their history.

export const MANUAL_ACTIONS = { SET: 'SET', CLEARED: 'CLEARED', MERGED: 'MERGED', UNMERGED: 'UNMERGED' } as const;
type ManualAction = (typeof MANUAL_ACTIONS)[keyof typeof MANUAL_ACTIONS];
type ManualValues = Partial<Record<GoldenField, ManualValue>>;

async function manualValuesOf(tx: Queryable, id: string): Promise<ManualValues> {
  const { rows } = await tx.query<{ manual_values: ManualValues }>('SELECT manual_values FROM golden_patient WHERE id = $1', [id]);
  return rows[0]?.manual_values ?? {};
}

async function recordManual(
  tx: Queryable,
  c: StewardContext,
  goldenId: string,
  field: string,
  action: ManualAction,
  value: unknown,
  mergeId: string | null = null,
): Promise<void> {
  await tx.query(
    'INSERT INTO manual_value_event (golden_id, field, action, value, reason, actor, request_id, merge_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [
      goldenId,
      field,
      action,
      value === undefined ? null : JSON.stringify(value),
      c.who.reason,
      c.who.actor,
      c.who.requestId ?? null,
      mergeId,
    ],
  );
}

/**
 * A merge keeps the steward's corrections: the merged patient's manual values go to the survivor
 * for every field the survivor has none of its own (the survivor's own win). The merged row keeps
 * its values, so an unmerge restores it as it was.
 */
async function carryManualValues(tx: Queryable, c: StewardContext, survivorId: string, mergedId: string, mergeId: string): Promise<void> {
  const [own, merged] = [await manualValuesOf(tx, survivorId), await manualValuesOf(tx, mergedId)];
  const carried = Object.fromEntries(Object.entries(merged).filter(([field]) => !(field in own)));
  if (Object.keys(carried).length === 0) return;
  await tx.query('UPDATE golden_patient SET manual_values = manual_values || $2::jsonb WHERE id = $1', [
    survivorId,
    JSON.stringify(carried),
  ]);
  for (const [field, m] of Object.entries(carried)) await recordManual(tx, c, survivorId, field, MANUAL_ACTIONS.MERGED, m.value, mergeId);
}

/** Undoing a merge takes back the values it carried to the survivor, unless a steward has changed them since. */
async function returnManualValues(tx: Queryable, c: StewardContext, survivorId: string, mergeId: string): Promise<void> {
  const { rows } = await tx.query<{ field: string; action: ManualAction; merge_id: string | null }>(
    'SELECT DISTINCT ON (field) field, action, merge_id FROM manual_value_event WHERE golden_id = $1 ORDER BY field, seq DESC',
    [survivorId],
  );
  const back = rows.filter((r) => r.action === MANUAL_ACTIONS.MERGED && r.merge_id === mergeId).map((r) => r.field);
  if (back.length === 0) return;
  await tx.query('UPDATE golden_patient SET manual_values = manual_values - $2::text[] WHERE id = $1', [survivorId, back]);
  for (const field of back) await recordManual(tx, c, survivorId, field, MANUAL_ACTIONS.UNMERGED, null, mergeId);
}

/**
 * Sets and clears manual values of a golden record (a merged id acts on its survivor) and
 * recomputes it. Setting a value already in place, or clearing one that is not set, changes nothing.
 */
export const setPatientFields = (c: StewardContext, goldenId: string, change: ManualChange): Promise<FieldsResult> =>
  run<FieldsResult>(c, async (tx) => {
    const id = await activeOrThrow(tx, goldenId);
    await lockActive(tx, [id]);
    const current = await manualValuesOf(tx, id);
    const next: ManualValues = { ...current };
    const changed: ManualField[] = [];
    const at = new Date().toISOString();
    for (const field of MANUAL_FIELDS) {
      if (field in change.set) {
        const value = change.set[field];
        if (current[field] && sameValue(current[field].value, value)) continue;
        next[field] = { value, actor: c.who.actor, at };
        await recordManual(tx, c, id, field, MANUAL_ACTIONS.SET, value);
        changed.push(field);
      } else if (change.clear.includes(field) && current[field]) {
        delete next[field];
        await recordManual(tx, c, id, field, MANUAL_ACTIONS.CLEARED, null);
        changed.push(field);
      }
    }
    if (changed.length > 0) {
      await tx.query('UPDATE golden_patient SET manual_values = $2::jsonb, updated_at = now() WHERE id = $1', [id, JSON.stringify(next)]);
      await recompute(tx, c, [id]);
    }
    return {
      result: { goldenId: id, changedFields: changed, changed: changed.length > 0 },
      touched: [id],
      fields: changed.map((f) => `Patient.${f}`),
    };
  });
