// The span work of one golden-patient request (platform/tracing.ts), without the request: the
// gateway's request span, three subgraph calls with their traceparent injected and extracted, three
// subgraph request spans, twelve statements, three audit appends, and @apollo/gateway's nine spans;
// off, and on with every trace recorded and exported (batched, OTLP/HTTP JSON to a collector
// stand-in in another process, the time of the final flush included). Rounds interleave the modes.
// node bench/traces/micro.ts
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { trace } from '@opentelemetry/api';
import {
  createTracing,
  endRequestSpan,
  inRequestSpan,
  outgoingTraceHeaders,
  startRequestSpan,
  traceAuditAppend,
  traceStatement,
  traceSubgraphCall,
} from '../../platform/tracing.ts';

const ROUNDS = 5;
const N = 2000;
const apollo = trace.getTracer('apollo/gateway-js');
const done = async (): Promise<void> => undefined;

async function oneRequest(): Promise<void> {
  const gateway = startRequestSpan('gateway', {}, 'client', performance.now());
  await inRequestSpan(gateway, () =>
    apollo.startActiveSpan('gateway.request', async (request) => {
      for (const name of ['gateway.validate', 'gateway.plan']) apollo.startSpan(name).end();
      await apollo.startActiveSpan('gateway.execute', async (execute) => {
        await Promise.all(
          ['mpi', 'epic', 'cerner'].map((subgraph) =>
            apollo.startActiveSpan('gateway.fetch', async (fetch) => {
              await traceSubgraphCall(subgraph, async () => {
                const headers = outgoingTraceHeaders(null);
                const served = startRequestSpan(subgraph, headers, 'gateway', performance.now());
                await inRequestSpan(served, async () => {
                  for (let i = 0; i < 4; i++) await traceStatement('bench', 'SELECT id FROM golden_patient WHERE id = $1', undefined, done);
                  await traceAuditAppend(subgraph, 1, done);
                });
                endRequestSpan(served, { status: 200, operationName: 'GoldenPatient', operationType: 'query', errorCodes: [] });
              });
              fetch.end();
            }),
          ),
        );
        apollo.startSpan('gateway.postprocessing').end();
        execute.end();
      });
      request.end();
    }),
  );
  endRequestSpan(gateway, { status: 200, operationName: 'GoldenPatient', operationType: 'query', errorCodes: [] });
}

const code = `
  import { createServer } from 'node:http';
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/count') return res.end(String(spans));
      for (const rs of JSON.parse(Buffer.concat(chunks)).resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += (ss.spans ?? []).length;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
const collector = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
const [chunk] = (await once(collector.stdout, 'data')) as [Buffer];
const url = `http://127.0.0.1:${chunk.toString().trim()}/v1/traces`;

const MODES = { off: undefined, 'on, all recorded': 1, 'on, 10% sampled': 0.1 } as const;
const perRequest = new Map<string, number[]>();
for (let round = 0; round <= ROUNDS; round++) {
  for (const [mode, ratio] of Object.entries(MODES)) {
    const tracing =
      ratio === undefined
        ? undefined
        : createTracing({ serviceName: 'bench', exporter: { url }, sampleRatio: ratio, trustClientTraceparent: false });
    const started = performance.now();
    // A turn of the event loop per request, as real I/O gives: the exporter sends while requests go on.
    for (let i = 0; i < N; i++) await oneRequest().then(() => new Promise(setImmediate));
    await tracing?.flush();
    const micros = ((performance.now() - started) * 1000) / N;
    await tracing?.shutdown();
    if (round > 0) perRequest.set(mode, [...(perRequest.get(mode) ?? []), micros]); // round 0 warms up
  }
}
const received = Number(await (await fetch(url.replace('/v1/traces', '/count'))).text());
collector.kill();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const off = median(perRequest.get('off')!);
process.stdout.write(
  `span work of one golden-patient request (31 spans), median of ${ROUNDS} rounds of ${N}, export included ` +
    `(${received} spans received); ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
);
for (const [mode, micros] of perRequest) {
  const m = median(micros);
  process.stdout.write(`  ${mode}: ${m.toFixed(1)} µs a request (+${(m - off).toFixed(1)} µs over off)\n`);
}
