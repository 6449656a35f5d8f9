// The committed supergraph on Hive Gateway with the product's plugin (gateway/hive/): the same
// answers as the product's gateway from the same real subgraphs, the same authentication, a
// signed single-use identity per subgraph call, and the same refusals.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import type { RunningHttpServer } from '../../../platform/graphql-http.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../../platform/keys.ts';
import { startGatewayService } from '../../../runtime/components.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { IDENTITY_LIFETIME_SECONDS } from '../../../security/identity-token.ts';
import { DEFAULT_AUDIENCE, DEV_ISSUER } from '../../../security/user-token.ts';
import { post, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
let hive: RunningHttpServer;
const urls = () => Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url]));
const startHive = (overrides: Partial<Parameters<typeof startGatewayService>[0]> = {}) =>
  startGatewayService({
    engine: 'hive',
    keys: stack.keys,
    subgraphUrls: urls(),
    port: 0,
    production: false,
    trustDevIssuer: true,
    ...overrides,
  });

before(async () => {
  stack = await startTestStack();
  hive = await startHive();
});
after(async () => {
  await hive?.close();
  await stack?.close();
});

const GOLDEN = `query Golden($first: Int) {
  patients(first: $first) {
    totalCount
    edges { node {
      id name { family given } birthDate gender identifiers { system value }
      sourceRecords { source mrn observations { code { coding { system code } } valueQuantity { value unit } } conditions { id } }
    } }
  }
}`;

test('a golden-patient query answers the same on Hive Gateway as on the product gateway, audited alike', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const body = { query: GOLDEN, variables: { first: 20 }, operationName: 'Golden' };
  const auth = { authorization: `Bearer ${token}` };
  const product = await post(stack.gateway.url, body, auth);
  const onHive = await post(hive.url, body, auth);
  assert.equal(product.body.errors, undefined, JSON.stringify(product.body.errors));
  assert.equal(onHive.status, 200);
  assert.equal(onHive.body.errors, undefined, JSON.stringify(onHive.body.errors));
  const page = product.body.data as { patients: { edges: { node: { sourceRecords: { source: string }[] } }[] } };
  assert.equal(page.patients.edges.length, 20);
  const sources = new Set(page.patients.edges.flatMap((e) => e.node.sourceRecords.map((r) => r.source)));
  assert.ok(sources.size >= 2, 'records from several EHRs');
  assert.deepEqual(onHive.body.data, product.body.data);
  // Each answer wrote its audit rows under its own request id, with the client's operation name.
  const { rows } = await stack.db.query<{ request_id: string; subgraphs: number }>(
    'SELECT request_id, count(DISTINCT subgraph)::int AS subgraphs FROM audit_event WHERE actor_sub = $1 GROUP BY request_id',
    [sub],
  );
  assert.equal(rows.length, 2, JSON.stringify(rows));
  assert.deepEqual(
    rows.map((r) => r.subgraphs),
    [rows[0]!.subgraphs, rows[0]!.subgraphs],
    'the same subgraphs audited the same query',
  );
});

test('no token, a bad token or identity headers only: 401 UNAUTHENTICATED before any GraphQL work', async () => {
  for (const headers of [
    {} as Record<string, string>,
    { authorization: 'Bearer not.a.token' },
    { 'x-user': 'admin', 'x-roles': 'clinician' },
    { authorization: 'Basic YWRtaW46YWRtaW4=' },
  ]) {
    const res = await post(hive.url, { query: '{ __typename }' }, headers);
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal(res.body.data, undefined);
  }
  // A purpose of use the token does not grant is the product's FORBIDDEN, as on the product gateway.
  const { token } = await tokenFor(stack, ['clinician'], 'TREAT');
  const narrowed = await post(hive.url, { query: '{ __typename }' }, { authorization: `Bearer ${token}`, 'x-purpose-of-use': 'HRESCH' });
  assert.equal(narrowed.status, 403);
  assert.equal(narrowed.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

test('an analyst through Hive Gateway is held to the subgraphs policies: no names', async () => {
  const { token } = await tokenFor(stack, ['analyst'], 'HRESCH');
  const res = await post(
    hive.url,
    { query: '{ patients(first: 1) { edges { node { name { family } } } } }' },
    { authorization: `Bearer ${token}` },
  );
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'FORBIDDEN', JSON.stringify(res.body).slice(0, 300));
});

test('the operation limits hold on Hive Gateway', async () => {
  const { token } = await tokenFor(stack, ['clinician']);
  const aliases = Array.from({ length: 60 }, (_, i) => `a${i}: __typename`).join(' ');
  const res = await post(hive.url, { query: `{ ${aliases} }` }, { authorization: `Bearer ${token}` });
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.errors?.[0]?.extensions?.limit, 'aliases', JSON.stringify(res.body));
  const huge = await post(hive.url, { query: `{ patients(first: 100000) { totalCount } }` }, { authorization: `Bearer ${token}` });
  assert.equal(huge.body.errors?.[0]?.extensions?.limit, 'pageSize', JSON.stringify(huge.body));
  assert.equal(huge.body.data ?? undefined, undefined);
});

type Captured = { headers: IncomingHttpHeaders; body: string };

test('Hive Gateway sends each subgraph a signed single-use identity bound to the call; a replay is refused', async () => {
  // A wiretap between Hive Gateway and the mpi subgraph: it records each call and forwards it.
  const mpiUrl = stack.subgraphs.mpi!.url;
  const captured: Captured[] = [];
  const tap = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      captured.push({ headers: req.headers, body });
      const forward = { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' };
      fetch(mpiUrl, { method: 'POST', headers: { ...forward, 'x-request-id': String(req.headers['x-request-id']) }, body })
        .then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()))
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => tap.listen(0, '127.0.0.1', r));
  const tapped = await startHive({ subgraphUrls: { ...urls(), mpi: `http://127.0.0.1:${(tap.address() as AddressInfo).port}/graphql` } });
  try {
    const { token, sub } = await tokenFor(stack, ['clinician']);
    // What the client says about itself is not forwarded: only the verified token's subject.
    const served = await post(
      tapped.url,
      { query: 'query Count { patients(first: 1) { totalCount } }', operationName: 'Count' },
      { authorization: `Bearer ${token}`, 'x-user': 'someone-else', 'x-roles': 'security' },
    );
    assert.equal(served.body.errors, undefined, JSON.stringify(served.body.errors));
    const used = captured.at(-1)!;
    assert.equal(used.headers['x-user'], undefined);
    assert.equal(used.headers['x-client-operation-name'], 'Count');
    const claims = decodeJwt(String(used.headers.authorization).slice('Bearer '.length));
    assert.equal(claims.sub, sub);
    assert.equal(claims.aud, 'mpi');
    assert.equal(claims.rid, used.headers['x-request-id']);
    assert.ok(claims.exp! - claims.iat! <= IDENTITY_LIFETIME_SECONDS);
    const replay = (c: Captured, body = c.body) =>
      fetch(mpiUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: String(c.headers.authorization) },
        body,
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] },
      }));
    const again = await replay(used);
    assert.equal(again.status, 401, 'replayed as captured');
    assert.equal(again.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    // Two calls of two requests never share an identity.
    await post(tapped.url, { query: '{ patients(first: 1) { totalCount } }' }, { authorization: `Bearer ${token}` });
    assert.notEqual(captured.at(-1)!.headers.authorization, used.headers.authorization);
  } finally {
    await tapped.close();
    tap.closeAllConnections();
    await new Promise((r) => tap.close(r));
  }
});

test('a subgraph called directly, as if Hive Gateway were bypassed, refuses without a signed identity', async () => {
  const { token } = await tokenFor(stack, ['clinician']);
  for (const [name, subgraph] of Object.entries(stack.subgraphs)) {
    // The caller's own (valid) user token is not a gateway identity.
    for (const headers of [{}, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
      const res = await post(subgraph.url, { query: '{ _service { sdl } }' }, headers);
      assert.equal(res.status, 401, name);
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    }
  }
});

test('in production mode Hive Gateway refuses introspection', async () => {
  // A production gateway with an identity provider the test can mint for (here the dev issuer's key, configured as a plain issuer).
  const devKey = await loadKeyPair(stack.keys, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
  const production = await startHive({
    production: true,
    trustDevIssuer: false,
    issuers: [{ issuer: DEV_ISSUER, audience: DEFAULT_AUDIENCE, jwks: [devKey.publicJwk] }],
  });
  try {
    const { token } = await tokenFor(stack, ['clinician']);
    const auth = { authorization: `Bearer ${token}` };
    const introspection = await post(production.url, { query: '{ __schema { queryType { name } } }' }, auth);
    assert.ok(introspection.body.errors?.length, JSON.stringify(introspection.body));
    assert.equal(introspection.body.data ?? undefined, undefined);
    const development = await post(hive.url, { query: '{ __schema { queryType { name } } }' }, auth);
    assert.equal(development.body.errors, undefined, 'introspection stays on outside production');
    const ok = await post(production.url, { query: '{ patients(first: 1) { totalCount } }' }, auth);
    assert.equal(ok.body.errors, undefined, JSON.stringify(ok.body.errors));
  } finally {
    await production.close();
  }
});

test('a subgraph that cannot be reached is SUBGRAPH_UNAVAILABLE naming it, as on the product gateway', async () => {
  const down = await startHive({ subgraphUrls: { ...urls(), mpi: 'http://127.0.0.1:9/graphql' } });
  try {
    const { token } = await tokenFor(stack, ['clinician']);
    const res = await post(down.url, { query: '{ patients(first: 1) { totalCount } }' }, { authorization: `Bearer ${token}` });
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'SUBGRAPH_UNAVAILABLE', JSON.stringify(res.body));
    assert.equal(res.body.errors?.[0]?.extensions?.subgraph, 'mpi');
  } finally {
    await down.close();
  }
});

test('concurrent identical queries of two callers are never shared: each is authorized and audited as its own', async () => {
  // Hive Gateway's HTTP executor merges identical in-flight subgraph queries by default; that would hand
  // one caller's authorized answer to another and skip the other's audit row.
  const clinician = await tokenFor(stack, ['clinician']);
  const analyst = await tokenFor(stack, ['analyst'], 'HRESCH');
  const query = { query: '{ patients(first: 3) { edges { node { id name { family } } } } }' };
  const ask = (token: string) => post(hive.url, query, { authorization: `Bearer ${token}` });
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(i % 2 ? analyst.token : clinician.token)));
  answers.forEach((res, i) => {
    if (i % 2) assert.equal(res.body.errors?.[0]?.extensions?.code, 'FORBIDDEN', `analyst ${i}: ${JSON.stringify(res.body).slice(0, 200)}`);
    else assert.equal(res.body.errors, undefined, `clinician ${i}: ${JSON.stringify(res.body.errors)}`);
  });
  const { rows } = await stack.db.query<{ n: number }>(
    "SELECT count(DISTINCT request_id)::int AS n FROM audit_event WHERE actor_sub = $1 AND subgraph = 'mpi'",
    [clinician.sub],
  );
  assert.equal(rows[0]!.n, 4, 'one audited mpi call per clinician request');
});
