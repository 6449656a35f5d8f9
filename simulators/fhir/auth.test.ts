// The token endpoint and bearer checks, over real HTTP, as a SMART backend app meets them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePopulation } from '../population/generate.ts';
import { accessToken, clientAssertion, requestToken, testApp, type TestApp } from '../testing.ts';
import { startFhirSimulator, type FhirSimulator } from './server.ts';

const pop = generatePopulation({
  seed: 1,
  size: 30,
  sites: [
    { id: 'epic-main', vendor: 'epic' },
    { id: 'cerner-main', vendor: 'cerner' },
  ],
});
let clock = Date.now();
let app: TestApp;
let ecApp: TestApp;
let stranger: TestApp;
let epic: FhirSimulator;
let cerner: FhirSimulator;

before(async () => {
  [app, ecApp, stranger] = await Promise.all([testApp('gateway'), testApp('ec-app', 'ES384'), testApp('stranger')]);
  const clients = [app.registration, ecApp.registration];
  epic = await startFhirSimulator({
    siteId: 'epic-main',
    vendor: 'epic',
    data: pop.sites['epic-main']!,
    clients,
    tokenTtlSeconds: 60,
    now: () => clock,
  });
  cerner = await startFhirSimulator({ siteId: 'cerner-main', vendor: 'cerner', data: pop.sites['cerner-main']!, clients });
});
after(async () => {
  await Promise.all([epic?.close(), cerner?.close()]);
});

test('discovery names the token endpoint and the supported client authentication', async () => {
  for (const sim of [epic, cerner]) {
    const res = await fetch(`${sim.url}/.well-known/smart-configuration`);
    assert.equal(res.status, 200);
    const conf = (await res.json()) as Record<string, unknown>;
    assert.equal(conf.token_endpoint, sim.tokenUrl);
    assert.deepEqual(conf.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    assert.deepEqual(conf.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
    assert.ok((conf.grant_types_supported as string[]).includes('client_credentials'));
  }
  assert.match(epic.tokenUrl, /\/oauth2\/token$/);
  assert.match(cerner.tokenUrl, /\/tenants\/ec2458f2-1e24-41c8-b71b-0e701af7583d\/protocols\/oauth2\/profiles\/smart-v1\/token$/);
});

test('a valid RS384 (or ES384) client assertion gets an opaque bearer token that opens the FHIR API', async () => {
  for (const [sim, who, alg] of [
    [epic, app, 'RS384'],
    [cerner, app, 'RS384'],
    [epic, ecApp, 'ES384'],
  ] as const) {
    const answer = await requestToken(
      sim.tokenUrl,
      await clientAssertion(who, sim.tokenUrl, { alg }),
      'system/Patient.rs system/Observation.rs launch',
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.token_type, 'bearer');
    assert.equal(answer.body.scope, 'system/Patient.rs system/Observation.rs');
    assert.equal(typeof answer.body.expires_in, 'number');
    assert.match(String(answer.body.access_token), /^[A-Za-z0-9_-]{32,}$/);
    const res = await fetch(`${sim.url}/Patient?_count=1`, { headers: { authorization: `Bearer ${String(answer.body.access_token)}` } });
    assert.equal(res.status, 200);
  }
});

test('the token endpoint refuses bad assertions with RFC 6749 errors', async () => {
  const url = epic.tokenUrl;
  const cases: [string, Promise<string>, number, string][] = [
    ['wrong key', clientAssertion(app, url, { key: stranger.privateKey }), 401, 'invalid_client'],
    ['expired assertion', clientAssertion(app, url, { expiresIn: -60 }), 401, 'invalid_client'],
    ['exp too far ahead', clientAssertion(app, url, { expiresIn: 3600 }), 401, 'invalid_client'],
    ['no exp', clientAssertion(app, url, { expiresIn: null }), 401, 'invalid_client'],
    ['no jti', clientAssertion(app, url, { jti: null }), 401, 'invalid_client'],
    ['unknown client', clientAssertion(stranger, url), 401, 'invalid_client'],
    ['wrong aud', clientAssertion(app, url, { aud: cerner.tokenUrl }), 401, 'invalid_client'],
    ['sub differs from iss', clientAssertion(app, url, { sub: 'someone-else' }), 401, 'invalid_client'],
    ['not a JWT', Promise.resolve('garbage'), 400, 'invalid_request'],
  ];
  for (const [name, assertion, status, error] of cases) {
    const answer = await requestToken(url, await assertion);
    assert.equal(answer.status, status, `${name}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error, error, name);
    assert.equal(typeof answer.body.error_description, 'string');
    assert.equal(answer.body.access_token, undefined);
  }
});

test('a replayed jti is refused', async () => {
  const assertion = await clientAssertion(app, epic.tokenUrl);
  assert.equal((await requestToken(epic.tokenUrl, assertion)).status, 200);
  const replay = await requestToken(epic.tokenUrl, assertion);
  assert.equal(replay.status, 401);
  assert.equal(replay.body.error, 'invalid_client');
  assert.match(String(replay.body.error_description), /jti/);
});

test('malformed token requests', async () => {
  const assertion = await clientAssertion(app, epic.tokenUrl);
  const grant = await requestToken(epic.tokenUrl, assertion, 'system/Patient.rs', { grant_type: 'authorization_code' });
  assert.deepEqual([grant.status, grant.body.error], [400, 'unsupported_grant_type']);
  const type = await requestToken(epic.tokenUrl, assertion, 'system/Patient.rs', { client_assertion_type: 'urn:other' });
  assert.deepEqual([type.status, type.body.error], [400, 'invalid_request']);
  const scope = await requestToken(epic.tokenUrl, await clientAssertion(app, epic.tokenUrl), 'patient/Patient.read');
  assert.deepEqual([scope.status, scope.body.error], [400, 'invalid_scope']);
  const json = await fetch(epic.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(json.status, 400);
  assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
  const get = await fetch(epic.tokenUrl);
  assert.equal(get.status, 405);
  await get.body?.cancel();
});

test('FHIR calls without a token, with an unknown token or with an expired one get 401 and a Bearer challenge', async () => {
  const token = await accessToken(app, epic.tokenUrl);
  const call = (authorization?: string) => fetch(`${epic.url}/Patient`, { headers: authorization ? { authorization } : {} });
  const none = await call();
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  assert.equal(none.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
  const body = (await none.json()) as { resourceType: string; issue: { severity: string; code: string }[] };
  assert.equal(body.resourceType, 'OperationOutcome');
  assert.deepEqual([body.issue[0]!.severity, body.issue[0]!.code], ['error', 'login']);
  const unknown = await call('Bearer not-a-token');
  assert.equal(unknown.status, 401);
  assert.match(unknown.headers.get('www-authenticate') ?? '', /invalid_token/);
  await unknown.body?.cancel();
  const ok = await call(`Bearer ${token}`);
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  clock += 61_000; // past the 60 s token lifetime
  try {
    const expired = await call(`Bearer ${token}`);
    assert.equal(expired.status, 401);
    await expired.body?.cancel();
  } finally {
    clock = Date.now();
  }
  // Metadata and discovery need no token.
  const metadata = await fetch(`${epic.url}/metadata`);
  assert.equal(metadata.status, 200);
  await metadata.body?.cancel();
});
