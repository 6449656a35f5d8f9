// HL7 v2 intake throughput on real PostgreSQL: N MLLP sender connections (a worker thread) send
// ADT^A01 and ORU^R01 messages to the product's listener (createMllpServer + createHl7Intake: parse
// MSH, seal, commit to the inbox, then ACK) as fast as the ACKs come back; messages/s sustained and
// ACK latency p50/p99. In the same run, pgbench inserts one row per transaction into a table like
// the inbox's with as many clients: what this PostgreSQL on this machine can commit at all (the
// physical reference). A schema of its own, dropped at the end:
//   DATABASE_URL=postgres://... npm run bench:ingest
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { CONNECTION_KINDS, loadAdapters, type Hl7FeedConfig } from '../../platform/config.ts';
import { dropSchema, migrate, openDatabase, type Database } from '../../platform/db.ts';
import { createHl7Intake } from '../../orchestration/ingest/hl7-intake.ts';
import { startIngestion } from '../../orchestration/ingest/ingestion.ts';
import { createMllpClient } from '../../protocol/mllp/client.ts';
import { ALL_MIGRATIONS } from '../../runtime/components.ts';
import { translateHl7 } from '../../translation/hl7v2/translate.ts';
import { createMllpServer } from '../../protocol/mllp/server.ts';
import { fieldCipher, loadFieldKeys } from '../../security/field-encryption.ts';
import { identifierProtection } from '../../security/identifier-protection.ts';
import { commandLine, reportFailure, usageError } from '../../runtime/cli.ts';
import { uniqueSchema } from '../../test/support/env.ts';
import { adtA01, SENDER, type MessageKind } from '../../test/support/hl7-messages.ts';
import type { SenderJob, SenderResult } from './sender.ts';

const NAME = 'bench:ingest';
const { values } = commandLine({
  name: NAME,
  usage: 'npm run bench:ingest [-- --seconds N --connections 8,32 --pool N]',
  description: 'MLLP ADT and ORU intake (ACK after commit) on PostgreSQL, beside pgbench single-row inserts (BENCHMARKS.md).',
  options: {
    seconds: { type: 'integer', min: 1, max: 600, default: 10, description: 'length of each measured run' },
    connections: { type: 'string', default: '8,32', value: 'N,N', description: 'sender connections (= pgbench clients) per run' },
    pool: { type: 'integer', min: 1, max: 200, default: 10, description: "the listener's PostgreSQL pool size (the product's default)" },
  },
  example: 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:ingest',
  notes: 'Needs DATABASE_URL and pgbench (PATH or /usr/lib/postgresql/15/bin). Writes bench/results/ingest-*.json.',
});
const url = process.env.DATABASE_URL;
if (!url) process.exit(reportFailure(NAME, usageError('set DATABASE_URL: this benchmark measures commits to a real PostgreSQL')));
const levels = values.connections.split(',').map(Number);
if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > 200))
  process.exit(reportFailure(NAME, usageError('--connections must be integers from 1 to 200, comma-separated', 'connections')));
const durationMs = values.seconds * 1000;
const LAG_MESSAGES = 200;
const LAG_GAP_MS = 10;

const pgbenchPath = async (): Promise<string> => {
  for (const candidate of ['pgbench', '/usr/lib/postgresql/15/bin/pgbench'])
    if (
      await promisify(execFile)(candidate, ['--version']).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  throw usageError('pgbench not found (install postgresql-client, or put it on PATH)');
};

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

function send(job: SenderJob): Promise<SenderResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./sender.ts', import.meta.url), { workerData: job });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** A sealed payload is JSON of about this size for these messages (base64 of the encrypted ER7). */
const PAYLOAD = JSON.stringify({ v: 1, k: 'bench', iv: randomBytes(12).toString('base64'), ct: randomBytes(420).toString('base64') });

const schema = uniqueSchema('ingbench');
const db = await openDatabase({ url, schema, maxConnections: values.pool });
const keys = mkdtempSync(join(tmpdir(), 'ingbench-'));
const pgbench = await pgbenchPath();
const server = await (async () => {
  await migrate(db, ALL_MIGRATIONS);
  const protection = identifierProtection(fieldCipher(loadFieldKeys(keys, true)));
  const intake = createHl7Intake({ db, protection, channel: 'bench-feed' });
  return createMllpServer({ port: 0, host: '127.0.0.1', handler: async (m) => (await intake(m)).ack });
})();

type IntakeFigures = {
  kind: MessageKind;
  connections: number;
  messages: number;
  perSecond: number;
  p50: number;
  p99: number;
  refused: number;
  errors: number;
};
const round1 = (n: number) => Math.round(n * 10) / 10;

async function intakeRun(kind: MessageKind, connections: number): Promise<IntakeFigures> {
  const r = await send({
    port: server.port,
    connections,
    durationMs,
    kind,
    prefix: `${kind}${connections}-${randomBytes(3).toString('hex')}-`,
  });
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  return {
    kind,
    connections,
    messages: r.sent,
    perSecond: Math.round(r.sent / values.seconds),
    p50: round1(quantile(sorted, 0.5)),
    p99: round1(quantile(sorted, 0.99)),
    refused: r.refused,
    errors: r.errors,
  };
}

async function pgbenchRun(clients: number): Promise<number> {
  const script = join(keys, 'insert.sql');
  writeFileSync(
    script,
    `INSERT INTO ${schema}.pgbench_inbox (channel, sending_application, sending_facility, control_id, payload, payload_digest, ack, patient_key)
     VALUES ('bench-feed', 'SIMADT^', 'SIMHOSP^', md5(random()::text), '${PAYLOAD}', md5(random()::text), '\\x4d5348', md5(random()::text));\n`,
  );
  const args = [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(clients),
    '-j',
    String(Math.min(clients, cpus().length)),
    '-T',
    String(values.seconds),
  ];
  const { stdout } = await promisify(execFile)(pgbench, [...args, '-f', script, url!], { timeout: durationMs + 60_000 });
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1];
  if (!tps) throw new Error(`pgbench printed no tps: ${stdout.slice(-300)}`);
  return Math.round(Number(tps));
}

/**
 * End-to-end lag to queryable: ADT^A01 messages of new patients sent one at a time (paced, as a
 * feed sends) to the product's ingester (startIngestion: listener, inbox, workers, HL7 translation,
 * MPI matching); per message, from sending to its patient's source record committed in the MPI.
 */
async function lagRun(pool: Database, count: number, gapMs: number): Promise<{ messages: number; p50: number; p99: number; max: number }> {
  const feed: Hl7FeedConfig = {
    kind: CONNECTION_KINDS.hl7v2,
    id: 'bench-lag-feed',
    adapter: 'hl7v2',
    facility: { sendingFacility: SENDER.facility },
    timeZone: 'UTC',
  };
  const protection = identifierProtection(fieldCipher(loadFieldKeys(keys, true)));
  const ingestion = await startIngestion({
    db: pool,
    protection,
    connections: [feed],
    adapters: loadAdapters(),
    translate: translateHl7,
    port: 0,
    host: '127.0.0.1',
    pollMs: 1000,
    // In one process the listener wakes its own workers (what Redis does across processes).
    wakeUp: (() => {
      const local = new Set<() => void>();
      return { subscribe: (f: () => void) => (local.add(f), () => local.delete(f)), notify: () => local.forEach((f) => f()) };
    })(),
  });
  const client = createMllpClient({ host: '127.0.0.1', port: ingestion.port!, timeoutMs: 10_000 });
  const sentAt = new Map<string, number>();
  try {
    for (let i = 0; i < count; i++) {
      const mrn = `LAG${i}`;
      sentAt.set(mrn, Date.now());
      await client.send(Buffer.from(adtA01(`L${i}`, mrn, 100_000 + i)));
      await new Promise((r) => setTimeout(r, gapMs));
    }
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const n = await pool.query<{ n: string }>('SELECT count(*) AS n FROM source_record WHERE source = $1', [feed.id]);
      if (Number(n.rows[0]!.n) >= count) break;
    }
  } finally {
    await client.close();
    await ingestion.close();
  }
  const rows = await pool.query<{ id: string; at: Date }>(
    'SELECT source_patient_id AS id, linked_at AS at FROM source_record WHERE source = $1',
    [feed.id],
  );
  const lags = rows.rows.map((r) => new Date(r.at).getTime() - sentAt.get(r.id)!).sort((a, b) => a - b);
  return { messages: lags.length, p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: lags.at(-1) ?? NaN };
}

const startedAt = new Date();
try {
  await db.query('CREATE TABLE pgbench_inbox (LIKE inbox_message INCLUDING ALL)');
  // Warm-up: connections opened, code paths compiled; not counted.
  await send({ port: server.port, connections: 4, durationMs: 2000, kind: 'adt', prefix: 'warm-' });
  const intake: IntakeFigures[] = [];
  const reference: { clients: number; tps: number }[] = [];
  for (const connections of levels) {
    for (const kind of ['adt', 'oru'] as const) intake.push(await intakeRun(kind, connections));
    reference.push({ clients: connections, tps: await pgbenchRun(connections) });
  }
  // The throughput runs' messages name no configured feed: the workers would go through them first.
  await db.query('TRUNCATE inbox_message');
  const lag = await lagRun(db, LAG_MESSAGES, LAG_GAP_MS);
  console.log('\nkind  conns   msgs/s   ack p50 ms   ack p99 ms   pgbench tps   ratio   refused/errors');
  for (const f of intake) {
    const tps = reference.find((r) => r.clients === f.connections)!.tps;
    console.log(
      `${f.kind.padEnd(5)} ${String(f.connections).padStart(5)} ${String(f.perSecond).padStart(8)} ${String(f.p50).padStart(12)} ${String(f.p99).padStart(12)} ${String(tps).padStart(13)} ${(f.perSecond / tps).toFixed(2).padStart(7)}   ${f.refused}/${f.errors}`,
    );
  }
  // The headline: the most connections measured, the slower of ADT and ORU there.
  const top = Math.max(...levels);
  const headline = intake.filter((f) => f.connections === top).sort((a, b) => a.perSecond - b.perSecond)[0]!;
  const tps = reference.find((r) => r.clients === top)!.tps;
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memory: totalmem(), node: process.version };
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL(`../results/ingest-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url),
    `${JSON.stringify({ benchmark: 'ingest', startedAt, seconds: values.seconds, pool: values.pool, machine, intake, pgbench: reference, lag }, null, 2)}\n`,
  );
  console.log(
    `end-to-end lag to queryable (ADT^A01 sent -> source record in the MPI, ${lag.messages} messages, one every ${LAG_GAP_MS} ms): ` +
      `p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms`,
  );
  console.log(
    `ingest figures: msgs/s=${headline.perSecond} ack-p99=${headline.p99} ms pgbench-tps=${tps} ratio=${(headline.perSecond / tps).toFixed(2)}`,
  );
} finally {
  await server.close();
  await dropSchema(db);
  await db.close();
  rmSync(keys, { recursive: true, force: true });
}
