// What an orchestrator probes: /health (the process answers) and /ready (its dependencies do too)
// on the gateway and every subgraph, in the embedded default and on PostgreSQL and Redis alike.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { loadAdapters } from '../../../platform/config.ts';
import { redisUrl } from '../../support/env.ts';
import { startTestStack } from '../../support/stack.ts';

let stack: Stack;
before(async () => {
  stack = await startTestStack();
});
after(() => stack?.close());

const probe = async (graphqlUrl: string, path: '/health' | '/ready') => {
  const res = await fetch(new URL(path, graphqlUrl));
  return { status: res.status, body: (await res.json()) as { status: string; checks?: Record<string, string> } };
};

/** /ready until everything is up (Redis connects a moment after the cache opens), at most ~2 s. */
async function ready(graphqlUrl: string) {
  let res = await probe(graphqlUrl, '/ready');
  for (let i = 0; i < 20 && res.body.status !== 'ready'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    res = await probe(graphqlUrl, '/ready');
  }
  return res;
}

test('every subgraph is ready when its database (and, for an adapter, Redis) answers', async () => {
  for (const [name, server] of Object.entries(stack.subgraphs)) {
    const res = await ready(server.url);
    // Vendor adapters cache in Redis; the MPI, audit and clinical subgraphs read PostgreSQL only.
    const adapter = loadAdapters().some((a) => a.name === name);
    assert.deepEqual(res, {
      status: 200,
      body: { status: 'ready', checks: { postgres: 'up', ...(adapter && redisUrl() ? { redis: 'up' } : {}) } },
    });
  }
});

test('the gateway is ready when the MPI and audit are, degraded without an adapter; it says which, and stays alive', async () => {
  const names = Object.keys(stack.subgraphs).sort();
  const res = await ready(stack.gateway.url);
  assert.deepEqual(res, { status: 200, body: { status: 'ready', checks: Object.fromEntries(names.map((n) => [n, 'up'])) } });

  // A vendor adapter gone only empties its source's lists: degraded, still ready.
  const adapter = names.find((n) => loadAdapters().some((a) => a.name === n))!;
  await stack.subgraphs[adapter]!.close();
  const partial = await probe(stack.gateway.url, '/ready');
  assert.deepEqual(partial, {
    status: 200,
    body: { status: 'degraded', checks: Object.fromEntries(names.map((n) => [n, n === adapter ? 'down' : 'up'])) },
  });

  // Without the audit log no answer may leave: not ready.
  await stack.subgraphs.audit!.close();
  const down = await probe(stack.gateway.url, '/ready');
  assert.equal(down.status, 503);
  assert.deepEqual(down.body, {
    status: 'unavailable',
    checks: Object.fromEntries(names.map((n) => [n, n === 'audit' || n === adapter ? 'down' : 'up'])),
  });
  assert.doesNotMatch(JSON.stringify(down.body), /http|127\.0\.0\.1|localhost/);
  assert.deepEqual((await probe(stack.gateway.url, '/health')).status, 200);
});
