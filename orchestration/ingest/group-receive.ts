// Group commit for the inbox: the messages that arrive on many connections while a receive
// statement is in flight are committed together by the next one (one statement, one commit, one
// WAL flush for all of them), each sender still getting its ACK only after its message is
// committed. The same outcome per message as receive() (inbox.ts): accepted, duplicate with the
// stored ACK, or conflict; a message whose statement failed is not acknowledged.
import type { Database } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { receive, type InboundMessage, type MessageKey, type ReceiveResult } from './inbox.ts';

type Sealer = Pick<IdentifierProtection, 'sealPayload'>;
type Sealed = { readonly message: InboundMessage; readonly payload: string; readonly digest: string };
type Row = { ord: string; status: 'inserted' | 'found'; id: string; payload_digest: string | null; ack: Buffer | null };

/**
 * One statement for many messages of distinct keys: the existing rows looked up, the others
 * inserted in the given order (ids, hence per-patient order, follow arrival). A message that
 * lost a race to a concurrent insert of its key gets no row back: undefined, for the caller to
 * receive() on its own.
 */
export async function receiveMany(db: Database, batch: readonly Sealed[]): Promise<(ReceiveResult | undefined)[]> {
  const column = (f: (s: Sealed) => string | null) => batch.map(f);
  const k = (f: (key: MessageKey) => string) => column((s) => f(s.message.key));
  const r = await db.query<Row>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
         WITH ORDINALITY AS i(channel, sending_application, sending_facility, control_id, payload, payload_digest, ack, patient_key, ord)),
     found AS (
       SELECT i.ord, m.id, m.payload_digest, m.ack FROM input i
       JOIN inbox_message m USING (channel, sending_application, sending_facility, control_id)),
     inserted AS (
       INSERT INTO inbox_message (channel, sending_application, sending_facility, control_id, payload, payload_digest, ack, patient_key)
       SELECT channel, sending_application, sending_facility, control_id, payload::jsonb, payload_digest, decode(ack, 'hex'), patient_key
       FROM input i WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.ord = i.ord) ORDER BY ord
       ON CONFLICT (channel, sending_application, sending_facility, control_id) DO NOTHING
       RETURNING id, channel, sending_application, sending_facility, control_id)
     SELECT i.ord::text, 'inserted' AS status, n.id::text, NULL AS payload_digest, NULL::bytea AS ack
     FROM inserted n JOIN input i USING (channel, sending_application, sending_facility, control_id)
     UNION ALL SELECT ord::text, 'found', id::text, payload_digest, ack FROM found`,
    [
      k((key) => key.channel),
      k((key) => key.sendingApplication),
      k((key) => key.sendingFacility),
      k((key) => key.controlId),
      column((s) => s.payload),
      column((s) => s.digest),
      column((s) => Buffer.from(s.message.ack).toString('hex')),
      column((s) => s.message.patientKey ?? null),
    ],
    { prepared: 'inbox-receive-many' },
  );
  const results: (ReceiveResult | undefined)[] = batch.map(() => undefined);
  for (const row of r.rows) {
    const s = batch[Number(row.ord) - 1]!;
    results[Number(row.ord) - 1] =
      row.status === 'inserted'
        ? { status: 'accepted', id: row.id, ack: Buffer.from(s.message.ack) }
        : row.payload_digest === s.digest
          ? { status: 'duplicate', id: row.id, ack: Buffer.from(row.ack!) }
          : { status: 'conflict', id: row.id };
  }
  return results;
}

type Waiting = Sealed & { readonly resolve: (r: ReceiveResult) => void; readonly reject: (e: unknown) => void };

const keyOf = (k: MessageKey): string => JSON.stringify([k.channel, k.sendingApplication, k.sendingFacility, k.controlId]);

export type GroupReceiveOptions = {
  /** Messages per statement at most. */
  readonly maxBatch?: number;
  /** Statements in flight at once (each on its own pooled connection). */
  readonly maxInFlight?: number;
};

export const GROUP_RECEIVE_DEFAULTS = { maxBatch: 200, maxInFlight: 4 } as const;

/** receive() with group commit: the function to call per message; resolves once the message is committed. */
export function groupReceive(
  db: Database,
  protection: Sealer,
  options: GroupReceiveOptions = {},
): (message: InboundMessage) => Promise<ReceiveResult> {
  const maxBatch = options.maxBatch ?? GROUP_RECEIVE_DEFAULTS.maxBatch;
  const maxInFlight = options.maxInFlight ?? GROUP_RECEIVE_DEFAULTS.maxInFlight;
  const queue: Waiting[] = [];
  let inFlight = 0;

  /** Up to maxBatch waiting messages of distinct keys (a key twice waits for the next batch: it must see the first). */
  const take = (): Waiting[] => {
    const keys = new Set<string>();
    const batch: Waiting[] = [];
    for (let i = 0; i < queue.length && batch.length < maxBatch;) {
      const key = keyOf(queue[i]!.message.key);
      if (keys.has(key)) i++;
      else {
        keys.add(key);
        batch.push(...queue.splice(i, 1));
      }
    }
    return batch;
  };

  const alone = (w: Waiting): Promise<void> => receive(db, w.message, protection).then(w.resolve, w.reject);

  const run = async (): Promise<void> => {
    inFlight++;
    try {
      for (let batch = take(); batch.length > 0; batch = take()) {
        let results: (ReceiveResult | undefined)[];
        try {
          results = await receiveMany(db, batch);
        } catch (error) {
          // The database away: nobody in the batch is acknowledged. Anything else may be one
          // message's fault: each is tried on its own, so that it fails alone.
          if (batch.length === 1 || (error instanceof ProductError && error.code === 'DATABASE_UNAVAILABLE'))
            for (const w of batch) w.reject(error);
          else await Promise.all(batch.map(alone));
          continue;
        }
        await Promise.all(batch.map((w, i) => (results[i] ? w.resolve(results[i]) : alone(w))));
      }
    } finally {
      inFlight--;
    }
  };

  return (message) =>
    new Promise<ReceiveResult>((resolve, reject) => {
      // Sealed here, before waiting: the encryption of one message overlaps the statement of others.
      const sealed = protection.sealPayload(message.payload);
      queue.push({ message, payload: JSON.stringify(sealed), digest: sealed.digest, resolve, reject });
      if (inFlight < maxInFlight) void run();
    });
}
