// A subgraph answers the gateway only: without a valid gateway-signed identity for that very
// subgraph, every request is refused with 401 before any GraphQL work, _service and _entities
// included, and nothing is audited as returned.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT } from 'jose';
import type { Stack } from '../../../runtime/stack.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../../platform/keys.ts';
import { GATEWAY_ISSUER, identitySigner } from '../../../security/identity-token.ts';
import { post, startTestStack } from '../../support/stack.ts';
import { loadAdapters } from '../../../platform/config.ts';
import { openConnections } from '../../../protocol/connections.ts';
import { loadPatients } from '../../../runtime/components.ts';

let stack: Stack;
before(async () => {
  stack = await startTestStack({ skipInitialLoad: true });
});
after(() => stack?.close());

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
  const forged = await identitySigner({ privateKey: forgedKey.privateKey, kid: 'forged', alg: 'EdDSA' })(principal, 'mpi');
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
  const forEpic = await identitySigner(key)(principal, 'epic');
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
  const forMpi = await identitySigner(key)(principal, 'mpi');
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

test('forged _entities representations with a genuine identity reveal nothing outside the launch context', async () => {
  const key = await loadKeyPair(stack.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  await loadPatients(stack.db, stack.keys, loadAdapters(), stack.connections, await openConnections(stack.connections, stack.keys));
  // Two source records of two different golden patients.
  const { rows } = await stack.db.query<{ golden_id: string; source: string; source_patient_id: string }>(
    'SELECT DISTINCT ON (golden_id) golden_id, source, source_patient_id FROM source_record ORDER BY golden_id, source LIMIT 2',
  );
  const [mine, other] = rows as [(typeof rows)[0], (typeof rows)[0]];
  assert.notEqual(mine.golden_id, other.golden_id);
  const bound = { ...principal, patientContext: mine.golden_id };
  const call = async (subgraph: string, representations: unknown[], selection = '__typename ... on Patient { id }') =>
    post<{ _entities: unknown[] }>(
      stack.subgraphs[subgraph]!.url,
      { query: `query ($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`, variables: { r: representations } },
      { authorization: `Bearer ${await identitySigner(key)(bound, subgraph)}` },
    );
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
