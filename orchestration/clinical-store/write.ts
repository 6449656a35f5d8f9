// Writes canonical items, set-based: three statements per batch whatever its size.
//   1. New items are inserted (ON CONFLICT DO NOTHING: a concurrent writer of the same new item
//      makes this one wait, then leave it to statement 2).
//   2. Existing items whose stored version differs are locked (FOR UPDATE returns the latest
//      committed version after waiting), and those the input is newer than move to history and
//      are replaced, in one statement.
// The same version again matches nothing in either statement: no row is written or locked (unless
// the item was marked deleted at its source: it is back). An older version arriving late is not
// newer than what is stored: ignored.
import type { Database, Queryable } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { CanonicalItem } from '../../translation/fhir-r4/clinical-item.ts';
import { ITEM_COLUMNS } from './migrations.ts';

const TYPES: Record<(typeof ITEM_COLUMNS)[number], string> = {
  resource_type: 'text',
  source: 'text',
  resource_id: 'text',
  version: 'text',
  version_order: 'text',
  content_digest: 'text',
  subject_id: 'text',
  code_system: 'text',
  code: 'text',
  codes: 'text[]',
  effective_at: 'timestamptz',
  effective_precision: 'text',
  value_num: 'numeric',
  value_unit: 'text',
  original_value: 'text',
  original_unit: 'text',
  fact_key: 'text',
  resource: 'jsonb',
  flags: 'jsonb',
  lineage: 'jsonb',
  message_id: 'text',
  map_ids: 'text[]',
  retrieved_at: 'timestamptz',
  entered_in_error: 'boolean',
};

const cols = ITEM_COLUMNS.join(', ');
const prefixed = (alias: string): string => ITEM_COLUMNS.map((c) => `${alias}.${c}`).join(', ');
const INPUT = `jsonb_to_recordset($1::jsonb) AS x(${ITEM_COLUMNS.map((c) => `${c} ${TYPES[c]}`).join(', ')})`;
const KEY = (a: string, b: string): string =>
  `${a}.source = ${b}.source AND ${a}.resource_type = ${b}.resource_type AND ${a}.resource_id = ${b}.resource_id`;

// NOT EXISTS first: ON CONFLICT alone would draw an id from the sequence for every item already stored.
const INSERT_NEW = `INSERT INTO clinical_item (${cols}) SELECT ${cols} FROM ${INPUT}
  WHERE NOT EXISTS (SELECT 1 FROM clinical_item c WHERE ${KEY('c', 'x')})
  ON CONFLICT (source, resource_type, resource_id) DO NOTHING RETURNING 1`;

const REPLACE_NEWER = `WITH input AS (SELECT ${cols} FROM ${INPUT}),
  current AS (
    SELECT c.id, ${prefixed('c')} FROM clinical_item c JOIN input i ON ${KEY('c', 'i')}
    WHERE c.version <> i.version FOR UPDATE OF c
  ),
  newer AS (
    SELECT c.id AS target, ${prefixed('i')} FROM input i JOIN current c ON ${KEY('c', 'i')}
    WHERE i.version <> c.version AND i.version_order > c.version_order
  ),
  moved AS (
    INSERT INTO clinical_item_history (${cols}) SELECT ${prefixed('c')} FROM current c JOIN newer n ON n.target = c.id
    ON CONFLICT DO NOTHING RETURNING 1
  ),
  replaced AS (
    UPDATE clinical_item t SET (${cols}, stored_at, deleted_at, deleted_message_id) = (${prefixed('n')}, now(), NULL, NULL)
    FROM newer n WHERE t.id = n.target RETURNING 1
  ),
  revived AS (
    UPDATE clinical_item t SET deleted_at = NULL, deleted_message_id = NULL FROM input i
    WHERE ${KEY('t', 'i')} AND t.version = i.version AND t.deleted_at IS NOT NULL RETURNING 1
  )
  SELECT (SELECT count(*) FROM replaced)::int AS replaced, (SELECT count(*) FROM moved)::int AS moved,
    (SELECT count(*) FROM revived)::int AS revived`;

// 3. The tokens of the batch the store does not know yet (clinical_code_token: code prefixes expand
//    to them). Known ones are not written again (no row lock, no WAL for the usual batch); new ones
//    in token order, so two writers adding the same tokens wait for each other, never deadlock.
const ADD_TOKENS = `INSERT INTO clinical_code_token (token)
  SELECT DISTINCT t FROM jsonb_to_recordset($1::jsonb) AS x(codes text[]), unnest(x.codes) AS t
  WHERE NOT EXISTS (SELECT 1 FROM clinical_code_token k WHERE k.token = t)
  ORDER BY t ON CONFLICT DO NOTHING`;

export type StoreReport = {
  readonly inserted: number;
  /** Replaced by a newer version; the old one is in history. */
  readonly updated: number;
  /** The same version again, or an older one than stored (a stored one marked deleted comes back: counted here too). */
  readonly unchanged: number;
};

/** What a complete read of some patients' resources of one type from one source returned. */
export type CompleteRead = {
  readonly source: string;
  readonly resourceType: string;
  readonly subjectIds: readonly string[];
  /** Every resource id the source returned for those patients; must be the whole answer, not a truncated one. */
  readonly present: readonly string[];
};

/**
 * Marks deleted the stored items of those patients the source no longer returns (deleted there, or
 * moved to another patient): kept for lineage, left out of the views. Only for a complete read: a
 * truncated one says nothing about what it did not return. One statement; returns how many.
 */
export async function retireAbsent(db: Queryable, read: CompleteRead): Promise<number> {
  if (read.subjectIds.length === 0) return 0;
  const { rows } = await db.query(
    `UPDATE clinical_item SET deleted_at = now()
     WHERE source = $1 AND resource_type = $2 AND subject_id = ANY($3::text[]) AND deleted_at IS NULL
       AND NOT (resource_id = ANY($4::text[])) RETURNING 1`,
    [read.source, read.resourceType, read.subjectIds, read.present],
  );
  return rows.length;
}

/**
 * Marks deleted one stored item the source deleted (a reconciliation's delete event, `messageId`),
 * if it is still the version the event names: a newer one stored since is not what was found
 * absent. Kept with its lineage, left out of the views. Whether it changed anything.
 */
export async function retireDeleted(
  db: Queryable,
  ref: { readonly source: string; readonly resourceType: string; readonly resourceId: string; readonly version: string | null },
  messageId: string,
): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE clinical_item SET deleted_at = now(), deleted_message_id = $5
     WHERE source = $1 AND resource_type = $2 AND resource_id = $3 AND version IS NOT DISTINCT FROM $4 AND deleted_at IS NULL RETURNING 1`,
    [ref.source, ref.resourceType, ref.resourceId, ref.version, messageId],
  );
  return rows.length > 0;
}

/** A row for the recordset; protected identifiers inside the resource are sealed like the MPI's. */
function toRow(item: CanonicalItem, protection: Pick<IdentifierProtection, 'seal'>): Record<string, unknown> {
  const ids = item.resource.identifier;
  type Id = { system: string; value: string };
  const sealable = (i: unknown): i is Id => typeof (i as Id)?.system === 'string' && typeof (i as Id)?.value === 'string';
  const resource = Array.isArray(ids)
    ? { ...item.resource, identifier: ids.map((i: unknown) => (sealable(i) ? protection.seal([i])[0] : i)) }
    : item.resource;
  return {
    resource_type: item.resourceType,
    source: item.source,
    resource_id: item.resourceId,
    version: item.version,
    version_order: item.versionOrder,
    content_digest: item.contentDigest,
    subject_id: item.subjectId,
    code_system: item.code?.system ?? null,
    code: item.code?.code ?? null,
    codes: item.codes,
    effective_at: item.effective?.instant ?? null,
    effective_precision: item.effective?.precision ?? null,
    value_num: item.value?.value ?? null,
    value_unit: item.value?.unit ?? null,
    original_value: item.value?.originalValue ?? null,
    original_unit: item.value?.originalUnit ?? null,
    fact_key: item.factKey,
    resource,
    flags: item.flags,
    lineage: item.lineage,
    message_id: item.lineage.messageId,
    map_ids: [...new Set(item.lineage.transformations.map((t) => t.mapId).filter((m) => m !== null))],
    retrieved_at: item.lineage.retrievedAt,
    entered_in_error: item.enteredInError,
  };
}

/** One item per resource: the newest version in the batch (a statement cannot touch a row twice). */
export function newestPerResource(items: readonly CanonicalItem[]): CanonicalItem[] {
  const newest = new Map<string, CanonicalItem>();
  for (const item of items) {
    const key = JSON.stringify([item.source, item.resourceType, item.resourceId]);
    const seen = newest.get(key);
    if (!seen || item.versionOrder > seen.versionOrder) newest.set(key, item);
  }
  return [...newest.values()];
}

const isDatabase = (db: Database | Queryable): db is Database => typeof (db as Database).transaction === 'function';

/** Stores items idempotently (see the file's comment); in one transaction unless `db` is already one. */
export async function storeItems(
  db: Database | Queryable,
  items: readonly CanonicalItem[],
  protection: Pick<IdentifierProtection, 'seal'>,
): Promise<StoreReport> {
  if (items.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const batch = newestPerResource(items);
  const rows = JSON.stringify(batch.map((i) => toRow(i, protection)));
  const write = async (tx: Queryable): Promise<StoreReport> => {
    const inserted = (await tx.query(INSERT_NEW, [rows])).rows.length;
    const r = (await tx.query<{ replaced: number }>(REPLACE_NEWER, [rows])).rows[0]!;
    await tx.query(ADD_TOKENS, [rows]);
    return { inserted, updated: r.replaced, unchanged: items.length - inserted - r.replaced };
  };
  return isDatabase(db) ? db.transaction(write) : write(db);
}
