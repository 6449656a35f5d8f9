// The one decision path of automatic linking, taken by the online (linking.ts) and the batch
// (batch-linking.ts) linker alike: what a record's scored candidates decide (decideLink, pure),
// the source record row, link change and review items that decision writes, and the writers of
// the source record rows. The two linkers differ only in how they find candidates and lock (one
// record per transaction, or a chunk under the batch lock), never in what they decide or write.
import type { Queryable } from '../../platform/db.ts';
import {
  LINK_ACTIONS,
  LINK_ORIGINS,
  LINK_STATES,
  recordId,
  recordKey,
  type LinkAction,
  type LinkChange,
  type LinkState,
  type RecordRef,
  type ReviewCandidate,
} from './golden.ts';
import { linkReason, type MatchReasonCode, type Thresholds } from './match-reasons.ts';
import type { Prepared, Scored } from './linking.ts';

export type LinkDecision = {
  readonly state: LinkState;
  /** The candidate golden record decided against (the best-scoring one), if any. */
  readonly target: Scored | undefined;
  /** The existing golden record the record joins (a MATCH); null: it starts one of its own. */
  readonly joins: string | null;
  readonly reason: MatchReasonCode;
  /** Other golden records the record also matches: each may be the same person as the one it joins. */
  readonly duplicates: readonly Scored[];
};

/** Possible duplicates queued per MATCH, best first: more would flood the queue behind one ambiguous record. */
const MAX_DUPLICATES = 3;

/**
 * What a record's candidates decide, from its scored candidate golden records (best first, pairs a
 * steward kept apart already left out): MATCH joins the best one, and the others it also matches go
 * to review as possible duplicates; POSSIBLE_MATCH starts a provisional golden record and queues the
 * pair; NO_MATCH (or no candidate) starts a provisional golden record. A record `leaving` its golden
 * record (an update that no longer matches it, see staysWith) is decided among the others, and the
 * one it leaves may still be a possible duplicate of the one it joins.
 */
export function decideLink(scored: readonly Scored[], leaving?: string): LinkDecision {
  const target = leaving === undefined ? scored[0] : scored.find((s) => s.goldenId !== leaving);
  if (target?.decision === LINK_STATES.MATCH)
    return {
      state: LINK_STATES.MATCH,
      target,
      joins: target.goldenId,
      reason: linkReason(LINK_STATES.MATCH, target),
      duplicates: scored.filter((s) => s !== target && s.decision !== LINK_STATES.NO_MATCH).slice(0, MAX_DUPLICATES),
    };
  const state = target && target.decision !== LINK_STATES.NO_MATCH ? LINK_STATES.POSSIBLE_MATCH : LINK_STATES.NO_MATCH;
  return { state, target, joins: null, reason: linkReason(state, target), duplicates: [] };
}

/**
 * An automatically linked record whose demographics changed stays in its golden record while it
 * still matches (MATCH) one of the other records there: the candidate that keeps it, if any.
 */
export const staysWith = (scored: readonly Scored[], goldenId: string, hasOthers: boolean): Scored | undefined =>
  hasOthers ? scored.find((s) => s.goldenId === goldenId && s.decision === LINK_STATES.MATCH) : undefined;

/**
 * The decision once the golden record it joins is locked: `active` is where that id leads now. A
 * steward merged it meanwhile: the record joins the survivor. Nothing active: the record starts its
 * own golden record and a steward decides (CANDIDATE_UNAVAILABLE).
 */
export function joinedAs(decision: LinkDecision, active: string | undefined): LinkDecision {
  if (decision.joins === null || active === decision.joins) return decision;
  if (active) return { ...decision, joins: active, duplicates: decision.duplicates.filter((s) => s.goldenId !== active) };
  const state = LINK_STATES.POSSIBLE_MATCH;
  return { ...decision, state, joins: null, reason: linkReason(state, decision.target), duplicates: [] };
}

/** The link history entry of a decision: the record now points at `goldenId` (from `previous`, when it moved). */
export const linkChange = (
  record: RecordRef,
  goldenId: string,
  previous: string | null,
  d: LinkDecision,
  action: LinkAction = previous === null ? LINK_ACTIONS.CREATED : LINK_ACTIONS.REMATCHED,
): LinkChange => ({
  record,
  goldenId,
  previousGoldenId: previous,
  state: d.state,
  origin: LINK_ORIGINS.AUTO,
  score: d.target?.comparison.probability ?? null,
  evidence: d.target?.comparison.evidence ?? null,
  action,
  matchReason: d.reason,
});

/** The record it was matched through (a MATCH only): shown with the link. */
export const matchedVia = (d: LinkDecision): string | null => (d.state === LINK_STATES.MATCH && d.target ? recordId(d.target.via) : null);

/** The review items a decision queues: the pair of a POSSIBLE_MATCH, and a MATCH's possible duplicates. */
export function reviewsOf(d: LinkDecision, record: RecordRef, goldenId: string, thresholds: Thresholds): ReviewCandidate[] {
  const pair: ReviewCandidate[] =
    d.state === LINK_STATES.POSSIBLE_MATCH && d.target
      ? [
          {
            kind: 'POSSIBLE_MATCH',
            record,
            goldenId,
            candidateId: d.target.goldenId,
            score: d.target.comparison.probability,
            evidence: d.target.comparison.evidence,
            reason: d.reason,
            thresholds,
          },
        ]
      : [];
  return [
    ...pair,
    ...d.duplicates.map((s): ReviewCandidate => ({
      kind: 'POSSIBLE_DUPLICATE',
      record: null,
      goldenId,
      candidateId: s.goldenId,
      score: s.comparison.probability,
      evidence: s.comparison.evidence,
      reason: 'MULTIPLE_GOLDEN_RECORDS',
      thresholds,
    })),
  ];
}

/**
 * A source_record row as both linkers write it (jsonb_to_recordset's input), for a decision, or for
 * an update that keeps the record's link (its state only: the stored link columns stay as they are).
 */
export const sourceRecordRow = (p: Prepared, goldenId: string, link: LinkDecision | LinkState) => {
  const d = typeof link === 'string' ? null : link;
  return {
    source: p.d.source,
    source_patient_id: p.d.sourcePatientId,
    golden_id: goldenId,
    mrn: p.d.mrn,
    demographics: p.sealed,
    source_updated_at: p.d.lastUpdated,
    features: p.storedFeatures,
    data_quality: p.flags,
    link_state: d?.state ?? link,
    link_score: d?.target?.comparison.probability ?? null,
    link_evidence: d?.target?.comparison.evidence ?? null,
    matched_via: d ? matchedVia(d) : null,
    block_keys: p.blockKeys,
    match_reason: d?.reason ?? null,
  };
};
export type SourceRecordRow = ReturnType<typeof sourceRecordRow>;

/**
 * Writes source records in one statement and returns their row ids by recordKey. A record already
 * stored (an update, or one deleted and sent again) gets its new data and comes back to life; its
 * link is then set by setLink, and its blocking keys by the online linker's index step, which needs
 * the keys stored before.
 */
export async function writeSourceRecords(tx: Queryable, rows: readonly SourceRecordRow[]): Promise<Map<string, string>> {
  const written = await upsertSourceRecords(tx, rows);
  return new Map(written.map((r) => [recordKey({ source: r.source, sourcePatientId: r.source_patient_id }), String(r.rid)]));
}

/**
 * Writes one source record (writeSourceRecords) and tells whether its row is new: a new row
 * already holds the decision's link columns, a row that existed (an update, a deleted record sent
 * again) gets them from setLink.
 */
export async function writeSourceRecord(tx: Queryable, row: SourceRecordRow): Promise<{ readonly inserted: boolean }> {
  const [written] = await upsertSourceRecords(tx, [row]);
  return { inserted: written?.inserted === true };
}

async function upsertSourceRecords(
  tx: Queryable,
  rows: readonly SourceRecordRow[],
): Promise<{ rid: string; source: string; source_patient_id: string; inserted: boolean }[]> {
  if (rows.length === 0) return [];
  const { rows: written } = await tx.query<{ rid: string; source: string; source_patient_id: string; inserted: boolean }>(
    `INSERT INTO source_record (source, source_patient_id, golden_id, mrn, demographics, source_updated_at, features, data_quality, link_state, link_origin, link_score, link_evidence, matched_via, block_keys, match_reason)
     SELECT x.source, x.source_patient_id, x.golden_id, x.mrn, x.demographics, x.source_updated_at, x.features, x.data_quality, x.link_state, 'AUTO', x.link_score, x.link_evidence, x.matched_via, x.block_keys, x.match_reason
     FROM jsonb_to_recordset($1::jsonb) AS x(source text, source_patient_id text, golden_id uuid, mrn text, demographics jsonb, source_updated_at text, features jsonb, data_quality jsonb, link_state text, link_score double precision, link_evidence jsonb, matched_via text, block_keys bigint[], match_reason text)
     ON CONFLICT (source, source_patient_id) DO UPDATE SET mrn = EXCLUDED.mrn, demographics = EXCLUDED.demographics, source_updated_at = EXCLUDED.source_updated_at,
       features = EXCLUDED.features, data_quality = EXCLUDED.data_quality, deleted_at = NULL
     RETURNING rid, source, source_patient_id, (xmax = 0) AS inserted`,
    [JSON.stringify(rows)],
  );
  return written;
}
