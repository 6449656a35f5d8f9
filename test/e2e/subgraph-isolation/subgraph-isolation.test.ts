// A subgraph answers the gateway only: without a valid gateway-signed identity for that very
// subgraph, every request is refused with 401 before any GraphQL work, _service and _entities
// included, and nothing is audited as returned. An identity captured on the wire is useless
// beyond its request, and a vendor subgraph serves only the source records the MPI links.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import type { Stack } from '../../../runtime/stack.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../../platform/keys.ts';
import { GATEWAY_ISSUER, IDENTITY_LIFETIME_SECONDS, identitySigner } from '../../../security/identity-token.ts';
import { post, startTestStack, tokenFor } from '../../support/stack.ts';
import { fhirConnections, loadAdapters } from '../../../platform/config.ts';
import { openConnections } from '../../../protocol/connections.ts';
import { loadPatients, startGatewayService } from '../../../runtime/components.ts';

let stack: Stack;
before(async () => {
  stack = await startTestStack({ skipInitialLoad: true });
});
after(() => stack?.close());

/** The initial load, once, for the tests that need linked records (the first tests run without it). */
let loaded: Promise<unknown> | undefined;
const ensureLoaded = () =>
  (loaded ??= openConnections(fhirConnections(stack.connections), stack.keys).then((clients) =>
    loadPatients(stack.db, stack.keys, loadAdapters(), fhirConnections(stack.connections), clients),
  ));

const principal = {
  sub: 'attacker',
  roles: ['clinician'] as const,
  purposeOfUse: 'TREAT' as const,
  clientId: null,
  scopes: ['user/*.rs'],
  patientContext: null,
  breakGlassReason: null,
  clientIp: null,
  requestId: 'r-1',
};
const probes = {
  service: { query: '{ _service { sdl } }' },
  entities: {
    query: 'query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Patient { id name { family } } } }',
    variables: { r: [{ __typename: 'Patient', id: '00000000-0000-4000-8000-000000000000' }] },
  },
  patients: { query: '{ patients(first: 1) { totalCount } }' },
};

test('no identity, a user token, or a forged identity: 401 on every subgraph', async () => {
  const forgedKey = await generateKeyPair('EdDSA');
  const forged = await identitySigner({ privateKey: forgedKey.privateKey, kid: 'forged', alg: 'EdDSA' })(principal, 'mpi', probes.patients);
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'gateway-identity+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: GATEWAY_ISSUER, sub: 'x', aud: 'mpi', roles: ['clinician'], exp: 9999999999 })).toString('base64url')}.`;
  for (const [name, subgraph] of Object.entries(stack.subgraphs)) {
    for (const [probe, body] of Object.entries(probes)) {
      const attempts: Record<string, Record<string, string>> = {
        none: {},
        forged: { authorization: `Bearer ${forged}` },
        unsigned: { authorization: `Bearer ${unsigned}` },
        spoofedHeaders: { 'x-user': 'admin', 'x-roles': 'clinician' },
      };
      for (const [how, headers] of Object.entries(attempts)) {
        const res = await post(subgraph.url, body, headers);
        assert.equal(res.status, 401, `${name} ${probe} ${how}`);
        assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
        assert.equal(res.body.data, undefined);
      }
    }
  }
});

test('a genuine identity for one subgraph is refused by another (audience), and an expired one by all', async () => {
  const key = await loadKeyPair(stack.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  const forEpic = await identitySigner(key)(principal, 'epic', probes.service);
  const res = await post(stack.subgraphs.mpi!.url, probes.service, { authorization: `Bearer ${forEpic}` });
  assert.equal(res.status, 401);
  const expired = await new SignJWT({ roles: ['clinician'], pou: 'TREAT', rid: 'r' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'gateway-identity+jwt' })
    .setIssuer(GATEWAY_ISSUER)
    .setSubject('x')
    .setAudience('mpi')
    .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 500)
    .sign(key.privateKey);
  assert.equal((await post(stack.subgraphs.mpi!.url, probes.service, { authorization: `Bearer ${expired}` })).status, 401);
  // The same genuine identity for the right audience is accepted: the refusals above are not a broken subgraph.
  const forMpi = await identitySigner(key)(principal, 'mpi', probes.service);
  const ok = await post<{ _service: { sdl: string } }>(stack.subgraphs.mpi!.url, probes.service, { authorization: `Bearer ${forMpi}` });
  assert.equal(ok.status, 200);
  assert.match(ok.body.data!._service.sdl, /type Patient/);
});

test('nothing was audited as returned for the refused requests', async () => {
  const { rows } = await stack.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_event WHERE actor_sub = 'attacker' AND decision = 'permit' AND patient_ref <> ''",
  );
  assert.equal(rows[0]?.n, 0);
});

type Captured = { headers: IncomingHttpHeaders; body: string };

test('an identity captured on the wire is useless beyond its request: no replay, no other query, no other request id', async () => {
  // A wiretap between a gateway and the mpi subgraph (compose's plain HTTP): it records every call,
  // and can withhold one, as an attacker in the middle would.
  const mpiUrl = stack.subgraphs.mpi!.url;
  const captured: Captured[] = [];
  let withhold = false;
  const tap = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      captured.push({ headers: req.headers, body });
      if (withhold) return void res.writeHead(502).end();
      const forward = { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' };
      fetch(mpiUrl, { method: 'POST', headers: { ...forward, 'x-request-id': String(req.headers['x-request-id']) }, body })
        .then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()))
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => tap.listen(0, '127.0.0.1', r));
  const tapped = await startGatewayService({
    keys: stack.keys,
    subgraphUrls: {
      ...Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
      mpi: `http://127.0.0.1:${(tap.address() as { port: number }).port}/graphql`,
    },
    port: 0,
    production: false,
    trustDevIssuer: true,
  });
  try {
    const { token, sub } = await tokenFor(stack, ['clinician']);
    const ask = (query: string) => post(tapped.url, { query }, { authorization: `Bearer ${token}` });
    const served = await ask('{ patients(first: 1) { totalCount } }');
    assert.equal(served.body.errors, undefined, JSON.stringify(served.body.errors));
    const used = captured.at(-1)!;
    const claims = decodeJwt(String(used.headers.authorization).slice('Bearer '.length));
    assert.ok(claims.exp! - claims.iat! <= IDENTITY_LIFETIME_SECONDS && IDENTITY_LIFETIME_SECONDS <= 15, 'lives seconds');
    assert.equal(claims.rid, used.headers['x-request-id'], 'bound to its request id');
    const rowsBefore = (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event WHERE actor_sub = $1', [sub]))
      .rows[0]!.n;

    const replay = (c: Captured, changes: { body?: string; requestId?: string } = {}) =>
      fetch(mpiUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: String(c.headers.authorization),
          'x-request-id': changes.requestId ?? String(c.headers['x-request-id']),
        },
        body: changes.body ?? c.body,
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] },
      }));
    const refused = (res: Awaited<ReturnType<typeof replay>>, label: string) => {
      assert.equal(res.status, 401, label);
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', label);
      assert.ok(res.body.data === undefined || res.body.data === null, label);
    };
    // 1. Replayed as captured, after the gateway used it: refused.
    refused(await replay(used), 'replay of a used identity');

    // 2. Withheld from the subgraph (the attacker keeps the unused identity) and spent on another query.
    withhold = true;
    await ask('{ patients(first: 1) { totalCount } }');
    const otherQuery = JSON.stringify({ query: '{ patients(first: 100) { edges { node { id name { family } birthDate } } } }' });
    refused(await replay(captured.at(-1)!, { body: otherQuery }), 'an unused identity with another query');
    // 3. The same, with the same document but other variables.
    await ask('query ($n: Int) { patients(first: $n) { totalCount } }');
    const withheld = captured.at(-1)!;
    const parsed = JSON.parse(withheld.body) as { query: string; variables?: Record<string, unknown> };
    const otherVariables = JSON.stringify({ ...parsed, variables: { ...parsed.variables, n: 100 } });
    refused(await replay(withheld, { body: otherVariables }), 'an unused identity with other variables');
    // 4. An unused identity presented as belonging to another request id.
    await ask('{ patients(first: 1) { totalCount } }');
    refused(await replay(captured.at(-1)!, { requestId: 'another-request' }), 'an unused identity with another request id');
    // The one use an unused identity still has is its own request, once (TLS keeps it from being captured at all).
    await ask('{ patients(first: 1) { totalCount } }');
    const spare = captured.at(-1)!;
    assert.equal((await replay(spare)).status, 200, 'its own request, once');
    refused(await replay(spare), 'and never again');

    const rowsAfter = (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event WHERE actor_sub = $1', [sub]))
      .rows[0]!.n;
    assert.ok(rowsAfter - rowsBefore <= 1, `only the one legitimate use may be audited (${rowsAfter - rowsBefore})`);
  } finally {
    await tapped.close();
    tap.closeAllConnections();
    await new Promise((r) => tap.close(r));
  }
});

test('a vendor subgraph serves clinical data only for source records the MPI links, one link query per request', async () => {
  const key = await loadKeyPair(stack.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  const site = 'epic-main';
  const withObservations = stack.population!.sites[site]!.resources.Observation.map((o) => o.subject.reference!.split('/')[1]!);
  const recordId = `${site}:${withObservations[0]}`;
  const query = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on EpicRecord { id observations { id } } } }';
  const lookup = async (ids: readonly string[], selection = query) => {
    const body = { query: selection, variables: { r: ids.map((id) => ({ __typename: 'EpicRecord', id })) } };
    return post<{ _entities: ({ id: string; observations?: unknown[] } | null)[] }>(stack.subgraphs.epic!.url, body, {
      authorization: `Bearer ${await identitySigner(key)({ ...principal, requestId: `r-${recordId}` }, 'epic', body)}`,
    });
  };
  // Before the MPI linked anything: a real EHR patient, well-formed id, a clinician for treatment: null.
  assert.equal(loaded, undefined, 'runs before the initial load');
  const unlinked = await lookup([recordId]);
  assert.deepEqual(unlinked.body.data?._entities, [null], JSON.stringify(unlinked.body).slice(0, 300));
  await ensureLoaded();
  const { rows } = await stack.db.query<{ source_patient_id: string }>(
    'SELECT source_patient_id FROM source_record WHERE source = $1 AND deleted_at IS NULL ORDER BY source_patient_id LIMIT 100',
    [site],
  );
  assert.ok(
    rows.some((r) => r.source_patient_id === withObservations[0]),
    'the record is linked now',
  );
  const linked = await lookup([recordId]);
  assert.equal(linked.body.data?._entities[0]?.id, recordId, JSON.stringify(linked.body).slice(0, 300));
  assert.ok((linked.body.data?._entities[0]?.observations ?? []).length > 0, 'its observations are served');
  // A linked record whose link was removed (deleted) is null again.
  await stack.db.query('UPDATE source_record SET deleted_at = now() WHERE source = $1 AND source_patient_id = $2', [
    site,
    withObservations[0],
  ]);
  try {
    assert.deepEqual((await lookup([recordId])).body.data?._entities, [null]);
  } finally {
    await stack.db.query('UPDATE source_record SET deleted_at = NULL WHERE source = $1 AND source_patient_id = $2', [
      site,
      withObservations[0],
    ]);
  }
  // A page of linked records and one made-up id: one query to the link table for all of them.
  const page = [...rows.map((r) => `${site}:${r.source_patient_id}`), `${site}:not-a-patient-0000`];
  const original = stack.db.query.bind(stack.db);
  let linkQueries = 0;
  stack.db.query = ((text: string, params?: unknown[]) => {
    if (/WITH ORDINALITY AS r\(src, spid, i\)/.test(text)) linkQueries++;
    return original(text, params as never);
  }) as typeof stack.db.query;
  try {
    const res = await lookup(page, 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on EpicRecord { id } } }');
    const entities = res.body.data!._entities;
    assert.equal(entities.length, page.length);
    assert.deepEqual(
      entities.slice(0, -1).map((e) => e?.id),
      page.slice(0, -1),
    );
    assert.equal(entities.at(-1), null, 'the made-up id');
    assert.equal(linkQueries, 1, 'one link query for the whole page');
  } finally {
    stack.db.query = original;
  }
});

test('forged _entities representations with a genuine identity reveal nothing outside the launch context', async () => {
  const key = await loadKeyPair(stack.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  await ensureLoaded();
  // Two source records of two different golden patients.
  const { rows } = await stack.db.query<{ golden_id: string; source: string; source_patient_id: string }>(
    'SELECT DISTINCT ON (golden_id) golden_id, source, source_patient_id FROM source_record ORDER BY golden_id, source LIMIT 2',
  );
  const [mine, other] = rows as [(typeof rows)[0], (typeof rows)[0]];
  assert.notEqual(mine.golden_id, other.golden_id);
  const bound = { ...principal, patientContext: mine.golden_id };
  const call = async (subgraph: string, representations: unknown[], selection = '__typename ... on Patient { id }') => {
    const body = { query: `query ($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`, variables: { r: representations } };
    return post<{ _entities: unknown[] }>(stack.subgraphs[subgraph]!.url, body, {
      authorization: `Bearer ${await identitySigner(key)(bound, subgraph, body)}`,
    });
  };
  const mpi = await call('mpi', [
    { __typename: 'Patient', id: mine.golden_id },
    { __typename: 'Patient', id: other.golden_id },
  ]);
  assert.deepEqual(mpi.body.data?._entities, [{ __typename: 'Patient', id: mine.golden_id }, null]);
  const recordType = loadAdapters().find((a) => stack.connections.find((c) => c.id === other.source)?.adapter === a.name)!.recordType;
  const vendor = await call(
    loadAdapters().find((a) => a.recordType === recordType)!.name,
    [{ __typename: recordType, id: `${other.source}:${other.source_patient_id}` }],
    `__typename ... on ${recordType} { id }`,
  );
  assert.deepEqual(vendor.body.data?._entities, [null], JSON.stringify(vendor.body));
});
