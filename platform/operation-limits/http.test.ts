// The limits as wired for every server of the product (platform/graphql-http.ts): an Apollo
// Server with hardenedServerOptions and hardenedPlugins behind serveGraphQL, on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloServer } from '@apollo/server';
import { hardenedPlugins, hardenedServerOptions, serveGraphQL, type RunningHttpServer } from '../graphql-http.ts';
import { operationLimits } from './limits.ts';
import { nestedFriends, TEST_TYPE_DEFS } from './test-schema.ts';

type Body = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

const patient = (id: string) => {
  if (id === 'boom') throw new Error('connection refused by db-internal.example:5432 at /srv/app/resolvers.ts:42');
  return { id, name: `Patient ${id}`, friends: [], records: [] };
};
const resolvers = {
  Query: {
    patient: (_: unknown, { id }: { id: string }) => patient(id),
    patients: (_: unknown, { first }: { first: number }) => ({
      totalCount: 3,
      pageInfo: { hasNextPage: false },
      edges: [1, 2, 3].slice(0, first).map((n) => ({ cursor: `c${n}`, node: patient(String(n)) })),
    }),
    search: () => [],
  },
};

async function start(production: boolean): Promise<RunningHttpServer> {
  const server = new ApolloServer({
    typeDefs: TEST_TYPE_DEFS,
    resolvers,
    ...hardenedServerOptions(production),
    plugins: hardenedPlugins(production),
  });
  await server.start();
  return serveGraphQL({ server, port: 0, authenticate: async () => ({}) });
}

let prod: RunningHttpServer;
let dev: RunningHttpServer;
before(async () => {
  [prod, dev] = await Promise.all([start(true), start(false)]);
});
after(async () => {
  await Promise.all([prod?.close(), dev?.close()]);
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Body }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Body };
}

const NORMAL = '{ patients(first: 3) { totalCount edges { node { id name } } } }';
async function stillServes(url: string): Promise<void> {
  const res = await post(url, { query: NORMAL });
  assert.equal(res.status, 200);
  assert.equal(res.body.errors, undefined);
  assert.equal((res.body.data as { patients: { edges: unknown[] } }).patients.edges.length, 3);
}

const aliases = (n: number, field = '__typename') => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');
const REFUSALS: Record<string, { body: unknown; limit: string; code?: string }> = {
  characters: { body: { query: `{ __typename ${' '.repeat(20_000)}}` }, limit: 'characters' },
  tokens: { body: { query: `{ ${'__typename '.repeat(1_000)}${'id '.repeat(1_000)}}` }, limit: 'tokens' },
  depth: { body: { query: nestedFriends(20) }, limit: 'depth' },
  aliases: { body: { query: `{ patient(id: "1") { ${aliases(150, 'name')} } }` }, limit: 'aliases' },
  typenameAliases: { body: { query: `{ patient(id: "1") { ${aliases(150)} } }` }, limit: 'aliases' },
  directives: { body: { query: `{ ${'...F @include(if: true) '.repeat(100)}} fragment F on Query { __typename }` }, limit: 'directives' },
  rootFields: {
    body: { query: `{ ${Array.from({ length: 60 }, (_, i) => `p${i}: patient(id: "${i}") { id }`).join(' ')} }` },
    limit: 'rootFields',
  },
  repeats: { body: { query: `{ patients { ${'totalCount '.repeat(500)}} }` }, limit: 'fieldRepeats' },
  cost: {
    body: {
      query: `{ ${Array.from({ length: 40 }, (_, i) => `p${i}: patients(first: 100) { totalCount edges { node { id } } }`).join(' ')} }`,
    },
    limit: 'cost',
  },
  pageSize: { body: { query: '{ patients(first: 100000000) { totalCount } }' }, limit: 'pageSize', code: 'BAD_USER_INPUT' },
  pageSizeVariable: {
    body: { query: 'query ($n: Int) { patients(first: $n) { totalCount } }', variables: { n: 100_000_000 } },
    limit: 'pageSize',
    code: 'BAD_USER_INPUT',
  },
};

test('each limit refuses with HTTP 400, a GraphQL error naming the limit and its bound, and no data', async () => {
  await stillServes(prod.url);
  for (const [name, { body, limit, code }] of Object.entries(REFUSALS)) {
    const res = await post(prod.url, body);
    assert.equal(res.status, 400, name);
    assert.equal(res.body.data, undefined, name);
    const error = res.body.errors?.find((e) => e.extensions?.limit === limit);
    assert.ok(error, `${name}: ${JSON.stringify(res.body.errors)}`);
    assert.equal(error.extensions?.code, code ?? 'GRAPHQL_VALIDATION_FAILED', name);
    assert.equal(typeof error.extensions?.max, 'number', name);
    assert.equal(error.extensions?.http, undefined, name);
    await stillServes(prod.url);
  }
});

test('the character limit applies to GET too, before Apollo Server sees the request', async () => {
  // With the defaults, Node's 16 KB header limit refuses such a URL first (431).
  const long = await fetch(`${prod.url}?query=${encodeURIComponent(`{ __typename ${' '.repeat(20_000)}}`)}`, {
    headers: { 'apollo-require-preflight': 'true' },
  });
  assert.equal(long.status, 431);
  await long.arrayBuffer();
  // Configured limits reach the front door, the validation rules and the plugin alike.
  const limits = operationLimits({ maxCharacters: 100, maxDepth: 3, maxCost: 10 });
  const server = new ApolloServer({
    typeDefs: TEST_TYPE_DEFS,
    resolvers,
    ...hardenedServerOptions(true, limits),
    plugins: hardenedPlugins(true, limits),
  });
  await server.start();
  const small = await serveGraphQL({ server, port: 0, authenticate: async () => ({}), operationLimits: limits });
  try {
    const res = await fetch(`${small.url}?query=${encodeURIComponent(`{ __typename ${' '.repeat(100)}}`)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(((await res.json()) as Body).errors?.[0]?.extensions, {
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'characters',
      max: 100,
      actual: 114,
    });
    assert.equal((await post(small.url, { query: nestedFriends(2) })).body.errors?.[0]?.extensions?.limit, 'depth');
    assert.equal((await post(small.url, { query: '{ patients(first: 20) { totalCount } }' })).body.errors?.[0]?.extensions?.limit, 'cost');
    assert.equal((await post(small.url, { query: '{ patients(first: 2) { totalCount } }' })).status, 200);
  } finally {
    await small.close();
  }
});

test('a body over 1,000,000 bytes gets a JSON 413, not a reset connection', async () => {
  const res = await post(prod.url, { query: `{ __typename ${' '.repeat(1024 * 1024)}}` });
  assert.equal(res.status, 413);
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');
  await stillServes(prod.url);
});

test('JSON batching is refused', async () => {
  const res = await post(prod.url, [{ query: NORMAL }, { query: NORMAL }]);
  assert.equal(res.status, 400);
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
  assert.match(res.body.errors![0]!.message, /batching disabled/);
  assert.equal(res.body.data, undefined);
});

test('production: no introspection (also through fragments), no landing page; no suggestions in any mode', async () => {
  for (const query of [
    '{ __schema { types { name } } }',
    '{ ...F } fragment F on Query { __schema { types { name } } }',
    '{ __type(name: "Patient") { fields { name } } }',
    '{ ... on Query { __type(name: "Patient") { name } } }',
  ]) {
    const res = await post(prod.url, { query });
    assert.equal(res.status, 400, query);
    assert.equal(res.body.data, undefined);
    assert.equal(res.body.errors?.[0]?.extensions?.validationErrorCode, 'INTROSPECTION_DISABLED', query);
    const allowed = await post(dev.url, { query });
    assert.equal(allowed.status, 200, `development allows introspection: ${query}`);
  }
  for (const query of [
    '{ patients(first: 1) { totalCont } }',
    '{ patient(idd: "1") { id } }',
    '{ patient(id: "1") { ...F } } fragment F on Patien { id }',
  ]) {
    const res = await post(prod.url, { query });
    assert.equal(res.status, 400);
    for (const e of res.body.errors ?? []) assert.doesNotMatch(e.message, /Did you mean/, query);
    const unhinted = await post(dev.url, { query });
    assert.ok(
      (unhinted.body.errors ?? []).length > 0 && unhinted.body.errors!.every((e) => !/Did you mean/.test(e.message)),
      `no hints in development either: ${query}`,
    );
  }
  const page = (url: string) => fetch(url, { headers: { accept: 'text/html' } });
  const off = await page(prod.url);
  assert.doesNotMatch(off.headers.get('content-type') ?? '', /text\/html/);
  await off.arrayBuffer();
  const on = await page(dev.url);
  assert.match(on.headers.get('content-type') ?? '', /text\/html/);
  await on.arrayBuffer();
});

test('stack traces and internal messages are never sent, in either mode', async () => {
  for (const url of [prod.url, dev.url]) {
    const res = await post(url, { query: '{ patient(id: "boom") { id } }' });
    const [error] = res.body.errors ?? [];
    assert.equal(error?.message, 'internal error');
    assert.equal(error?.extensions?.stacktrace, undefined);
    assert.doesNotMatch(JSON.stringify(res.body), /db-internal|resolvers\.ts/);
  }
});

test('CSRF prevention: a GET without a preflight header and a text/plain POST are refused', async () => {
  for (const url of [prod.url, dev.url]) {
    const get = await fetch(`${url}?query=${encodeURIComponent(NORMAL)}`);
    assert.equal(get.status, 400);
    assert.match(((await get.json()) as Body).errors![0]!.message, /Cross-Site Request Forgery/);
    const plain = await post(url, JSON.stringify({ query: NORMAL }), { 'content-type': 'text/plain' });
    assert.equal(plain.status, 400);
    assert.equal(plain.body.data, undefined);
    const preflighted = await fetch(`${url}?query=${encodeURIComponent(NORMAL)}`, { headers: { 'apollo-require-preflight': 'true' } });
    assert.equal(preflighted.status, 200);
    await preflighted.arrayBuffer();
  }
});
