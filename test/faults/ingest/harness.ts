// What the ingest fault tests share: the ingester as its own process (`node runtime/service.ts
// ingest`, the product's `service ingest` role) on loopback, started and killed by the test; a
// sender that retransmits each message until it gets a positive ACK (as an HL7 sender does); and
// the effects counted in the database.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase, dropSchema, type Database } from '../../../platform/db.ts';
import { createMllpClient } from '../../../protocol/mllp/client.ts';
import { uniqueSchema } from '../../support/env.ts';
import { ackOf, adtA01, SENDER } from '../../support/hl7-messages.ts';

const SERVICE = fileURLToPath(new URL('../../../runtime/service.ts', import.meta.url));
export const FEED = 'fault-feed';

/** A port free now on loopback (the ingester is restarted on the same one, so senders find it again). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); await sleep(100))
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** A running product's storage, keys and configuration for one test: a schema of its own, one HL7 feed (MSH-4 SIMHOSP). */
export type IngestEnv = {
  readonly url: string;
  readonly schema: string;
  readonly dir: string;
  readonly port: number;
  /** The environment of `service ingest` (redisUrl: a wake-up over that Redis). */
  env(redisUrl?: string): NodeJS.ProcessEnv;
  /** The test's own view of the database (never the ingester's connections). */
  readonly db: Database;
  close(): Promise<void>;
};

export async function ingestEnv(url: string): Promise<IngestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-faults-'));
  const schema = uniqueSchema('ingfault');
  writeFileSync(
    join(dir, 'connections.json'),
    JSON.stringify({
      connections: [
        {
          id: FEED,
          kind: 'hl7v2',
          adapter: 'hl7v2',
          name: 'Fault test feed',
          facility: { sendingFacility: SENDER.facility },
          timeZone: 'UTC',
          identifierSystems: { MR: 'urn:oid:2.16.840.1.113883.3.9999.1', PI: 'urn:oid:2.16.840.1.113883.3.9999.2' },
        },
      ],
    }),
  );
  const port = await freePort();
  const env = (redisUrl?: string): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: url,
      DB_SCHEMA: schema,
      KEYS_DIR: join(dir, 'keys'),
      CONNECTIONS_FILE: join(dir, 'connections.json'),
      INGEST_MLLP_PORT: String(port),
      HOST: '127.0.0.1',
      INGEST_WORKERS: '2',
      LOG_LEVEL: 'error',
    };
    if (redisUrl) e.REDIS_URL = redisUrl;
    else delete e.REDIS_URL;
    return e;
  };
  // The keys, once, as a deployment makes them (`service keys`).
  await new Promise<void>((resolve, reject) =>
    spawn(process.execPath, [SERVICE, 'keys'], { env: env(), stdio: 'ignore' }).once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`service keys exited with ${code}`)),
    ),
  );
  const db = await openDatabase({ url, schema, maxConnections: 2 });
  return {
    url,
    schema,
    dir,
    port,
    env,
    db,
    async close() {
      await dropSchema(db).catch(() => undefined);
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Ingester = { readonly child: ChildProcess; kill9(): Promise<void>; stop(): Promise<void> };

/** Starts `service ingest` and resolves once its MLLP port accepts connections. */
export async function startIngester(e: IngestEnv, redisUrl?: string): Promise<Ingester> {
  const child = spawn(process.execPath, [SERVICE, 'ingest'], { env: e.env(redisUrl), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: e.port }, () => resolve(s.destroy() === s));
      s.once('error', () => resolve(false));
    });
  await until(`the ingester listening (${stderr})`, async () => child.exitCode === null && (await listening()), 30_000);
  return {
    child,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
      await exited;
    },
  };
}

export type Ack = { readonly controlId: string; readonly code: string; readonly at: number; readonly bytes: string };

/**
 * Sends each message until it gets a positive ACK (AA or CA), one at a time on one connection,
 * retransmitting after a refused connection, a timeout, a dropped connection or a negative ACK.
 * Every positive ACK is recorded with when it arrived.
 */
export async function retransmittingSender(
  port: number,
  messages: readonly { readonly controlId: string; readonly text: string }[],
  acks: Ack[],
  options: { readonly retryMs?: number; readonly gapMs?: number } = {},
): Promise<{ readonly retransmissions: number }> {
  const client = createMllpClient({ host: '127.0.0.1', port, timeoutMs: 5000 });
  let retransmissions = 0;
  try {
    for (const m of messages) {
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) retransmissions++;
        try {
          const reply = await client.send(Buffer.from(m.text));
          const ack = ackOf(reply);
          if (ack && (ack.code === 'AA' || ack.code === 'CA') && ack.controlId === m.controlId) {
            acks.push({ controlId: m.controlId, code: ack.code, at: performance.now(), bytes: reply.toString() });
            if (options.gapMs) await sleep(options.gapMs);
            break;
          }
        } catch {
          // No ACK: the listener is down, restarting, or its database is; send again.
        }
        await sleep(options.retryMs ?? 100);
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  return { retransmissions };
}

/** n ADT^A01 messages of n distinct patients (MRN = control id). */
export const admissions = (prefix: string, n: number, offset = 0): { controlId: string; text: string }[] =>
  Array.from({ length: n }, (_, i) => {
    const controlId = `${prefix}${i}`;
    return { controlId, text: adtA01(controlId, `MRN${controlId}`, offset + i) };
  });

/** Waits until no inbox message is pending or in work (every one done or dead). */
export const inboxSettled = (db: Database, timeoutMs = 60_000): Promise<void> =>
  until(
    'the inbox drained',
    async () => (await db.query("SELECT 1 FROM inbox_message WHERE state IN ('pending', 'processing') LIMIT 1")).rows.length === 0,
    timeoutMs,
  );

/** Per control id of the prefix: inbox rows, their states, source records and link events of its patient. */
export async function effects(
  db: Database,
  prefix: string,
): Promise<{ inbox: Map<string, string>; inboxRows: number; records: number; linkEvents: Map<string, number> }> {
  const inbox = await db.query<{ control_id: string; state: string }>(
    'SELECT control_id, state FROM inbox_message WHERE channel = $1 AND starts_with(control_id, $2)',
    [FEED, prefix],
  );
  const records = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM source_record WHERE source = $1 AND starts_with(source_patient_id, $2)',
    [FEED, `MRN${prefix}`],
  );
  const events = await db.query<{ id: string; n: string }>(
    `SELECT source_patient_id AS id, count(*) AS n FROM link_event WHERE source = $1 AND starts_with(source_patient_id, $2)
     GROUP BY source_patient_id`,
    [FEED, `MRN${prefix}`],
  );
  return {
    inbox: new Map(inbox.rows.map((r) => [r.control_id, r.state])),
    inboxRows: inbox.rows.length,
    records: Number(records.rows[0]!.n),
    linkEvents: new Map(events.rows.map((r) => [r.id.slice(3), Number(r.n)])),
  };
}
