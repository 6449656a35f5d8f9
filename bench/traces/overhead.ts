// What recording traces costs (platform/tracing.ts): the whole product in this process (as npm
// start runs it, services mode), the golden-patient query through the gateway with tracing off,
// on (every trace recorded, exported over OTLP/HTTP to a collector stand-in in another process) and
// on at a 10% sample, switched between interleaved rounds on the same stack. The load generator
// (autocannon's CLI) runs in its own process, so the CPU figure is the product's alone.
// node bench/traces/overhead.ts   (DATABASE_URL and REDIS_URL set; ROUNDS, SECONDS optional)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { createTracing, type Tracing } from '../../platform/tracing.ts';
import { startStack } from '../../runtime/stack.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../platform/keys.ts';
import { mintDevToken } from '../../security/user-token.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 5);
const MODES = [
  { name: 'off', ratio: undefined },
  { name: 'on, all recorded', ratio: 1 },
  { name: 'on, 10% sampled', ratio: 0.1 },
] as const;
const QUERY =
  'query GoldenPatient($id: ID!) { patient(id: $id) { id name { family given } birthDate gender identifiers { system value } sourceRecords { source mrn observations { code { coding { system code display } } effective valueQuantity { value unit } } } } }';

/** A collector stand-in in its own process: accepts OTLP/HTTP and counts the spans. */
async function startCollector(): Promise<{ url: string; spans(): Promise<number>; stop(): void }> {
  const code = `
    import { createServer } from 'node:http';
    let spans = 0;
    const server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/count') return res.end(String(spans));
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += (ss.spans ?? []).length;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const origin = `http://127.0.0.1:${chunk.toString().trim()}`;
  return {
    url: `${origin}/v1/traces`,
    spans: async () => Number(await (await fetch(`${origin}/count`)).text()),
    stop: () => child.kill(),
  };
}

type Load = { readonly rps: number; readonly p50: number; readonly non2xx: number; readonly errors: number; readonly total: number };

/** autocannon's CLI in its own process. */
async function load(url: string, connections: number, seconds: number, headers: Record<string, string>, body: string): Promise<Load> {
  const args = ['autocannon', '-j', '-c', String(connections), '-d', String(seconds), '-m', 'POST', '-b', body];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  const child = spawn('npx', [...args, url], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await once(child, 'exit');
  const r = JSON.parse(out) as {
    requests: { average: number };
    latency: { p50: number };
    non2xx: number;
    errors: number;
    '2xx': number;
  };
  return { rps: r.requests.average, p50: r.latency.p50, non2xx: r.non2xx, errors: r.errors, total: r['2xx'] + r.non2xx };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  if (!process.env.DATABASE_URL) throw new Error('set DATABASE_URL (and REDIS_URL): the benchmark runs in services mode');
  const collector = await startCollector();
  const stack = await startStack({
    databaseUrl: process.env.DATABASE_URL,
    redisUrl: process.env.REDIS_URL || undefined,
    dbSchema: `bench_traces_${Date.now().toString(36)}`,
    dropSchemaOnClose: true,
    simulators: { seed: 7, size: 50 },
    ephemeralPorts: true,
    auditRoleCheck: 'warn',
    sync: { autoStart: false },
    tracing: null,
  });
  let tracing: Tracing | undefined;
  try {
    const { rows } = await stack.db.query<{ golden_id: string }>(
      'SELECT golden_id FROM source_record GROUP BY golden_id HAVING count(DISTINCT source) >= 2 ORDER BY golden_id LIMIT 1',
    );
    const id = rows[0]!.golden_id;
    const key = await loadKeyPair(stack.keys, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
    const token = await mintDevToken(key, { sub: 'bench-traces', roles: ['clinician'], purposeOfUse: 'TREAT', ttlSeconds: 3600 });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const body = JSON.stringify({ operationName: 'GoldenPatient', query: QUERY, variables: { id } });
    const check = await fetch(stack.gateway.url, { method: 'POST', headers, body });
    const answer = (await check.json()) as { errors?: unknown; data?: { patient?: { sourceRecords?: unknown[] } } };
    if (check.status !== 200 || answer.errors || (answer.data?.patient?.sourceRecords?.length ?? 0) < 2)
      throw new Error(`the golden-patient query failed: ${JSON.stringify(answer).slice(0, 300)}`);
    // Warm-up: plans, caches, JIT.
    await load(stack.gateway.url, 16, 3, headers, body);

    const results = new Map<string, { rps: number[]; p50: number[]; cpuMs: number[]; spans: number[] }>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of MODES) {
        tracing =
          mode.ratio === undefined
            ? undefined
            : createTracing({
                serviceName: 'bench',
                exporter: { url: collector.url },
                sampleRatio: mode.ratio,
                trustClientTraceparent: false,
              });
        const spansBefore = await collector.spans();
        const cpu = process.cpuUsage();
        const loaded = await load(stack.gateway.url, 16, SECONDS, headers, body);
        const used = process.cpuUsage(cpu);
        const single = await load(stack.gateway.url, 1, Math.max(2, SECONDS >> 1), headers, body);
        await tracing?.shutdown();
        tracing = undefined;
        if (loaded.non2xx || loaded.errors || single.non2xx || single.errors)
          throw new Error(`${mode.name}: ${loaded.non2xx + single.non2xx} non-2xx, ${loaded.errors + single.errors} errors`);
        const spans = (await collector.spans()) - spansBefore;
        const r = results.get(mode.name) ?? { rps: [], p50: [], cpuMs: [], spans: [] };
        r.rps.push(loaded.rps);
        r.p50.push(single.p50);
        r.cpuMs.push((used.user + used.system) / 1000 / loaded.total);
        r.spans.push(spans / (loaded.total + single.total));
        results.set(mode.name, r);
        process.stderr.write(
          `round ${round} ${mode.name}: ${loaded.rps.toFixed(0)} req/s at 16, p50 ${single.p50} ms at 1, ` +
            `${((used.user + used.system) / 1000 / loaded.total).toFixed(2)} ms CPU/request, ${(spans / (loaded.total + single.total)).toFixed(1)} spans/request\n`,
        );
      }
    }
    const base = results.get('off')!;
    process.stdout.write(
      `\ntraces overhead (${ROUNDS} interleaved rounds of ${SECONDS} s; ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end)\n`,
    );
    process.stdout.write(
      '| tracing | req/s at 16 conn. | vs off | p50 at 1 conn. | CPU per request (product) | vs off | spans exported per request |\n',
    );
    process.stdout.write('|---|---:|---:|---:|---:|---:|---:|\n');
    for (const [name, r] of results)
      process.stdout.write(
        `| ${name} | ${median(r.rps).toFixed(0)} | ${(median(r.rps) / median(base.rps)).toFixed(2)}x | ${median(r.p50)} ms | ` +
          `${median(r.cpuMs).toFixed(2)} ms | ${(median(r.cpuMs) / median(base.cpuMs)).toFixed(2)}x | ${median(r.spans).toFixed(1)} |\n`,
      );
  } finally {
    await tracing?.shutdown();
    await stack.close();
    collector.stop();
  }
}

await main();
