import { startGatewayService } from './runtime/components.ts';
import { post, startTestStack, tokenFor } from './test/support/stack.ts';
const stack = await startTestStack();
const hive = await startGatewayService({ engine: 'hive', keys: stack.keys, subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([n, s]) => [n, s.url])), port: 0, production: false, trustDevIssuer: true });
const { token } = await tokenFor(stack, ['clinician']);
const q = { query: `query G { patients(first: 5) { edges { node { id name { family given } birthDate sourceRecords { source mrn observations { code { coding { code } } } } } } } }` };
const auth = { authorization: `Bearer ${token}` };
const t: Record<string, number[]> = { product: [], hive: [] };
for (let i = 0; i < 20; i++) { await post(stack.gateway.url, q, auth); await post(hive.url, q, auth); }
for (let i = 0; i < 150; i++) for (const [name, url] of [['product', stack.gateway.url], ['hive', hive.url]] as const) {
  const s = performance.now(); const r = await post(url, q, auth); t[name]!.push(performance.now() - s);
  if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
}
for (const [n, xs] of Object.entries(t)) { xs.sort((a, b) => a - b); console.log(n, 'p50', xs[75]!.toFixed(1), 'p90', xs[135]!.toFixed(1), 'p99', xs[148]!.toFixed(1)); }
await hive.close(); await stack.close();
