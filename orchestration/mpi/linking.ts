// Automatic (online and incremental) linking: every new or updated source record, from any
// ingestion path, is blocked, compared with its candidates and linked in one transaction.
//
// 1. Blocking: the record's blocking keys (HMAC'd, so the index holds no PHI) select candidate
//    source records through an index; each key contributes at most `capPerKey`, the union at
//    most `capTotal`, so the cost grows with the candidates, not with the population.
// 2. Scoring: Fellegi–Sunter comparison with every candidate; a golden record scores as its
//    best-matching record.
// 3. Decision (decision.ts, the one path batch linking takes too): MATCH links to that golden
//    record; POSSIBLE_MATCH parks the record in its own provisional golden record and queues the
//    pair for a steward; NO_MATCH starts a provisional golden record. Manual decisions are never
//    overridden, and a record sent again unchanged is not decided again.
// Concurrency: advisory locks on the record's blocking keys serialize records that could match
// each other, so two records of one new person arriving together make one golden record.
import { hash, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Database, Queryable } from '../../platform/db.ts';
import type { FieldCipher } from '../../security/field-encryption.ts';
import { canonicalJson, type IdentifierProtection } from '../../security/identifier-protection.ts';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import {
  blockingKeys,
  compareFeatures,
  conflictsWithGolden,
  dataQualityFlags,
  decide,
  frequencyTerms,
  loadMatchingConfig,
  matchFeatures,
  type Comparison,
  type MatchFeatures,
  type MatchingConfig,
  type NameFrequencies,
} from './matching/index.ts';
import {
  activeGoldenId,
  goldenColumns,
  insertGoldens,
  inTransaction,
  LINK_ACTIONS,
  LINK_ORIGINS,
  LINK_STATES,
  lockGoldens,
  lockKeys,
  markedNotDuplicate,
  queueReviews,
  recomputeGolden,
  hasOtherRecords,
  recordId,
  recordKey,
  retireIfEmpty,
  setLink,
  appendLinkEvent,
  SYSTEM_ACTOR,
  type Actor,
  type GoldenSourceRow,
  type LinkState,
} from './golden.ts';
import { matchReason, type MatchReasonCode } from './match-reasons.ts';
import {
  decideLink,
  joinedAs,
  linkChange,
  matchedVia,
  reviewsOf,
  sourceRecordRow,
  staysWith,
  writeSourceRecord,
  writeSourceRecords,
  type LinkDecision,
} from './decision.ts';
import { loadSurvivorshipConfig, type SurvivorshipConfig } from './survivorship.ts';

export type LinkOutcome = {
  readonly goldenId: string;
  /** A new (provisional) golden record was created for this source record. */
  readonly created: boolean;
  readonly decision: LinkState;
  /** Match probability against the chosen golden record (or the best candidate); null without candidates. */
  readonly score: number | null;
  /** Data-quality flags of the record (for example NO_BIRTH_DATE); flagged records are linked only on their remaining evidence. */
  readonly flags: readonly string[];
};

export type LinkOptions = {
  readonly matching?: MatchingConfig;
  readonly survivorship?: SurvivorshipConfig;
  readonly actor?: Actor;
};

/** Term-frequency adjustment is skipped until the population is large enough for frequencies to mean something. */
export const TF_MIN_POPULATION = 1000;
/** The population count is spread over a few rows so concurrent linkers do not queue on one hot row. */
const TOTAL_SHARDS = Array.from({ length: 16 }, (_, i) => `*total*:${i}`);
const totalShard = (): string => TOTAL_SHARDS[Math.floor(Math.random() * TOTAL_SHARDS.length)]!;

let defaults: { matching: MatchingConfig; survivorship: SurvivorshipConfig } | undefined;
export function defaultLinkConfig(): { matching: MatchingConfig; survivorship: SurvivorshipConfig } {
  defaults ??= { matching: loadMatchingConfig(), survivorship: loadSurvivorshipConfig() };
  return defaults;
}

/** Everything about one record computed before its transaction (pure CPU work, outside locks). */
export type Prepared = {
  readonly d: SourceDemographics;
  readonly sealed: SourceDemographics;
  readonly features: MatchFeatures;
  readonly storedFeatures: MatchFeatures;
  readonly flags: string[];
  /** Blocking keys as signed 64-bit prefixes of their HMAC (decimal strings, for bigint parameters). */
  readonly blockKeys: string[];
  readonly terms: { key: string; term: string }[];
};

/** What a golden record is computed from, for a record as prepared (as its source_record row will hold it). */
const goldenRowOf = (p: Prepared, state: LinkState): GoldenSourceRow => ({
  demographics: p.sealed,
  data_quality: p.flags,
  link_state: state,
  link_origin: LINK_ORIGINS.AUTO,
});

/** PostgreSQL cannot store NUL in text or jsonb: sources that send it lose only that character. */
function stripNul<T>(value: T): T {
  if (typeof value === 'string') return value.replace(/\u0000/g, '') as T;
  if (Array.isArray(value)) return value.map(stripNul) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripNul(v)])) as T;
  return value;
}
const hasNul = (value: unknown): boolean => {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(hasNul);
  if (value && typeof value === 'object') return Object.values(value).some(hasNul);
  return false;
};
/** The record as it is when it holds no NUL (nearly always: the copy cost more than the rest of prepare's bookkeeping). */
export const withoutNul = <T>(value: T): T => (hasNul(value) ? stripNul(value) : value);

/**
 * Blocking keys and name terms are stored as keyed hashes (no PHI in the index). The key is derived
 * once per process from the blind-index key; each value then costs one SHA-256 (about a microsecond)
 * instead of an HMAC set-up (tens of microseconds), which matters at a dozen keys per record.
 */
const hashKeys = new WeakMap<FieldCipher, string>();
function keyedHash(cipher: FieldCipher, value: string): Buffer {
  let secret = hashKeys.get(cipher);
  if (!secret) hashKeys.set(cipher, (secret = cipher.blindIndex('mpi-keyed-hash', 'v1')));
  return hash('sha256', `${secret}\u0000${value}`, 'buffer');
}

/** A blocking key as the signed 64-bit integer of its keyed hash's first 8 bytes (decimal, for a bigint parameter). */
export const blockKey = (cipher: FieldCipher, key: string): string => keyedHash(cipher, `block|${key}`).readBigInt64BE(0).toString();
const termKey = (cipher: FieldCipher, term: string): string => keyedHash(cipher, `term|${term}`).toString('base64url');

export function prepare(input: SourceDemographics, protection: IdentifierProtection, matching: MatchingConfig): Prepared {
  const d = withoutNul(input);
  const features = matchFeatures(d, matching);
  const { cipher } = protection;
  return {
    d,
    sealed: { ...d, identifiers: protection.seal(d.identifiers) },
    features,
    // Stored features keep the SSN encrypted, like the stored demographics.
    storedFeatures: { ...features, ssn: features.ssn ? cipher.encrypt(features.ssn) : null },
    flags: dataQualityFlags(d),
    blockKeys: [...new Set(blockingKeys(features, matching).map((k) => blockKey(cipher, k)))],
    terms: frequencyTerms(features).map((t) => ({ key: `${t.field}|${t.value}`, term: termKey(cipher, `${t.field}|${t.value}`) })),
  };
}

/**
 * Compared canonically: the stored copy is jsonb, which reorders object keys (by length, then bytes),
 * so JSON.stringify of the two never matched and every record sent again looked changed.
 */
const sameFeatures = (a: MatchFeatures, b: MatchFeatures): boolean => canonicalJson(a) === canonicalJson(b);

/**
 * Candidates' SSNs are stored encrypted; decrypting one costs ~4 µs, and the same records come
 * back as candidates again and again (a popular block). A bounded in-process cache of recent
 * plaintexts (held in memory only, like any record being matched) keeps that off the hot path.
 */
const revealed = new LRUCache<string, string>({ max: 50_000 });
export function revealStoredFeatures(cipher: FieldCipher, f: MatchFeatures): MatchFeatures {
  if (!f.ssn) return { ...f, ssn: null };
  let ssn = revealed.get(f.ssn);
  if (ssn === undefined) revealed.set(f.ssn, (ssn = cipher.decrypt(f.ssn)));
  return { ...f, ssn };
}

/** A live source record as stored, enough to tell whether a record sent again changed. */
export type StoredRecord = {
  readonly source: string;
  readonly source_patient_id: string;
  readonly golden_id: string;
  readonly link_state: LinkState;
  readonly link_score: number | null;
  readonly features: MatchFeatures | null;
  readonly demographics: SourceDemographics | null;
};

/**
 * The stored records among these (one statement, whatever their number), by recordKey: the live
 * ones, and with `deleted` the soft-deleted ones too, without their data (known, but never unchanged).
 */
export async function storedRecords(
  q: Queryable,
  refs: readonly { readonly source: string; readonly sourcePatientId: string }[],
  { deleted = false }: { readonly deleted?: boolean } = {},
): Promise<Map<string, StoredRecord>> {
  if (refs.length === 0) return new Map();
  const { rows } = await q.query<StoredRecord>(
    `SELECT source, source_patient_id, golden_id, link_state, link_score,
       CASE WHEN deleted_at IS NULL THEN features END AS features, CASE WHEN deleted_at IS NULL THEN demographics END AS demographics
     FROM source_record
     WHERE (source, source_patient_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND ($3 OR deleted_at IS NULL)`,
    [refs.map((r) => r.source), refs.map((r) => r.sourcePatientId), deleted],
  );
  return new Map(rows.map((r) => [recordKey({ source: r.source, sourcePatientId: r.source_patient_id }), r]));
}

/**
 * The outcome of a record sent again exactly as stored (the same demographics, hence the same
 * features): its current link, decided again by nobody. Nothing is written, so a restart or a
 * re-sync over unchanged sources leaves links, history, review queue and golden ids as they were.
 * A record older than the stored one (by lastUpdated) changes nothing either. Compared canonically:
 * jsonb reorders keys, and a protected identifier's ciphertext differs for the same value.
 * Undefined when the record is new, deleted, or changed.
 */
export function unchangedOutcome(
  stored: Omit<StoredRecord, 'source' | 'source_patient_id'> | undefined,
  p: Prepared,
  protection: IdentifierProtection,
): LinkOutcome | undefined {
  if (!stored?.features || !stored.demographics) return undefined;
  const current = { goldenId: stored.golden_id, created: false, decision: stored.link_state, score: stored.link_score, flags: p.flags };
  // Older than what is stored (a replayed or late message, an overlapping re-read): the stored state stays.
  if (isOlder(p.d.lastUpdated, stored.demographics.lastUpdated)) return current;
  // The same data at a later time is still the same record: nothing to decide again.
  const demographics = {
    ...stored.demographics,
    identifiers: protection.reveal(stored.demographics.identifiers ?? []),
    lastUpdated: p.d.lastUpdated,
  };
  if (canonicalJson(demographics) !== canonicalJson(p.d)) return undefined;
  if (!sameFeatures(revealStoredFeatures(protection.cipher, stored.features), p.features)) return undefined;
  return current;
}

/** Both times known and the first strictly before the second. */
function isOlder(a: string | null | undefined, b: string | null | undefined): boolean {
  const [ta, tb] = [Date.parse(a ?? ''), Date.parse(b ?? '')];
  return Number.isFinite(ta) && Number.isFinite(tb) && ta < tb;
}

export type Candidate = {
  readonly source: string;
  readonly sourcePatientId: string;
  readonly goldenId: string;
  readonly features: MatchFeatures;
};

export type RankedCandidate = { readonly c: Candidate; /** Blocking keys it shares with the record. */ readonly shared: number };

/**
 * Candidates of each record (one online, a chunk in batch), by its position: every stored record
 * sharing a blocking key (at most capPerKey per key), ranked by how many keys they share (true
 * matches share many: name, birth date, SSN, phone, address), the best capTotal kept. A very common
 * key (a popular name in a large population) then costs an index range of capPerKey entries, not
 * a scan, and never crowds out the records that agree on more. A record is not its own candidate.
 */
export async function rankedCandidates(
  q: Queryable,
  prepared: readonly Prepared[],
  matching: MatchingConfig,
  protection: IdentifierProtection,
): Promise<Map<number, RankedCandidate[]>> {
  const ords: number[] = [];
  const keys: string[] = [];
  prepared.forEach((p, i) => p.blockKeys.forEach((k) => (ords.push(i), keys.push(k))));
  const result = new Map<number, RankedCandidate[]>();
  if (keys.length === 0) return result;
  // Two statements, not one join: joined to source_record in one query, the planner switched to a
  // hash join over the whole table once statistics caught up with a growing MPI (a third slower for
  // minutes at a time); rid = ANY(...) is always an index lookup.
  const { rows: ranked } = await q.query<{ ord: number; rid: string; shared: string }>(
    `WITH q AS (SELECT ord, key FROM unnest($1::int[], $2::bigint[]) AS q(ord, key)),
     hits AS (SELECT q.ord, b.rid FROM q CROSS JOIN LATERAL (SELECT rid FROM match_block WHERE key = q.key LIMIT $3) AS b),
     ranked AS (SELECT ord, rid, count(*) AS shared, row_number() OVER (PARTITION BY ord ORDER BY count(*) DESC, rid) AS rn FROM hits GROUP BY ord, rid)
     SELECT ord, rid, shared FROM ranked WHERE rn <= $4`,
    [ords, keys, matching.blocking.capPerKey, matching.blocking.capTotal],
  );
  if (ranked.length === 0) return result;
  const { rows } = await q.query<{ rid: string; source: string; source_patient_id: string; golden_id: string; features: MatchFeatures }>(
    'SELECT rid, source, source_patient_id, golden_id, features FROM source_record WHERE rid = ANY($1::bigint[]) AND deleted_at IS NULL AND features IS NOT NULL',
    [[...new Set(ranked.map((r) => r.rid))]],
  );
  const byRid = new Map(rows.map((r) => [String(r.rid), r]));
  for (const { ord, rid, shared } of ranked) {
    const r = byRid.get(String(rid));
    const self = prepared[ord]!.d;
    if (!r || (r.source === self.source && r.source_patient_id === self.sourcePatientId)) continue;
    const c: Candidate = {
      source: r.source,
      sourcePatientId: r.source_patient_id,
      goldenId: r.golden_id,
      features: revealStoredFeatures(protection.cipher, r.features),
    };
    (result.get(ord) ?? result.set(ord, []).get(ord)!).push({ c, shared: Number(shared) });
  }
  return result;
}

/** Term counts not in the database yet: a batch's earlier chunks, counted in one statement when the batch ends. */
export type PendingCounts = { readonly total: number; readonly counts: ReadonlyMap<string, number> };

/**
 * Name frequencies for the records about to be matched (one record online, a chunk in batch), plus
 * `pending` counts. A name the population has not counted yet falls back to its level's u, as does
 * every name while the population is too small for frequencies to mean anything.
 */
export async function frequenciesFor(
  tx: Queryable,
  prepared: readonly Prepared[],
  pending?: PendingCounts,
): Promise<NameFrequencies | undefined> {
  const terms = new Map(prepared.flatMap((p) => p.terms.map((t) => [t.key, t.term] as const)));
  const { rows } = await tx.query<{ term: string; count: string }>('SELECT term, count FROM name_frequency WHERE term = ANY($1::text[])', [
    [...TOTAL_SHARDS, ...terms.values()],
  ]);
  const counts = new Map(rows.map((r) => [r.term, Number(r.count)]));
  if (pending) for (const [t, n] of pending.counts) counts.set(t, (counts.get(t) ?? 0) + n);
  const total = TOTAL_SHARDS.reduce((n, t) => n + (counts.get(t) ?? 0), pending?.total ?? 0);
  if (total < TF_MIN_POPULATION) return undefined;
  return { total, count: (field, value) => counts.get(terms.get(`${field}|${value}`) ?? '') ?? null };
}

export type Scored = {
  readonly goldenId: string;
  readonly via: Candidate;
  readonly comparison: Comparison;
  readonly decision: LinkState;
  /** Why the decision (match-reasons.ts), kept with the link and the review item. */
  readonly reason: MatchReasonCode;
};

/** Each candidate golden record with its best-matching source record, best first. */
export function scoreCandidates(
  p: Prepared,
  candidates: readonly Candidate[],
  matching: MatchingConfig,
  freq: NameFrequencies | undefined,
): Scored[] {
  const best = new Map<string, Scored>();
  for (const c of candidates) {
    const comparison = compareFeatures(p.features, c.features, matching, freq);
    const current = best.get(c.goldenId);
    if (!current || comparison.probability > current.comparison.probability)
      best.set(c.goldenId, {
        goldenId: c.goldenId,
        via: c,
        comparison,
        decision: decide(comparison, p.features, c.features, matching),
        reason: matchReason(comparison, p.features, c.features, matching),
      });
  }
  // Chains: a MATCH that conflicts with another of the golden record's candidate records is held for review.
  for (const [goldenId, s] of best) {
    if (s.decision !== LINK_STATES.MATCH) continue;
    const others = candidates.filter((c) => c.goldenId === goldenId && c !== s.via).map((c) => c.features);
    if (conflictsWithGolden(p.features, others, matching, freq, s.via.features))
      best.set(goldenId, { ...s, decision: LINK_STATES.POSSIBLE_MATCH, reason: 'GOLDEN_CONFLICT' });
  }
  // Equal scores are ordered by the source records that scored them, not by golden id: golden ids are random, and the same records
  // must give the same clusters on every run.
  return [...best.values()].sort(
    (a, b) =>
      b.comparison.probability - a.comparison.probability ||
      a.via.source.localeCompare(b.via.source) ||
      a.via.sourcePatientId.localeCompare(b.via.sourcePatientId),
  );
}

/**
 * The record's blocking keys and identifiers. Keys it no longer has are removed through the keys
 * stored on the record (block_keys), unchanged ones stay, new ones are added: one statement.
 */
async function indexRecord(tx: Queryable, p: Prepared, protection: IdentifierProtection, existed: boolean): Promise<void> {
  const { d } = p;
  const ids = d.identifiers.map((i) => [i.system, protection.lookupValue(i.system, i.value)]);
  if (existed) await tx.query('DELETE FROM patient_identifier WHERE source = $1 AND source_patient_id = $2', [d.source, d.sourcePatientId]);
  await tx.query(
    `WITH r AS (SELECT rid, block_keys FROM source_record WHERE source = $1 AND source_patient_id = $2),
     gone AS (DELETE FROM match_block AS b USING r WHERE b.rid = r.rid AND b.key = ANY (r.block_keys) AND NOT (b.key = ANY ($3::bigint[]))),
     kept AS (UPDATE source_record AS s SET block_keys = $3::bigint[] FROM r WHERE s.rid = r.rid),
     blocks AS (INSERT INTO match_block (key, rid) SELECT DISTINCT k, r.rid FROM unnest($3::bigint[]) AS k, r ON CONFLICT DO NOTHING)
     INSERT INTO patient_identifier (system, value, source, source_patient_id)
     SELECT x->>0, x->>1, $1, $2 FROM jsonb_array_elements($4::jsonb) AS x ON CONFLICT DO NOTHING`,
    [d.source, d.sourcePatientId, p.blockKeys, JSON.stringify(ids)],
  );
}

type Existing = Omit<StoredRecord, 'source' | 'source_patient_id'> & { readonly link_origin: 'AUTO' | 'MANUAL' };

/** The active golden record an id leads to, locked: itself, or (a steward merged it meanwhile) its survivor. */
async function lockActive(tx: Queryable, id: string): Promise<string | undefined> {
  let state = (await lockGoldens(tx, [id])).get(id);
  if (state?.status === 'MERGED') {
    const survivor = await activeGoldenId(tx, id);
    state = survivor ? (await lockGoldens(tx, [survivor])).get(survivor) : undefined;
  }
  return state?.status === 'ACTIVE' ? state.id : undefined;
}

async function linkPrepared(
  db: Database,
  p: Prepared,
  protection: IdentifierProtection,
  matching: MatchingConfig,
  survivorship: SurvivorshipConfig,
  who: Actor,
): Promise<{ outcome: LinkOutcome; newTerms: boolean }> {
  const { d } = p;
  const ref = { source: d.source, sourcePatientId: d.sourcePatientId };
  return inTransaction(db, async (tx) => {
    await lockKeys(tx, [`record|${recordId(ref)}`, ...p.blockKeys]);
    const { rows } = await tx.query<Existing>(
      'SELECT golden_id, link_state, link_origin, link_score, features, demographics FROM source_record WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NULL',
      [d.source, d.sourcePatientId],
    );
    const existing = rows[0];
    // Sent again unchanged: nothing is written (the advisory locks above write nothing either).
    const same = unchangedOutcome(existing, p, protection);
    if (same) return { outcome: same, newTerms: false };
    if (existing)
      await tx.query('SELECT 1 FROM source_record WHERE source = $1 AND source_patient_id = $2 FOR UPDATE', [d.source, d.sourcePatientId]);
    /** The record keeps its link; its new data is stored and its golden record recomputed. */
    const keep = async (state: LinkState, score: number | null): Promise<{ outcome: LinkOutcome; newTerms: boolean }> => {
      await writeSourceRecords(tx, [sourceRecordRow(p, existing!.golden_id, state)]);
      await indexRecord(tx, p, protection, true);
      await appendLinkEvent(
        tx,
        {
          record: ref,
          goldenId: existing!.golden_id,
          previousGoldenId: existing!.golden_id,
          state,
          origin: existing!.link_origin,
          score,
          evidence: null,
          action: LINK_ACTIONS.UPDATED,
        },
        who,
      );
      await recomputeGolden(tx, existing!.golden_id, survivorship, protection);
      return { outcome: { goldenId: existing!.golden_id, created: false, decision: state, score, flags: p.flags }, newTerms: false };
    };
    /** Writes a decision: the record points at goldenId (created for it, or not), its history, review items, golden records. */
    const write = async (goldenId: string, created: boolean, decision: LinkDecision, previous: string | null) => {
      // A golden record created for this record is inserted complete, computed from it (its only
      // record), as batch linking inserts its new ones: no empty row to read back and update.
      if (created)
        await insertGoldens(tx, new Map([[goldenId, goldenColumns([goldenRowOf(p, decision.state)], {}, survivorship, protection)]]));
      const { inserted } = await writeSourceRecord(tx, sourceRecordRow(p, goldenId, decision));
      await indexRecord(tx, p, protection, Boolean(existing));
      // A new row was written with the decision's link: only its history is left to append.
      if (inserted) await appendLinkEvent(tx, linkChange(ref, goldenId, previous, decision), who);
      else await setLink(tx, linkChange(ref, goldenId, previous, decision), who, matchedVia(decision));
      await queueReviews(tx, reviewsOf(decision, ref, goldenId, matching.thresholds));
      if (!created) await recomputeGolden(tx, goldenId, survivorship, protection);
      if (previous && previous !== goldenId && !(await retireIfEmpty(tx, previous, goldenId, who)))
        await recomputeGolden(tx, previous, survivorship, protection);
      const score = decision.target?.comparison.probability ?? null;
      return { outcome: { goldenId, created, decision: decision.state, score, flags: p.flags }, newTerms: !existing };
    };
    // A steward's decision is never undone by automatic matching; nor is a link re-evaluated when
    // nothing the matcher looks at has changed.
    const storedFeatures = existing?.features ? revealStoredFeatures(protection.cipher, existing.features) : null;
    if (existing && (existing.link_origin === LINK_ORIGINS.MANUAL || (storedFeatures && sameFeatures(storedFeatures, p.features))))
      return keep(existing.link_state, existing.link_score);

    const scored = scoreCandidates(
      p,
      ((await rankedCandidates(tx, [p], matching, protection)).get(0) ?? []).map((x) => x.c),
      matching,
      await frequenciesFor(tx, [p]),
    );
    // Pairs a steward already separated are not proposed again.
    const eligible: Scored[] = [];
    for (const s of scored) if (!existing || !(await markedNotDuplicate(tx, existing.golden_id, s.goldenId))) eligible.push(s);

    let decision: LinkDecision;
    if (existing) {
      // Changed demographics: the record stays while it still matches another record of its golden record.
      const hasOthers = await hasOtherRecords(tx, existing.golden_id, ref);
      const stay = staysWith(eligible, existing.golden_id, hasOthers);
      if (stay) return keep(LINK_STATES.MATCH, stay.comparison.probability);
      decision = decideLink(eligible, existing.golden_id);
      // Alone in its golden record: the record keeps that id unless it now matches another one.
      if (!hasOthers && decision.joins === null) return write(existing.golden_id, false, decision, existing.golden_id);
    } else {
      decision = decideLink(eligible);
    }
    if (decision.joins !== null) decision = joinedAs(decision, await lockActive(tx, decision.joins));
    const goldenId = decision.joins ?? randomUUID();
    return write(goldenId, decision.joins === null, decision, existing?.golden_id ?? null);
  });
}

/** How many of the records carry each name term (a record counts a term once). */
export function termCounts(prepared: readonly Prepared[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of prepared) for (const t of new Set(p.terms.map((x) => x.term))) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/** Counts the records' names for term-frequency adjustment (after commit: statistics, not state), in one statement. */
export async function countTerms(db: Queryable, prepared: readonly Prepared[]): Promise<void> {
  const counts = termCounts(prepared).set(totalShard(), prepared.length);
  const terms = [...counts.keys()].sort();
  await db.query(
    'INSERT INTO name_frequency (term, count) SELECT * FROM unnest($1::text[], $2::bigint[]) ORDER BY 1 ON CONFLICT (term) DO UPDATE SET count = name_frequency.count + EXCLUDED.count',
    [terms, terms.map((t) => counts.get(t)!)],
  );
}

/**
 * Links (or re-links after an update) one source record. Protected identifier values (SSN) are
 * stored encrypted and indexed by their blind index.
 */
export async function linkSourceRecord(
  db: Database,
  d: SourceDemographics,
  protection: IdentifierProtection,
  options: LinkOptions = {},
): Promise<LinkOutcome> {
  return linkPreparedRecord(db, prepare(d, protection, options.matching ?? defaultLinkConfig().matching), protection, options);
}

/** linkSourceRecord for a record already prepared (with the same matching configuration). */
export async function linkPreparedRecord(
  db: Database,
  p: Prepared,
  protection: IdentifierProtection,
  options: LinkOptions = {},
): Promise<LinkOutcome> {
  const matching = options.matching ?? defaultLinkConfig().matching;
  const survivorship = options.survivorship ?? defaultLinkConfig().survivorship;
  const { outcome, newTerms } = await linkPrepared(db, p, protection, matching, survivorship, options.actor ?? SYSTEM_ACTOR);
  if (newTerms) await countTerms(db, [p]);
  return outcome;
}

/**
 * A source deleted its record: the link is ended softly (the row stays, with its history), the
 * record leaves blocking and identifier lookups, and its golden record is recomputed without it.
 */
export async function deleteSourceRecord(
  db: Database,
  ref: { source: string; sourcePatientId: string },
  protection: IdentifierProtection,
  options: LinkOptions = {},
): Promise<boolean> {
  const survivorship = options.survivorship ?? defaultLinkConfig().survivorship;
  return inTransaction(db, async (tx) => {
    await lockKeys(tx, [`record|${recordId(ref)}`]);
    const { rows } = await tx.query<{ golden_id: string; link_state: LinkState; link_origin: 'AUTO' | 'MANUAL' }>(
      'UPDATE source_record SET deleted_at = now() WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NULL RETURNING golden_id, link_state, link_origin',
      [ref.source, ref.sourcePatientId],
    );
    const row = rows[0];
    if (!row) return false;
    await tx.query(
      `WITH r AS (SELECT rid, block_keys FROM source_record WHERE source = $1 AND source_patient_id = $2),
       gone AS (DELETE FROM match_block AS b USING r WHERE b.rid = r.rid AND b.key = ANY (r.block_keys))
       UPDATE source_record SET block_keys = '{}' WHERE source = $1 AND source_patient_id = $2`,
      [ref.source, ref.sourcePatientId],
    );
    await tx.query('DELETE FROM patient_identifier WHERE source = $1 AND source_patient_id = $2', [ref.source, ref.sourcePatientId]);
    await appendLinkEvent(
      tx,
      {
        record: ref,
        goldenId: row.golden_id,
        previousGoldenId: row.golden_id,
        state: row.link_state,
        origin: row.link_origin,
        score: null,
        evidence: null,
        action: LINK_ACTIONS.DELETED,
      },
      options.actor ?? SYSTEM_ACTOR,
    );
    await recomputeGolden(tx, row.golden_id, survivorship, protection);
    return true;
  });
}
