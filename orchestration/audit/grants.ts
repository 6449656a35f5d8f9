// Grants for a production PostgreSQL where the application does not own the audit tables (see
// README.md beside this file). The owner (who ran the migrations) keeps ALTER, DROP and the
// retention purge; the application role may only append through audit_append() and
// audit_ensure_partitions() (SECURITY DEFINER, so it cannot choose seq, hashes or recorded_at),
// read the log, and, when it runs the checkpointer, add checkpoints. Without ownership it can
// neither UPDATE, DELETE nor TRUNCATE, nor disable the triggers, nor drop or detach a partition.
// `npm run audit:harden` (runtime/audit-harden.ts) applies all of it; auditRoleRisks() is the
// check the product runs at start in production mode.
import { ProductError } from '../../platform/errors.ts';
import type { Database, Queryable } from '../../platform/db.ts';
import { listAuditPartitions } from './retention.ts';

/** The audit log's tables (besides its monthly partitions) and functions. */
export const AUDIT_TABLES = ['audit_event', 'audit_checkpoint', 'audit_purge', 'audit_chain_head'] as const;

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export const isRoleName = (name: string): boolean => ROLE_NAME.test(name);

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

/**
 * Everything the application role needs on the product's schema, and no more: read and write the
 * MPI's and the other product tables, read schema_migrations, and on the audit log only what
 * auditGrantStatements gives (no UPDATE, DELETE, TRUNCATE, TRIGGER, direct INSERT or ownership).
 */
export async function applicationRoleStatements(db: Database, options: AuditGrantOptions): Promise<string[]> {
  const audit = await auditGrantStatements(db, options);
  const partitions = new Set((await listAuditPartitions(db)).map((p) => p.name));
  const { rows } = await db.query<{ name: string; kind: string }>(
    `SELECT c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'S') AND NOT c.relispartition ORDER BY c.relname`,
    [db.schema],
  );
  const auditOwned = (name: string) =>
    (AUDIT_TABLES as readonly string[]).includes(name) || partitions.has(name) || name.startsWith('audit_');
  const q = (name: string) => `${db.schema}.${name}`;
  const tables = rows.filter((r) => r.kind !== 'S' && !auditOwned(r.name) && r.name !== 'schema_migrations').map((r) => q(r.name));
  const sequences = rows.filter((r) => r.kind === 'S' && !auditOwned(r.name)).map((r) => q(r.name));
  const role = options.appRole;
  return [
    // Creating objects in this schema could shadow the names the SECURITY DEFINER functions use.
    `REVOKE CREATE ON SCHEMA ${db.schema} FROM PUBLIC, ${role}`,
    ...(tables.length > 0 ? [`GRANT SELECT, INSERT, UPDATE, DELETE ON ${tables.join(', ')} TO ${role}`] : []),
    ...(sequences.length > 0 ? [`GRANT USAGE, SELECT ON SEQUENCE ${sequences.join(', ')} TO ${role}`] : []),
    `GRANT SELECT ON ${q('schema_migrations')} TO ${role}`,
    ...audit,
  ];
}

/**
 * Why the connected role could rewrite or erase the audit log, if it could: it is a superuser, it
 * owns (or may act as the owner of) the schema, an audit table or function, or it holds a
 * privilege that bypasses audit_append() (INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER) or CREATE on
 * the schema. Empty when it is held to appending. PostgreSQL only: PGlite has a single superuser.
 */
export async function auditRoleRisks(db: Queryable, schema: string): Promise<string[]> {
  const { rows } = await db.query<{ risk: string }>(
    `WITH me AS (SELECT current_user AS name, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super),
     objects AS (
       SELECT 'schema ' || n.nspname AS what, n.nspowner AS owner FROM pg_namespace n WHERE n.nspname = $1
       UNION ALL
       SELECT 'table ' || c.relname, c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND (c.relname = ANY($2::text[]) OR c.relname LIKE 'audit\\_event\\_%')
       UNION ALL
       SELECT 'function ' || p.oid::regprocedure::text, p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1 AND p.proname IN ('audit_append', 'audit_ensure_partitions', 'audit_refuse'))
     SELECT format('role %s is a superuser', me.name) AS risk FROM me WHERE me.super
     UNION ALL
     SELECT format('role %s owns, or may act as the owner of, %s', me.name, string_agg(o.what, ', ' ORDER BY o.what)) FROM me, objects o
     WHERE NOT me.super AND pg_has_role(me.name, o.owner, 'MEMBER') GROUP BY me.name
     UNION ALL
     SELECT format('role %s may %s on %s', me.name, p.privilege, string_agg(c.relname, ', ' ORDER BY c.relname)) FROM me,
       pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
       unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) AS p (privilege)
     WHERE NOT me.super AND n.nspname = $1 AND c.relkind IN ('r', 'p') AND (c.relname = ANY($2::text[]) OR c.relname LIKE 'audit\\_event\\_%')
       AND NOT pg_has_role(me.name, c.relowner, 'MEMBER')
       AND has_table_privilege(me.name, c.oid, p.privilege)
       AND NOT (c.relname = 'audit_checkpoint' AND p.privilege = 'INSERT')
     GROUP BY me.name, p.privilege
     UNION ALL
     SELECT format('role %s may create objects in schema %s', me.name, $1) FROM me
     WHERE NOT me.super AND has_schema_privilege(me.name, $1, 'CREATE')
       AND NOT pg_has_role(me.name, (SELECT nspowner FROM pg_namespace WHERE nspname = $1), 'MEMBER')`,
    [schema, [...AUDIT_TABLES]],
  );
  return rows.map((r) => r.risk);
}

export type HardenOptions = AuditGrantOptions & {
  /** Password for a LOGIN role created (or updated) here; none leaves authentication to pg_hba (peer, certificates). */
  readonly password?: string | null;
};

export type HardenReport = {
  readonly owner: string;
  readonly createdRole: boolean;
  /** Objects the application role owned, now owned by the connected (owner) role. */
  readonly transferred: readonly string[];
  readonly statements: readonly string[];
  /** auditRoleRisks() as the application role; null when the owner may not SET ROLE to it to check. */
  readonly remainingRisks: readonly string[] | null;
};

/** A hardening that cannot be done as asked (a bad role name, the wrong connecting role): the operator must change the call. */
const refused = (message: string): ProductError => new ProductError('BAD_USER_INPUT', message, { argument: 'app-role' });

/**
 * Run as the owner of the product's schema (migrations already applied): creates the application
 * role when missing, takes back whatever it owns in the schema (a deployment where the application
 * created its own tables), grants it applicationRoleStatements(), then checks, as that role, that
 * nothing lets it rewrite the log. Idempotent.
 */
export async function hardenApplicationRole(db: Database, options: HardenOptions): Promise<HardenReport> {
  const role = options.appRole;
  if (!ROLE_NAME.test(role)) throw refused(`invalid role name ${role} (lower case letters, digits and _)`);
  const me = (await db.query<{ name: string }>('SELECT current_user AS name')).rows[0]!.name;
  if (me === role) throw refused(`connected as ${role} itself: connect as the schema's owner (DATABASE_URL of another role)`);
  const existing = (await db.query<{ super: boolean }>('SELECT rolsuper AS super FROM pg_roles WHERE rolname = $1', [role])).rows[0];
  if (existing?.super) throw refused(`role ${role} is a superuser: the application needs a role that is not`);
  const setPassword = async (verb: 'CREATE' | 'ALTER') => {
    const attrs = verb === 'CREATE' ? 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS' : '';
    const { rows } = await db.query<{ sql: string }>(
      options.password
        ? `SELECT format('%s ROLE %I ${attrs} PASSWORD %L', $1::text, $2::text, $3::text) AS sql`
        : `SELECT format('%s ROLE %I ${attrs}', $1::text, $2::text) AS sql`,
      options.password ? [verb, role, options.password] : [verb, role],
    );
    if (verb === 'CREATE' || options.password) await db.query(rows[0]!.sql);
  };
  await setPassword(existing ? 'ALTER' : 'CREATE');
  const member = await db.query<{ owner: string }>(
    `SELECT DISTINCT pg_get_userbyid(o) AS owner FROM (SELECT nspowner AS o FROM pg_namespace WHERE nspname = $2 UNION SELECT c.relowner FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $2 AND c.relname = ANY($3::text[])) AS x
     WHERE o <> (SELECT oid FROM pg_roles WHERE rolname = $1) AND pg_has_role($1, o, 'MEMBER')`,
    [role, db.schema, [...AUDIT_TABLES]],
  );
  if (member.rows.length > 0)
    throw refused(
      `role ${role} is a member of ${member.rows.map((r) => r.owner).join(', ')}, which owns the audit log: REVOKE that membership first`,
    );
  const transferred: string[] = [];
  // Tables first (their sequences and indexes follow them), then whatever is left, then the schema.
  for (const kind of ['table', 'other'] as const) {
    const { rows } = await db.query<{ what: string; sql: string }>(
      `SELECT c.relname AS what, format('ALTER %s %I.%I OWNER TO CURRENT_USER', CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' WHEN c.relkind = 'v' THEN 'VIEW' ELSE 'TABLE' END, n.nspname, c.relname) AS sql
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $2)
         AND c.relkind IN ('r', 'p', 'S', 'v') AND ((c.relkind IN ('r', 'p')) = $3)
       UNION ALL
       SELECT p.oid::regprocedure::text, format('ALTER FUNCTION %s OWNER TO CURRENT_USER', p.oid::regprocedure) FROM pg_proc p
       JOIN pg_namespace n ON n.oid = p.pronamespace WHERE NOT $3 AND n.nspname = $1 AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = $2)
       UNION ALL
       SELECT 'schema ' || nspname, format('ALTER SCHEMA %I OWNER TO CURRENT_USER', nspname) FROM pg_namespace
       WHERE NOT $3 AND nspname = $1 AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = $2)`,
      [db.schema, role, kind === 'table'],
    );
    for (const r of rows) {
      try {
        await db.query(r.sql);
      } catch (error) {
        throw refused(`cannot take ${r.what} from ${role} (${(error as Error).message}): run this as a superuser or a member of ${role}`);
      }
      transferred.push(r.what);
    }
  }
  const statements = await applicationRoleStatements(db, options);
  for (const statement of statements) await db.query(statement);
  let remainingRisks: string[] | null;
  try {
    remainingRisks = await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL ROLE ${role}`);
      return auditRoleRisks(tx, db.schema);
    });
  } catch {
    remainingRisks = null;
  }
  return { owner: me, createdRole: !existing, transferred, statements, remainingRisks };
}
