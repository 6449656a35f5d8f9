// The MPI store, read side: golden records (following merge redirects), their links with state,
// origin, score and evidence, lookups by identifier, link history and the review
// queue. Writes live in linking.ts (automatic) and stewardship.ts (manual); cohort pages in
// orchestration/cohort.
import type { Queryable } from '../../platform/db.ts';
import type { Address, ContactPoint, HumanName, Identifier } from '../../schema/__generated__/canonical.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { FieldEvidenceRow, LinkOrigin, LinkState } from './golden.ts';
import { reasonCode, type MatchReasonCode, type Thresholds } from './match-reasons.ts';
import type { FieldProvenance } from './survivorship.ts';

export { MPI_MIGRATIONS } from './migrations.ts';
export { deleteSourceRecord, linkSourceRecord, type LinkOutcome, type LinkOptions } from './linking.ts';
export { BATCH_CHUNK, linkBatch } from './batch-linking.ts';
export { upkeepOf } from './upkeep.ts';
export { isRetryable, LINK_ORIGINS, LINK_STATES, type LinkOrigin, type LinkState } from './golden.ts';

export type GoldenPatient = {
  readonly id: string;
  readonly name: HumanName | null;
  readonly birthDate: string | null;
  readonly gender: string | null;
  readonly identifiers: readonly Identifier[];
  readonly addresses: readonly Address[];
  readonly telecom: readonly ContactPoint[];
  readonly provisional: boolean;
  readonly dataQuality: readonly string[];
  readonly provenance: readonly FieldProvenance[];
  /** Set when the patient was reached through the id of a golden record merged into this one. */
  readonly redirectedFrom?: string;
};

export type SourceLink = {
  readonly goldenId: string;
  readonly source: string;
  readonly sourcePatientId: string;
  readonly mrn: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  readonly score: number | null;
  readonly evidence: readonly FieldEvidenceRow[];
  /** Why the link is what it is (UNKNOWN for links decided before reasons were recorded). */
  readonly matchReason: MatchReasonCode;
  readonly dataQuality: readonly string[];
  readonly linkedAt: string;
};

export type GoldenRow = {
  id: string;
  name: HumanName | null;
  birth_date: string | null;
  gender: string | null;
  identifiers: Identifier[];
  addresses: Address[];
  telecom: ContactPoint[];
  provisional: boolean;
  data_quality: string[];
  provenance: FieldProvenance[];
};
const GOLDEN_COLUMNS = [
  'id',
  'name',
  'birth_date',
  'gender',
  'identifiers',
  'addresses',
  'telecom',
  'provisional',
  'data_quality',
  'provenance',
];
export const goldenColumns = (alias: string): string => GOLDEN_COLUMNS.map((c) => `${alias}.${c}`).join(', ');

export const toGolden = (r: GoldenRow, protection: IdentifierProtection): GoldenPatient => ({
  id: r.id,
  name: r.name,
  birthDate: r.birth_date,
  gender: r.gender,
  identifiers: protection.reveal(r.identifiers),
  addresses: r.addresses,
  telecom: r.telecom,
  provisional: r.provisional,
  dataQuality: r.data_quality,
  provenance: Array.isArray(r.provenance) ? r.provenance : [],
});

/**
 * Golden records by id. A merged id answers with the survivor (following the redirect chain),
 * marked `redirectedFrom`; an unknown id is absent.
 */
export async function goldenByIds(
  db: Queryable,
  ids: readonly string[],
  protection: IdentifierProtection,
): Promise<Map<string, GoldenPatient>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<GoldenRow & { requested: string }>(
    `WITH RECURSIVE chain (requested, id, status, merged_into, depth) AS (
       SELECT g.id, g.id, g.status, g.merged_into, 0 FROM golden_patient g WHERE g.id = ANY($1::uuid[])
       UNION ALL
       SELECT c.requested, g.id, g.status, g.merged_into, c.depth + 1 FROM chain c JOIN golden_patient g ON g.id = c.merged_into
       WHERE c.status = 'MERGED' AND c.depth < 32)
     SELECT c.requested, ${goldenColumns('g')} FROM chain c JOIN golden_patient g ON g.id = c.id WHERE c.status = 'ACTIVE'`,
    [ids],
  );
  return new Map(
    rows.map((r) => [r.requested, { ...toGolden(r, protection), ...(r.requested !== r.id ? { redirectedFrom: r.requested } : {}) }]),
  );
}

/**
 * Every golden patient a source record carrying this identifier is linked to, in the order their
 * first such record was linked (at most `limit`). More than one means the identifier is ambiguous
 * (an SSN two people share, a record indexed before systems were per connection): callers must
 * never pick one of them.
 */
export async function goldenIdsByIdentifier(
  db: Queryable,
  system: string,
  value: string,
  protection: IdentifierProtection,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ golden_id: string }>(
    `SELECT s.golden_id FROM patient_identifier i JOIN source_record s USING (source, source_patient_id)
     WHERE i.system = $1 AND i.value = $2 AND s.deleted_at IS NULL
     GROUP BY s.golden_id ORDER BY min(s.linked_at), s.golden_id LIMIT $3`,
    [system, protection.lookupValue(system, value), limit],
  );
  return rows.map((r) => r.golden_id);
}

/** LIKE's wildcards and escape character taken literally. */
const likePrefix = (text: string): string => `${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Active golden patients whose family name starts with `family` (case aside), and when given, a
 * given name starting with `given` and this exact birth date; family name then id order.
 */
export async function goldenIdsByName(
  db: Queryable,
  q: { readonly family: string; readonly given?: string | null; readonly birthDate?: string | null },
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM golden_patient
      WHERE status = 'ACTIVE' AND lower(name->>'family') LIKE $1
        AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(name->'given') g WHERE lower(g) LIKE $2))
        AND ($3::text IS NULL OR birth_date = $3)
      ORDER BY lower(name->>'family'), id LIMIT $4`,
    [likePrefix(q.family), q.given ? likePrefix(q.given) : null, q.birthDate ?? null, limit],
  );
  return rows.map((r) => r.id);
}

/**
 * The active golden record a SMART launch patient stands for: a golden id (a merged one answers
 * with its survivor) or a source record (connection and FHIR Patient id) through its current link
 * (records follow merges and unlinks). Undefined when the MPI knows neither.
 */
export async function activeGoldenId(
  db: Queryable,
  ref: { readonly goldenId: string } | { readonly source: string; readonly sourcePatientId: string },
): Promise<string | undefined> {
  const byGolden = 'goldenId' in ref;
  const { rows } = await db.query<{ id: string }>(
    `WITH RECURSIVE chain (id, status, merged_into, depth) AS (
       SELECT g.id, g.status, g.merged_into, 0 FROM golden_patient g
       WHERE g.id = CASE WHEN $1::uuid IS NOT NULL THEN $1::uuid ELSE
         (SELECT s.golden_id FROM source_record s WHERE s.source = $2 AND s.source_patient_id = $3 AND s.deleted_at IS NULL) END
       UNION ALL
       SELECT g.id, g.status, g.merged_into, c.depth + 1 FROM chain c JOIN golden_patient g ON g.id = c.merged_into
       WHERE c.status = 'MERGED' AND c.depth < 32)
     SELECT id FROM chain WHERE status = 'ACTIVE' LIMIT 1`,
    byGolden ? [ref.goldenId, null, null] : [null, ref.source, ref.sourcePatientId],
  );
  return rows[0]?.id;
}

/**
 * The active golden record each of these golden ids stands for (a merged id answers with its
 * survivor), in one statement; ids the MPI does not know are absent from the result.
 */
export async function activeGoldenIds(db: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ requested: string; id: string }>(
    `WITH RECURSIVE chain (requested, id, status, merged_into, depth) AS (
       SELECT g.id, g.id, g.status, g.merged_into, 0 FROM golden_patient g WHERE g.id = ANY($1::uuid[])
       UNION ALL
       SELECT c.requested, g.id, g.status, g.merged_into, c.depth + 1 FROM chain c JOIN golden_patient g ON g.id = c.merged_into
       WHERE c.status = 'MERGED' AND c.depth < 32)
     SELECT requested::text, id::text FROM chain WHERE status = 'ACTIVE'`,
    [ids],
  );
  return new Map(rows.map((r) => [r.requested, r.id]));
}

type LinkRow = {
  golden_id: string;
  source: string;
  source_patient_id: string;
  mrn: string | null;
  link_state: LinkState;
  link_origin: LinkOrigin;
  link_score: number | null;
  link_evidence: FieldEvidenceRow[] | null;
  match_reason: string | null;
  data_quality: string[];
  linked_at: Date | string;
};
const LINK_COLUMNS =
  'golden_id, source, source_patient_id, mrn, link_state, link_origin, link_score, link_evidence, match_reason, data_quality, linked_at';
const toLink = (r: LinkRow): SourceLink => ({
  goldenId: r.golden_id,
  source: r.source,
  sourcePatientId: r.source_patient_id,
  mrn: r.mrn,
  state: r.link_state,
  origin: r.link_origin,
  score: r.link_score,
  evidence: r.link_evidence ?? [],
  matchReason: reasonCode(r.match_reason),
  dataQuality: r.data_quality,
  linkedAt: new Date(r.linked_at).toISOString(),
});

export async function linksForGolden(db: Queryable, goldenIds: readonly string[]): Promise<Map<string, SourceLink[]>> {
  const result = new Map<string, SourceLink[]>(goldenIds.map((id) => [id, []]));
  if (goldenIds.length === 0) return result;
  const { rows } = await db.query<LinkRow>(
    `SELECT ${LINK_COLUMNS} FROM source_record WHERE golden_id = ANY($1::uuid[]) AND deleted_at IS NULL ORDER BY source, source_patient_id`,
    [goldenIds],
  );
  for (const r of rows) result.get(r.golden_id)?.push(toLink(r));
  return result;
}

export async function linkBySourceRecord(db: Queryable, source: string, sourcePatientId: string): Promise<SourceLink | undefined> {
  const { rows } = await db.query<LinkRow>(
    `SELECT ${LINK_COLUMNS} FROM source_record WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NULL`,
    [source, sourcePatientId],
  );
  return rows[0] ? toLink(rows[0]) : undefined;
}

/**
 * The live links of many source records in one query (one page of entity lookups), in the order
 * asked; undefined for a record no golden patient holds (never linked, or deleted).
 */
export async function linksBySourceRecords(
  db: Queryable,
  records: readonly { readonly source: string; readonly sourcePatientId: string }[],
): Promise<(SourceLink | undefined)[]> {
  if (records.length === 0) return [];
  const { rows } = await db.query<LinkRow & { i: string }>(
    `SELECT r.i, ${LINK_COLUMNS}
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(src, spid, i)
       JOIN source_record ON source = r.src AND source_patient_id = r.spid AND deleted_at IS NULL`,
    [records.map((r) => r.source), records.map((r) => r.sourcePatientId)],
  );
  const found: (SourceLink | undefined)[] = records.map(() => undefined);
  for (const row of rows) found[Number(row.i) - 1] = toLink(row);
  return found;
}

export type LinkEvent = {
  readonly seq: string;
  readonly at: string;
  readonly source: string;
  readonly sourcePatientId: string;
  readonly goldenId: string;
  readonly previousGoldenId: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  readonly score: number | null;
  readonly evidence: readonly FieldEvidenceRow[];
  readonly action: string;
  /** The steward's reason (manual changes). */
  readonly reason: string | null;
  /** Why the link became what this change made it (UNKNOWN for changes from before reasons were recorded). */
  readonly matchReason: MatchReasonCode;
  readonly actor: string;
};

type EventRow = {
  seq: string;
  at: Date | string;
  source: string;
  source_patient_id: string;
  golden_id: string;
  previous_golden_id: string | null;
  state: LinkState;
  origin: LinkOrigin;
  score: number | null;
  evidence: FieldEvidenceRow[] | null;
  action: string;
  reason: string | null;
  match_reason: string | null;
  actor: string;
};
const toEvent = (r: EventRow): LinkEvent => ({
  seq: String(r.seq),
  at: new Date(r.at).toISOString(),
  source: r.source,
  sourcePatientId: r.source_patient_id,
  goldenId: r.golden_id,
  previousGoldenId: r.previous_golden_id,
  state: r.state,
  origin: r.origin,
  score: r.score,
  evidence: r.evidence ?? [],
  action: r.action,
  reason: r.reason,
  matchReason: reasonCode(r.match_reason),
  actor: r.actor,
});

/** Every link change of one source record, oldest first (soft deletes included). */
export async function linkHistory(db: Queryable, source: string, sourcePatientId: string): Promise<LinkEvent[]> {
  const { rows } = await db.query<EventRow>('SELECT * FROM link_event WHERE source = $1 AND source_patient_id = $2 ORDER BY seq', [
    source,
    sourcePatientId,
  ]);
  return rows.map(toEvent);
}

/** Link changes that moved records into or out of these golden records, oldest first. */
export async function linkHistoryForGolden(db: Queryable, goldenIds: readonly string[]): Promise<Map<string, LinkEvent[]>> {
  const result = new Map<string, LinkEvent[]>(goldenIds.map((id) => [id, []]));
  if (goldenIds.length === 0) return result;
  const { rows } = await db.query<EventRow & { subject: string }>(
    `SELECT e.*, g.id AS subject FROM unnest($1::uuid[]) AS g(id)
     JOIN link_event e ON e.golden_id = g.id OR e.previous_golden_id = g.id ORDER BY e.seq`,
    [goldenIds],
  );
  for (const r of rows) result.get(r.subject)?.push(toEvent(r));
  return result;
}

export type ReviewItem = {
  readonly id: string;
  /** Position in the queue (cursor). */
  readonly seq: string;
  readonly kind: 'POSSIBLE_MATCH' | 'POSSIBLE_DUPLICATE';
  readonly record: { readonly source: string; readonly sourcePatientId: string } | null;
  readonly goldenId: string;
  readonly candidateId: string;
  readonly score: number;
  readonly evidence: readonly FieldEvidenceRow[];
  readonly status: 'OPEN' | 'RESOLVED' | 'OBSOLETE';
  /** Why the pair needs a steward (UNKNOWN for items queued before reasons were recorded). */
  readonly matchReason: MatchReasonCode;
  /** The thresholds in force when the pair was queued (null before they were recorded). */
  readonly thresholds: Thresholds | null;
  /** The item this one reopens (an unmerge reopens what its merge closed), or null. */
  readonly reopens: string | null;
  readonly decision: 'MATCH' | 'NO_MATCH' | null;
  /** The steward's reason for settling it (or the merge's that closed it). */
  readonly reason: string | null;
  readonly resolvedBy: string | null;
  readonly resolvedAt: string | null;
  readonly createdAt: string;
};

type ReviewRow = {
  id: string;
  seq: string;
  kind: ReviewItem['kind'];
  record_source: string | null;
  record_id: string | null;
  golden_id: string;
  candidate_id: string;
  score: number;
  evidence: FieldEvidenceRow[];
  status: ReviewItem['status'];
  match_reason: string | null;
  thresholds: Thresholds | null;
  reopens: string | null;
  decision: ReviewItem['decision'];
  reason: string | null;
  resolved_by: string | null;
  resolved_at: Date | string | null;
  created_at: Date | string;
};
export const toReviewItem = (r: ReviewRow): ReviewItem => ({
  id: r.id,
  seq: String(r.seq),
  kind: r.kind,
  record: r.record_source && r.record_id ? { source: r.record_source, sourcePatientId: r.record_id } : null,
  goldenId: r.golden_id,
  candidateId: r.candidate_id,
  score: r.score,
  evidence: r.evidence,
  status: r.status,
  matchReason: reasonCode(r.match_reason),
  thresholds: r.thresholds ?? null,
  reopens: r.reopens ?? null,
  decision: r.decision,
  reason: r.reason,
  resolvedBy: r.resolved_by,
  resolvedAt: r.resolved_at ? new Date(r.resolved_at).toISOString() : null,
  createdAt: new Date(r.created_at).toISOString(),
});

export async function reviewItemById(db: Queryable, id: string): Promise<ReviewItem | undefined> {
  const { rows } = await db.query<ReviewRow>('SELECT * FROM review_item WHERE id = $1', [id]);
  return rows[0] ? toReviewItem(rows[0]) : undefined;
}

/** How the open review queue is ordered; the queue position `seq` breaks ties, so every order is total. */
export const REVIEW_ORDERS = {
  OLDEST: { sql: 'seq', after: 'seq > $5::bigint' },
  NEWEST: { sql: 'seq DESC', after: 'seq < $5::bigint' },
  HIGHEST_SCORE: { sql: 'score DESC, seq', after: '(score < $6::float8 OR (score = $6::float8 AND seq > $5::bigint))' },
  LOWEST_SCORE: { sql: 'score, seq', after: '(score > $6::float8 OR (score = $6::float8 AND seq > $5::bigint))' },
} as const;
export type ReviewOrder = keyof typeof REVIEW_ORDERS;

/** Which open items: the fields set hold together. `source`: either patient of the pair has a live record there. */
export type ReviewFilter = { readonly source?: string | null; readonly reason?: string | null; readonly kind?: ReviewItem['kind'] | null };

/** Where a page ends, in the terms of every order (the next page starts after it). */
export type ReviewKeyset = { readonly seq: string; readonly score: number };

const REVIEW_FILTER_SQL = `status = 'OPEN'
  AND ($1::text IS NULL OR match_reason = $1 OR ($1 = 'UNKNOWN' AND match_reason IS NULL))
  AND ($2::text IS NULL OR kind = $2)
  AND ($3::text IS NULL OR record_source = $3
    OR EXISTS (SELECT 1 FROM source_record s WHERE s.golden_id = r.golden_id AND s.source = $3 AND s.deleted_at IS NULL)
    OR EXISTS (SELECT 1 FROM source_record s WHERE s.golden_id = r.candidate_id AND s.source = $3 AND s.deleted_at IS NULL))`;

/** Open review items in the given order (keyset paging), plus how many open items the filter selects. */
export async function reviewQueuePage(
  db: Queryable,
  first: number,
  after: ReviewKeyset | undefined,
  { filter = {}, order = 'OLDEST' }: { readonly filter?: ReviewFilter; readonly order?: ReviewOrder } = {},
): Promise<{ items: ReviewItem[]; hasNextPage: boolean; totalCount: number }> {
  const { sql, after: afterSql } = REVIEW_ORDERS[order];
  const where = [filter.reason ?? null, filter.kind ?? null, filter.source ?? null];
  const { rows } = await db.query<ReviewRow>(
    `SELECT * FROM review_item r WHERE ${REVIEW_FILTER_SQL} AND ($5::bigint IS NULL OR ${afterSql}) ORDER BY ${sql} LIMIT $4`,
    // PostgreSQL refuses a parameter the statement does not use: the score only for the score orders.
    [...where, first + 1, after?.seq ?? null, ...(afterSql.includes('$6') ? [after?.score ?? null] : [])],
  );
  const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM review_item r WHERE ${REVIEW_FILTER_SQL}`, where);
  return { items: rows.slice(0, first).map(toReviewItem), hasNextPage: rows.length > first, totalCount: total.rows[0]?.n ?? 0 };
}

/** The open queue as a whole, whose counts are read one facet at a time (each only when asked). */
export type ReviewQueueCountsModel = { readonly openQueue: true };

const REVIEW_COUNT_SQL = {
  reason: `SELECT coalesce(match_reason, 'UNKNOWN') AS key, count(*)::int AS count FROM review_item WHERE status = 'OPEN' GROUP BY 1 ORDER BY 1`,
  kind: `SELECT kind AS key, count(*)::int AS count FROM review_item WHERE status = 'OPEN' GROUP BY 1 ORDER BY 1`,
  // A pair counts once per source, however many records its two patients have there.
  source: `SELECT source AS key, count(DISTINCT id)::int AS count FROM (
              SELECT s.source, r.id FROM review_item r JOIN source_record s ON s.golden_id = r.golden_id
               WHERE r.status = 'OPEN' AND s.deleted_at IS NULL
              UNION ALL
              SELECT s.source, r.id FROM review_item r JOIN source_record s ON s.golden_id = r.candidate_id
               WHERE r.status = 'OPEN' AND s.deleted_at IS NULL) x
            GROUP BY 1 ORDER BY 1`,
} as const;

/** How many open review items each reason, kind or source connection has. */
export async function reviewQueueCounts(db: Queryable, facet: keyof typeof REVIEW_COUNT_SQL): Promise<{ key: string; count: number }[]> {
  return (await db.query<{ key: string; count: number }>(REVIEW_COUNT_SQL[facet])).rows;
}
