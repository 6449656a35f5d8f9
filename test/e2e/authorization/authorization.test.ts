// Authentication at the gateway and the first field-level policies, end to end: each role sees
// what its policy grants and gets FORBIDDEN for the rest, with the rest of the data returned.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from 'jose';
import { startGatewayService } from '../../../runtime/components.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { proxyTrust } from '../../../security/client-address.ts';
import { mintDevToken } from '../../../security/user-token.ts';
import { gql, post, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
before(async () => {
  stack = await startTestStack();
});
after(() => stack?.close());

const forbiddenPaths = (errors: { path?: (string | number)[]; extensions?: Record<string, unknown> }[] | undefined) =>
  (errors ?? []).filter((e) => e.extensions?.code === 'FORBIDDEN').map((e) => e.path?.filter((p) => typeof p === 'string').join('.'));

test('missing, malformed, expired and forged tokens are UNAUTHENTICATED', async () => {
  const query = '{ patients(first: 1) { totalCount } }';
  const attacker = await generateKeyPair('ES256');
  const forged = await mintDevToken(
    { privateKey: attacker.privateKey, kid: 'x', alg: 'ES256' },
    { sub: 'mallory', roles: ['clinician'], purposeOfUse: 'TREAT' },
  );
  const expired = (await tokenFor(stack, ['clinician'], 'TREAT', -120)).token;
  const attempts: Record<string, Record<string, string>> = {
    missing: {},
    malformed: { authorization: 'Bearer not.a.jwt' },
    basic: { authorization: 'Basic YTpi' },
    expired: { authorization: `Bearer ${expired}` },
    forged: { authorization: `Bearer ${forged}` },
    spoofed: { 'x-user': 'admin', 'x-roles': 'clinician' },
  };
  for (const [how, headers] of Object.entries(attempts)) {
    const res = await post(stack.gateway.url, { query }, headers);
    assert.equal(res.status, 401, how);
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', how);
    assert.equal(res.body.data, undefined, how);
  }
});

test('analyst: counts and de-identified fields; names are FORBIDDEN, the rest still returned', async () => {
  const { token } = await tokenFor(stack, ['analyst']);
  const res = await gql<{ patients: { totalCount: number; edges: { node: { id: string; gender: string | null; name: unknown } }[] } }>(
    stack,
    token,
    '{ patients(first: 3) { totalCount edges { node { id gender name { family } } } } }',
  );
  assert.equal(res.status, 200);
  const page = res.body.data!.patients;
  assert.ok(page.totalCount > 0);
  assert.equal(page.edges.length, 3);
  for (const e of page.edges) {
    assert.ok(e.node.id);
    assert.equal(e.node.name, null);
  }
  assert.deepEqual(forbiddenPaths(res.body.errors), ['patients.edges.node.name', 'patients.edges.node.name', 'patients.edges.node.name']);
  const lookup = await gql(stack, token, '{ patientByIdentifier(system: "x", value: "y") { id } }');
  assert.deepEqual(forbiddenPaths(lookup.body.errors), ['patientByIdentifier']);
});

test('steward: demographics and source records, but no clinical data', async () => {
  const { token } = await tokenFor(stack, ['steward']);
  const res = await gql<{
    patients: { edges: { node: { name: { family: string } | null; sourceRecords: { source: string; observations: unknown }[] } }[] };
  }>(stack, token, '{ patients(first: 2) { edges { node { name { family } sourceRecords { source observations { id } } } } } }');
  const nodes = res.body.data!.patients.edges.map((e) => e.node);
  assert.ok(nodes.every((n) => n.name?.family));
  assert.ok(nodes.every((n) => n.sourceRecords.length > 0 && n.sourceRecords.every((r) => r.source && r.observations === null)));
  const paths = forbiddenPaths(res.body.errors);
  assert.ok(paths.length > 0 && paths.every((p) => p === 'patients.edges.node.sourceRecords.observations'), JSON.stringify(paths));
});

test('security officers and clinicians without a treatment purpose see no patient', async () => {
  for (const [roles, purpose] of [
    [['security'], undefined],
    [['clinician'], 'HPAYMT'],
  ] as const) {
    const { token } = await tokenFor(stack, [...roles], purpose);
    const res = await gql(stack, token, '{ patients(first: 1) { totalCount } }');
    assert.deepEqual(forbiddenPaths(res.body.errors), ['patients'], `${roles} ${purpose}`);
  }
});

test('clinician for treatment reads the full record', async () => {
  const { token } = await tokenFor(stack, ['clinician']);
  const res = await gql(
    stack,
    token,
    '{ patients(first: 2) { edges { node { name { family } birthDate identifiers { value } sourceRecords { observations { id } } } } } }',
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
});

test('a header never raises the purpose of use: HPAYMT or no purpose + x-purpose-of-use TREAT reads nothing', async () => {
  const query = '{ patients(first: 2) { edges { node { name { family } sourceRecords { observations { id } } } } } }';
  for (const [label, purpose] of [
    ['HPAYMT', 'HPAYMT'],
    ['no purpose', []],
  ] as const) {
    const { token, sub } = await tokenFor(stack, ['clinician'], purpose);
    const res = await post(stack.gateway.url, { query }, { authorization: `Bearer ${token}`, 'x-purpose-of-use': 'TREAT' });
    assert.equal(res.status, 403, label);
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'FORBIDDEN', label);
    assert.match(res.body.errors?.[0]?.message ?? '', /x-purpose-of-use TREAT is not a purpose of use this token grants/, label);
    assert.equal(res.body.data, undefined, label);
    assert.doesNotMatch(JSON.stringify(res.body), /"family"/, label);
    // Refused at the gateway: no subgraph ran, so no audit row claims TREAT for this caller.
    const { rows } = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event WHERE actor_sub = $1', [sub]);
    assert.equal(rows[0]?.n, 0, label);
  }
});

test('a token granting TREAT and ETREAT is narrowed by the header; the audit rows carry the purpose in force', async () => {
  const query = '{ patients(first: 2) { edges { node { name { family } sourceRecords { observations { id } } } } } }';
  const purposesAudited = async (sub: string) =>
    (
      await stack.db.query<{ purpose_of_use: string | null; break_glass_reason: string | null }>(
        "SELECT DISTINCT purpose_of_use, break_glass_reason FROM audit_event WHERE actor_sub = $1 AND decision = 'permit'",
        [sub],
      )
    ).rows;
  const treat = await tokenFor(stack, ['clinician'], ['TREAT', 'ETREAT']);
  const asTreat = await post(stack.gateway.url, { query }, { authorization: `Bearer ${treat.token}`, 'x-purpose-of-use': 'TREAT' });
  assert.equal(asTreat.body.errors, undefined, JSON.stringify(asTreat.body.errors));
  assert.deepEqual(await purposesAudited(treat.sub), [{ purpose_of_use: 'TREAT', break_glass_reason: null }]);

  const glass = await tokenFor(stack, ['clinician'], ['TREAT', 'ETREAT']);
  const asGlass = await post(
    stack.gateway.url,
    { query },
    { authorization: `Bearer ${glass.token}`, 'x-purpose-of-use': 'ETREAT', 'x-break-glass-reason': 'unresponsive patient in ED' },
  );
  assert.equal(asGlass.body.errors, undefined, JSON.stringify(asGlass.body.errors));
  assert.deepEqual(await purposesAudited(glass.sub), [{ purpose_of_use: 'ETREAT', break_glass_reason: 'unresponsive patient in ED' }]);

  // Several purposes granted and none chosen: no purpose is in force, so no patient data.
  const unchosen = await gql(stack, treat.token, '{ patients(first: 1) { totalCount } }');
  assert.deepEqual(forbiddenPaths(unchosen.body.errors), ['patients']);
});

test('audit rows record the client behind a trusted proxy, and ignore forwarded-for from anyone else', async () => {
  const query = '{ patients(first: 1) { edges { node { name { family } } } } }';
  const ipsAudited = async (sub: string) =>
    (await stack.db.query<{ client_ip: string }>('SELECT DISTINCT client_ip FROM audit_event WHERE actor_sub = $1', [sub])).rows.map(
      (r) => r.client_ip,
    );
  // The product's gateway trusts no proxy: a client claiming another address is recorded as itself.
  const spoofer = await tokenFor(stack, ['clinician']);
  const spoofed = await post(
    stack.gateway.url,
    { query },
    { authorization: `Bearer ${spoofer.token}`, 'x-forwarded-for': '203.0.113.66', forwarded: 'for=203.0.113.67' },
  );
  assert.equal(spoofed.body.errors, undefined, JSON.stringify(spoofed.body.errors));
  assert.deepEqual(await ipsAudited(spoofer.sub), ['127.0.0.1']);
  // A gateway behind a balancer on loopback (TRUSTED_PROXIES=127.0.0.1): the balancer appended the
  // address it saw (198.51.100.4) to what the client sent; the client's own claim is ignored.
  const behindBalancer = await startGatewayService({
    keys: stack.keys,
    subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
    port: 0,
    production: false,
    trustDevIssuer: true,
    proxyTrust: proxyTrust('127.0.0.1, ::1'),
  });
  try {
    const caller = await tokenFor(stack, ['clinician']);
    const res = await post(
      behindBalancer.url,
      { query },
      { authorization: `Bearer ${caller.token}`, 'x-forwarded-for': '203.0.113.66, 198.51.100.4' },
    );
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    assert.deepEqual(await ipsAudited(caller.sub), ['198.51.100.4']);
  } finally {
    await behindBalancer.close();
  }
});
