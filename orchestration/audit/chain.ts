// Reading the chain back: rows in seq order, as the hash covers them, page by page (keyset
// pagination, so a verifier streams millions of rows in constant memory). Shared by the verifier
// and by the checkpointer, which re-checks what it is about to sign.
import type { Queryable } from '../../platform/db.ts';
import { GENESIS_HASH, RECORDED_AT_TEXT, rowHash, type AuditContent } from './canonical.ts';

export type ChainRow = {
  readonly seq: number;
  readonly content: AuditContent;
  readonly prevHash: Buffer;
  readonly hash: Buffer;
};

const COLUMNS = `seq::text AS seq, ${RECORDED_AT_TEXT} AS recorded_at, request_id, traceparent, subgraph, subgraph_version, actor_sub, actor_roles,
  client_id, client_ip, purpose_of_use, break_glass_reason, patient_ref, fields, operation_name, document_hash, decision, policy_rules, outcome,
  encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash`;

type Raw = AuditContent & { seq: string; prev_hash: string | null; hash: string | null };

const toRow = (r: Raw): ChainRow => ({
  seq: Number(r.seq),
  content: r,
  prevHash: Buffer.from(r.prev_hash ?? '', 'hex'),
  hash: Buffer.from(r.hash ?? '', 'hex'),
});

/** Rows with seq >= fromSeq in (seq, recorded_at, hash) order; duplicates of a seq are all returned. */
export async function* readChain(q: Queryable, fromSeq: number, pageSize = 2000): AsyncGenerator<ChainRow> {
  let page = (
    await q.query<Raw>(
      `SELECT ${COLUMNS} FROM audit_event WHERE seq >= $1 ORDER BY audit_event.seq, audit_event.recorded_at, audit_event.hash LIMIT $2`,
      [fromSeq, pageSize],
    )
  ).rows;
  while (page.length > 0) {
    for (const r of page) yield toRow(r);
    if (page.length < pageSize) return;
    const last = page[page.length - 1]!;
    page = (
      await q.query<Raw>(
        `SELECT ${COLUMNS} FROM audit_event WHERE (audit_event.seq, audit_event.recorded_at, audit_event.hash) > ($1::bigint, $2::timestamptz, decode($3, 'hex'))
         ORDER BY audit_event.seq, audit_event.recorded_at, audit_event.hash LIMIT $4`,
        [last.seq, last.recorded_at, last.hash ?? '', pageSize],
      )
    ).rows;
  }
}

/** An iterator that can look one row ahead. */
export type PeekableChain = { next(): Promise<ChainRow | undefined>; peek(): Promise<ChainRow | undefined> };

export function peekable(rows: AsyncIterator<ChainRow>): PeekableChain {
  let ahead: ChainRow | undefined;
  let peeked = false;
  const pull = async () => {
    const r = await rows.next();
    return r.done ? undefined : r.value;
  };
  return {
    async next() {
      if (peeked) {
        peeked = false;
        return ahead;
      }
      return pull();
    },
    async peek() {
      if (!peeked) {
        ahead = await pull();
        peeked = true;
      }
      return ahead;
    },
  };
}

/** Where the retained chain starts: after the last purged row, or at the genesis. */
export type ChainBase = { readonly seq: number; readonly hash: Buffer; readonly purged: boolean };

export async function chainBase(q: Queryable): Promise<ChainBase> {
  const { rows } = await q.query<{ last_seq: string; last_hash: string }>(
    "SELECT last_seq::text AS last_seq, encode(last_hash, 'hex') AS last_hash FROM audit_purge WHERE last_seq IS NOT NULL ORDER BY audit_purge.last_seq DESC LIMIT 1",
  );
  const r = rows[0];
  return r
    ? { seq: Number(r.last_seq), hash: Buffer.from(r.last_hash, 'hex'), purged: true }
    : { seq: 0, hash: GENESIS_HASH, purged: false };
}

export type AuditProblemKind =
  /** A row's content does not match its hash. */
  | 'edited'
  /** Rows are missing: a gap in seq, or a row whose predecessor is gone. */
  | 'deleted'
  /** A row that the chain does not account for: a duplicate seq, or rows the chain skips. */
  | 'inserted'
  /** A row links to its successor: rows were swapped. */
  | 'reordered'
  /**
   * A row does not link to its predecessor, which itself verifies: the predecessor was rewritten with a recomputed hash, or rows were
   * deleted and the rest renumbered.
   */
  | 'broken-link'
  /** The log ends before the seq a signed checkpoint (or the chain head) vouches for. */
  | 'truncated'
  /** A checkpoint whose signature, key or stored columns do not verify. */
  | 'checkpoint-forged'
  /** Rows (or their hashes) differ from what a validly signed checkpoint covers. */
  | 'checkpoint-mismatch'
  /** Checkpoints do not tile the chain: one was removed. */
  | 'checkpoint-missing'
  /** A purge record that the retention rule or the signed checkpoints contradict. */
  | 'purge-invalid';

export type AuditProblem = {
  readonly kind: AuditProblemKind;
  /** The first bad record: its seq (null when the problem is not about one row). */
  readonly seq: number | null;
  readonly checkpointId?: number;
  readonly message: string;
};

export type ChainWalk = {
  readonly rows: number;
  readonly lastSeq: number | null;
  readonly lastHash: Buffer;
  readonly lastRecordedAt: string | null;
  readonly problem: AuditProblem | null;
};

const describe = (r: ChainRow): string =>
  `recorded ${r.content.recorded_at}, request ${r.content.request_id}, subgraph ${r.content.subgraph}`;
const RECENT = 4096;

/**
 * Walks the chain from the row after `start` (seq start.seq + 1, whose prev_hash must be
 * start.hash) and stops at the first problem, naming the first bad record. `onRow` sees each row
 * that verified and may stop the walk with a problem of its own.
 */
export async function walkChain(
  q: Queryable,
  start: { readonly seq: number; readonly hash: Buffer },
  onRow?: (row: ChainRow) => AuditProblem | null | undefined,
  options: { readonly maxRows?: number; readonly pageSize?: number } = {},
): Promise<ChainWalk> {
  const rows = peekable(readChain(q, start.seq + 1, options.pageSize));
  let expected = start.seq + 1;
  let prev = start.hash;
  let count = 0;
  let lastRecordedAt: string | null = null;
  const recent = new Map<string, number>([[start.hash.toString('hex'), start.seq]]);
  const done = (problem: AuditProblem | null): ChainWalk => ({
    rows: count,
    lastSeq: count > 0 ? expected - 1 : null,
    lastHash: prev,
    lastRecordedAt,
    problem,
  });
  const contentOk = (r: ChainRow) => rowHash(r.prevHash, r.content).equals(r.hash);

  for (;;) {
    if (options.maxRows !== undefined && count >= options.maxRows) return done(null);
    const r = await rows.next();
    if (!r) return done(null);
    if (r.seq > expected) {
      const missing = r.seq - 1 === expected ? `seq ${expected} is missing` : `seqs ${expected}..${r.seq - 1} are missing`;
      return done({ kind: 'deleted', seq: expected, message: `${missing}: rows were deleted (the next row present is seq ${r.seq})` });
    }
    const after = await rows.peek();
    if (after && after.seq === r.seq) {
      // Two rows claim one seq: the genuine one links to its predecessor and is linked by the next seq.
      const group = [r];
      while ((await rows.peek())?.seq === r.seq) group.push((await rows.next())!);
      const next = await rows.peek();
      const genuine = group.filter((g) => g.prevHash.equals(prev) && contentOk(g) && (!next || next.prevHash.equals(g.hash)));
      const intruders = genuine.length === 1 ? group.filter((g) => g !== genuine[0]) : group;
      return done({
        kind: 'inserted',
        seq: r.seq,
        message: `seq ${r.seq} appears ${group.length} times: a row was inserted (${intruders.map(describe).join('; ')}${genuine.length === 1 ? '' : '; cannot tell which is genuine'})`,
      });
    }
    const linked = r.prevHash.equals(prev);
    const intact = contentOk(r);
    if (!linked || !intact) {
      if (linked)
        return done({
          kind: 'edited',
          seq: r.seq,
          message: `seq ${r.seq} was edited: its content does not match its hash (${describe(r)})`,
        });
      if (after && after.hash.equals(r.prevHash))
        return done({
          kind: 'reordered',
          seq: r.seq,
          message: `seq ${r.seq} links to its successor seq ${after.seq}: rows were reordered`,
        });
      if (after && after.prevHash.equals(prev))
        return done({
          kind: 'inserted',
          seq: r.seq,
          message: `seq ${r.seq} was inserted: seq ${after.seq} links over it to seq ${r.seq - 1} (${describe(r)})`,
        });
      const earlier = recent.get(r.prevHash.toString('hex'));
      if (earlier !== undefined && earlier < r.seq - 1)
        return done({
          kind: 'inserted',
          seq: earlier + 1,
          message: `seq ${r.seq} links to seq ${earlier}: ${earlier + 1 === r.seq - 1 ? `seq ${earlier + 1} was` : `seqs ${earlier + 1}..${r.seq - 1} were`} inserted and the rows after renumbered`,
        });
      if (!intact)
        return done({
          kind: 'edited',
          seq: r.seq,
          message: `seq ${r.seq} was replaced: neither its content nor its link to seq ${r.seq - 1} verify (${describe(r)})`,
        });
      return done({
        kind: 'broken-link',
        seq: r.seq,
        message: `seq ${r.seq} does not link to seq ${r.seq - 1}: seq ${r.seq - 1} was rewritten with a recomputed hash, or rows between them were deleted and the rest renumbered`,
      });
    }
    const stop = onRow?.(r);
    if (stop) return done(stop);
    count++;
    expected = r.seq + 1;
    prev = r.hash;
    lastRecordedAt = r.content.recorded_at;
    recent.set(r.hash.toString('hex'), r.seq);
    if (recent.size > RECENT) recent.delete(recent.keys().next().value!);
  }
}
