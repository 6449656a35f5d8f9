// Shared by the inbox tests: a database in a fresh schema (PostgreSQL when DATABASE_URL is set,
// else PGlite) with the inbox table, a throwaway field key, and synthetic messages.
import { openMpiTestDb, type MpiTestDb } from '../mpi/test-helpers.ts';
import { claim, fail, receive, type InboundMessage } from './inbox.ts';
import { INGEST_MIGRATIONS } from './migrations.ts';

export const openInboxTestDb = (): Promise<MpiTestDb> =>
  openMpiTestDb({ migrations: INGEST_MIGRATIONS, prefix: 'inbox', maxConnections: 8 });

export const NO_CONNECTION_TO_KILL = 'needs real PostgreSQL (DATABASE_URL): PGlite runs in the process, there is no connection to kill';
export const POSTGRES_ONLY = 'needs real PostgreSQL (DATABASE_URL): PGlite has one connection, so there is no concurrency to test';

/** A synthetic ADT-like message (invented content) with its AA ACK. */
export function message(
  controlId: string,
  options: { patientKey?: string | null; body?: string; channel?: string; ack?: string } = {},
): InboundMessage {
  const payload =
    `MSH|^~\\&|SIMADT|SIMHOSP|PGW|PGW|20261201101500||ADT^A08|${controlId}|P|2.5\r` +
    `PID|1||${options.patientKey ?? 'X'}^^^SIMHOSP^MR||${options.body ?? 'TESTPERSON^ALPHA'}\r`;
  return {
    key: { channel: options.channel ?? 'sim-mllp', sendingApplication: 'SIMADT', sendingFacility: 'SIMHOSP', controlId },
    payload,
    ack: Buffer.from(options.ack ?? `MSH|^~\\&|PGW|PGW|SIMADT|SIMHOSP|20261201101501||ACK^A08|A${controlId}|P|2.5\rMSA|AA|${controlId}\r`),
    patientKey: options.patientKey === undefined ? null : options.patientKey,
  };
}

/** Receives the messages and fails each permanently (through the inbox's own operations): their inbox ids, dead letters. */
export async function makeDeadLetters(
  t: MpiTestDb,
  messages: readonly InboundMessage[],
  error = 'PermanentFailure: test',
): Promise<string[]> {
  const ids: string[] = [];
  for (const m of messages) {
    const r = await receive(t.db, m, t.protection);
    if (r.status !== 'accepted') throw new Error(`test message ${m.key.controlId} was not new`);
    ids.push(r.id);
  }
  const claimed = await claim(t.db, { limit: messages.length + 10, workerId: 'test' }, t.protection);
  for (const c of claimed) if (ids.includes(c.id)) await fail(t.db, c, 'permanent', error);
  return ids;
}
