// Quarantine as integration engineers read it (layer 3): refused resources with the reasons they
// were refused, filtered by source, type and reason, a page at a time. The sealed payload is never
// read here; what is listed (source, type, id, reasons, times, attempts) is what the table holds
// in clear. One statement a page, keyset on the primary key.
import type { Queryable } from '../../platform/db.ts';
import type { TranslationIssue } from '../../translation/issues.ts';
import { toOperationOutcome, type OperationOutcome } from '../../translation/outcome.ts';

/** A quarantine row's primary key. */
export type QuarantineKey = {
  readonly source: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly payloadKey: string;
};

export type QuarantineFilter = {
  readonly source?: string | null;
  readonly resourceType?: string | null;
  /** Words of a reason: matches an entry when one of its issues' messages contains them (case-insensitive). */
  readonly reason?: string | null;
};

export type QuarantinedResource = QuarantineKey & {
  /** The source patient the resource is about, when it names one (for audit; never shown). */
  readonly subjectId: string | null;
  readonly outcome: OperationOutcome;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
  readonly attempts: number;
};

export type QuarantinePage = { readonly entries: readonly QuarantinedResource[]; readonly hasNextPage: boolean };

export const MAX_QUARANTINE_PAGE = 500;

type Row = {
  source: string;
  resource_type: string;
  resource_id: string;
  payload_key: string;
  subject_id: string | null;
  issues: TranslationIssue[];
  first_seen_at: Date | string;
  last_seen_at: Date | string;
  attempts: number;
};

const iso = (v: Date | string): string => new Date(v).toISOString();

export const toQuarantined = (r: Row): QuarantinedResource => ({
  source: r.source,
  resourceType: r.resource_type,
  resourceId: r.resource_id,
  payloadKey: r.payload_key,
  subjectId: r.subject_id,
  outcome: toOperationOutcome(r.issues),
  firstSeenAt: iso(r.first_seen_at),
  lastSeenAt: iso(r.last_seen_at),
  attempts: Number(r.attempts),
});

/** `LIKE` text for words matched anywhere, with the pattern characters escaped. */
const contains = (words: string): string => `%${words.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The WHERE clause of a filter, its parameters numbered from `first`. */
export function quarantineWhere(f: QuarantineFilter, first = 1): { readonly sql: string; readonly params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    parts.push(sql(first + params.length - 1));
  };
  if (f.source) add((n) => `q.source = $${n}`, f.source);
  if (f.resourceType) add((n) => `q.resource_type = $${n}`, f.resourceType);
  if (f.reason)
    add((n) => `EXISTS (SELECT 1 FROM jsonb_array_elements(q.issues) AS i WHERE i->>'message' ILIKE $${n})`, contains(f.reason));
  return { sql: parts.length > 0 ? parts.join(' AND ') : 'TRUE', params };
}

const COLUMNS =
  'q.source, q.resource_type, q.resource_id, q.payload_key, q.subject_id, q.issues, q.first_seen_at, q.last_seen_at, q.attempts';

/** One page of entries in key order, after `after` (a key of the previous page). */
export async function listQuarantine(
  db: Queryable,
  filter: QuarantineFilter,
  first: number,
  after?: QuarantineKey | null,
): Promise<QuarantinePage> {
  const size = Math.max(0, Math.min(first, MAX_QUARANTINE_PAGE));
  const w = quarantineWhere(filter);
  const n = w.params.length;
  const keyset = after
    ? ` AND (q.source, q.resource_type, q.resource_id, q.payload_key) > ($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4})`
    : '';
  const params = after ? [...w.params, after.source, after.resourceType, after.resourceId, after.payloadKey] : w.params;
  const rows = (
    await db.query<Row>(
      `SELECT ${COLUMNS} FROM quarantine q WHERE ${w.sql}${keyset}
       ORDER BY q.source, q.resource_type, q.resource_id, q.payload_key LIMIT ${size + 1}`,
      params,
    )
  ).rows;
  return { entries: rows.slice(0, size).map(toQuarantined), hasNextPage: rows.length > size };
}

/** The rows of these keys (of one source), with their sealed payloads, for re-processing. */
export async function quarantineRowsByKey(
  db: Queryable,
  keys: readonly QuarantineKey[],
): Promise<(QuarantinedResource & { readonly payload: unknown })[]> {
  if (keys.length === 0) return [];
  const rows = (
    await db.query<Row & { payload: unknown }>(
      `SELECT ${COLUMNS}, q.payload FROM quarantine q
       JOIN jsonb_to_recordset($1::jsonb) AS k(source text, "resourceType" text, "resourceId" text, "payloadKey" text)
         ON q.source = k.source AND q.resource_type = k."resourceType" AND q.resource_id = k."resourceId" AND q.payload_key = k."payloadKey"
       ORDER BY q.source, q.resource_type, q.resource_id, q.payload_key`,
      [JSON.stringify(keys)],
    )
  ).rows;
  return rows.map((r) => ({ ...toQuarantined(r), payload: r.payload }));
}

/**
 * The rows a filter selects, at most `limit`, least recently seen first, with their sealed
 * payloads, for re-processing: an entry re-processed and still refused is seen now and goes to
 * the back, so repeated calls work through a quarantine larger than one call.
 */
export async function quarantineRowsByFilter(
  db: Queryable,
  filter: QuarantineFilter,
  limit: number,
): Promise<(QuarantinedResource & { readonly payload: unknown })[]> {
  const w = quarantineWhere(filter);
  const rows = (
    await db.query<Row & { payload: unknown }>(
      `SELECT ${COLUMNS}, q.payload FROM quarantine q WHERE ${w.sql}
       ORDER BY q.last_seen_at, q.source, q.resource_type, q.resource_id, q.payload_key LIMIT ${Math.max(0, Math.floor(limit))}`,
      w.params,
    )
  ).rows;
  return rows.map((r) => ({ ...toQuarantined(r), payload: r.payload }));
}
