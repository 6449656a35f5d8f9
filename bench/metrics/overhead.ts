// What recording one request costs (platform/metrics.ts): the counter, the latency histogram and
// the operation label, as the front door records each /graphql request, and one subgraph call.
// node bench/metrics/overhead.ts
import { createMetrics } from '../../platform/metrics.ts';

const m = createMetrics();
const ROUNDS = 5;
const N = 200_000;
const names = ['GoldenPatient', 'Cohort', 'Steward', 'FindPatient'];
const perCall: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    m.request('gateway', { name: names[i & 3], resolved: true }, t, i % 50 === 0 ? ['FORBIDDEN'] : []);
    m.subgraphCall('mpi', 'ok', t);
  }
  perCall.push(Number(process.hrtime.bigint() - started) / N);
}
perCall.sort((a, b) => a - b);
const scrapeStarted = performance.now();
const text = await m.scrape();
process.stdout.write(
  `metrics per request (request + one subgraph call): median ${(perCall[ROUNDS >> 1]! / 1000).toFixed(2)} µs ` +
    `(best ${(perCall[0]! / 1000).toFixed(2)} µs) over ${ROUNDS} x ${N}; ` +
    `scrape ${(performance.now() - scrapeStarted).toFixed(1)} ms for ${text.length} bytes\n`,
);
