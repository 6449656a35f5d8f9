// Invalid source data is never dropped and never half-loaded: it is kept here with the reasons
// it was refused, one row per (source, resource), updated when the source sends it again.
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
];

export type QuarantineEntry = {
  readonly source: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly issues: readonly TranslationIssue[];
  readonly payload: unknown;
};

/** Stores refused resources; their payloads are PHI and are sealed (encrypted) by `seal`. */
export async function quarantine(db: Queryable, entries: readonly QuarantineEntry[], seal: (payload: unknown) => unknown): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `INSERT INTO quarantine (source, resource_type, resource_id, issues, payload)
     SELECT e->>'source', e->>'resourceType', e->>'resourceId', e->'issues', e->'payload' FROM jsonb_array_elements($1::jsonb) AS e
     ON CONFLICT (source, resource_type, resource_id) DO UPDATE SET issues = EXCLUDED.issues, payload = EXCLUDED.payload, last_seen_at = now()`,
    [JSON.stringify(entries.map((e) => ({ ...e, resourceId: e.resourceId || '(no id)', payload: seal(e.payload) })))],
  );
}
