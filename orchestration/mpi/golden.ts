// Write-side plumbing shared by automatic linking and steward operations: transactions retried on
// deadlock, locks in a fixed order, moving a source record between golden records, recomputing a
// golden record (survivorship with provenance) and the append-only link history.
import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import type { MatchReasonCode, Thresholds } from './match-reasons.ts';
import { survive, type GoldenField, type ManualValue, type SurvivorshipConfig } from './survivorship.ts';

export const LINK_STATES = { MATCH: 'MATCH', POSSIBLE_MATCH: 'POSSIBLE_MATCH', NO_MATCH: 'NO_MATCH' } as const;
export type LinkState = (typeof LINK_STATES)[keyof typeof LINK_STATES];
export const LINK_ORIGINS = { AUTO: 'AUTO', MANUAL: 'MANUAL' } as const;
export type LinkOrigin = (typeof LINK_ORIGINS)[keyof typeof LINK_ORIGINS];

/** What the history records as the cause of a link change. */
export const LINK_ACTIONS = {
  CREATED: 'CREATED',
  UPDATED: 'UPDATED',
  REMATCHED: 'REMATCHED',
  LINKED: 'LINKED',
  UNLINKED: 'UNLINKED',
  MERGED: 'MERGED',
  UNMERGED: 'UNMERGED',
  REVIEWED: 'REVIEWED',
  DELETED: 'DELETED',
} as const;
export type LinkAction = (typeof LINK_ACTIONS)[keyof typeof LINK_ACTIONS];

export type FieldEvidenceRow = { readonly field: string; readonly level: string; readonly weight: number };

/** Who changed a link and why; automatic linking acts as `system:mpi`. */
export type Actor = { readonly actor: string; readonly reason?: string | null; readonly requestId?: string | null };
export const SYSTEM_ACTOR: Actor = { actor: 'system:mpi' };

export type RecordRef = { readonly source: string; readonly sourcePatientId: string };
export const recordId = (r: RecordRef): string => `${r.source}:${r.sourcePatientId}`;
/** A record's key in maps: unambiguous whatever its source name and id hold (recordId is what people read). */
export const recordKey = (r: RecordRef): string => r.source + '\u0000' + r.sourcePatientId;

/**
 * Lost races, worth another try: deadlocks, serialization failures, a concurrent insert of the same key (concurrent links and merges may
 * cross).
 */
const RETRYABLE = new Set(['40P01', '40001', '23505']);

export const isRetryable = (error: unknown): boolean => RETRYABLE.has((error as { code?: unknown } | null)?.code as string);

export async function inTransaction<T>(db: Database, fn: (tx: Queryable) => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

/** Held exclusively by a batch link (linkBatch), shared by every other MPI writer. */
export const BATCH_LOCK = 'mpi|batch';

/**
 * Transaction-scoped advisory locks, taken in sorted order so two transactions never wait on each
 * other in a cycle. Blocking keys are locked this way: two records of one new person share a
 * key, so the second waits for the first and then sees it as a candidate. A batch link holds the
 * batch lock exclusively instead of one lock per key (thousands per chunk would exhaust the lock
 * table), so every other writer first takes it shared.
 */
export async function lockKeys(tx: Queryable, keys: readonly string[]): Promise<void> {
  const sorted = [...new Set(keys)].sort();
  await tx.query(
    `SELECT b.locked, k.n FROM (SELECT pg_advisory_xact_lock_shared(hashtextextended($2, 7)) IS NULL AS locked) AS b,
     LATERAL (SELECT count(pg_advisory_xact_lock(hashtextextended(x, 7))) AS n FROM (SELECT x FROM unnest($1::text[]) AS x ORDER BY x) AS s) AS k`,
    [sorted, BATCH_LOCK],
  );
}

export type GoldenState = { readonly id: string; readonly status: 'ACTIVE' | 'MERGED'; readonly mergedInto: string | null };

/** Locks golden records (in id order) and returns their state. */
export async function lockGoldens(tx: Queryable, ids: readonly string[]): Promise<Map<string, GoldenState>> {
  const { rows } = await tx.query<{ id: string; status: 'ACTIVE' | 'MERGED'; merged_into: string | null }>(
    'SELECT id, status, merged_into FROM golden_patient WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
    [[...new Set(ids)]],
  );
  return new Map(rows.map((r) => [r.id, { id: r.id, status: r.status, mergedInto: r.merged_into }]));
}

/** The active golden record an id leads to, following merge redirects (bounded: chains are short). */
export async function activeGoldenId(db: Queryable, id: string): Promise<string | undefined> {
  let current = id;
  for (let hops = 0; hops < 32; hops++) {
    const { rows } = await db.query<{ status: string; merged_into: string | null }>(
      'SELECT status, merged_into FROM golden_patient WHERE id = $1',
      [current],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.status === 'ACTIVE') return current;
    if (!row.merged_into) return undefined;
    current = row.merged_into;
  }
  return undefined;
}

export async function createGolden(tx: Queryable): Promise<string> {
  const id = randomUUID();
  await tx.query('INSERT INTO golden_patient (id) VALUES ($1)', [id]);
  return id;
}

export type LinkChange = {
  readonly record: RecordRef;
  readonly goldenId: string;
  readonly previousGoldenId: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  readonly score: number | null;
  readonly evidence: readonly FieldEvidenceRow[] | null;
  readonly action: LinkAction;
  readonly mergeId?: string | null;
  /**
   * Why the link is what it is (match-reasons.ts). setLink stores it with the link (absent: none);
   * an event appended without one (an update or deletion that kept the link) repeats the record's.
   */
  readonly matchReason?: MatchReasonCode | null;
};

/** Points a source record at a golden record with a state, and appends the change to its history. */
export async function setLink(tx: Queryable, c: LinkChange, who: Actor, matchedVia?: string | null): Promise<void> {
  await tx.query(
    `UPDATE source_record SET golden_id = $3, link_state = $4, link_origin = $5, link_score = $6, link_evidence = $7, linked_at = now(),
       matched_via = CASE WHEN $8::boolean THEN $9 ELSE matched_via END, match_reason = $10
     WHERE source = $1 AND source_patient_id = $2`,
    [
      c.record.source,
      c.record.sourcePatientId,
      c.goldenId,
      c.state,
      c.origin,
      c.score,
      c.evidence ? JSON.stringify(c.evidence) : null,
      matchedVia !== undefined,
      matchedVia ?? null,
      c.matchReason ?? null,
    ],
  );
  await appendLinkEvent(tx, c, who);
}

export const appendLinkEvent = (tx: Queryable, c: LinkChange, who: Actor): Promise<void> => appendLinkEvents(tx, [c], who);

/**
 * Appends link changes to the history (in the order given: a function scan keeps it) in one statement. A change without a reason (an
 * update or deletion that kept the link) repeats the record's stored one.
 */
export async function appendLinkEvents(tx: Queryable, changes: readonly LinkChange[], who: Actor): Promise<void> {
  if (changes.length === 0) return;
  await tx.query(
    `INSERT INTO link_event (source, source_patient_id, golden_id, previous_golden_id, state, origin, score, evidence, action, reason, actor, request_id, merge_id, match_reason)
     SELECT x.source, x.source_patient_id, x.golden_id, x.previous_golden_id, x.state, x.origin, x.score, x.evidence, x.action, $2, $3, $4, x.merge_id,
       COALESCE(x.match_reason, (SELECT match_reason FROM source_record WHERE source = x.source AND source_patient_id = x.source_patient_id))
     FROM jsonb_to_recordset($1::jsonb) AS x(source text, source_patient_id text, golden_id uuid, previous_golden_id uuid, state text, origin text, score double precision, evidence jsonb, action text, merge_id uuid, match_reason text)`,
    [
      JSON.stringify(
        changes.map((c) => ({
          source: c.record.source,
          source_patient_id: c.record.sourcePatientId,
          golden_id: c.goldenId,
          previous_golden_id: c.previousGoldenId,
          state: c.state,
          origin: c.origin,
          score: c.score,
          evidence: c.evidence,
          action: c.action,
          merge_id: c.mergeId ?? null,
          match_reason: c.matchReason ?? null,
        })),
      ),
      who.reason ?? null,
      who.actor,
      who.requestId ?? null,
    ],
  );
}

export type GoldenSourceRow = { demographics: SourceDemographics; data_quality: string[]; link_state: LinkState; link_origin: LinkOrigin };

/** The stored columns of a golden record, computed from its linked source records (sealed identifiers). */
export function goldenColumns(
  rows: readonly GoldenSourceRow[],
  manual: Readonly<Partial<Record<GoldenField, ManualValue>>>,
  config: SurvivorshipConfig,
  protection: IdentifierProtection,
) {
  const { cipher } = protection;
  // A surviving identifier keeps its source record's ciphertext (when under the current key)
  // instead of being encrypted again: one AES operation per identifier, not two.
  const sealedAs = new Map<string, string>();
  const records = rows.map((r) => ({
    ...r.demographics,
    identifiers: r.demographics.identifiers.map((i) => {
      if (!cipher.isEncrypted(i.value)) return i;
      const value = cipher.decrypt(i.value);
      if (cipher.keyIdOf(i.value) === cipher.currentKeyId) sealedAs.set(`${i.system}\u0000${value}`, i.value);
      return { ...i, value };
    }),
  }));
  const { values, provenance } = survive(records, config, manual);
  const sealed = values.identifiers.map((i) => {
    const kept = sealedAs.get(`${i.system}\u0000${i.value}`);
    return kept ? { ...i, value: kept } : protection.seal([i])[0]!;
  });
  return {
    name: JSON.stringify(values.name),
    birth_date: values.birthDate,
    gender: values.gender,
    identifiers: JSON.stringify(sealed),
    addresses: JSON.stringify(values.addresses),
    telecom: JSON.stringify(values.telecom),
    provenance: JSON.stringify(provenance),
    data_quality: JSON.stringify([...new Set(rows.flatMap((r) => r.data_quality))].sort()),
    // Provisional until a record is confirmed by a match or by a steward.
    provisional: !rows.some((r) => r.link_state === LINK_STATES.MATCH || r.link_origin === LINK_ORIGINS.MANUAL),
  };
}

/** The computed columns as jsonb_to_recordset reads them from goldenColumns' output (plus id). */
const GOLDEN_RECORDSET =
  'jsonb_to_recordset($1::jsonb) AS x(id uuid, name text, birth_date text, gender text, identifiers text, addresses text, telecom text, provenance text, data_quality text, provisional boolean)';
const recordset = (goldens: ReadonlyMap<string, ReturnType<typeof goldenColumns>>): string =>
  JSON.stringify([...goldens].map(([id, c]) => ({ id, ...c })));

/** Writes many recomputed golden records in one statement. */
export async function writeGoldens(tx: Queryable, goldens: ReadonlyMap<string, ReturnType<typeof goldenColumns>>): Promise<void> {
  if (goldens.size === 0) return;
  await tx.query(
    `UPDATE golden_patient g SET name = x.name::jsonb, birth_date = x.birth_date, gender = x.gender, identifiers = x.identifiers::jsonb, addresses = x.addresses::jsonb,
       telecom = x.telecom::jsonb, provenance = x.provenance::jsonb, data_quality = x.data_quality::jsonb, provisional = x.provisional, updated_at = now()
     FROM ${GOLDEN_RECORDSET}
     WHERE g.id = x.id`,
    [recordset(goldens)],
  );
}

/** Creates many golden records with their computed columns in one statement (no empty row to update afterwards). */
export async function insertGoldens(tx: Queryable, goldens: ReadonlyMap<string, ReturnType<typeof goldenColumns>>): Promise<void> {
  if (goldens.size === 0) return;
  await tx.query(
    `INSERT INTO golden_patient (id, name, birth_date, gender, identifiers, addresses, telecom, provenance, data_quality, provisional)
     SELECT x.id, x.name::jsonb, x.birth_date, x.gender, x.identifiers::jsonb, x.addresses::jsonb, x.telecom::jsonb, x.provenance::jsonb, x.data_quality::jsonb, x.provisional
     FROM ${GOLDEN_RECORDSET}`,
    [recordset(goldens)],
  );
}

/**
 * What golden records are computed from: their live source records and manual values, as of
 * `version` (the row's xmin: every link change rewrites the golden row, so an unchanged version
 * means unchanged inputs). The version is read first, so inputs read later are never older than it.
 */
export type GoldenSources = {
  readonly version: string;
  readonly manual: Readonly<Partial<Record<GoldenField, ManualValue>>>;
  readonly rows: readonly GoldenSourceRow[];
};

export async function goldenSources(q: Queryable, goldenIds: readonly string[]): Promise<Map<string, GoldenSources>> {
  const ids = [...new Set(goldenIds)];
  if (ids.length === 0) return new Map();
  const goldens = await q.query<{ id: string; version: string; manual_values: Partial<Record<GoldenField, ManualValue>> }>(
    'SELECT id, xmin::text AS version, manual_values FROM golden_patient WHERE id = ANY($1::uuid[])',
    [ids],
  );
  // One index lookup per golden record, whatever the statistics say: planned as `golden_id =
  // ANY(...)` on a table never analyzed, 500 ids were estimated at most of the table and scanned
  // (OFFSET 0 keeps the planner from flattening the lookup into that same join).
  const { rows } = await q.query<GoldenSourceRow & { golden_id: string }>(
    `SELECT s.golden_id, s.demographics, s.data_quality, s.link_state, s.link_origin
     FROM unnest($1::uuid[]) AS g(id) CROSS JOIN LATERAL (SELECT * FROM source_record WHERE golden_id = g.id AND deleted_at IS NULL OFFSET 0) AS s`,
    [ids],
  );
  const byGolden = Map.groupBy(rows, (r) => r.golden_id);
  return new Map(goldens.rows.map((g) => [g.id, { version: g.version, manual: g.manual_values, rows: byGolden.get(g.id) ?? [] }]));
}

/** Writes golden records recomputed from their sources: survivorship with provenance, data-quality flags, provisional or not. */
export async function writeRecomputed(
  tx: Queryable,
  sources: ReadonlyMap<string, Pick<GoldenSources, 'manual' | 'rows'>>,
  config: SurvivorshipConfig,
  protection: IdentifierProtection,
): Promise<void> {
  await writeGoldens(tx, new Map([...sources].map(([id, s]) => [id, goldenColumns(s.rows, s.manual, config, protection)])));
}

/**
 * Recomputes golden records from their linked (not deleted) source records: survivorship with
 * provenance, data-quality flags, and whether each is still provisional. Runs after every link change.
 */
export async function recomputeGoldens(
  tx: Queryable,
  goldenIds: readonly string[],
  config: SurvivorshipConfig,
  protection: IdentifierProtection,
): Promise<void> {
  await writeRecomputed(tx, await goldenSources(tx, goldenIds), config, protection);
}

export const recomputeGolden = (
  tx: Queryable,
  goldenId: string,
  config: SurvivorshipConfig,
  protection: IdentifierProtection,
): Promise<void> => recomputeGoldens(tx, [goldenId], config, protection);

/**
 * Open review items that involve these golden records no longer apply (a merge or a move settled
 * them). A steward's merge (or a move recorded as one) names itself and its reason, so that its
 * undo can reopen exactly these.
 */
export async function obsoleteReviews(
  tx: Queryable,
  goldenIds: readonly string[],
  who: Actor,
  mergeId: string | null = null,
): Promise<void> {
  await tx.query(
    `UPDATE review_item SET status = 'OBSOLETE', resolved_by = $2, resolved_at = now(), closed_by_merge = $3, reason = COALESCE($4, reason)
     WHERE status = 'OPEN' AND (golden_id = ANY($1::uuid[]) OR candidate_id = ANY($1::uuid[]))`,
    [[...goldenIds], who.actor, mergeId, mergeId ? (who.reason ?? null) : null],
  );
}

/** Whether a steward said these two golden records are different people. */
export async function markedNotDuplicate(tx: Queryable, a: string, b: string): Promise<boolean> {
  const [low, high] = a < b ? [a, b] : [b, a];
  const { rows } = await tx.query('SELECT 1 FROM not_duplicate WHERE low = $1 AND high = $2', [low, high]);
  return rows.length > 0;
}

export type ReviewCandidate = {
  readonly kind: 'POSSIBLE_MATCH' | 'POSSIBLE_DUPLICATE';
  readonly record: RecordRef | null;
  readonly goldenId: string;
  readonly candidateId: string;
  readonly score: number;
  readonly evidence: readonly FieldEvidenceRow[];
  /** Why the pair needs a steward, and the thresholds it was decided under. */
  readonly reason: MatchReasonCode;
  readonly thresholds: Thresholds;
};

/** Queues pairs for a steward, in one statement, except those already open or that a steward already said differ. */
export async function queueReviews(tx: Queryable, reviews: readonly ReviewCandidate[]): Promise<void> {
  if (reviews.length === 0) return;
  await tx.query(
    `INSERT INTO review_item (id, kind, record_source, record_id, golden_id, candidate_id, score, evidence, match_reason, thresholds)
     SELECT gen_random_uuid(), x.kind, x.record_source, x.record_id, x.golden_id, x.candidate_id, x.score, x.evidence, x.match_reason, x.thresholds
     FROM jsonb_to_recordset($1::jsonb) AS x(kind text, record_source text, record_id text, golden_id uuid, candidate_id uuid, score double precision, evidence jsonb, match_reason text, thresholds jsonb)
     WHERE x.golden_id <> x.candidate_id
       AND NOT EXISTS (SELECT 1 FROM not_duplicate n WHERE n.low = least(x.golden_id, x.candidate_id) AND n.high = greatest(x.golden_id, x.candidate_id))
     ON CONFLICT (least(golden_id, candidate_id), greatest(golden_id, candidate_id)) WHERE status = 'OPEN' DO NOTHING`,
    [
      JSON.stringify(
        reviews.map((r) => ({
          kind: r.kind,
          record_source: r.record?.source ?? null,
          record_id: r.record?.sourcePatientId ?? null,
          golden_id: r.goldenId,
          candidate_id: r.candidateId,
          score: r.score,
          evidence: r.evidence,
          match_reason: r.reason,
          thresholds: r.thresholds,
        })),
      ),
    ],
  );
}

/** Whether a golden record has live source records other than `except`. */
export async function hasOtherRecords(tx: Queryable, goldenId: string, except?: RecordRef): Promise<boolean> {
  const { rows } = await tx.query(
    'SELECT 1 FROM source_record WHERE golden_id = $1 AND deleted_at IS NULL AND NOT (source IS NOT DISTINCT FROM $2 AND source_patient_id IS NOT DISTINCT FROM $3) LIMIT 1',
    [goldenId, except?.source ?? null, except?.sourcePatientId ?? null],
  );
  return rows.length > 0;
}

/**
 * A golden record left without source records becomes a redirect to where its last record went,
 * so its id keeps answering (with the survivor) instead of disappearing.
 */
export async function retireIfEmpty(
  tx: Queryable,
  goldenId: string,
  into: string,
  who: Actor,
  mergeId: string | null = null,
): Promise<boolean> {
  if (goldenId === into || (await hasOtherRecords(tx, goldenId))) return false;
  await tx.query("UPDATE golden_patient SET status = 'MERGED', merged_into = $2, updated_at = now() WHERE id = $1", [goldenId, into]);
  await obsoleteReviews(tx, [goldenId], who, mergeId);
  return true;
}
