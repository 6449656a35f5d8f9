// `npm run bench:gateway`: the golden-patient query, side by side in ONE run (issue 17 item 2),
// through the full product gateway (JWT verification, signed identity per subgraph call, guarded
// subgraphs with graphql-shield and the audit trail), stock @apollo/gateway, Hive Gateway with
// the Rust query planner (de-duplication off, and on apart), and the floor (a minimal client
// making the three subgraph calls itself), the peers in front of the same subgraph code started
// unguarded, over the same database, cache and simulated EHRs. Rounds are interleaved (A B C D E,
// A B C D E, ...) so a shared, noisy machine affects every target alike; the ratios are the
// result. Layout: this process drives load (autocannon); a backend child runs the EHRs, subgraphs
// and storage; each target runs in its own child. At the end the full target's audit trail is
// verified (`audit:verify`) and counted against the requests answered.
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../platform/keys.ts';
import { mintDevToken } from '../../security/user-token.ts';
import { runLoad, stopLoad, type AutocannonClient, type AutocannonRequest } from './autocannon.ts';
import { canonicalJson, checkAudit, firstDifference, parseConnections, parseTargets, ratiosLine } from './compare.ts';
import {
  BENCH_CLINICIAN,
  type AuditSummary,
  type BackendReady,
  type ChildFailed,
  type ChildStats,
  type GatewayConfig,
  type GatewayKind,
  type GatewayReady,
} from './protocol.ts';
import { ask, GOLDEN_PATIENT_QUERY, incomplete, requestBody, type Answer } from './query.ts';
import {
  describeMachine,
  errorCount,
  machineCpuMs,
  processCpuMs,
  ratio,
  round1,
  summarize,
  table,
  toRound,
  vmHwmKb,
  type CpuPerRequest,
  type ResponseCounts,
  type Round,
  type TargetSummary,
} from './report.ts';
import { commandLine, describeFailure, usageError } from '../../runtime/cli.ts';

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw usageError(`${name} must be an integer >= ${min} (got ${raw})`, name);
  return n;
}

const { values: options } = commandLine({
  name: 'bench:gateway',
  usage: 'npm run bench:gateway [-- options]',
  description:
    'The golden-patient query through the product (all guards on), stock @apollo/gateway, Hive Gateway with the Rust\n' +
    'planner (de-duplication off, and on apart) and a direct-client floor, in interleaved rounds at each connection\n' +
    'count plus one connection for latency; checks all return the same data first and that the audit trail verifies\n' +
    'after; prints req/s, p50, p99, CPU per request and peak RSS per target, writes bench/results/, and ends with\n' +
    '`gateway ratios: full/stock=A full/hive-rust=B unloaded-p50 full=C ms stock=D ms` (A, B at 50 connections).',
  options: {
    connections: {
      type: 'string',
      value: 'N,N',
      default: process.env.BENCH_CONNECTIONS ?? '16,50',
      description: 'connection counts of the throughput loads (BENCH_CONNECTIONS); one connection is always added for latency',
    },
    duration: {
      type: 'integer',
      min: 1,
      value: 'S',
      default: intFromEnv('BENCH_DURATION', 10, 1),
      description: 'seconds per target, load and round (BENCH_DURATION)',
    },
    rounds: { type: 'integer', min: 1, default: intFromEnv('BENCH_ROUNDS', 2, 1), description: 'interleaved rounds (BENCH_ROUNDS)' },
    warmup: {
      type: 'integer',
      min: 0,
      value: 'S',
      default: intFromEnv('BENCH_WARMUP', 3, 0),
      description: 'warm-up seconds per target (BENCH_WARMUP)',
    },
    patients: {
      type: 'integer',
      min: 1,
      default: intFromEnv('BENCH_PATIENTS', 50, 1),
      description: 'golden patients in the rotation (BENCH_PATIENTS)',
    },
    targets: {
      type: 'string',
      value: 'LIST',
      default: process.env.BENCH_TARGETS ?? 'full,stock,hive-rust,hive-rust-dedup,floor',
      description: 'targets to run, comma-separated, full among them (BENCH_TARGETS)',
    },
  },
  example: 'npm run bench:gateway -- --duration 20 --rounds 3',
  notes:
    'Targets: full (the product: JWT, signed identity per subgraph call, graphql-shield, audit); stock (@apollo/gateway);\n' +
    'hive-rust (Hive Gateway + Rust planner, de-duplication off: the peer of the ratio); hive-rust-dedup (the same, on:\n' +
    'reported apart); floor (a minimal client calling mpi, then epic and cerner, itself). The peers serve the same\n' +
    'subgraph code started unguarded. DATABASE_URL and REDIS_URL as the product (else PGlite in memory and an in-process\n' +
    'cache); the benchmark schema is dropped at the end, after `audit:verify` has checked it.',
});

function parsed<T>(fn: () => T, argument: string): T {
  try {
    return fn();
  } catch (error) {
    throw usageError((error as Error).message, argument);
  }
}

const CONFIG = {
  connections: parsed(() => parseConnections(options.connections), 'connections'),
  durationSeconds: options.duration,
  rounds: options.rounds,
  warmupSeconds: options.warmup,
  patients: options.patients,
};
const TARGETS: readonly GatewayKind[] = parsed(() => parseTargets(options.targets), 'targets');
/** Every load of a round: the throughput connection counts, then one connection for latency. */
const LOADS: readonly number[] = [...CONFIG.connections.filter((c) => c !== 1), 1];
const RATIO_CONNECTIONS = 50;
const BACKEND_START_TIMEOUT_MS = 300_000;
const GATEWAY_START_TIMEOUT_MS = 60_000;
// Generous upper bound for the whole run; the defaults take about 7 minutes.
const RUN_DEADLINE_MS =
  BACKEND_START_TIMEOUT_MS +
  TARGETS.length * GATEWAY_START_TIMEOUT_MS +
  300_000 +
  TARGETS.length * (CONFIG.warmupSeconds + 5 + CONFIG.rounds * LOADS.length * (CONFIG.durationSeconds + 10)) * 1000;

const DESCRIPTION: Record<GatewayKind, string> = {
  full: 'product gateway (JWT, signed identity per subgraph call, timeouts) -> guarded subgraphs (identity check, graphql-shield, audit)',
  stock: 'stock @apollo/gateway + Apollo Server standalone, no auth -> same subgraph code unguarded (unguardedAs: clinician, TREAT)',
  'hive-rust':
    'Hive Gateway (@graphql-hive/gateway-runtime) with the Rust query planner (@graphql-hive/router-runtime), in-flight de-duplication off -> unguarded subgraphs',
  'hive-rust-dedup': 'the same Hive Gateway with in-flight de-duplication on (its default) -> unguarded subgraphs; not in the ratios',
  floor:
    'a minimal HTTP client (node:http, kept-alive) calling mpi, then epic and cerner, and assembling the answer -> unguarded subgraphs',
};

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

const log = (line: string) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Children

type Child = { readonly name: string; readonly proc: ChildProcess; readonly exited: Promise<void>; exitedAlready: boolean };
const children: Child[] = [];

function startChild(name: string, script: string, args: readonly string[]): Child {
  const proc = fork(join(HERE, script), [...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // The product's JSON logs at info level would interleave with the report.
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  const child: Child = { name, proc, exitedAlready: false, exited: new Promise((resolve) => proc.once('exit', () => resolve())) };
  void child.exited.then(() => (child.exitedAlready = true));
  children.push(child);
  return child;
}

/** The next message of the given type from a child, failing on `failed`, on exit or after timeoutMs. */
function nextMessage<T extends { type: string }>(child: Child, type: T['type'], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      child.proc.off('message', onMessage);
      child.proc.off('exit', onExit);
      fn();
    };
    const onMessage = (m: T | ChildFailed) => {
      if (m.type === 'failed') done(() => reject(new Error(`${child.name} failed: ${(m as ChildFailed).message}`)));
      else if (m.type === type) done(() => resolve(m as T));
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(() => reject(new Error(`${child.name} exited (${signal ?? code}) before sending ${type}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`${child.name}: no ${type} within ${timeoutMs / 1000} s`))), timeoutMs);
    child.proc.on('message', onMessage);
    child.proc.once('exit', onExit);
  });
}

async function stats(child: Child): Promise<ChildStats | undefined> {
  if (child.exitedAlready || !child.proc.connected) return undefined;
  const reply = nextMessage<ChildStats>(child, 'stats', 10_000);
  child.proc.send({ type: 'stats' });
  return reply.catch(() => undefined);
}

/** Asks every child still running to stop (gateways first, the backend drops its schema last), then kills stragglers. */
async function stopChildren(): Promise<void> {
  for (const child of [...children].reverse()) {
    if (child.exitedAlready) continue;
    if (child.proc.connected) child.proc.send({ type: 'stop' });
    else child.proc.kill('SIGTERM');
    const stopped = await Promise.race([
      child.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 20_000).unref()),
    ]);
    if (!stopped) {
      log(`  ${child.name} did not stop in 20 s; killing it`);
      child.proc.kill('SIGKILL');
      await child.exited;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Load

type Target = { readonly kind: GatewayKind; readonly url: string; readonly headers: Record<string, string>; readonly child: Child };
type CpuMs = Record<keyof CpuPerRequest, number | undefined>;

let backendPid = 0;
/** Full-target requests answered (every one discloses a patient) and how many a stopped load may have left in flight. */
let fullAnswered = 0;
let inFlightAtStopMax = 0;
function cpuNow(target: Target): CpuMs {
  const own = process.cpuUsage();
  return {
    gateway: processCpuMs(target.child.proc.pid!),
    backend: processCpuMs(backendPid),
    loadGenerator: (own.user + own.system) / 1000,
    machine: machineCpuMs(),
  };
}
function cpuSince(before: CpuMs, after: CpuMs): CpuMs {
  const d = (k: keyof CpuMs) => (before[k] === undefined || after[k] === undefined ? undefined : after[k]! - before[k]!);
  return { gateway: d('gateway'), backend: d('backend'), loadGenerator: d('loadGenerator'), machine: d('machine') };
}

/**
 * Runs autocannon against a target, each connection starting at a different patient of the
 * rotation, and the CPU time every process spent meanwhile.
 */
async function load(
  target: Target,
  ids: readonly string[],
  seconds: number,
  connections: number,
): Promise<{ result: Awaited<ReturnType<typeof runLoad>>; counts: ResponseCounts; cpuMs: CpuMs }> {
  const counts: ResponseCounts = { responses: 0, non200: 0, graphqlErrors: 0 };
  const onResponse = (status: number, body: string) => {
    counts.responses++;
    if (status !== 200) counts.non200++;
    // A data-only answer never contains this key; any error (FORBIDDEN, SOURCE_UNAVAILABLE, ...) does.
    else if (body.includes('"errors":')) counts.graphqlErrors++;
  };
  const path = new URL(target.url).pathname;
  const requests: AutocannonRequest[] = ids.map((id) => ({
    method: 'POST',
    path,
    headers: target.headers,
    body: requestBody(id),
    onResponse,
  }));
  let nextClient = 0;
  const cpuBefore = cpuNow(target);
  const stride = Math.max(1, Math.floor(ids.length / connections));
  const result = await runLoad({
    url: target.url,
    connections,
    duration: seconds,
    requests,
    setupClient: (client: AutocannonClient) => {
      const offset = (nextClient++ * stride) % requests.length;
      client.setRequests([...requests.slice(offset), ...requests.slice(0, offset)]);
    },
  });
  const cpuMs = cpuSince(cpuBefore, cpuNow(target));
  if (target.kind === 'full') {
    fullAnswered += counts.responses;
    inFlightAtStopMax += connections;
  }
  return { result, counts, cpuMs };
}

/** Asks the full target for each id, `concurrency` at a time; every answer must be complete. */
async function askAll(
  target: Target,
  ids: readonly string[],
  concurrency: number,
  adapterOfSource: Readonly<Record<string, string>>,
  adapters: readonly string[],
): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < ids.length; i += concurrency) {
    const batch = ids.slice(i, i + concurrency);
    const got = await Promise.all(batch.map((id) => ask(target.url, id, target.headers)));
    for (const [k, answer] of got.entries()) {
      if (target.kind === 'full') fullAnswered++;
      const problem = incomplete(answer, adapterOfSource, adapters);
      if (problem) throw new Error(`${target.kind}, patient ${batch[k]}: ${problem}`);
    }
    answers.push(...got);
  }
  return answers;
}

/** `npm run audit:verify` over the benchmark's schema (PostgreSQL), or the same verification in the backend (PGlite). */
async function verifyTrail(
  backend: BackendReady,
  backendChild: Child,
  keysDir: string,
): Promise<{ ok: boolean; report: string; how: string }> {
  if (backend.storage === 'pglite') {
    const reply = nextMessage<AuditSummary>(backendChild, 'audit', 600_000);
    backendChild.proc.send({ type: 'audit', sinceSeq: Number.MAX_SAFE_INTEGER, verify: true });
    const v = (await reply).verified!;
    return { ...v, how: 'verifyAuditLog in the backend (PGlite in memory: no other process can open it)' };
  }
  const env = { ...process.env, DB_SCHEMA: backend.dbSchema, KEYS_DIR: keysDir, LOG_LEVEL: 'warn' };
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'runtime/audit-verify.ts')], { env, cwd: ROOT, timeout: 600_000 }, (error, stdout, stderr) =>
      resolve({
        ok: !error,
        report: `${stdout}${stderr}`.trim(),
        how: `DB_SCHEMA=${backend.dbSchema} KEYS_DIR=<bench keys> npm run audit:verify`,
      }),
    );
  });
}

/** Whether a process has a shared library whose path contains `name` mapped; undefined where /proc is absent. */
function mapsLibrary(pid: number, name: string): boolean | undefined {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes(name);
  } catch {
    return undefined;
  }
}

type Summaries = Record<GatewayKind, Record<number, TargetSummary>>;

const perLoad = (summaries: Summaries, kind: GatewayKind, connections: number): TargetSummary | undefined => summaries[kind]?.[connections];

async function main(): Promise<number> {
  const machine = describeMachine();
  const startedAt = new Date();
  log(
    `Gateway benchmark: ${TARGETS.join(', ')}; loads ${LOADS.join(', ')} connection(s); ${CONFIG.rounds} x ${CONFIG.durationSeconds} s per target and load, interleaved`,
  );
  log(
    `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}`,
  );

  const keysDir = mkdtempSync(join(tmpdir(), 'pgw-bench-keys-'));
  cleanupKeys = () => rmSync(keysDir, { recursive: true, force: true });

  log('starting the backend (simulated EHRs, guarded and unguarded subgraphs, storage, initial load)...');
  const backendChild = startChild('backend', 'backend.ts', [keysDir]);
  backendPid = backendChild.proc.pid!;
  const backend = await nextMessage<BackendReady>(backendChild, 'ready', BACKEND_START_TIMEOUT_MS);
  const adapters = [...new Set(Object.values(backend.adapterOfSource))];
  log(
    `  ready in ${backend.startupSeconds.toFixed(1)} s: storage ${backend.storage === 'postgres' ? 'PostgreSQL' : 'PGlite (in memory)'}, cache ${backend.cache}, ` +
      `${backend.population.size} simulated people (seed ${backend.population.seed}), ${backend.population.goldenPatients} golden patients, ${backend.population.linkedToAllAdapters} linked to ${adapters.join(' and ')}`,
  );

  const targets = {} as Record<GatewayKind, Target>;
  const devIssuer = await loadKeyPair({ dir: keysDir, generateMissing: false }, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
  const token = await mintDevToken(devIssuer, { sub: BENCH_CLINICIAN, roles: ['clinician'], purposeOfUse: 'TREAT', ttlSeconds: 3600 * 6 });
  for (const kind of TARGETS) {
    const config: GatewayConfig = {
      kind,
      subgraphUrls: kind === 'full' ? backend.guarded : backend.unguarded,
      keysDir,
      subgraphOfRecordType: backend.subgraphOfRecordType,
      ...(kind === 'full' && backend.storage === 'postgres' && process.env.DATABASE_URL
        ? { auditDatabase: { url: process.env.DATABASE_URL, schema: backend.dbSchema } }
        : {}),
    };
    const child = startChild(`${kind} target`, 'gateway.ts', [JSON.stringify(config)]);
    const ready = await nextMessage<GatewayReady>(child, 'ready', GATEWAY_START_TIMEOUT_MS);
    targets[kind] = {
      kind,
      url: ready.url,
      child,
      headers: { 'content-type': 'application/json', ...(kind === 'full' ? { authorization: `Bearer ${token}` } : {}) },
    };
    const handoff =
      kind === 'full'
        ? `, audit ${config.auditDatabase ? 'handed to the gateway (one commit per request)' : 'committed by each subgraph'}`
        : '';
    log(`  ${kind} ready in ${ready.startupSeconds.toFixed(1)} s at ${ready.url} (pid ${child.proc.pid})${handoff}`);
  }

  // Golden patients with observations from both EHRs (the first query of each fills the cache).
  const ids: string[] = [];
  const candidates = [...backend.goldenCandidates];
  let skipped = 0;
  while (ids.length < CONFIG.patients && candidates.length > 0) {
    const batch = candidates.splice(0, 8);
    const answers = await Promise.all(batch.map((id) => ask(targets.full.url, id, targets.full.headers)));
    fullAnswered += answers.length;
    for (const [i, answer] of answers.entries()) {
      const problem = incomplete(answer, backend.adapterOfSource, adapters);
      if (problem?.startsWith('no observations')) skipped++;
      else if (problem) throw new Error(`full gateway, patient ${batch[i]}: ${problem}`);
      else if (ids.length < CONFIG.patients) ids.push(batch[i]!);
    }
  }
  if (ids.length < Math.min(CONFIG.patients, 10))
    throw new Error(`only ${ids.length} golden patients have observations from ${adapters.join(' and ')}; need ${CONFIG.patients}`);
  log(
    `  ${ids.length} golden patients with observations from ${adapters.join(' and ')} (${skipped} linked ones skipped: no observations in one source)`,
  );

  // Every patient of the rotation, through every target: complete and the same data, or no benchmark.
  for (const id of ids) {
    const answers = await Promise.all(TARGETS.map((k) => ask(targets[k].url, id, targets[k].headers)));
    for (const [i, kind] of TARGETS.entries()) {
      const answer = answers[i]!;
      if (kind === 'full') fullAnswered++;
      const problem = incomplete(answer, backend.adapterOfSource, adapters);
      if (problem) throw new Error(`${kind}, patient ${id}: ${problem}`);
      const diff = firstDifference(answers[0]!.body, answer.body);
      if (diff)
        throw new Error(
          `patient ${id}: ${TARGETS[0]} and ${kind} answer differently at ${diff}:\n${TARGETS[0]}: ${canonicalJson(answers[0]!.body).slice(0, 400)}\n${kind}: ${canonicalJson(answer.body).slice(0, 400)}`,
        );
    }
  }
  log(
    `  verified: every patient of the rotation answers HTTP 200, no errors, observations from both sources, the same data (key order aside) through ${TARGETS.join(', ')}`,
  );

  // The peer must be the Rust planner, not Hive Gateway's JavaScript one: its native module is mapped once it planned.
  for (const kind of TARGETS.filter((k) => k.startsWith('hive-rust'))) {
    const rust = mapsLibrary(targets[kind].child.proc.pid!, 'hive_router_query_planner');
    if (rust === false) throw new Error(`${kind}: the Rust query planner (hive_router_query_planner.*.node) is not loaded`);
    if (rust) log(`  ${kind}: Rust query planner loaded (hive_router_query_planner native module mapped)`);
  }

  if (CONFIG.warmupSeconds > 0) {
    const connections = Math.max(...LOADS);
    for (const kind of TARGETS) {
      const { result, counts, cpuMs } = await load(targets[kind], ids, CONFIG.warmupSeconds, connections);
      const warm = toRound(0, result, counts, cpuMs);
      log(`  warm-up ${kind}: ${warm.requestsPerSecond} req/s at ${connections} connections, p99 ${warm.p99Ms} ms`);
      if (errorCount(warm) > 0)
        throw new Error(
          `warm-up of ${kind} had ${errorCount(warm)} failed responses (${JSON.stringify(warm.statusCodes)}, ${warm.graphqlErrors} with GraphQL errors, ${warm.connectionErrors} connection errors)`,
        );
    }
  }

  const rounds = Object.fromEntries(TARGETS.map((k) => [k, Object.fromEntries(LOADS.map((c) => [c, [] as Round[]]))])) as Record<
    GatewayKind,
    Record<number, Round[]>
  >;
  for (let r = 1; r <= CONFIG.rounds; r++) {
    for (const connections of LOADS) {
      for (const kind of TARGETS) {
        const { result, counts, cpuMs } = await load(targets[kind], ids, CONFIG.durationSeconds, connections);
        const round = toRound(r, result, counts, cpuMs);
        rounds[kind][connections]!.push(round);
        log(
          `  round ${r}, ${String(connections).padStart(2)} conn., ${kind.padEnd(15)}: ${String(round.requestsPerSecond).padStart(7)} req/s  p50 ${round.p50Ms} ms  p99 ${round.p99Ms} ms  gateway CPU ${round.cpuMsPerRequest.gateway ?? 'n/a'} ms/req  errors ${errorCount(round)}`,
        );
      }
    }
  }

  // Peak RSS: VmHWM from /proc while the child still runs; the child's own maxRSS otherwise.
  const peakKb = async (child: Child) => vmHwmKb(child.proc.pid!) ?? (await stats(child))?.maxRssKb;
  const rss = {} as Record<GatewayKind, number | undefined>;
  for (const kind of TARGETS) rss[kind] = await peakKb(targets[kind].child);
  const backendRss = await peakKb(backendChild);

  const summaries = Object.fromEntries(
    TARGETS.map((k) => [k, Object.fromEntries(LOADS.map((c) => [c, summarize(rounds[k][c]!, rss[k])]))]),
  ) as Summaries;

  // The audit trail: an exact last phase (every request awaited), then the whole run, then audit:verify.
  await new Promise((r) => setTimeout(r, 2000)); // requests a stopped load left in flight finish their audit
  const beforeLast = await nextAudit(backendChild, 0);
  await askAll(targets.full, ids, 8, backend.adapterOfSource, adapters);
  const afterLast = await nextAudit(backendChild, beforeLast.lastSeq);
  const auditCheck = checkAudit({
    askedLastPhase: ids,
    patientsOfRequestsLastPhase: afterLast.patientsOfRequestsSince,
    rows: afterLast.rows,
    disclosures: afterLast.disclosures,
    requestsAudited: afterLast.requests,
    requestsAnswered: fullAnswered,
    inFlightAtStopMax,
  });
  const verified = await verifyTrail(backend, backendChild, keysDir);

  const storage = backend.storage === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : 'PGlite in memory';
  const cache = backend.cache === 'redis' ? 'Redis (REDIS_URL)' : 'in-process LRU';
  const loadAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  log('');
  log(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, Node ${machine.node} (${machine.platform}); storage ${storage}; cache ${cache}`,
  );
  log(
    `Load: ${LOADS.join(', ')} connection(s), ${CONFIG.rounds} rounds x ${CONFIG.durationSeconds} s per target and load (interleaved ${TARGETS.join(' ')}), ` +
      `${ids.length} golden patients in rotation; load average at start ${machine.loadAverageAtStart.join(' ')}, at end ${loadAtEnd.join(' ')}`,
  );
  const ms = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
  for (const connections of LOADS) {
    const stock = perLoad(summaries, 'stock', connections);
    log('');
    log(
      `${connections} connection${connections === 1 ? ' (latency)' : 's'}; CPU ms per request: the target's own process, and the whole machine:`,
    );
    log(
      table(
        ['target', 'req/s', 'x stock', 'p50 ms', 'p99 ms', 'CPU target', 'CPU subgraphs', 'CPU machine', 'errors'],
        TARGETS.map((k) => {
          const s = summaries[k][connections]!;
          return [
            k,
            s.requestsPerSecond,
            stock ? ratio(s.requestsPerSecond, stock.requestsPerSecond).toFixed(2) : 'n/a',
            s.p50Ms,
            s.p99Ms,
            ms(s.cpuMsPerRequest.gateway),
            ms(s.cpuMsPerRequest.backend),
            ms(s.cpuMsPerRequest.machine),
            s.errors,
          ];
        }),
      ),
    );
    const perRound = (peer: GatewayKind) =>
      TARGETS.includes(peer)
        ? `full/${peer} ${rounds.full[connections]!.map((f, i) => `x${ratio(f.requestsPerSecond, rounds[peer][connections]![i]!.requestsPerSecond).toFixed(2)}`).join(' ')}`
        : undefined;
    const lines = (['stock', 'hive-rust', 'floor'] as const).map(perRound).filter(Boolean);
    if (lines.length) log(`req/s per round: ${lines.join('; ')}`);
  }
  log('');
  log(
    table(
      ['target', 'peak RSS MB'],
      [
        ...TARGETS.map((k) => [k, summaries[k][LOADS[0]!]!.peakRssMb ?? 'n/a']),
        ['backend (all subgraphs)', backendRss === undefined ? 'n/a' : round1(backendRss / 1024)],
      ],
    ),
  );
  log(
    '(medians over rounds; errors = non-200 + 200 with GraphQL errors + connection errors/timeouts; "CPU subgraphs" is the backend child)',
  );
  const auditRowsPerRequest = afterLast.requests > 0 ? Math.round((afterLast.rows / afterLast.requests) * 100) / 100 : null;
  log('');
  log(
    `Audit trail of the full target: ${afterLast.rows} rows for ${afterLast.requests} requests (${auditRowsPerRequest ?? 'n/a'} per request; by subgraph ${Object.entries(
      afterLast.rowsBySubgraph,
    )
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')})`,
  );
  for (const line of auditCheck.lines) log(`  ${line}`);
  log(
    `  ${verified.how}: ${verified.ok ? '' : 'FAILED: '}${verified.report
      .split('\n')
      .map((l) => l.trim())
      .join(' / ')}`,
  );

  const ratioAt = (kind: GatewayKind, connections: number) => {
    const a = perLoad(summaries, 'full', connections);
    const b = perLoad(summaries, kind, connections);
    return a && b ? ratio(a.requestsPerSecond, b.requestsPerSecond) : null;
  };
  const ratioConnections = LOADS.includes(RATIO_CONNECTIONS) ? RATIO_CONNECTIONS : Math.max(...LOADS);
  const line = ratiosLine({
    fullOverStock: ratioAt('stock', ratioConnections),
    fullOverHiveRust: ratioAt('hive-rust', ratioConnections),
    unloadedP50FullMs: perLoad(summaries, 'full', 1)?.p50Ms ?? null,
    unloadedP50StockMs: perLoad(summaries, 'stock', 1)?.p50Ms ?? null,
  });

  const stamp = startedAt
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  const file = join(RESULTS_DIR, `gateway-${stamp}.json`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        benchmark: 'gateway: full product vs stock @apollo/gateway, Hive Gateway (Rust planner) and the floor',
        command: 'npm run bench:gateway',
        startedAt: startedAt.toISOString(),
        config: { ...CONFIG, loads: LOADS, targets: TARGETS, patientsInRotation: ids.length, query: GOLDEN_PATIENT_QUERY },
        machine: { ...machine, loadAverageAtEnd: loadAtEnd, storage, cache },
        backend: {
          startupSeconds: round1(backend.startupSeconds),
          population: backend.population,
          peakRssMb: backendRss === undefined ? null : round1(backendRss / 1024),
        },
        targets: Object.fromEntries(
          TARGETS.map((k) => [k, { description: DESCRIPTION[k], byConnections: summaries[k], rounds: rounds[k] }]),
        ),
        ratios: {
          line,
          ratioConnections,
          fullOverStock: Object.fromEntries(LOADS.map((c) => [c, ratioAt('stock', c)])),
          fullOverHiveRust: Object.fromEntries(LOADS.map((c) => [c, ratioAt('hive-rust', c)])),
          fullOverHiveRustDedup: Object.fromEntries(LOADS.map((c) => [c, ratioAt('hive-rust-dedup', c)])),
          fullOverFloor: Object.fromEntries(LOADS.map((c) => [c, ratioAt('floor', c)])),
        },
        audit: {
          rowsPerFullRequest: auditRowsPerRequest,
          rows: afterLast.rows,
          requests: afterLast.requests,
          rowsBySubgraph: afterLast.rowsBySubgraph,
          fullAnswered,
          check: auditCheck,
          verify: verified,
        },
        guardCostsUnloaded: backend.micro,
      },
      null,
      2,
    )}\n`,
  );
  log('');
  log(`results written to ${file}`);
  const failed = TARGETS.reduce((n, k) => n + LOADS.reduce((m, c) => m + summaries[k][c]!.errors, 0), 0);
  if (failed > 0)
    log(`FAILED: ${failed} measured responses were not HTTP 200 without errors; the figures above are not a valid comparison`);
  if (!auditCheck.ok || !verified.ok)
    log('FAILED: the audit trail of the full target is not one verified record set per patient access (above)');
  log(line);
  return failed > 0 || !auditCheck.ok || !verified.ok ? 1 : 0;
}

async function nextAudit(backendChild: Child, sinceSeq: number): Promise<AuditSummary> {
  const reply = nextMessage<AuditSummary>(backendChild, 'audit', 120_000);
  backendChild.proc.send({ type: 'audit', sinceSeq, verify: false });
  return reply;
}

// ---------------------------------------------------------------------------------------------
// Bounded in time, every child stopped whatever happens.

let cleanupKeys = () => {};
let finishing = false;
async function finish(code: number, reason?: string): Promise<never> {
  if (finishing) {
    // A second Ctrl-C: stop waiting for graceful shutdown.
    for (const c of children) if (!c.exitedAlready) c.proc.kill('SIGKILL');
    process.exit(code);
  }
  finishing = true;
  if (reason) process.stderr.write(`\nbench:gateway: ${reason}\n`);
  stopLoad();
  await stopChildren().catch(() => undefined);
  cleanupKeys();
  process.exit(code);
}

const deadline = setTimeout(() => void finish(1, `time limit of ${Math.round(RUN_DEADLINE_MS / 1000)} s reached`), RUN_DEADLINE_MS);
deadline.unref();
process.on('SIGINT', () => void finish(130, 'interrupted'));
process.on('SIGTERM', () => void finish(143, 'terminated'));
main().then(
  (code) => finish(code),
  (error: unknown) => finish(1, describeFailure(error).line),
);
