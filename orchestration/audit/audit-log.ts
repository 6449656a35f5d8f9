// The audit log: one row per patient touched per request per subgraph (and one per denial),
// written before the response is released. Rows carry who, which patient, which fields (schema
// coordinates), when, why (purpose of use), the operation (name and document hash) and the
// decision; never argument or field values.
//
// Storage (see README.md beside this file):
// * append-only: UPDATE, DELETE and TRUNCATE are refused by triggers (and by grants, once the
//   application role does not own the tables: grants.ts);
// * monthly range partitions on recorded_at, created ahead of time, with a default partition as
//   a safety net; whole partitions leave only through the retention-aware purge (retention.ts);
// * a hash chain: each row carries seq, prev_hash and hash = SHA-256(prev_hash || canonical
//   content) (canonical.ts). One chain for the whole log: audit_append() locks the chain head row,
//   assigns seq and recorded_at, hashes and inserts every row of the call, and moves the head, all
//   in one statement, so appends from any number of processes stay linear and gap-free;
// * signed checkpoints over Merkle roots of contiguous ranges (checkpoint.ts), and an independent
//   verifier (verify.ts, `npm run audit:verify`).
import { readFileSync } from 'node:fs';
import type { Database, Migration, Queryable } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import { logger } from '../../platform/log.ts';
import { metrics } from '../../platform/metrics.ts';
import { traceAuditAppend } from '../../platform/tracing.ts';
import type { Principal } from '../../security/principal.ts';
import { CANONICAL_VERSION, HASHED_FIELDS } from './canonical.ts';
import type { AuditAccess } from './collector.ts';

/** Function bodies on one line: platform/db.ts splits a migration on a semicolon that ends a line. */
const oneLine = (sql: string): string => sql.replace(/\s*\n\s*/g, ' ').trim();

const TEXT_COLUMNS = HASHED_FIELDS.filter((f) => !f.array && f.name !== 'recorded_at').map((f) => f.name);
const ARRAY_COLUMNS = HASHED_FIELDS.filter((f) => f.array).map((f) => f.name);

// The canonical serialization (canonical.ts) as SQL expressions over one JSON row `t.e`, generated
// from the same field list. Written inline, without helper functions: SQL functions holding a
// sub-select are not inlined and would be planned again on every append.
const encText = (x: string): string =>
  `CASE WHEN ${x} IS NULL THEN 'N' ELSE 'S' || octet_length(convert_to(${x}, 'UTF8')) || ':' || ${x} END`;
const encArray = (j: string): string =>
  `CASE WHEN jsonb_typeof(${j}) = 'array' THEN 'A' || jsonb_array_length(${j}) || ':' || coalesce((SELECT string_agg(${encText('a.x')}, '' ORDER BY a.o) FROM jsonb_array_elements_text(${j}) WITH ORDINALITY AS a(x, o)), '') ELSE 'N' END`;
/** The stored array: the same elements, in the same order, as encArray hashes (NULL unless a JSON array). */
const textArray = (j: string): string =>
  `CASE WHEN jsonb_typeof(${j}) = 'array' THEN ARRAY(SELECT a.x FROM jsonb_array_elements_text(${j}) WITH ORDINALITY AS a(x, o) ORDER BY a.o) END`;

const CANONICAL_SQL = [
  `'${CANONICAL_VERSION}'`,
  ...HASHED_FIELDS.map((f) =>
    f.name === 'recorded_at' ? encText('v_at_text') : f.array ? encArray(`t.e->'${f.name}'`) : encText(`(t.e->>'${f.name}')`),
  ),
].join(' || ');

const INSERT_COLUMNS = ['seq', 'recorded_at', ...TEXT_COLUMNS, ...ARRAY_COLUMNS, 'prev_hash', 'hash'];
const INSERT_VALUES = [
  'v_first + t.o - 1',
  'v_at',
  ...TEXT_COLUMNS.map((c) => `t.e->>'${c}'`),
  ...ARRAY_COLUMNS.map((c) => textArray(`t.e->'${c}'`)),
  'v_prevs[t.o]',
  'v_hashes[t.o]',
];

const STATEMENTS: readonly string[] = [
  // A development database may hold the first, unchained audit table: keep its rows aside.
  'ALTER TABLE IF EXISTS audit_event RENAME TO audit_event_legacy_v1',
  `CREATE TABLE audit_event (
     seq bigint NOT NULL,
     recorded_at timestamptz NOT NULL,
     request_id text NOT NULL,
     traceparent text,
     subgraph text NOT NULL,
     subgraph_version text,
     actor_sub text NOT NULL,
     actor_roles text[] NOT NULL,
     client_id text,
     client_ip text,
     purpose_of_use text,
     break_glass_reason text,
     patient_ref text,
     fields text[] NOT NULL,
     operation_name text,
     document_hash text,
     decision text NOT NULL CHECK (decision IN ('permit', 'deny')),
     policy_rules text[],
     outcome text CHECK (outcome IN ('success', 'minor-failure', 'serious-failure', 'major-failure')),
     prev_hash bytea NOT NULL,
     hash bytea NOT NULL,
     CONSTRAINT audit_event_seq_pk PRIMARY KEY (seq, recorded_at)
   ) PARTITION BY RANGE (recorded_at)`,
  'CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT',
  'CREATE INDEX audit_event_patient_at ON audit_event (patient_ref, recorded_at)',
  'CREATE INDEX audit_event_actor_at ON audit_event (actor_sub, recorded_at)',
  'CREATE INDEX audit_event_request_id ON audit_event (request_id)',
  // The writers' head of the chain: locked by every append; not trusted by the verifier.
  `CREATE TABLE audit_chain_head (
     id smallint PRIMARY KEY CHECK (id = 1),
     seq bigint NOT NULL,
     hash bytea NOT NULL,
     recorded_at timestamptz NOT NULL
   )`,
  `INSERT INTO audit_chain_head (id, seq, hash, recorded_at) VALUES (1, 0, decode(repeat('00', 32), 'hex'), '-infinity')`,
  `CREATE TABLE audit_checkpoint (
     id bigserial PRIMARY KEY,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     from_seq bigint NOT NULL,
     to_seq bigint NOT NULL CHECK (to_seq >= from_seq),
     merkle_root bytea NOT NULL,
     head_hash bytea NOT NULL,
     key_id text NOT NULL,
     payload text NOT NULL,
     signature text NOT NULL
   )`,
  `CREATE TABLE audit_purge (
     id bigserial PRIMARY KEY,
     purged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     partition_name text NOT NULL,
     range_from timestamptz NOT NULL,
     range_to timestamptz NOT NULL,
     retention_years integer NOT NULL,
     row_count bigint NOT NULL,
     first_seq bigint,
     last_seq bigint,
     last_hash bytea
   )`,
  oneLine(`CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege', HINT = 'audit rows are never changed or removed; expired partitions leave through the retention purge only';
    END $fn$`),
  'CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW EXECUTE FUNCTION audit_refuse()',
  'CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()',
  // Statement triggers are not inherited: every partition gets its own TRUNCATE guard.
  'CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_event_default FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()',
  'CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint FOR EACH ROW EXECUTE FUNCTION audit_refuse()',
  'CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()',
  'CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_purge FOR EACH ROW EXECUTE FUNCTION audit_refuse()',
  'CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_purge FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()',
  'CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_chain_head FOR EACH ROW EXECUTE FUNCTION audit_refuse()',
  'CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_chain_head FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()',
  // Tables grant nothing to PUBLIC by default; stated anyway, so that a later GRANT ALL cannot slip in unnoticed.
  'REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_event_default, audit_checkpoint, audit_purge, audit_chain_head FROM PUBLIC',
  // The only way rows are meant to enter: one call appends a batch at the head of the chain.
  oneLine(`CREATE FUNCTION audit_append(p_rows jsonb) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER AS $fn$
    DECLARE
      v_first bigint; v_prev bytea; v_at timestamptz; v_at_text text; v_n integer;
      v_canon bytea[]; v_prevs bytea[] := '{}'; v_hashes bytea[] := '{}';
    BEGIN
      IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' OR jsonb_array_length(p_rows) = 0 THEN RETURN NULL; END IF;
      SELECT h.seq + 1, h.hash, greatest(clock_timestamp(), h.recorded_at) INTO v_first, v_prev, v_at FROM audit_chain_head h WHERE h.id = 1 FOR UPDATE;
      IF NOT FOUND THEN RAISE EXCEPTION 'audit chain head is missing'; END IF;
      v_at_text := to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
      SELECT array_agg(convert_to(${CANONICAL_SQL}, 'UTF8') ORDER BY t.o) INTO v_canon FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t(e, o);
      v_n := cardinality(v_canon);
      FOR i IN 1..v_n LOOP
        v_prevs[i] := v_prev; v_prev := sha256(v_prev || v_canon[i]); v_hashes[i] := v_prev;
      END LOOP;
      INSERT INTO audit_event (${INSERT_COLUMNS.join(', ')})
        SELECT ${INSERT_VALUES.join(', ')} FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t(e, o);
      UPDATE audit_chain_head SET seq = v_first + v_n - 1, hash = v_prev, recorded_at = v_at WHERE id = 1;
      RETURN v_first + v_n - 1;
    END $fn$`),
  // Creates the monthly partitions of p_at's month and the next one (UTC), when missing.
  oneLine(`CREATE FUNCTION audit_ensure_partitions(p_at timestamptz) RETURNS integer LANGUAGE plpgsql SECURITY DEFINER AS $fn$
    DECLARE v_lo timestamptz; v_hi timestamptz; v_name text; v_made integer := 0;
    BEGIN
      FOR i IN 0..1 LOOP
        v_lo := (date_trunc('month', p_at AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
        v_hi := (date_trunc('month', p_at AT TIME ZONE 'UTC') + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
        v_name := 'audit_event_' || to_char(v_lo AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
        CONTINUE WHEN to_regclass(quote_ident(v_name)) IS NOT NULL;
        PERFORM pg_advisory_xact_lock(727002, hashtext(current_schema()));
        CONTINUE WHEN to_regclass(quote_ident(v_name)) IS NOT NULL;
        IF EXISTS (SELECT 1 FROM audit_event_default WHERE recorded_at >= v_lo AND recorded_at < v_hi) THEN
          RAISE WARNING 'audit rows of % are in the default partition; % not created', v_name, v_name; CONTINUE;
        END IF;
        BEGIN
          EXECUTE format('CREATE TABLE %I PARTITION OF audit_event FOR VALUES FROM (%L) TO (%L)', v_name, v_lo, v_hi);
        EXCEPTION WHEN duplicate_table OR unique_violation THEN CONTINUE;
        END;
        EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()', v_name);
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM PUBLIC', v_name);
        v_made := v_made + 1;
      END LOOP;
      RETURN v_made;
    END $fn$`),
  // SECURITY DEFINER functions resolve names in this schema only (pg_catalog is always first).
  oneLine(`DO $do$ BEGIN
      EXECUTE format('ALTER FUNCTION audit_append(jsonb) SET search_path = %I, pg_temp', current_schema());
      EXECUTE format('ALTER FUNCTION audit_ensure_partitions(timestamptz) SET search_path = %I, pg_temp', current_schema());
    END $do$`),
  'REVOKE ALL ON FUNCTION audit_append(jsonb), audit_ensure_partitions(timestamptz) FROM PUBLIC',
  'SELECT audit_ensure_partitions(now())',
];

export const AUDIT_MIGRATIONS: readonly Migration[] = [{ id: 'audit-002-append-only-chained-partitioned', sql: STATEMENTS.join(';\n') }];

/** FHIR AuditEvent.outcome, by name (0, 4, 8, 12). */
export type AuditOutcome = 'success' | 'minor-failure' | 'serious-failure' | 'major-failure';

export type AuditContext = {
  readonly principal: Principal;
  readonly subgraph: string;
  readonly operationName: string | null;
  /** SHA-256 (hex) of the GraphQL document as received (Apollo's requestContext.queryHash); never the text or its variables. */
  readonly documentHash?: string | null;
  /** W3C trace context of the request, when the gateway forwarded one. */
  readonly traceparent?: string | null;
  /** Version of the subgraph's software; defaults to SOFTWARE_VERSION or package.json's version. */
  readonly subgraphVersion?: string | null;
  /** The caller's address; defaults to principal.clientIp. */
  readonly clientIp?: string | null;
  /** What happened to the request as a whole (FHIR AuditEvent.outcome); null when not known. */
  readonly outcome?: AuditOutcome | null;
};

/** The software version written on every row unless the context names one. */
export const SOFTWARE_VERSION: string = (() => {
  if (process.env.SOFTWARE_VERSION) return process.env.SOFTWARE_VERSION;
  try {
    return (
      String((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '') ||
      'unknown'
    );
  } catch {
    return 'unknown';
  }
})();

/** One row as audit_append() receives it (keys are the column names). */
export type AuditRowInput = Readonly<Record<string, unknown>>;
type RowInput = AuditRowInput;

/** The rows of one request (one per patient touched, one per denial), as audit_append() takes them. */
export function auditRows(ctx: AuditContext, accesses: readonly AuditAccess[], denials: readonly AuditAccess[]): AuditRowInput[] {
  const p = ctx.principal;
  const common = {
    request_id: p.requestId,
    traceparent: ctx.traceparent ?? null,
    subgraph: ctx.subgraph,
    subgraph_version: ctx.subgraphVersion ?? SOFTWARE_VERSION,
    actor_sub: p.sub,
    actor_roles: [...p.roles],
    client_id: p.clientId ?? null,
    client_ip: ctx.clientIp ?? p.clientIp ?? null,
    purpose_of_use: p.purposeOfUse ?? null,
    break_glass_reason: p.breakGlassReason ?? null,
    operation_name: ctx.operationName ?? null,
    document_hash: ctx.documentHash ?? null,
    outcome: ctx.outcome ?? null,
  };
  const row = (a: AuditAccess, decision: 'permit' | 'deny'): RowInput => ({
    ...common,
    patient_ref: a.patientRef || null,
    fields: [...a.fields],
    decision,
    policy_rules: a.rules && a.rules.length > 0 ? [...a.rules] : null,
  });
  return [...accesses.map((a) => row(a, 'permit')), ...denials.map((d) => row(d, 'deny'))];
}

const log = logger('audit');

// Appends are grouped per database handle: while one audit_append() is in flight, the rows of
// requests that arrive meanwhile wait and go together in the next call (group commit). Each
// process thus holds the chain head at most once at a time, whatever its request concurrency.
type Pending = { readonly rows: RowInput[]; readonly resolve: () => void; readonly reject: (e: unknown) => void };
type Queue = { pending: Pending[]; running: boolean; partitionsFor: string | null };
const queues = new WeakMap<Queryable, Queue>();
const MAX_BATCH_ROWS = 2000;

const monthKey = (d: Date): string => `${d.getUTCFullYear()}-${d.getUTCMonth()}`;

async function ensurePartitionsOnce(db: Queryable, q: Queue): Promise<void> {
  const key = monthKey(new Date());
  if (q.partitionsFor === key) return;
  try {
    await db.query('SELECT audit_ensure_partitions(now())');
  } catch (error) {
    // The default partition still takes the rows; the next month's first write tries again.
    log.warn('audit_partition_create_failed', { error: (error as Error).message.slice(0, 200) });
  }
  q.partitionsFor = key;
}

const append = (db: Queryable, rows: readonly RowInput[]) => db.query('SELECT audit_append($1::jsonb) AS head', [JSON.stringify(rows)]);

async function drain(db: Queryable, q: Queue): Promise<void> {
  q.running = true;
  try {
    while (q.pending.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (q.pending.length > 0 && (batch.length === 0 || size + q.pending[0]!.rows.length <= MAX_BATCH_ROWS)) {
        const next = q.pending.shift()!;
        batch.push(next);
        size += next.rows.length;
      }
      await ensurePartitionsOnce(db, q);
      const started = performance.now();
      try {
        await append(
          db,
          batch.flatMap((b) => b.rows),
        );
        metrics.auditCommitted(batch.length, size, true, started);
        for (const b of batch) b.resolve();
      } catch (error) {
        // One request's rows, or a database that is away: nothing to gain by trying each on its own
        // (one after the other, each waiting its timeout, while every request in the batch waits).
        if (batch.length === 1 || (error instanceof ProductError && error.code === 'DATABASE_UNAVAILABLE')) {
          metrics.auditCommitted(batch.length, size, false, started);
          for (const b of batch) b.reject(error);
          continue;
        }
        // One request's bad row must not fail its neighbours: retry each on its own.
        for (const b of batch) {
          const alone = performance.now();
          await append(db, b.rows).then(
            () => (metrics.auditCommitted(1, b.rows.length, true, alone), b.resolve()),
            (e: unknown) => (metrics.auditCommitted(1, b.rows.length, false, alone), b.reject(e)),
          );
        }
      }
    }
  } finally {
    q.running = false;
  }
}

/**
 * Appends the request's audit rows (one per patient touched, one per denial) to the chain and
 * resolves once they are committed; rejects when they could not be written (the caller then
 * releases no data).
 */
export async function writeAuditEvents(
  db: Queryable,
  ctx: AuditContext,
  accesses: readonly AuditAccess[],
  denials: readonly AuditAccess[],
): Promise<number> {
  return appendAuditRows(db, auditRows(ctx, accesses, denials));
}

/**
 * Appends rows made by auditRows() (in this process, or handed to the gateway by its subgraphs:
 * handoff.ts) in one call, grouped with concurrent requests; resolves once they are committed.
 */
export async function appendAuditRows(db: Queryable, rows: readonly AuditRowInput[]): Promise<number> {
  if (rows.length === 0) return 0;
  // Traced from queueing to durable; the statements of a commit shared with other requests are under the first one's span.
  const writers = [...new Set(rows.map((r) => String(r.subgraph)))].join(',');
  return traceAuditAppend(writers, rows.length, async () => {
    const q = queues.get(db) ?? { pending: [], running: false, partitionsFor: null };
    queues.set(db, q);
    const done = new Promise<void>((resolve, reject) => q.pending.push({ rows: [...rows], resolve, reject }));
    metrics.auditQueued(1);
    if (!q.running) void drain(db, q);
    await done;
    return rows.length;
  });
}

/** Creates this month's and next month's partitions when missing (also done on each process's first write of a month). */
export async function ensureAuditPartitions(db: Queryable, at: Date = new Date()): Promise<number> {
  const { rows } = await db.query<{ made: number }>('SELECT audit_ensure_partitions($1::timestamptz) AS made', [at.toISOString()]);
  return Number(rows[0]?.made ?? 0);
}

export type AuditRow = {
  seq: string;
  patient_ref: string | null;
  fields: string[];
  decision: string;
  policy_rules: string[] | null;
  actor_sub: string;
  subgraph: string;
  request_id: string;
  purpose_of_use: string | null;
};

export async function auditEventsForRequest(db: Database, requestId: string): Promise<AuditRow[]> {
  const { rows } = await db.query<AuditRow>(
    'SELECT seq::text AS seq, patient_ref, fields, decision, policy_rules, actor_sub, subgraph, request_id, purpose_of_use FROM audit_event WHERE request_id = $1 ORDER BY audit_event.seq',
    [requestId],
  );
  return rows;
}
