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
  {
    // attempts: how many times the resource was refused (loads and re-processing alike), so an
    // integration engineer tells a one-off from a resource that keeps failing. subject_id: the
    // source patient the resource is about, in clear like source_record's keys, so that listing
    // quarantine can be audited per patient without opening the sealed payload.
    id: 'quarantine-003-attempts-subject',
    sql: `
      ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 1;
      ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS subject_id text;
      CREATE INDEX IF NOT EXISTS quarantine_seen ON quarantine (last_seen_at)`,
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
  readonly subjectId: string | null;
  readonly issues: readonly TranslationIssue[];
  readonly payload: SealedPayload;
};

/** The source patient id a resource is about: a Patient's own id, else its `subject` or `patient` reference; null when none. */
export function quarantineSubject(payload: unknown): string | null {
  if (!payload || typeof payload !== 'object') return null;
  const r = payload as { resourceType?: unknown; id?: unknown; subject?: { reference?: unknown }; patient?: { reference?: unknown } };
  if (r.resourceType === 'Patient') return typeof r.id === 'string' && r.id !== '' ? r.id : null;
  const ref = r.subject?.reference ?? r.patient?.reference;
  const m = typeof ref === 'string' ? /(?:^|\/)Patient\/([^/]+)$/.exec(ref) : null;
  return m?.[1] ?? null;
}

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
      subjectId: quarantineSubject(e.payload),
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
    `INSERT INTO quarantine (source, resource_type, resource_id, payload_key, subject_id, issues, payload)
     SELECT e->>'source', e->>'resourceType', e->>'resourceId', e->>'payloadKey', e->>'subjectId', e->'issues', e->'payload'
     FROM jsonb_array_elements($1::jsonb) AS e
     ON CONFLICT (source, resource_type, resource_id, payload_key)
     DO UPDATE SET issues = EXCLUDED.issues, payload = EXCLUDED.payload, subject_id = EXCLUDED.subject_id,
       attempts = quarantine.attempts + 1, last_seen_at = now()`,
    [rows],
  );
}
