import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, exportJWK, SignJWT, type CryptoKey } from 'jose';
import { ProductError } from '../platform/errors.ts';
import { DEFAULT_AUDIENCE, DEV_ISSUER, mintDevToken, userTokenVerifier } from './user-token.ts';

const key = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256' };
const signer = { privateKey: key.privateKey, kid: 'k1', alg: 'ES256' };
const verify = userTokenVerifier([{ issuer: DEV_ISSUER, audience: DEFAULT_AUDIENCE, jwks: [jwk] }]);

const rejects = (auth: string | undefined, message: RegExp) =>
  assert.rejects(verify(auth, 'r'), (e: unknown) => e instanceof ProductError && e.code === 'UNAUTHENTICATED' && message.test(e.message));

test('a valid token yields roles, purpose of use and scopes; unknown roles are dropped', async () => {
  const token = await mintDevToken(signer, { sub: 'u1', roles: ['clinician'], purposeOfUse: 'TREAT' });
  const p = await verify(`Bearer ${token}`, 'req-1');
  assert.deepEqual(p.roles, ['clinician']);
  assert.equal(p.purposeOfUse, 'TREAT');
  assert.equal(p.requestId, 'req-1');
  const odd = await new SignJWT({ roles: ['clinician', 'root'], purpose_of_use: 'WHATEVER' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEFAULT_AUDIENCE)
    .setSubject('u2')
    .setExpirationTime('1m')
    .sign(key.privateKey);
  const q = await verify(`Bearer ${odd}`, 'r');
  assert.deepEqual(q.roles, ['clinician']);
  assert.equal(q.purposeOfUse, null);
});

test('missing, malformed, expired, wrong audience, untrusted issuer, other key, alg none: refused', async () => {
  await rejects(undefined, /required/);
  await rejects('Bearer abc', /malformed|rejected/);
  await rejects(`Bearer ${await mintDevToken(signer, { sub: 'u', roles: ['analyst'], ttlSeconds: -60 })}`, /expired/);
  const wrongAud = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(DEV_ISSUER)
    .setAudience('other')
    .setSubject('u')
    .setExpirationTime('1m')
    .sign(key.privateKey);
  await rejects(`Bearer ${wrongAud}`, /rejected/);
  const otherIss = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer('https://evil.example')
    .setAudience(DEFAULT_AUDIENCE)
    .setSubject('u')
    .setExpirationTime('1m')
    .sign(key.privateKey);
  await rejects(`Bearer ${otherIss}`, /untrusted/);
  const other = await generateKeyPair('ES256');
  await rejects(
    `Bearer ${await mintDevToken({ privateKey: other.privateKey, kid: 'k1', alg: 'ES256' }, { sub: 'u', roles: ['clinician'] })}`,
    /rejected/,
  );
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: DEV_ISSUER, aud: DEFAULT_AUDIENCE, sub: 'u', exp: 9999999999, roles: ['clinician'] })).toString('base64url')}.`;
  await rejects(`Bearer ${none}`, /rejected|malformed/);
  const noExp = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEFAULT_AUDIENCE)
    .setSubject('u')
    .sign(key.privateKey);
  await rejects(`Bearer ${noExp}`, /rejected/);
});

test('purpose of use: the header picks a purpose the token grants; break-glass needs a reason; unknown codes refused', async () => {
  const token = await mintDevToken(signer, { sub: 'u1', roles: ['clinician'], purposeOfUse: ['TREAT', 'ETREAT'], patient: 'p-1' });
  const p = await verify(`Bearer ${token}`, {
    requestId: 'r',
    clientIp: '127.0.0.1',
    purposeOfUseHeader: 'ETREAT',
    breakGlassReasonHeader: 'unconscious patient in ED',
  });
  assert.equal(p.purposeOfUse, 'ETREAT');
  assert.equal(p.breakGlassReason, 'unconscious patient in ED');
  assert.equal(p.patientContext, 'p-1');
  assert.equal(p.clientIp, '127.0.0.1');
  assert.equal((await verify(`Bearer ${token}`, { requestId: 'r', purposeOfUseHeader: 'TREAT' })).purposeOfUse, 'TREAT');
  await assert.rejects(verify(`Bearer ${token}`, { requestId: 'r', purposeOfUseHeader: 'ETREAT' }), /reason/);
  await assert.rejects(verify(`Bearer ${token}`, { requestId: 'r', purposeOfUseHeader: 'SNOOP' }), /purpose/);
  // Several purposes and no header: the client did not say which, so none is in force.
  assert.equal((await verify(`Bearer ${token}`, { requestId: 'r' })).purposeOfUse, null);
  const single = await mintDevToken(signer, { sub: 'u1', roles: ['clinician'], purposeOfUse: 'TREAT' });
  assert.equal((await verify(`Bearer ${single}`, { requestId: 'r' })).purposeOfUse, 'TREAT');
});

test('purpose of use: a header never adds a purpose the token does not grant', async () => {
  const forbiddenPurpose = (auth: string, header: string, grants: RegExp) =>
    assert.rejects(
      verify(auth, { requestId: 'r', purposeOfUseHeader: header, breakGlassReasonHeader: 'because' }),
      (e: unknown) =>
        e instanceof ProductError && e.code === 'FORBIDDEN' && e.message.includes(`x-purpose-of-use ${header}`) && grants.test(e.message),
    );
  const payment = `Bearer ${await mintDevToken(signer, { sub: 'u1', roles: ['clinician'], purposeOfUse: 'HPAYMT' })}`;
  await forbiddenPurpose(payment, 'TREAT', /grants: HPAYMT\)/);
  await forbiddenPurpose(payment, 'ETREAT', /grants: HPAYMT\)/);
  const none = `Bearer ${await mintDevToken(signer, { sub: 'u1', roles: ['clinician'] })}`;
  assert.equal((await verify(none, 'r')).purposeOfUse, null);
  await forbiddenPurpose(none, 'TREAT', /grants: none\)/);
  const treat = `Bearer ${await mintDevToken(signer, { sub: 'u1', roles: ['clinician'], purposeOfUse: 'TREAT' })}`;
  await forbiddenPurpose(treat, 'ETREAT', /grants: TREAT\)/);
  // An identity provider's array claim with a code this product does not know: the known ones count.
  const odd = await new SignJWT({ roles: ['clinician'], purpose_of_use: ['TREAT', 'WHATEVER', 42] })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEFAULT_AUDIENCE)
    .setSubject('u3')
    .setExpirationTime('1m')
    .sign(key.privateKey);
  assert.equal((await verify(`Bearer ${odd}`, 'r')).purposeOfUse, 'TREAT');
  await forbiddenPurpose(`Bearer ${odd}`, 'HRESCH', /grants: TREAT\)/);
});

test('a JWKS URL: keys fetched and cached, a rotated key picked up without a restart', async () => {
  const { createServer } = await import('node:http');
  const first = await generateKeyPair('ES256', { extractable: true });
  const second = await generateKeyPair('ES256', { extractable: true });
  let published = [{ ...(await exportJWK(first.publicKey)), kid: 'k-1', alg: 'ES256' }];
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`;
    const remote = userTokenVerifier([{ issuer: 'https://idp.example', audience: DEFAULT_AUDIENCE, jwksUri: url, jwksCooldownMs: 20 }]);
    const mint = (key: CryptoKey, kid: string, sub: string) =>
      new SignJWT({ roles: ['clinician'] })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer('https://idp.example')
        .setAudience(DEFAULT_AUDIENCE)
        .setSubject(sub)
        .setExpirationTime('5m')
        .sign(key);
    assert.equal((await remote(`Bearer ${await mint(first.privateKey, 'k-1', 'a')}`, 'r')).sub, 'a');
    assert.equal((await remote(`Bearer ${await mint(first.privateKey, 'k-1', 'b')}`, 'r')).sub, 'b');
    assert.equal(fetches, 1, 'the key set is cached');
    // The provider rotates: a token signed with the new key makes the gateway refetch once.
    published = [...published, { ...(await exportJWK(second.publicKey)), kid: 'k-2', alg: 'ES256' }];
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await remote(`Bearer ${await mint(second.privateKey, 'k-2', 'c')}`, 'r')).sub, 'c');
    assert.equal(fetches, 2);
    // A key the provider never published is refused (after at most one more refetch).
    const stranger = await generateKeyPair('ES256');
    await assert.rejects(remote(`Bearer ${await mint(stranger.privateKey, 'k-3', 'd')}`, 'r'), /rejected/);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
