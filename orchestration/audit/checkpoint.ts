// Signed checkpoints: every so often (every N rows, or on demand), an Ed25519 signature over the
// Merkle root of the row hashes appended since the previous checkpoint, with the range bounds,
// the hash the range starts from and the chain head. Checkpoints tile the chain (each starts
// where the previous ended), so a verifier holding the public key detects a rewritten range even
// when its hashes were recomputed, a truncated tail and a removed checkpoint.
//
// The checkpointer re-verifies the rows it is about to sign (chain links and content hashes) and
// refuses to sign a broken chain.
import { createPrivateKey, createPublicKey, sign, verify, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import type { Database, Queryable } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import { chainBase, walkChain, type AuditProblem } from './chain.ts';
import { merkleAccumulator } from './merkle.ts';

/** Key file name (KEYS_DIR/audit-checkpoint.json) and algorithm: loadKeyPair(keys, AUDIT_CHECKPOINT_KEY, AUDIT_CHECKPOINT_ALG). */
export const AUDIT_CHECKPOINT_KEY = 'audit-checkpoint';
export const AUDIT_CHECKPOINT_ALG = 'EdDSA';

/** What signs: a private Ed25519 JWK and its key id (platform/keys.ts KeyPair fits). */
export type CheckpointSigningKey = { readonly kid: string; readonly privateJwk: JWK };

/** What is signed, exactly as stored in audit_checkpoint.payload (JSON, this key order). */
export type CheckpointPayload = {
  readonly type: 'audit-checkpoint';
  readonly v: 1;
  readonly kid: string;
  readonly from_seq: number;
  readonly to_seq: number;
  /** prev_hash of row from_seq: the previous checkpoint's head_hash, or the genesis. */
  readonly prev_hash: string;
  readonly merkle_root: string;
  /** hash of row to_seq: the chain head when signed. */
  readonly head_hash: string;
  readonly from_recorded_at: string;
  readonly to_recorded_at: string;
  readonly created_at: string;
};

export type StoredCheckpoint = {
  readonly id: number;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly merkleRoot: string;
  readonly headHash: string;
  readonly keyId: string;
  readonly payload: string;
  readonly signature: string;
};

export class AuditIntegrityError extends Error {
  readonly problem: AuditProblem;
  constructor(problem: AuditProblem) {
    super(`audit chain does not verify: ${problem.message}`);
    this.name = 'AuditIntegrityError';
    this.problem = problem;
  }
}

const LOCK = '727003, hashtext(current_schema())';

export async function readCheckpoints(q: Queryable): Promise<StoredCheckpoint[]> {
  const { rows } = await q.query<{
    id: string;
    from_seq: string;
    to_seq: string;
    merkle_root: string;
    head_hash: string;
    key_id: string;
    payload: string;
    signature: string;
  }>(
    `SELECT id::text AS id, from_seq::text AS from_seq, to_seq::text AS to_seq, encode(merkle_root, 'hex') AS merkle_root, encode(head_hash, 'hex') AS head_hash,
            key_id, payload, signature FROM audit_checkpoint ORDER BY audit_checkpoint.from_seq, audit_checkpoint.id`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    fromSeq: Number(r.from_seq),
    toSeq: Number(r.to_seq),
    merkleRoot: r.merkle_root,
    headHash: r.head_hash,
    keyId: r.key_id,
    payload: r.payload,
    signature: r.signature,
  }));
}

/**
 * Checks a stored checkpoint's signature against the trusted public keys and that its columns
 * say what its signed payload says. Returns the payload, or a reason it is forged.
 */
export function verifyCheckpointSignature(
  cp: StoredCheckpoint,
  trusted: readonly JWK[],
): { payload: CheckpointPayload } | { reason: string } {
  const key = trusted.find((k) => k.kid === cp.keyId);
  if (!key) return { reason: `signed with key ${JSON.stringify(cp.keyId)}, which is not a trusted audit checkpoint key` };
  if (key.kty !== 'OKP' || key.crv !== 'Ed25519') return { reason: `trusted key ${cp.keyId} is not an Ed25519 key` };
  let ok: boolean;
  try {
    ok = verify(
      null,
      Buffer.from(cp.payload, 'utf8'),
      createPublicKey({ key: publicJwk(key) as JsonWebKey, format: 'jwk' }),
      Buffer.from(cp.signature, 'base64url'),
    );
  } catch {
    ok = false;
  }
  if (!ok) return { reason: 'its signature does not verify' };
  let p: CheckpointPayload;
  try {
    p = JSON.parse(cp.payload) as CheckpointPayload;
  } catch {
    return { reason: 'its signed payload is not JSON' };
  }
  if (p.type !== 'audit-checkpoint' || p.v !== 1) return { reason: 'its signed payload is not an audit checkpoint' };
  const columns: [string, unknown, unknown][] = [
    ['kid', p.kid, cp.keyId],
    ['from_seq', p.from_seq, cp.fromSeq],
    ['to_seq', p.to_seq, cp.toSeq],
    ['merkle_root', p.merkle_root, cp.merkleRoot],
    ['head_hash', p.head_hash, cp.headHash],
  ];
  const altered = columns.filter(([, signed, stored]) => signed !== stored).map(([name]) => name);
  if (altered.length > 0) return { reason: `its stored ${altered.join(', ')} differ from what was signed` };
  return { payload: p };
}

const publicJwk = (jwk: JWK): JWK => {
  const { d: _d, ...pub } = jwk;
  return pub;
};

export type CreatedCheckpoint = { readonly id: number; readonly payload: CheckpointPayload };

/**
 * Signs the rows appended since the last checkpoint (at most maxRows of them). Returns null when
 * there is nothing new; throws AuditIntegrityError, signing nothing, when those rows do not verify.
 * Checkpointers in several processes are serialized by an advisory lock.
 */
export async function createCheckpoint(
  db: Database,
  key: CheckpointSigningKey,
  options: { readonly maxRows?: number } = {},
): Promise<CreatedCheckpoint | null> {
  const signer = createPrivateKey({ key: key.privateJwk as JsonWebKey, format: 'jwk' });
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${LOCK})`);
    const last = (await readCheckpoints(tx)).at(-1);
    let start: { seq: number; hash: Buffer };
    if (last) {
      const lastPayload = JSON.parse(last.payload) as CheckpointPayload;
      start = { seq: last.toSeq, hash: Buffer.from(lastPayload.head_hash, 'hex') };
    } else {
      const base = await chainBase(tx);
      start = { seq: base.seq, hash: base.hash };
    }
    const merkle = merkleAccumulator();
    let first: { seq: number; prevHash: Buffer; recordedAt: string } | null = null;
    const walk = await walkChain(
      tx,
      start,
      (row) => {
        first ??= { seq: row.seq, prevHash: row.prevHash, recordedAt: row.content.recorded_at };
        merkle.add(row.hash);
        return null;
      },
      { maxRows: options.maxRows ?? 1_000_000 },
    );
    if (walk.problem) throw new AuditIntegrityError(walk.problem);
    const from = first as { seq: number; prevHash: Buffer; recordedAt: string } | null;
    if (!from || walk.lastSeq === null) return null;
    const payload: CheckpointPayload = {
      type: 'audit-checkpoint',
      v: 1,
      kid: key.kid,
      from_seq: from.seq,
      to_seq: walk.lastSeq,
      prev_hash: from.prevHash.toString('hex'),
      merkle_root: merkle.root().toString('hex'),
      head_hash: walk.lastHash.toString('hex'),
      from_recorded_at: from.recordedAt,
      to_recorded_at: walk.lastRecordedAt!,
      created_at: new Date().toISOString(),
    };
    const text = JSON.stringify(payload);
    const signature = sign(null, Buffer.from(text, 'utf8'), signer).toString('base64url');
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO audit_checkpoint (from_seq, to_seq, merkle_root, head_hash, key_id, payload, signature)
       VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'), $5, $6, $7) RETURNING id::text AS id`,
      [payload.from_seq, payload.to_seq, payload.merkle_root, payload.head_hash, key.kid, text, signature],
    );
    return { id: Number(rows[0]!.id), payload };
  });
}

export type CheckpointSchedule = {
  /** Sign once this many rows are unsigned (default 1,000). */
  readonly everyRows?: number;
  /** Sign whatever is unsigned once the last checkpoint is this old (default 5 minutes). */
  readonly maxAgeMs?: number;
  /** How often to look (default 10 s). */
  readonly pollMs?: number;
};

export type CheckpointScheduler = { stop(): Promise<void>; runNow(): Promise<CreatedCheckpoint | null> };

const log = logger('audit');

/**
 * Checkpoints in the background (timer unref'd): when everyRows rows are unsigned, or when some
 * are and the last checkpoint is older than maxAgeMs. Safe to run in several processes.
 */
export function startAuditCheckpoints(db: Database, key: CheckpointSigningKey, schedule: CheckpointSchedule = {}): CheckpointScheduler {
  const everyRows = schedule.everyRows ?? 1000;
  const maxAgeMs = schedule.maxAgeMs ?? 5 * 60_000;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const runNow = async (): Promise<CreatedCheckpoint | null> => {
    try {
      const cp = await createCheckpoint(db, key);
      if (cp) log.info('audit_checkpoint', { id: cp.id, from_seq: cp.payload.from_seq, to_seq: cp.payload.to_seq });
      return cp;
    } catch (error) {
      if (error instanceof AuditIntegrityError)
        log.error('audit_chain_broken', { kind: error.problem.kind, seq: error.problem.seq ?? undefined });
      else log.error('audit_checkpoint_failed', { error: (error as Error).message.slice(0, 200) });
      throw error;
    }
  };
  const tick = async (): Promise<void> => {
    const { rows } = await db.query<{ head: string; signed: string; age_ms: number | null }>(
      `SELECT (SELECT seq FROM audit_chain_head WHERE id = 1)::text AS head, (SELECT coalesce(max(to_seq), 0) FROM audit_checkpoint)::text AS signed,
              (SELECT extract(epoch FROM clock_timestamp() - max(created_at)) * 1000 FROM audit_checkpoint)::float8 AS age_ms`,
    );
    const r = rows[0]!;
    const unsigned = Number(r.head) - Number(r.signed);
    if (unsigned >= everyRows || (unsigned > 0 && (r.age_ms === null || r.age_ms >= maxAgeMs))) await runNow();
  };
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(tick).catch(() => undefined);
  }, schedule.pollMs ?? 10_000);
  timer.unref();
  return {
    runNow: () => {
      const result = running.then(runNow);
      running = result.catch(() => undefined);
      return result;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
