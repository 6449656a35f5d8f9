// Retention: audit rows are kept for six years by default (HIPAA's documentation retention,
// 45 CFR 164.316(b)(2)); rows never leave one by one (the triggers refuse DELETE), only whole
// monthly partitions whose every row is older than the retention period, oldest first, each
// recorded in audit_purge (so the verifier knows where the retained chain starts and can check
// the purge against the signed checkpoints). Anything younger is refused.
//
// Against the database owner this is a procedure, not a wall: the owner can DROP a partition.
// The wall is that the application role does not own the tables (grants.ts, README.md) and the
// verifier, which reports a partition dropped outside this function as deleted rows, and a purge
// inside the retention period as purge-invalid.
import type { Database, Queryable } from '../../platform/db.ts';

export const DEFAULT_RETENTION_YEARS = 6;

export class AuditRetentionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditRetentionError';
  }
}

export type AuditPartition = {
  readonly name: string;
  /** Range bounds (UTC); null for the default partition. */
  readonly from: Date | null;
  readonly to: Date | null;
  readonly isDefault: boolean;
};

export type PurgeRecord = {
  readonly partition: string;
  readonly from: Date;
  readonly to: Date;
  readonly rows: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
};

export type RetentionOptions = {
  /** Years every row is kept (default 6; a whole number, at least 1). */
  readonly retentionYears?: number;
  /** The present; defaults to the database clock. May be earlier than it (purges less), never later. */
  readonly now?: Date;
};

/** The instant before which rows have outlived the retention period. */
export function retentionCutoff(now: Date, retentionYears: number): Date {
  const cutoff = new Date(now.getTime());
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - retentionYears);
  return cutoff;
}

export async function listAuditPartitions(q: Queryable): Promise<AuditPartition[]> {
  const { rows } = await q.query<{ name: string; from_ms: number | null; to_ms: number | null; is_default: boolean }>(
    `SELECT name, (extract(epoch FROM m[1]::timestamptz) * 1000)::float8 AS from_ms, (extract(epoch FROM m[2]::timestamptz) * 1000)::float8 AS to_ms, bound = 'DEFAULT' AS is_default
     FROM (SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
                  regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)') AS m
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'audit_event'::regclass) p
     ORDER BY m[1]::timestamptz NULLS LAST`,
  );
  return rows.map((r) => ({
    name: r.name,
    from: r.from_ms === null ? null : new Date(r.from_ms),
    to: r.to_ms === null ? null : new Date(r.to_ms),
    isDefault: r.is_default,
  }));
}

async function cutoffFor(q: Queryable, options: RetentionOptions): Promise<Date> {
  const years = options.retentionYears ?? DEFAULT_RETENTION_YEARS;
  if (!Number.isInteger(years) || years < 1)
    throw new AuditRetentionError(`retention must be a whole number of years, at least 1 (got ${years})`);
  const dbNow = new Date(
    String(
      (await q.query<{ now: string }>('SELECT to_char(clock_timestamp() AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') AS now'))
        .rows[0]!.now,
    ),
  );
  const now = options.now ?? dbNow;
  // A caller's clock in the future would make young rows look old.
  if (now.getTime() > dbNow.getTime() + 86_400_000)
    throw new AuditRetentionError(`now (${now.toISOString()}) is later than the database clock (${dbNow.toISOString()})`);
  return retentionCutoff(now, years);
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Drops one monthly partition, recording it in audit_purge, when every row it can hold is older
 * than the retention period and no older row (by seq) would remain; refuses otherwise.
 */
export async function dropAuditPartition(db: Database, name: string, options: RetentionOptions = {}): Promise<PurgeRecord> {
  const years = options.retentionYears ?? DEFAULT_RETENTION_YEARS;
  return db.transaction(async (tx) => {
    // The same lock as partition creation; DROP then takes the table locks it needs.
    await tx.query('SELECT pg_advisory_xact_lock(727002, hashtext(current_schema()))');
    const cutoff = await cutoffFor(tx, options);
    const partition = (await listAuditPartitions(tx)).find((p) => p.name === name);
    if (!partition) throw new AuditRetentionError(`${name} is not a partition of audit_event`);
    if (partition.isDefault || !partition.from || !partition.to)
      throw new AuditRetentionError(`${name} is the default partition: it is never dropped`);
    if (partition.to > cutoff)
      throw new AuditRetentionError(
        `${name} holds rows until ${partition.to.toISOString()}, inside the ${years}-year retention period (only rows before ${cutoff.toISOString()} may go)`,
      );
    const stats = (
      await tx.query<{ n: string; first_seq: string | null; last_seq: string | null; last_hash: string | null }>(
        `SELECT count(*)::text AS n, min(seq)::text AS first_seq, max(seq)::text AS last_seq,
                (SELECT encode(hash, 'hex') FROM ${quoteIdent(name)} ORDER BY seq DESC LIMIT 1) AS last_hash FROM ${quoteIdent(name)}`,
      )
    ).rows[0]!;
    if (stats.last_seq !== null) {
      const older = (
        await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_event WHERE seq <= $1 AND tableoid <> $2::regclass`, [
          stats.last_seq,
          quoteIdent(name),
        ])
      ).rows[0]!;
      if (Number(older.n) > 0)
        throw new AuditRetentionError(
          `${name}: ${older.n} rows elsewhere precede its last row (seq ${stats.last_seq}); purge the oldest partitions first`,
        );
    }
    await tx.query(
      `INSERT INTO audit_purge (partition_name, range_from, range_to, retention_years, row_count, first_seq, last_seq, last_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, decode($8, 'hex'))`,
      [name, partition.from.toISOString(), partition.to.toISOString(), years, stats.n, stats.first_seq, stats.last_seq, stats.last_hash],
    );
    await tx.query(`DROP TABLE ${quoteIdent(name)}`);
    return {
      partition: name,
      from: partition.from,
      to: partition.to,
      rows: Number(stats.n),
      firstSeq: stats.first_seq === null ? null : Number(stats.first_seq),
      lastSeq: stats.last_seq === null ? null : Number(stats.last_seq),
    };
  });
}

/** Drops, oldest first, every monthly partition whose rows have all outlived the retention period. */
export async function purgeExpiredAuditPartitions(
  db: Database,
  options: RetentionOptions = {},
): Promise<{ readonly cutoff: Date; readonly dropped: PurgeRecord[] }> {
  const cutoff = await cutoffFor(db, options);
  const expired = (await listAuditPartitions(db)).filter((p) => !p.isDefault && p.to !== null && p.to <= cutoff);
  const dropped: PurgeRecord[] = [];
  for (const p of expired) dropped.push(await dropAuditPartition(db, p.name, options));
  return { cutoff, dropped };
}
