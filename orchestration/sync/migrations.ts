// Incremental FHIR sync's own state (layer 3), in the database every process shares:
// - sync_watermark: per connection and resource type, the newest source lastUpdated whose
//   resources are committed to the inbox (the next poll asks from there, minus a small overlap);
// - connection_health: per connection, what the last calls said (circuit breaker state and since
//   when, last success, last error code) and which FHIR version and software the EHR announced, so
//   that every process (and ingestionStatus) sees the same picture.
// - connection_health also keeps the last reconciliation (reconcile.ts): when it last completed, how
//   many deletions it sent, and the warning of one it refused (too many records absent at once).
// Neither holds PHI: connection ids, resource type names, instants, error codes, software names, counts.
import type { Migration } from '../../platform/db.ts';

export const SYNC_MIGRATIONS: readonly Migration[] = [
  {
    id: 'sync-001-watermarks-health',
    sql: `
      CREATE TABLE IF NOT EXISTS sync_watermark (
        connection_id text NOT NULL,
        resource_type text NOT NULL,
        watermark timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (connection_id, resource_type)
      );
      CREATE TABLE IF NOT EXISTS connection_health (
        connection_id text PRIMARY KEY,
        breaker_state text NOT NULL DEFAULT 'closed' CHECK (breaker_state IN ('closed', 'open', 'half-open')),
        breaker_since timestamptz NOT NULL DEFAULT now(),
        last_success_at timestamptz,
        last_error_at timestamptz,
        last_error_code text,
        last_sync_at timestamptz,
        fhir_version text,
        software_name text,
        software_version text,
        capability_checked_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
  },
  {
    id: 'sync-002-reconciliation',
    sql: `
      ALTER TABLE connection_health
        ADD COLUMN IF NOT EXISTS reconciled_at timestamptz,
        ADD COLUMN IF NOT EXISTS reconcile_deletions integer,
        ADD COLUMN IF NOT EXISTS reconcile_warning text,
        ADD COLUMN IF NOT EXISTS reconcile_warning_at timestamptz`,
  },
];
