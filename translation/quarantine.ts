// Invalid source data is never dropped and never half-loaded: it is kept here with the reasons
// it was refused. A row is one resource as the source sent it: its source, type and id, and a keyed
// digest of its content. The digest keeps apart resources the id cannot (a source may send several
// resources without an id, or two different ones under the same id, in one page), and gives a
// resource without an id a stable identity, so loading the same data again adds no row: it updates
// the reasons and `last_seen_at` of the rows already there.
import type { Migration, Queryable } from '../platform/db.ts';
import type { TranslationIssue } from './issues.ts';

export const QUARANTINE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'quarantine-001',
    sql: `
      CREATE TABLE IF NOT EXISTS quarantine (
        source text NOT NULL,
        resource_type text NOT NULL,
        resource_id text NOT NULL,
        issues jsonb NOT NULL,
        payload jsonb NOT NULL,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, resource_type, resource_id)
      )`,
  },
  {
    // Rows quarantined before keep an empty key until their resource is seen again (see quarantine()).
    id: 'quarantine-002-payload-key',
    sql: `
      ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS payload_key text NOT NULL DEFAULT '';
      ALTER TABLE quarantine DROP CONSTRAINT IF EXISTS quarantine_pkey;
      ALTER TABLE quarantine ADD PRIMARY KEY (source, resource_type, resource_id, payload_key)`,
  },
];

/** What `resource_id` holds for a resource that came without an id. */
export const NO_ID = '(no id)';

export type QuarantineEntry = {
  readonly source: string;
  readonly resourceType: string;
  /** The source's id, '' when the resource has none. */
  readonly resourceId: string;
  readonly issues: readonly TranslationIssue[];
  readonly payload: unknown;
};

/**
 * A payload as stored: sealed (encrypted: it is PHI) with a digest of its plaintext that is the
 * same every time the same content is sealed (keyed, so that it cannot be confirmed by guessing
 * a patient's data: security/identifier-protection.ts).
 */
export type SealedPayload = { readonly digest: string };

type Row = {
  readonly source: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly payloadKey: string;
  readonly issues: readonly TranslationIssue[];
  readonly payload: SealedPayload;
};

/** One row per distinct resource: the same resource twice in one batch is one row (an insert cannot touch a row twice). */
export function quarantineRows(entries: readonly QuarantineEntry[], seal: (payload: unknown) => SealedPayload): Row[] {
  const rows = new Map<string, Row>();
  for (const e of entries) {
    const payload = seal(e.payload);
    const row = {
      source: e.source,
      resourceType: e.resourceType,
      resourceId: e.resourceId || NO_ID,
      payloadKey: payload.digest,
      issues: e.issues,
      payload,
    };
    rows.set(JSON.stringify([row.source, row.resourceType, row.resourceId, row.payloadKey]), row);
  }
  return [...rows.values()];
}

/** Stores refused resources; their payloads are PHI and are sealed (encrypted) by `seal`. */
export async function quarantine(
  db: Queryable,
  entries: readonly QuarantineEntry[],
  seal: (payload: unknown) => SealedPayload,
): Promise<void> {
  if (entries.length === 0) return;
  const rows = JSON.stringify(quarantineRows(entries, seal));
  // A row stored before payload keys existed (key '') is the same resource when the source's id
  // matches: it takes the key rather than leaving a second row beside it.
  await db.query(
    `UPDATE quarantine q SET payload_key = e->>'payloadKey'
     FROM jsonb_array_elements($1::jsonb) AS e
     WHERE q.payload_key = '' AND q.resource_id <> '${NO_ID}'
       AND q.source = e->>'source' AND q.resource_type = e->>'resourceType' AND q.resource_id = e->>'resourceId'`,
    [rows],
  );
  await db.query(
    `INSERT INTO quarantine (source, resource_type, resource_id, payload_key, issues, payload)
     SELECT e->>'source', e->>'resourceType', e->>'resourceId', e->>'payloadKey', e->'issues', e->'payload'
     FROM jsonb_array_elements($1::jsonb) AS e
     ON CONFLICT (source, resource_type, resource_id, payload_key)
     DO UPDATE SET issues = EXCLUDED.issues, payload = EXCLUDED.payload, last_seen_at = now()`,
    [rows],
  );
}
