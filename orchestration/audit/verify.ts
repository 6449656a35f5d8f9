// The verifier behind `npm run audit:verify`: recomputes the hash chain from the rows, every
// checkpoint's signature and Merkle root, and the retention rule of every purge, in one snapshot,
// and names the first bad record. It trusts nothing in the database but the rows it hashes
// itself: not the chain head, not database functions, not the stored checkpoint columns (only
// their signed payloads, under public keys given from outside).
import type { JWK } from 'jose';
import type { Database, Queryable } from '../../platform/db.ts';
import { GENESIS_HASH } from './canonical.ts';
import { chainBase, walkChain, type AuditProblem, type AuditProblemKind, type ChainRow } from './chain.ts';
import { readCheckpoints, verifyCheckpointSignature, type CheckpointPayload, type StoredCheckpoint } from './checkpoint.ts';
import { merkleAccumulator, type MerkleAccumulator } from './merkle.ts';
import { DEFAULT_RETENTION_YEARS, retentionCutoff } from './retention.ts';

export type { AuditProblem, AuditProblemKind } from './chain.ts';

export type VerifyOptions = {
  /** Trusted Ed25519 public keys of the checkpointers (never read from the database). */
  readonly publicKeys: readonly JWK[];
  /** Retention the purges must have respected (default 6 years). */
  readonly retentionYears?: number;
  readonly now?: Date;
  readonly pageSize?: number;
};

export type AuditVerifyReport = {
  readonly ok: boolean;
  /** Rows whose hash and link were recomputed. */
  readonly rows: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  /** Checkpoints stored, and those whose signature verified. */
  readonly checkpoints: number;
  readonly checkpointsSigned: number;
  /** Checkpoints whose Merkle root and head were recomputed from the rows and matched. */
  readonly checkpointsRecomputed: number;
  /** to_seq of the latest validly signed checkpoint. */
  readonly signedThroughSeq: number | null;
  /** Last seq removed by a retention purge (the chain starts after it). */
  readonly purgedThroughSeq: number | null;
  /** Problems, first bad record first. */
  readonly problems: readonly AuditProblem[];
  readonly warnings: readonly string[];
};

type SignedCheckpoint = { readonly stored: StoredCheckpoint; readonly payload: CheckpointPayload };

const ROW_KINDS: readonly AuditProblemKind[] = ['deleted', 'inserted', 'reordered', 'edited', 'broken-link', 'truncated'];
const order = (a: AuditProblem, b: AuditProblem): number =>
  (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER) ||
  Number(!ROW_KINDS.includes(a.kind)) - Number(!ROW_KINDS.includes(b.kind));

export async function verifyAuditLog(db: Database, options: VerifyOptions): Promise<AuditVerifyReport> {
  // One snapshot: rows, checkpoints, purges and the chain head as of the same instant, while writers go on.
  // Unbounded: it walks the whole chain, which takes longer than an online statement may.
  return db.transaction(
    async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      return verifyIn(tx, options);
    },
    { unbounded: true },
  );
}

async function verifyIn(q: Queryable, options: VerifyOptions): Promise<AuditVerifyReport> {
  const now = options.now ?? new Date();
  const cutoff = retentionCutoff(now, options.retentionYears ?? DEFAULT_RETENTION_YEARS);
  const problems: AuditProblem[] = [];
  const warnings: string[] = [];
  const base = await chainBase(q);

  // 1. Checkpoint signatures, then how the valid ones tile the chain.
  const stored = await readCheckpoints(q);
  const signed: SignedCheckpoint[] = [];
  for (const cp of stored) {
    const result = verifyCheckpointSignature(cp, options.publicKeys);
    if ('reason' in result)
      problems.push({
        kind: 'checkpoint-forged',
        seq: cp.fromSeq,
        checkpointId: cp.id,
        message: `checkpoint #${cp.id} (seqs ${cp.fromSeq}..${cp.toSeq}) is forged: ${result.reason}`,
      });
    else signed.push({ stored: cp, payload: result.payload });
  }
  let previous: SignedCheckpoint | null = null;
  for (const cp of signed) {
    const p = cp.payload;
    if (!previous) {
      const startsAtGenesis = p.from_seq === 1 && p.prev_hash === GENESIS_HASH.toString('hex');
      if (!startsAtGenesis && !(base.purged && p.from_seq <= base.seq + 1))
        problems.push({
          kind: 'checkpoint-missing',
          seq: 1,
          checkpointId: cp.stored.id,
          message: `no checkpoint covers seqs 1..${p.from_seq - 1}: the first checkpoints were removed`,
        });
    } else if (p.from_seq > previous.payload.to_seq + 1) {
      problems.push({
        kind: 'checkpoint-missing',
        seq: previous.payload.to_seq + 1,
        checkpointId: cp.stored.id,
        message: `no checkpoint covers seqs ${previous.payload.to_seq + 1}..${p.from_seq - 1}, between checkpoints #${previous.stored.id} and #${cp.stored.id}: a checkpoint was removed`,
      });
    } else if (p.from_seq <= previous.payload.to_seq || p.prev_hash !== previous.payload.head_hash) {
      problems.push({
        kind: 'checkpoint-mismatch',
        seq: p.from_seq,
        checkpointId: cp.stored.id,
        message: `checkpoints #${previous.stored.id} and #${cp.stored.id} disagree about the chain at seq ${p.from_seq} (overlapping ranges or a different head): the log was forked`,
      });
    }
    previous = cp;
  }

  // 2. The chain, with each fully retained checkpoint's Merkle root and head recomputed on the way.
  const recomputable = signed.filter((cp) => cp.payload.from_seq > base.seq);
  let next = 0;
  let merkle: MerkleAccumulator | null = null;
  let recomputed = 0;
  const onRow = (row: ChainRow): AuditProblem | null => {
    while (next < recomputable.length && recomputable[next]!.payload.to_seq < row.seq) next++;
    const cp = recomputable[next];
    if (!cp || row.seq < cp.payload.from_seq) return null;
    const p = cp.payload;
    const mismatch = (why: string): AuditProblem => ({
      kind: 'checkpoint-mismatch',
      seq: p.from_seq,
      checkpointId: cp.stored.id,
      message: `seqs ${p.from_seq}..${p.to_seq} differ from signed checkpoint #${cp.stored.id} (${why}): rows in this range were rewritten and their hashes recomputed`,
    });
    if (row.seq === p.from_seq) {
      merkle = merkleAccumulator();
      if (row.prevHash.toString('hex') !== p.prev_hash) return mismatch(`seq ${row.seq} starts from another hash`);
    }
    merkle!.add(row.hash);
    if (row.seq === p.to_seq) {
      if (merkle!.root().toString('hex') !== p.merkle_root) return mismatch('Merkle root');
      if (row.hash.toString('hex') !== p.head_hash) return mismatch('head hash');
      recomputed++;
      next++;
      merkle = null;
    }
    return null;
  };
  const walk = await walkChain(q, { seq: base.seq, hash: base.hash }, onRow, { pageSize: options.pageSize });
  if (walk.problem) problems.push(walk.problem);
  const lastSeq = walk.lastSeq ?? (base.seq > 0 ? base.seq : null);

  // 3. The tail: what the latest signed checkpoint and the writers' chain head vouch for.
  const signedThrough = signed.reduce<SignedCheckpoint | null>((a, cp) => (!a || cp.payload.to_seq > a.payload.to_seq ? cp : a), null);
  const end = lastSeq ?? 0;
  if (!walk.problem) {
    if (signedThrough && signedThrough.payload.to_seq > end)
      problems.push({
        kind: 'truncated',
        seq: end + 1,
        checkpointId: signedThrough.stored.id,
        message: `the log ends at seq ${end} but checkpoint #${signedThrough.stored.id} signed seqs up to ${signedThrough.payload.to_seq}: seqs ${end + 1}..${signedThrough.payload.to_seq} were removed`,
      });
    const head = (
      await q.query<{ seq: string; hash: string }>(
        "SELECT seq::text AS seq, encode(hash, 'hex') AS hash FROM audit_chain_head WHERE id = 1",
      )
    ).rows[0];
    if (!head) warnings.push('the chain head row is missing');
    else if (Number(head.seq) > end)
      problems.push({
        kind: 'truncated',
        seq: end + 1,
        message: `the log ends at seq ${end} but the writers' chain head is at seq ${head.seq}: seqs ${end + 1}..${head.seq} were removed`,
      });
    else if (Number(head.seq) < end)
      problems.push({
        kind: 'inserted',
        seq: Number(head.seq) + 1,
        message: `seqs ${Number(head.seq) + 1}..${end} lie beyond the writers' chain head (seq ${head.seq}): they were not appended by audit_append()`,
      });
    else if (end > 0 && head.hash !== walk.lastHash.toString('hex'))
      problems.push({ kind: 'edited', seq: end, message: `seq ${end} differs from the writers' chain head: the tail was rewritten` });
  }

  // 4. Purges: only partitions older than the retention period, and no signed evidence of younger rows.
  const purges = (
    await q.query<{ id: string; partition_name: string; range_to: string; first_seq: string | null }>(
      'SELECT id::text AS id, partition_name, to_char(range_to AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS"Z"\') AS range_to, first_seq::text AS first_seq FROM audit_purge ORDER BY audit_purge.id',
    )
  ).rows;
  for (const purge of purges) {
    if (new Date(purge.range_to) > cutoff)
      problems.push({
        kind: 'purge-invalid',
        seq: purge.first_seq === null ? null : Number(purge.first_seq),
        message: `partition ${purge.partition_name} (rows until ${purge.range_to}) was purged inside the retention period (nothing after ${cutoff.toISOString()} may go)`,
      });
  }
  if (base.purged) {
    for (const cp of signed.filter((c) => c.payload.from_seq <= base.seq)) {
      const at =
        cp.payload.to_seq <= base.seq
          ? { seq: cp.payload.to_seq, t: cp.payload.to_recorded_at }
          : { seq: cp.payload.from_seq, t: cp.payload.from_recorded_at };
      if (new Date(at.t) > cutoff)
        problems.push({
          kind: 'purge-invalid',
          seq: at.seq,
          checkpointId: cp.stored.id,
          message: `seq ${at.seq} was purged, but checkpoint #${cp.stored.id} signed it as recorded ${at.t}, inside the retention period`,
        });
    }
    const below = (await q.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_event WHERE seq <= $1', [base.seq])).rows[0]!;
    if (Number(below.n) > 0)
      problems.push({
        kind: 'purge-invalid',
        seq: base.seq,
        message: `${below.n} rows at or below seq ${base.seq} remain although a purge removed everything up to it`,
      });
  }

  if (stored.length === 0) warnings.push('no signed checkpoint yet: a truncated tail cannot be proven');
  else if (signedThrough && lastSeq !== null && lastSeq > signedThrough.payload.to_seq)
    warnings.push(
      `seqs ${signedThrough.payload.to_seq + 1}..${lastSeq} are not yet covered by a signed checkpoint (protected by the chain only)`,
    );

  problems.sort(order);
  return {
    ok: problems.length === 0,
    rows: walk.rows,
    firstSeq: walk.rows > 0 ? base.seq + 1 : null,
    lastSeq,
    checkpoints: stored.length,
    checkpointsSigned: signed.length,
    checkpointsRecomputed: recomputed,
    signedThroughSeq: signedThrough?.payload.to_seq ?? null,
    purgedThroughSeq: base.purged ? base.seq : null,
    problems,
    warnings,
  };
}

/** The report as lines for a terminal: OK with counts, or the first bad record and what is wrong. */
export function formatReport(report: AuditVerifyReport): string {
  const lines: string[] = [];
  const range = report.rows > 0 ? `seqs ${report.firstSeq}..${report.lastSeq}` : 'no rows';
  const counts = `${report.rows} rows (${range}), ${report.checkpointsSigned}/${report.checkpoints} checkpoints signed, ${report.checkpointsRecomputed} recomputed${report.purgedThroughSeq !== null ? `, purged through seq ${report.purgedThroughSeq}` : ''}`;
  if (report.ok) lines.push(`audit log OK: ${counts}`);
  else {
    const first = report.problems[0]!;
    lines.push(
      `audit log TAMPERED: first bad record ${first.seq !== null ? `seq ${first.seq}` : ''}${first.checkpointId !== undefined ? ` (checkpoint #${first.checkpointId})` : ''} [${first.kind}]`,
    );
    lines.push(`  ${first.message}`);
    for (const p of report.problems.slice(1)) lines.push(`  also [${p.kind}] ${p.message}`);
    lines.push(`  verified before stopping: ${counts}`);
  }
  for (const w of report.warnings) lines.push(`  note: ${w}`);
  return lines.join('\n');
}
