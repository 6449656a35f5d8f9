// `npm run bench:gateway`: throughput of the golden-patient query through the full product
// gateway (JWT verification, signed identity per subgraph call, guarded subgraphs with
// graphql-shield and an audit insert per subgraph call) versus a stock @apollo/gateway in front
// of the same subgraph code started unguarded, over the same database, cache and simulated EHRs.
// Both are measured in ONE run, in interleaved rounds, so a shared, noisy machine affects both
// alike; the ratios are the result. Layout: this process drives load (autocannon); a backend
// child runs the EHRs, subgraphs and storage; each gateway runs in its own child.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../platform/keys.ts';
import { mintDevToken } from '../../security/user-token.ts';
import { runLoad, stopLoad, type AutocannonClient, type AutocannonRequest } from './autocannon.ts';
import type { BackendReady, ChildFailed, ChildStats, GatewayConfig, GatewayKind, GatewayReady } from './protocol.ts';
import { ask, GOLDEN_PATIENT_QUERY, incomplete, requestBody } from './query.ts';
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
} from './report.ts';
import { commandLine, describeFailure, usageError } from '../../runtime/cli.ts';

commandLine({
  name: 'bench:gateway',
  usage: 'npm run bench:gateway',
  description:
    'Throughput of the golden-patient query through the product gateway versus a stock @apollo/gateway in front of the\n' +
    'same subgraphs, in interleaved rounds; prints a table and the ratios, and writes bench/results/.',
  options: {},
  example: 'BENCH_DURATION=20 BENCH_ROUNDS=3 npm run bench:gateway',
  notes:
    'Environment: BENCH_CONNECTIONS (default 16), BENCH_DURATION seconds per round (10), BENCH_ROUNDS (2),\n' +
    'BENCH_WARMUP seconds (3), BENCH_PATIENTS (50); DATABASE_URL and REDIS_URL as the product.',
});

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw usageError(`${name} must be an integer >= ${min} (got ${raw})`, name);
  return n;
}

const CONFIG = {
  connections: intFromEnv('BENCH_CONNECTIONS', 16, 1),
  durationSeconds: intFromEnv('BENCH_DURATION', 10, 1),
  rounds: intFromEnv('BENCH_ROUNDS', 2, 1),
  warmupSeconds: intFromEnv('BENCH_WARMUP', 3, 0),
  patients: intFromEnv('BENCH_PATIENTS', 50, 1),
};
const BACKEND_START_TIMEOUT_MS = 300_000;
const GATEWAY_START_TIMEOUT_MS = 60_000;
// Generous upper bound for the whole run; the defaults take about 2 minutes.
const RUN_DEADLINE_MS =
  BACKEND_START_TIMEOUT_MS +
  2 * GATEWAY_START_TIMEOUT_MS +
  120_000 +
  2 * (CONFIG.warmupSeconds + CONFIG.rounds * (CONFIG.durationSeconds + 15)) * 1000;

const TARGETS: readonly GatewayKind[] = ['full', 'stock'];
const DESCRIPTION: Record<GatewayKind, string> = {
  full: 'product gateway (JWT, signed identity per subgraph call, timeouts) -> guarded subgraphs (identity check, graphql-shield, audit insert)',
  stock: 'stock @apollo/gateway + Apollo Server standalone, no auth -> same subgraph code unguarded (unguardedAs: clinician, TREAT)',
};

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
  const stride = Math.max(1, Math.floor(ids.length / CONFIG.connections));
  const result = await runLoad({
    url: target.url,
    connections: CONFIG.connections,
    duration: seconds,
    requests,
    setupClient: (client: AutocannonClient) => {
      const offset = (nextClient++ * stride) % requests.length;
      client.setRequests([...requests.slice(offset), ...requests.slice(0, offset)]);
    },
  });
  return { result, counts, cpuMs: cpuSince(cpuBefore, cpuNow(target)) };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const machine = describeMachine();
  const startedAt = new Date();
  log(
    `Gateway benchmark: full product vs stock @apollo/gateway (${CONFIG.connections} connections, ${CONFIG.rounds} x ${CONFIG.durationSeconds} s per target, interleaved)`,
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

  const targets: Record<GatewayKind, Target> = {} as Record<GatewayKind, Target>;
  const devIssuer = await loadKeyPair({ dir: keysDir, generateMissing: false }, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
  const token = await mintDevToken(devIssuer, { sub: 'bench-clinician', roles: ['clinician'], purposeOfUse: 'TREAT', ttlSeconds: 3600 });
  for (const kind of TARGETS) {
    const config: GatewayConfig = { kind, subgraphUrls: kind === 'full' ? backend.guarded : backend.unguarded, keysDir };
    const child = startChild(`${kind} gateway`, 'gateway.ts', [JSON.stringify(config)]);
    const ready = await nextMessage<GatewayReady>(child, 'ready', GATEWAY_START_TIMEOUT_MS);
    targets[kind] = {
      kind,
      url: ready.url,
      child,
      headers: { 'content-type': 'application/json', ...(kind === 'full' ? { authorization: `Bearer ${token}` } : {}) },
    };
    log(`  ${kind} gateway ready in ${ready.startupSeconds.toFixed(1)} s at ${ready.url} (pid ${child.proc.pid})`);
  }

  // Golden patients with observations from both EHRs (the first query of each fills the cache).
  const ids: string[] = [];
  const candidates = [...backend.goldenCandidates];
  let skipped = 0;
  while (ids.length < CONFIG.patients && candidates.length > 0) {
    const batch = candidates.splice(0, 8);
    const answers = await Promise.all(batch.map((id) => ask(targets.full.url, id, targets.full.headers)));
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

  // Every patient of the rotation, through both gateways: complete and identical, or no benchmark.
  for (const id of ids) {
    const [full, stock] = await Promise.all(TARGETS.map((k) => ask(targets[k].url, id, targets[k].headers)));
    for (const [kind, answer] of [
      ['full', full!],
      ['stock', stock!],
    ] as const) {
      const problem = incomplete(answer, backend.adapterOfSource, adapters);
      if (problem) throw new Error(`${kind} gateway, patient ${id}: ${problem}`);
    }
    if (!isDeepStrictEqual(full!.body, stock!.body))
      throw new Error(
        `patient ${id}: the full and stock gateways answer differently:\nfull:  ${full!.text.slice(0, 400)}\nstock: ${stock!.text.slice(0, 400)}`,
      );
  }
  log(
    '  verified: every patient of the rotation answers HTTP 200, no errors, observations from both sources, same data through both gateways',
  );

  if (CONFIG.warmupSeconds > 0) {
    for (const kind of TARGETS) {
      const { result, counts, cpuMs } = await load(targets[kind], ids, CONFIG.warmupSeconds);
      const warm = toRound(0, result, counts, cpuMs);
      log(`  warm-up ${kind}: ${warm.requestsPerSecond} req/s, p99 ${warm.p99Ms} ms`);
      if (errorCount(warm) > 0)
        throw new Error(
          `warm-up of the ${kind} gateway had ${errorCount(warm)} failed responses (${JSON.stringify(warm.statusCodes)}, ${warm.graphqlErrors} with GraphQL errors, ${warm.connectionErrors} connection errors)`,
        );
    }
  }

  const auditBefore = (await stats(backendChild))?.auditRows;
  const rounds: Record<GatewayKind, Round[]> = { full: [], stock: [] };
  for (let r = 1; r <= CONFIG.rounds; r++) {
    for (const kind of TARGETS) {
      const { result, counts, cpuMs } = await load(targets[kind], ids, CONFIG.durationSeconds);
      const round = toRound(r, result, counts, cpuMs);
      rounds[kind].push(round);
      log(
        `  round ${r} ${kind.padEnd(5)}: ${String(round.requestsPerSecond).padStart(7)} req/s  p50 ${round.p50Ms} ms  p99 ${round.p99Ms} ms  errors ${errorCount(round)}`,
      );
    }
  }
  const auditAfter = (await stats(backendChild))?.auditRows;

  // Peak RSS: VmHWM from /proc while the child still runs; the child's own maxRSS otherwise.
  const peakKb = async (child: Child) => vmHwmKb(child.proc.pid!) ?? (await stats(child))?.maxRssKb;
  const rss = { full: await peakKb(targets.full.child), stock: await peakKb(targets.stock.child), backend: await peakKb(backendChild) };

  const summary = { full: summarize(rounds.full, rss.full), stock: summarize(rounds.stock, rss.stock) };
  const ratios = {
    throughput: ratio(summary.full.requestsPerSecond, summary.stock.requestsPerSecond),
    p50: ratio(summary.full.p50Ms, summary.stock.p50Ms),
    p99: ratio(summary.full.p99Ms, summary.stock.p99Ms),
    peakRss: summary.full.peakRssMb && summary.stock.peakRssMb ? ratio(summary.full.peakRssMb, summary.stock.peakRssMb) : null,
    machineCpuPerRequest:
      summary.full.cpuMsPerRequest.machine && summary.stock.cpuMsPerRequest.machine
        ? ratio(summary.full.cpuMsPerRequest.machine, summary.stock.cpuMsPerRequest.machine)
        : null,
    throughputPerRound: rounds.full.map((f, i) => ratio(f.requestsPerSecond, rounds.stock[i]!.requestsPerSecond)),
  };
  const fullMeasured = summary.full.completed;
  const auditRowsPerRequest =
    auditBefore !== undefined && auditAfter !== undefined && fullMeasured > 0 ? round1((auditAfter - auditBefore) / fullMeasured) : null;

  const storage = backend.storage === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : 'PGlite in memory';
  const cache = backend.cache === 'redis' ? 'Redis (REDIS_URL)' : 'in-process LRU';
  log('');
  log(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, Node ${machine.node} (${machine.platform}); storage ${storage}; cache ${cache}`,
  );
  log(
    `Load: ${CONFIG.connections} connections, ${CONFIG.rounds} rounds x ${CONFIG.durationSeconds} s per target (interleaved full/stock), ${ids.length} golden patients in rotation, load average at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  log('');
  log(
    table(
      ['target', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS MB', 'errors', 'responses'],
      TARGETS.map((k) => [
        k,
        summary[k].requestsPerSecond,
        summary[k].p50Ms,
        summary[k].p99Ms,
        summary[k].peakRssMb ?? 'n/a',
        summary[k].errors,
        summary[k].completed,
      ]),
    ),
  );
  log('');
  log(
    `full/stock: throughput x${ratios.throughput} (per round: ${ratios.throughputPerRound.map((x) => `x${x}`).join(', ')}), p50 x${ratios.p50}, p99 x${ratios.p99}, peak RSS x${ratios.peakRss ?? 'n/a'}, machine CPU per request x${ratios.machineCpuPerRequest ?? 'n/a'}`,
  );
  log(`(medians over rounds; errors = non-200 + 200 with GraphQL errors + connection errors/timeouts)`);
  log('');
  const ms = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
  log('CPU time per request (ms, median over rounds; "machine" is every process on the host: PostgreSQL, Redis, other tenants):');
  log(
    table(
      ['target', 'gateway', 'backend (subgraphs)', 'load generator', 'rest (PostgreSQL, Redis, other)', 'machine'],
      TARGETS.map((k) => {
        const c = summary[k].cpuMsPerRequest;
        const rest =
          c.machine === null || c.gateway === null || c.backend === null || c.loadGenerator === null
            ? null
            : c.machine - c.gateway - c.backend - c.loadGenerator;
        return [k, ms(c.gateway), ms(c.backend), ms(c.loadGenerator), ms(rest), ms(c.machine)];
      }),
    ),
  );
  if (auditRowsPerRequest !== null) log(`audit rows written per full request: ${auditRowsPerRequest}`);
  log('');
  log('Guard costs measured one at a time in the backend before the load (sequential, unloaded):');
  log(
    table(
      ['operation', 'µs/op'],
      backend.micro.map((m) => [m.name, m.microsPerOp]),
    ),
  );

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
        benchmark: 'gateway: full product vs stock @apollo/gateway',
        command: 'npm run bench:gateway',
        startedAt: startedAt.toISOString(),
        config: { ...CONFIG, patientsInRotation: ids.length, query: GOLDEN_PATIENT_QUERY },
        machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100), storage, cache },
        backend: {
          startupSeconds: round1(backend.startupSeconds),
          population: backend.population,
          peakRssMb: rss.backend === undefined ? null : round1(rss.backend / 1024),
        },
        targets: Object.fromEntries(TARGETS.map((k) => [k, { description: DESCRIPTION[k], ...summary[k], rounds: rounds[k] }])),
        ratios: { fullOverStock: ratios },
        auditRowsPerFullRequest: auditRowsPerRequest,
        guardCostsUnloaded: backend.micro,
      },
      null,
      2,
    )}\n`,
  );
  log('');
  log(`results written to ${file}`);
  const failed = summary.full.errors + summary.stock.errors;
  if (failed > 0)
    log(`FAILED: ${failed} measured responses were not HTTP 200 without errors; the figures above are not a valid comparison`);
  return failed > 0 ? 1 : 0;
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
