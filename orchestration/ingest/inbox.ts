// The durable inbox's operations. receive() is what a listener calls before it acknowledges:
// when it resolves, the message (and the ACK sent for it) is committed; when it rejects, nothing
// was written and the listener must not send a positive ACK (the sender retries).
// Workers claim() messages, then complete() or fail() them; replay() returns dead letters to work.
import type { Database, Queryable } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import {
  afterFailure,
  DEAD_REASONS,
  DEFAULT_RETRY,
  type DeadReason,
  type FailureKind,
  type InboxState,
  type RetryPolicy,
} from './state.ts';

/** The deduplication key: the channel (connection) it came in on and MSH-3, MSH-4, MSH-10. */
export type MessageKey = {
  readonly channel: string;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  readonly controlId: string;
};

export type InboundMessage = {
  readonly key: MessageKey;
  /** The message as received (ER7 text); sealed before it is stored. */
  readonly payload: string;
  /**
   * The ACK the caller will send if this message is accepted, stored with it in the same
   * statement, so that a duplicate gets exactly the bytes the first delivery got.
   */
  readonly ack: Uint8Array;
  /** Messages with the same key are processed in the order received; null = no ordering. */
  readonly patientKey?: string | null;
};

export type ReceiveResult =
  | { readonly status: 'accepted'; readonly id: string; readonly ack: Buffer }
  /** Same key, same payload: the stored ACK, nothing written. */
  | { readonly status: 'duplicate'; readonly id: string; readonly ack: Buffer }
  /** Same key, another payload: nothing written; the caller answers AR and raises an alert. */
  | { readonly status: 'conflict'; readonly id: string };

type Sealer = Pick<IdentifierProtection, 'sealPayload'>;

const KEY_WHERE = 'channel = $1 AND sending_application = $2 AND sending_facility = $3 AND control_id = $4';
const keyParams = (k: MessageKey): string[] => [k.channel, k.sendingApplication, k.sendingFacility, k.controlId];

type Existing = { id: string; payload_digest: string; ack: Buffer };

const existing = async (tx: Queryable, key: MessageKey): Promise<Existing | undefined> =>
  (await tx.query<Existing>(`SELECT id::text, payload_digest, ack FROM inbox_message WHERE ${KEY_WHERE}`, keyParams(key))).rows[0];

const compare = (found: Existing, digest: string): ReceiveResult =>
  found.payload_digest === digest
    ? { status: 'duplicate', id: found.id, ack: Buffer.from(found.ack) }
    : { status: 'conflict', id: found.id };

type Received = { status: 'inserted' | 'found'; id: string; payload_digest: string | null; ack: Buffer | null };

/**
 * Commits a message to the inbox: one statement, one round trip (the listener's cost per message
 * is mostly waiting for PostgreSQL). A duplicate or a conflict writes nothing: the existing row is
 * looked up in the same statement and the insert only runs when there is none (no sequence value
 * used). An insert that loses a race to a concurrent one (ON CONFLICT) returns no row: the
 * winner's row is then read.
 */
export async function receive(db: Database, message: InboundMessage, protection: Sealer): Promise<ReceiveResult> {
  const sealed = protection.sealPayload(message.payload);
  const r = await db.query<Received>(
    `WITH found AS (SELECT id, payload_digest, ack FROM inbox_message WHERE ${KEY_WHERE}),
     inserted AS (
       INSERT INTO inbox_message (channel, sending_application, sending_facility, control_id, payload, payload_digest, ack, patient_key)
       SELECT $1, $2, $3, $4, $5::jsonb, $6, $7::bytea, $8 WHERE NOT EXISTS (SELECT 1 FROM found)
       ON CONFLICT (channel, sending_application, sending_facility, control_id) DO NOTHING
       RETURNING id)
     SELECT 'inserted' AS status, id::text, NULL AS payload_digest, NULL::bytea AS ack FROM inserted
     UNION ALL SELECT 'found', id::text, payload_digest, ack FROM found`,
    [...keyParams(message.key), JSON.stringify(sealed), sealed.digest, Buffer.from(message.ack), message.patientKey ?? null],
  );
  const row = r.rows[0];
  if (row?.status === 'inserted') return { status: 'accepted', id: row.id, ack: Buffer.from(message.ack) };
  if (row) return compare({ id: row.id, payload_digest: row.payload_digest!, ack: row.ack! }, sealed.digest);
  const winner = await existing(db, message.key);
  if (!winner) throw new Error('inbox: a conflicting insert left no row');
  return compare(winner, sealed.digest);
}

/** A claimed message, for a handler: the payload revealed. */
export type ClaimedMessage = {
  readonly id: string;
  readonly key: MessageKey;
  readonly payload: string;
  readonly patientKey: string | null;
  /** This claim's attempt number (1 = first); with id, identifies the claim for complete/fail. */
  readonly attempt: number;
  readonly receivedAt: Date;
};

export type ClaimOptions = {
  readonly limit: number;
  readonly workerId: string;
  /** How long a claim is exclusive; after it a crashed worker's message is claimed again. */
  readonly leaseMs?: number;
  /** maxAttempts: a message whose lease expired that often is dead-lettered, not claimed again. */
  readonly policy?: RetryPolicy;
};

export const DEFAULT_LEASE_MS = 60_000;

type ClaimRow = {
  id: string;
  channel: string;
  sending_application: string;
  sending_facility: string;
  control_id: string;
  payload: unknown;
  patient_key: string | null;
  attempts: number;
  received_at: Date;
};

/**
 * Claims up to `limit` ready messages: pending ones due, and processing ones whose lease
 * expired. A message is not claimed while an earlier message (lower id) of the same patient key
 * is pending or processing, so one patient's messages are applied in order; a dead letter does
 * not hold the ones after it back (a poison message must not stall a patient's feed).
 * SKIP LOCKED: two workers never take the same row, and neither waits for the other.
 */
export async function claim(
  db: Database,
  options: ClaimOptions,
  protection: Pick<IdentifierProtection, 'revealPayload'>,
): Promise<ClaimedMessage[]> {
  const policy = options.policy ?? DEFAULT_RETRY;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const rows = await db.transaction(async (tx) => {
    // A message whose worker died maxAttempts times (it may be what kills it) stops here.
    await tx.query(
      `UPDATE inbox_message SET state = 'dead', dead_reason = $2, dead_at = now(), lease_until = NULL,
         last_error = coalesce(last_error, 'lease expired')
       WHERE id IN (SELECT id FROM inbox_message WHERE state = 'processing' AND lease_until <= now() AND attempts >= $1
                    FOR UPDATE SKIP LOCKED)`,
      [policy.maxAttempts, DEAD_REASONS.leaseExpired],
    );
    return (
      await tx.query<ClaimRow>(
        `WITH ready AS (
           SELECT m.id FROM inbox_message m
           WHERE ((m.state = 'pending' AND m.next_attempt_at <= now()) OR (m.state = 'processing' AND m.lease_until <= now()))
             AND NOT EXISTS (
               SELECT 1 FROM inbox_message e
               WHERE m.patient_key IS NOT NULL AND e.patient_key = m.patient_key AND e.id < m.id AND e.state IN ('pending', 'processing'))
           ORDER BY m.id
           LIMIT $1
           FOR UPDATE SKIP LOCKED)
         UPDATE inbox_message m
         SET state = 'processing', attempts = m.attempts + 1, claimed_by = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000)
         FROM ready WHERE m.id = ready.id
         RETURNING m.id::text, m.channel, m.sending_application, m.sending_facility, m.control_id, m.payload, m.patient_key, m.attempts, m.received_at`,
        [options.limit, options.workerId, leaseMs],
      )
    ).rows;
  });
  return rows
    .sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))
    .map((r) => ({
      id: r.id,
      key: { channel: r.channel, sendingApplication: r.sending_application, sendingFacility: r.sending_facility, controlId: r.control_id },
      payload: protection.revealPayload(r.payload) as string,
      patientKey: r.patient_key,
      attempt: r.attempts,
      receivedAt: new Date(r.received_at),
    }));
}

/** Which claim: a worker whose lease expired and was claimed again no longer owns the message. */
export type ClaimRef = Pick<ClaimedMessage, 'id' | 'attempt'>;

const OWNED = `id = $1 AND state = 'processing' AND attempts = $2`;

/** Marks a claimed message done; false when this claim no longer owns it (its lease expired and it was claimed again). */
export async function complete(db: Queryable, ref: ClaimRef): Promise<boolean> {
  const r = await db.query(
    `UPDATE inbox_message SET state = 'done', completed_at = now(), lease_until = NULL WHERE ${OWNED} RETURNING id`,
    [ref.id, ref.attempt],
  );
  return r.rows.length > 0;
}

export type FailOutcome = { readonly state: 'pending'; readonly delayMs: number } | { readonly state: 'dead'; readonly reason: DeadReason };

/**
 * Records a failed attempt: a transient one is retried after an exponential, fully jittered
 * delay until maxAttempts; a permanent one, or the last attempt, goes to the dead letters.
 * `error` is stored: it must name no PHI (see errorSummary). Undefined when this claim no longer owns the message.
 */
export async function fail(
  db: Queryable,
  ref: ClaimRef,
  kind: FailureKind,
  error: string,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): Promise<FailOutcome | undefined> {
  const next = afterFailure(kind, ref.attempt, policy, random);
  const r =
    next.state === 'pending'
      ? await db.query(
          `UPDATE inbox_message SET state = 'pending', last_error = $3, lease_until = NULL,
             next_attempt_at = now() + make_interval(secs => $4::double precision / 1000)
           WHERE ${OWNED} RETURNING id`,
          [ref.id, ref.attempt, error, next.delayMs],
        )
      : await db.query(
          `UPDATE inbox_message SET state = 'dead', last_error = $3, lease_until = NULL, dead_reason = $4, dead_at = now()
           WHERE ${OWNED} RETURNING id`,
          [ref.id, ref.attempt, error, next.reason],
        );
  return r.rows.length > 0 ? next : undefined;
}

export type ReplayFilter = {
  readonly channel?: string;
  readonly reason?: DeadReason;
  /** Dead-lettered at or after / before. */
  readonly since?: Date;
  readonly until?: Date;
};

export type ReplaySelection = { readonly ids: readonly string[] } | { readonly filter: ReplayFilter };

export type Replayed = {
  readonly id: string;
  readonly key: MessageKey;
  readonly reason: DeadReason;
  readonly attempts: number;
  readonly lastError: string | null;
};

type DeadRow = {
  id: string;
  channel: string;
  sending_application: string;
  sending_facility: string;
  control_id: string;
  reason: DeadReason;
  attempts: number;
  last_error: string | null;
};

/** The dead letters a selection names, oldest first, at most $7 of them (NULL: all). */
const SELECTED_DEAD = `
  SELECT id, channel, sending_application, sending_facility, control_id, dead_reason, attempts, last_error FROM inbox_message
  WHERE state = 'dead'
    AND ($1::boolean IS NOT TRUE OR id = ANY($2::bigint[]))
    AND ($3::text IS NULL OR channel = $3) AND ($4::text IS NULL OR dead_reason = $4)
    AND ($5::timestamptz IS NULL OR dead_at >= $5) AND ($6::timestamptz IS NULL OR dead_at < $6)
  ORDER BY id
  LIMIT $7`;

function selectionParams(selection: ReplaySelection, limit: number | undefined): unknown[] {
  const byIds = 'ids' in selection;
  const f: ReplayFilter = byIds ? {} : selection.filter;
  return [
    byIds,
    byIds ? selection.ids.filter((id) => /^\d+$/.test(id)) : [],
    f.channel ?? null,
    f.reason ?? null,
    f.since ?? null,
    f.until ?? null,
    limit ?? null,
  ];
}

const toReplayed = (x: DeadRow): Replayed => ({
  id: x.id,
  key: { channel: x.channel, sendingApplication: x.sending_application, sendingFacility: x.sending_facility, controlId: x.control_id },
  reason: x.reason,
  attempts: x.attempts,
  lastError: x.last_error,
});

/**
 * Returns dead letters to pending (attempts start again; last_error kept until the next one).
 * Idempotent: only dead rows change, so a second replay of the same selection returns nothing.
 * What it returns is for the caller's audit record (who replayed which messages, why they had failed).
 * `limit`: at most this many, oldest first (a caller working through a large filter in batches).
 */
export async function replay(db: Queryable, selection: ReplaySelection, limit?: number): Promise<Replayed[]> {
  const r = await db.query<DeadRow>(
    `WITH target AS (${SELECTED_DEAD} FOR UPDATE)
     UPDATE inbox_message m
     SET state = 'pending', attempts = 0, next_attempt_at = now(), dead_reason = NULL, dead_at = NULL, replays = m.replays + 1
     FROM target WHERE m.id = target.id
     RETURNING m.id::text, m.channel, m.sending_application, m.sending_facility, m.control_id, target.dead_reason AS reason,
       target.attempts, m.last_error`,
    selectionParams(selection, limit),
  );
  return r.rows.map(toReplayed).sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
}

/** The dead letters replay() would return to work now, changing nothing (a dry run). */
export async function deadLetters(db: Queryable, selection: ReplaySelection, limit?: number): Promise<Replayed[]> {
  const r = await db.query<DeadRow>(
    `SELECT id::text, channel, sending_application, sending_facility, control_id, dead_reason AS reason, attempts, last_error
     FROM (${SELECTED_DEAD}) d`,
    selectionParams(selection, limit),
  );
  return r.rows.map(toReplayed);
}

/** A message's state, for tests and status views (no payload). */
export async function inboxState(
  db: Queryable,
  id: string,
): Promise<{ state: InboxState; attempts: number; lastError: string | null; deadReason: DeadReason | null } | undefined> {
  const r = await db.query<{ state: InboxState; attempts: number; last_error: string | null; dead_reason: DeadReason | null }>(
    'SELECT state, attempts, last_error, dead_reason FROM inbox_message WHERE id = $1',
    [id],
  );
  const row = r.rows[0];
  return row && { state: row.state, attempts: row.attempts, lastError: row.last_error, deadReason: row.dead_reason };
}
