// Grants for a production PostgreSQL where the application does not own the audit tables (see
// README.md beside this file). The owner (who ran the migrations) keeps ALTER, DROP and the
// retention purge; the application role may only append through audit_append() and
// audit_ensure_partitions() (SECURITY DEFINER, so it cannot choose seq, hashes or recorded_at),
// read the log, and, when it runs the checkpointer, add checkpoints. Without ownership it can
// neither UPDATE, DELETE nor TRUNCATE, nor disable the triggers, nor drop or detach a partition.
import type { Database } from '../../platform/db.ts';
import { listAuditPartitions } from './retention.ts';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export type AuditGrantOptions = {
  /** The role the application connects as (not the owner). */
  readonly appRole: string;
  /** Whether that role also writes checkpoints (startAuditCheckpoints). */
  readonly checkpoints?: boolean;
};

/** The statements, for review or for a DBA to run (schema and partitions as they are now). */
export async function auditGrantStatements(db: Database, options: AuditGrantOptions): Promise<string[]> {
  if (!ROLE_NAME.test(options.appRole)) throw new Error(`invalid role name ${options.appRole}`);
  const role = options.appRole;
  const partitions = (await listAuditPartitions(db)).map((p) => p.name);
  const tables = ['audit_event', ...partitions, 'audit_checkpoint', 'audit_purge', 'audit_chain_head'].map((t) => `${db.schema}.${t}`);
  return [
    `GRANT USAGE ON SCHEMA ${db.schema} TO ${role}`,
    `REVOKE ALL ON ${tables.join(', ')} FROM ${role}`,
    `REVOKE ALL ON SEQUENCE ${db.schema}.audit_checkpoint_id_seq, ${db.schema}.audit_purge_id_seq FROM ${role}`,
    `GRANT SELECT ON ${db.schema}.audit_event, ${db.schema}.audit_checkpoint, ${db.schema}.audit_purge, ${db.schema}.audit_chain_head TO ${role}`,
    `GRANT EXECUTE ON FUNCTION ${db.schema}.audit_append(jsonb), ${db.schema}.audit_ensure_partitions(timestamptz) TO ${role}`,
    ...(options.checkpoints
      ? [
          `GRANT INSERT ON ${db.schema}.audit_checkpoint TO ${role}`,
          `GRANT USAGE ON SEQUENCE ${db.schema}.audit_checkpoint_id_seq TO ${role}`,
        ]
      : []),
  ];
}

/** Runs auditGrantStatements as the current (owner) role. */
export async function applyAuditGrants(db: Database, options: AuditGrantOptions): Promise<void> {
  for (const statement of await auditGrantStatements(db, options)) await db.query(statement);
}
