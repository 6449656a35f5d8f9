// Reading the audit log: filtered (a patient's trail across identity changes, an actor, a time
// range), keyset-paginated newest first, and counted only on request (README.md beside this file,
// "Reading the log"). fhir.ts exports the same rows as FHIR AuditEvent resources.
import type { Queryable } from '../../platform/db.ts';
import { identityOf, trailScopes, type TrailScope } from './trail.ts';

export { toFhirAuditEvent } from './fhir.ts';

export type AuditFilter = {
  /** Golden patient id: the person's trail (trail.ts): their golden ids and records, past links included. */
  readonly patientId?: string | null;
  readonly actor?: string | null;
  /** ISO 8601 instants, inclusive lower and exclusive upper bound. */
  readonly from?: string | null;
  readonly to?: string | null;
  /** The patient's trail, when already computed (withTrail): a page and its count then share it. */
  readonly scopes?: readonly TrailScope[];
};

/** The filter with its patient's trail computed once. */
export async function withTrail(db: Queryable, filter: AuditFilter): Promise<AuditFilter> {
  return filter.patientId && !filter.scopes ? { ...filter, scopes: trailScopes(await identityOf(db, filter.patientId)) } : filter;
}

export type AuditEventRecord = {
  readonly seq: string;
  readonly recordedAt: string;
  readonly requestId: string;
  readonly traceparent: string | null;
  readonly subgraph: string;
  readonly subgraphVersion: string | null;
  readonly actorSub: string;
  readonly actorRoles: readonly string[];
  readonly clientId: string | null;
  readonly clientIp: string | null;
  readonly purposeOfUse: string | null;
  readonly breakGlassReason: string | null;
  readonly patientRef: string | null;
  readonly fields: readonly string[];
  readonly operationName: string | null;
  readonly documentHash: string | null;
  readonly decision: string;
  readonly outcome: string | null;
};

type Row = {
  seq: string;
  recorded_at: Date | string;
  request_id: string;
  traceparent: string | null;
  subgraph: string;
  subgraph_version: string | null;
  actor_sub: string;
  actor_roles: string[];
  client_id: string | null;
  client_ip: string | null;
  purpose_of_use: string | null;
  break_glass_reason: string | null;
  patient_ref: string | null;
  fields: string[];
  operation_name: string | null;
  document_hash: string | null;
  decision: string;
  outcome: string | null;
};

const toRecord = (r: Row): AuditEventRecord => ({
  seq: r.seq,
  recordedAt: new Date(r.recorded_at).toISOString(),
  requestId: r.request_id,
  traceparent: r.traceparent,
  subgraph: r.subgraph,
  subgraphVersion: r.subgraph_version,
  actorSub: r.actor_sub,
  actorRoles: r.actor_roles,
  clientId: r.client_id,
  clientIp: r.client_ip,
  purposeOfUse: r.purpose_of_use,
  breakGlassReason: r.break_glass_reason,
  patientRef: r.patient_ref,
  fields: r.fields,
  operationName: r.operation_name,
  documentHash: r.document_hash,
  decision: r.decision,
  outcome: r.outcome,
});

const COLUMNS = [
  'seq',
  'recorded_at',
  'request_id',
  'traceparent',
  'subgraph',
  'subgraph_version',
  'actor_sub',
  'actor_roles',
  'client_id',
  'client_ip',
  'purpose_of_use',
  'break_glass_reason',
  'patient_ref',
  'fields',
  'operation_name',
  'document_hash',
  'decision',
  'outcome',
];
const select = (alias: string): string => COLUMNS.map((c) => (c === 'seq' ? `${alias}.seq::text AS seq` : `${alias}.${c}`)).join(', ');

/**
 * Where the next page starts: strictly older than this row. `recordedAt` (the row's recordedAt, to the
 * millisecond) is optional: it only lets PostgreSQL skip newer partitions and index ranges.
 */
export type AuditCursor = { readonly seq: string; readonly recordedAt?: string | null };

/** Counting stops here for patient and actor filters (`exact: false` beyond). */
export const AUDIT_COUNT_CAP = 10_000;

/** The trail's scopes as parallel arrays for unnest() (unbounded ends as infinities). */
const scopeArrays = (scopes: readonly TrailScope[]) => [
  scopes.map((s) => s.ref),
  scopes.map((s) => s.from ?? '-infinity'),
  scopes.map((s) => s.to ?? 'infinity'),
];

const upperBound = (cursor: AuditCursor | null): string | null =>
  cursor?.recordedAt ? new Date(Date.parse(cursor.recordedAt) + 1).toISOString() : null;

// Rows are appended in seq order with a recorded_at that never goes back (audit_append), so
// "newest first" is both seq DESC and (recorded_at DESC, seq DESC): filtered pages walk the
// (patient_ref, recorded_at) and (actor_sub, recorded_at) indexes backwards, the unfiltered one
// the primary key (seq, recorded_at).

/**
 * One page, newest first, older than `before` (a cursor, or the seq of the last row of the previous page).
 * hasNextPage says whether older rows match.
 */
export async function auditEventPage(
  db: Queryable,
  filter: AuditFilter,
  first: number,
  before: AuditCursor | string | null,
): Promise<{ events: AuditEventRecord[]; hasNextPage: boolean }> {
  const cursor = typeof before === 'string' ? { seq: before } : before;
  const time = [filter.from ?? null, filter.to ?? null, upperBound(cursor)];
  const seq = cursor?.seq ?? null;
  let rows: Row[];
  if (filter.patientId) {
    const { scopes = [] } = await withTrail(db, filter);
    ({ rows } = await db.query<Row>(
      `SELECT ${select('x')} FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS s (ref, lo, hi)
       CROSS JOIN LATERAL (
         SELECT e.* FROM audit_event e
         WHERE e.patient_ref = s.ref AND e.recorded_at >= greatest(s.lo, $4::timestamptz) AND e.recorded_at < least(s.hi, $5::timestamptz, $6::timestamptz)
           AND ($7::text IS NULL OR e.actor_sub = $7) AND ($8::bigint IS NULL OR e.seq < $8::bigint)
         ORDER BY e.recorded_at DESC, e.seq DESC LIMIT $9) AS x
       ORDER BY x.seq DESC LIMIT $9`,
      [...scopeArrays(scopes), ...time, filter.actor ?? null, seq, first + 1],
    ));
  } else if (filter.actor) {
    ({ rows } = await db.query<Row>(
      `SELECT ${select('e')} FROM audit_event e
       WHERE e.actor_sub = $1 AND e.recorded_at >= coalesce($2::timestamptz, '-infinity') AND e.recorded_at < least($3::timestamptz, $4::timestamptz, 'infinity')
         AND ($5::bigint IS NULL OR e.seq < $5::bigint)
       ORDER BY e.recorded_at DESC, e.seq DESC LIMIT $6`,
      [filter.actor, ...time, seq, first + 1],
    ));
  } else {
    ({ rows } = await db.query<Row>(
      `SELECT ${select('e')} FROM audit_event e
       WHERE e.recorded_at >= coalesce($1::timestamptz, '-infinity') AND e.recorded_at < least($2::timestamptz, $3::timestamptz, 'infinity')
         AND ($4::bigint IS NULL OR e.seq < $4::bigint)
       ORDER BY e.seq DESC LIMIT $5`,
      [...time, seq, first + 1],
    ));
  }
  return { events: rows.slice(0, first).map(toRecord), hasNextPage: rows.length > first };
}

/**
 * How many rows match. Without a patient or actor filter the count is exact and costs a few index
 * probes: seqs have no gaps, so it is a difference of seqs (the first at or after `from`, found by
 * bisection since recorded_at never goes back). With one, rows are counted up to `cap`.
 */
export async function auditEventCount(
  db: Queryable,
  filter: AuditFilter,
  cap: number = AUDIT_COUNT_CAP,
): Promise<{ count: number; exact: boolean }> {
  const time = [filter.from ?? null, filter.to ?? null];
  if (!filter.patientId && !filter.actor && !filter.from && !filter.to) {
    const { rows } = await db.query<{ n: string | null }>('SELECT (max(seq) - min(seq) + 1)::text AS n FROM audit_event');
    return { count: Number(rows[0]?.n ?? 0), exact: true };
  }
  if (!filter.patientId && !filter.actor) {
    const { rows } = await db.query<{ n: string }>(
      `WITH RECURSIVE bounds AS (SELECT min(seq) AS lo, max(seq) + 1 AS hi FROM audit_event),
       -- k = 0: the first seq recorded at or after \`from\`; k = 1: the first at or after \`to\` (bisection in [lo, hi)).
       search (k, t, lo, hi) AS (
         SELECT v.k, v.t, b.lo, b.hi FROM bounds b, (VALUES (0, $1::timestamptz), (1, $2::timestamptz)) AS v (k, t) WHERE v.t IS NOT NULL
         UNION ALL
         SELECT s.k, s.t, CASE WHEN m.later THEN s.lo ELSE (s.lo + s.hi) / 2 + 1 END, CASE WHEN m.later THEN (s.lo + s.hi) / 2 ELSE s.hi END
         FROM search s CROSS JOIN LATERAL (
           SELECT coalesce((SELECT e.recorded_at >= s.t FROM audit_event e WHERE e.seq = (s.lo + s.hi) / 2 LIMIT 1), true) AS later) AS m
         WHERE s.lo < s.hi)
       SELECT greatest(0, coalesce((SELECT max(lo) FROM search WHERE k = 1 AND lo >= hi), b.hi) - coalesce((SELECT max(lo) FROM search WHERE k = 0 AND lo >= hi), b.lo))::text AS n
       FROM bounds b`,
      time,
    );
    return { count: Number(rows[0]?.n ?? 0), exact: true };
  }
  let n: number;
  if (filter.patientId) {
    const { scopes = [] } = await withTrail(db, filter);
    ({ n } = (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT 1 FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS s (ref, lo, hi)
           CROSS JOIN LATERAL (
             SELECT 1 FROM audit_event e
             WHERE e.patient_ref = s.ref AND e.recorded_at >= greatest(s.lo, $4::timestamptz) AND e.recorded_at < least(s.hi, $5::timestamptz)
               AND ($6::text IS NULL OR e.actor_sub = $6) LIMIT $7) AS x
           LIMIT $7) AS c`,
        [...scopeArrays(scopes), ...time, filter.actor ?? null, cap + 1],
      )
    ).rows[0]!);
  } else {
    ({ n } = (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT 1 FROM audit_event e
           WHERE e.actor_sub = $1 AND e.recorded_at >= coalesce($2::timestamptz, '-infinity') AND e.recorded_at < coalesce($3::timestamptz, 'infinity')
           LIMIT $4) AS c`,
        [filter.actor, ...time, cap + 1],
      )
    ).rows[0]!);
  }
  return { count: Math.min(n, cap), exact: n <= cap };
}
