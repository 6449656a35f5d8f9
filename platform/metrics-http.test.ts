// /metrics at the front door every server shares (platform/graphql-http.ts), over real HTTP with a
// real Apollo Server: who may read it in production and development, and what one request records
// (its operation, its errors' codes, a refusal before GraphQL). The whole stack: test/e2e/metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloServer } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { hardenedPlugins, hardenedServerOptions, serveGraphQL, serveMetrics, type RunningHttpServer } from './graphql-http.ts';
import { forbidden, unauthenticated } from './errors.ts';
import type { MetricsAccess } from './metrics.ts';
import { sample } from '../test/support/metrics.ts';

type Ctx = { readonly caller: string };

async function serve(component: string, access: MetricsAccess): Promise<RunningHttpServer> {
  const server = new ApolloServer<Ctx>({
    typeDefs: 'type Query { ok: Boolean secret: String }',
    resolvers: {
      Query: {
        ok: () => true,
        secret: () => {
          throw new GraphQLError('refused', { originalError: forbidden() });
        },
      },
    },
    ...hardenedServerOptions(false),
    plugins: hardenedPlugins<Ctx>(false),
  });
  await server.start();
  return serveGraphQL<Ctx>({
    server,
    port: 0,
    authenticate: async (req) => {
      if (req.headers.authorization !== 'Bearer user') throw unauthenticated('token required');
      return { caller: 'user' };
    },
    metrics: { component, access },
  });
}

const get = async (url: string, path: string, token?: string) => {
  const res = await fetch(new URL(path, url), token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text() };
};
const query = (url: string, body: unknown, token = 'user') =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

test('production: /metrics is FORBIDDEN without METRICS_TOKEN configured, 401 without the token, 200 with it', async () => {
  const off = await serve('prod-off', { production: true });
  const on = await serve('prod-on', { production: true, token: 'scrape-secret' });
  try {
    const refused = await get(off.url, '/metrics', 'anything');
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(refused.text).errors[0].extensions.code, 'FORBIDDEN');
    assert.doesNotMatch(refused.text, /pgw_/);
    assert.equal((await get(on.url, '/metrics')).status, 401);
    assert.equal((await get(on.url, '/metrics', 'user')).status, 401, "a caller's GraphQL token is not the scrape token");
    const ok = await get(on.url, '/metrics', 'scrape-secret');
    assert.equal(ok.status, 200);
    assert.match(ok.text, /# TYPE pgw_graphql_requests_total counter/);
  } finally {
    await off.close();
    await on.close();
  }
});

test('development without a token: open; each request counted by operation, errors by code, refusals under none', async () => {
  const s = await serve('unit', { production: false });
  try {
    await query(s.url, { query: 'query Named { ok }' });
    await query(s.url, { query: '{ ok }' });
    await query(s.url, { query: 'query Denied { ok secret }' });
    await query(s.url, { query: '{ nope }' });
    await query(s.url, { query: 'query Named { ok }' }, 'forged');
    const { status, text } = await get(s.url, '/metrics');
    assert.equal(status, 200);
    const n = (labels: Record<string, string>) => sample(text, 'pgw_graphql_requests_total', { component: 'unit', ...labels });
    assert.equal(n({ operation: 'Named', result: 'ok' }), 1);
    assert.equal(n({ operation: 'anonymous', result: 'ok' }), 1);
    assert.equal(n({ operation: 'Denied', result: 'error' }), 1);
    // Invalid documents resolve no operation; an unauthenticated caller never reaches GraphQL.
    assert.equal(n({ operation: 'none', result: 'error' }), 2);
    const errors = (code: string) => sample(text, 'pgw_graphql_errors_total', { component: 'unit', code });
    assert.equal(errors('FORBIDDEN'), 1);
    assert.equal(errors('GRAPHQL_VALIDATION_FAILED'), 1);
    assert.equal(errors('UNAUTHENTICATED'), 1);
    assert.equal(sample(text, 'pgw_graphql_request_duration_seconds_bucket', { component: 'unit', operation: 'Named', le: '+Inf' }), 1);
  } finally {
    await s.close();
  }
});

test('serveMetrics: a metrics-only port for a process without GraphQL (the ingester)', async () => {
  const m = await serveMetrics({ port: 0, access: { production: true, token: 't0k' } });
  try {
    assert.equal((await get(m.url, '/metrics')).status, 401);
    assert.equal((await get(m.url, '/metrics', 't0k')).status, 200);
    assert.equal((await get(m.url, '/health')).status, 200);
    assert.equal((await get(m.url, '/graphql')).status, 404);
  } finally {
    await m.close();
  }
});
