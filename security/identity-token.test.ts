import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, exportJWK, decodeJwt, SignJWT } from 'jose';
import { KeyObject, sign as cryptoSign } from 'node:crypto';
import { GATEWAY_ISSUER, IDENTITY_LIFETIME_SECONDS, identitySigner, identityVerifier, subgraphRequestHash } from './identity-token.ts';
import type { Principal } from './principal.ts';

const key = await generateKeyPair('EdDSA', { extractable: true });
const jwk = { ...(await exportJWK(key.publicKey)), kid: 'g1', alg: 'EdDSA' };
const sign = identitySigner({ privateKey: key.privateKey, kid: 'g1', alg: 'EdDSA' });
const principal: Principal = {
  sub: 'u1',
  roles: ['steward'],
  purposeOfUse: 'HOPERAT',
  clientId: 'app',
  scopes: ['user/*.rs'],
  patientContext: null,
  breakGlassReason: null,
  clientIp: '127.0.0.1',
  requestId: 'req-9',
};
const request = {
  query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { id } } }',
  variables: { r: [{ __typename: 'Patient', id: 'p-1' }] },
};

test('a subgraph recovers exactly the principal, request id and request the gateway signed for', async () => {
  const verified = await identityVerifier([jwk], 'mpi')(await sign(principal, 'mpi', request));
  assert.deepEqual(verified.principal, principal);
  assert.equal(verified.requestHash, subgraphRequestHash(request));
});

test('signed per call: a fresh token and jti every time, living seconds', async () => {
  const a = await sign(principal, 'mpi', request);
  const b = await sign(principal, 'mpi', request);
  assert.notEqual(a, b);
  const [ca, cb] = [decodeJwt(a), decodeJwt(b)];
  assert.notEqual(ca.jti, cb.jti);
  assert.equal(ca.exp! - ca.iat!, IDENTITY_LIFETIME_SECONDS);
  assert.ok(IDENTITY_LIFETIME_SECONDS <= 15);
  assert.equal(ca.rid, 'req-9');
});

test('an identity is accepted once: a replay is refused, even by the same subgraph a moment later', async () => {
  const verify = identityVerifier([jwk], 'mpi');
  const token = await sign(principal, 'mpi', request);
  await verify(token);
  await assert.rejects(verify(token), /replayed/);
  await assert.rejects(verify(token), /replayed/);
  // Another identity for the same caller and request is a new call, accepted once too.
  await verify(await sign(principal, 'mpi', request));
});

test('another audience, another key or a rotated-out key is refused', async () => {
  const token = await sign(principal, 'epic', request);
  await assert.rejects(identityVerifier([jwk], 'mpi')(token));
  const other = await generateKeyPair('EdDSA', { extractable: true });
  const otherJwk = { ...(await exportJWK(other.publicKey)), kid: 'g2', alg: 'EdDSA' };
  await assert.rejects(identityVerifier([otherJwk], 'epic')(token));
  // During a rotation both keys are trusted.
  assert.equal((await identityVerifier([otherJwk, jwk], 'epic')(token)).principal.sub, 'u1');
});

test('an identity older than its lifetime, or without jti, request id or request hash, is refused', async () => {
  const verify = identityVerifier([jwk], 'mpi');
  const now = Math.floor(Date.now() / 1000);
  const craft = (claims: Record<string, unknown>, iat: number, exp: number, jti?: string) => {
    const jwt = new SignJWT({ roles: ['clinician'], pou: 'TREAT', ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'g1', typ: 'gateway-identity+jwt' })
      .setIssuer(GATEWAY_ISSUER)
      .setSubject('x')
      .setAudience('mpi')
      .setIssuedAt(iat)
      .setExpirationTime(exp);
    return (jti ? jwt.setJti(jti) : jwt).sign(key.privateKey);
  };
  const bound = { rid: 'r', req: subgraphRequestHash(request) };
  // A long-lived token (as signed before, 60 s), issued 30 s ago: past the identity lifetime.
  await assert.rejects(verify(await craft(bound, now - 30, now + 30, 'j-old')));
  await assert.rejects(verify(await craft(bound, now, now + 10)));
  await assert.rejects(verify(await craft({ req: bound.req }, now, now + 10, 'j-1')));
  await assert.rejects(verify(await craft({ rid: 'r' }, now, now + 10, 'j-2')));
  assert.equal((await verify(await craft(bound, now, now + 10, 'j-3'))).principal.requestId, 'r');
});

test('a well-signed identity with a bad header, issuer, time or shape is refused; a tampered one too', async () => {
  const verify = identityVerifier([jwk], 'mpi');
  const now = Math.floor(Date.now() / 1000);
  const good = { iss: GATEWAY_ISSUER, sub: 'x', aud: 'mpi', iat: now, exp: now + 10, rid: 'r', req: 'h' };
  let n = 0;
  const craft = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({ jti: `j-${++n}`, ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'g1', typ: 'gateway-identity+jwt', ...header } as never)
      .sign(key.privateKey);
  assert.equal((await verify(await craft(good))).principal.requestId, 'r', 'the control case is accepted');
  assert.equal((await verify(await craft({ ...good, aud: ['epic', 'mpi'] }))).principal.sub, 'x', 'an audience list naming it');
  const refused = async (token: string | Promise<string>, label: string) => assert.rejects(verify(await token), Error, label);
  await refused(craft({ ...good, iss: 'urn:someone-else' }), 'another issuer');
  await refused(craft({ ...good, iss: undefined }), 'no issuer');
  await refused(craft({ ...good, aud: undefined }), 'no audience');
  await refused(craft({ ...good, iat: now + 60 }), 'issued in the future');
  await refused(craft({ ...good, nbf: now + 60 }), 'not yet valid');
  await refused(craft({ ...good, exp: now - 10 }), 'expired');
  await refused(craft({ ...good, exp: String(now + 10) }), 'exp not a number');
  await refused(craft(good, { typ: 'JWT' }), 'another typ');
  await refused(craft(good, { kid: 'g9' }), 'an unknown kid');
  // jose will not sign an unknown critical parameter: signed here by hand.
  const critHeader = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'g1', typ: 'gateway-identity+jwt', crit: ['x'], x: 1 })).toString(
    'base64url',
  );
  const critInput = `${critHeader}.${Buffer.from(JSON.stringify({ ...good, jti: 'j-crit' })).toString('base64url')}`;
  const critSignature = cryptoSign(null, Buffer.from(critInput), KeyObject.from(key.privateKey)).toString('base64url');
  await refused(`${critInput}.${critSignature}`, 'a critical header');
  const token = await craft(good);
  const [h, p, sig] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const forgedPayload = Buffer.from(JSON.stringify({ ...claims, roles: ['security'] })).toString('base64url');
  await refused(`${h}.${forgedPayload}.${sig}`, 'claims changed after signing');
  const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', kid: 'g1', typ: 'gateway-identity+jwt' })).toString('base64url');
  await refused(`${noneHeader}.${p}.`, 'alg none');
  await refused(`${noneHeader}.${p}.${sig}`, 'alg none with a signature');
  await refused(`${h}.${p}.${sig}.x`, 'four parts');
  await refused(`${h}.${p}.${sig}=`, 'not base64url');
  await refused(`${h}.${p}.${sig.slice(0, -4)}AAAA`, 'another signature');
});

test('the request hash names the document, operation and variables, as a JSON round trip preserves them', () => {
  const roundTripped = JSON.parse(JSON.stringify(request)) as typeof request;
  assert.equal(subgraphRequestHash(roundTripped), subgraphRequestHash(request));
  assert.equal(subgraphRequestHash({ query: '{ a }', variables: {} }), subgraphRequestHash({ query: '{ a }' }));
  assert.notEqual(
    subgraphRequestHash({ ...request, variables: { r: [{ __typename: 'Patient', id: 'p-2' }] } }),
    subgraphRequestHash(request),
  );
  assert.notEqual(subgraphRequestHash({ ...request, query: `${request.query} ` }), subgraphRequestHash(request));
  assert.notEqual(subgraphRequestHash({ ...request, operationName: 'Other' }), subgraphRequestHash(request));
});
