import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { AuthenticationError, DEFAULT_AUDIENCE, DEV_ISSUER, mintDevToken, userTokenVerifier } from './user-token.ts';

const key = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256' };
const signer = { privateKey: key.privateKey, kid: 'k1', alg: 'ES256' };
const verify = userTokenVerifier([{ issuer: DEV_ISSUER, audience: DEFAULT_AUDIENCE, jwks: [jwk] }]);

const rejects = (auth: string | undefined, message: RegExp) => assert.rejects(verify(auth, 'r'), (e: unknown) => e instanceof AuthenticationError && message.test(e.message));

test('a valid token yields roles, purpose of use and scopes; unknown roles are dropped', async () => {
  const token = await mintDevToken(signer, { sub: 'u1', roles: ['clinician'], purposeOfUse: 'TREAT' });
  const p = await verify(`Bearer ${token}`, 'req-1');
  assert.deepEqual(p.roles, ['clinician']);
  assert.equal(p.purposeOfUse, 'TREAT');
  assert.equal(p.requestId, 'req-1');
  const odd = await new SignJWT({ roles: ['clinician', 'root'], purpose_of_use: 'WHATEVER' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(DEV_ISSUER).setAudience(DEFAULT_AUDIENCE).setSubject('u2').setExpirationTime('1m').sign(key.privateKey);
  const q = await verify(`Bearer ${odd}`, 'r');
  assert.deepEqual(q.roles, ['clinician']);
  assert.equal(q.purposeOfUse, null);
});

test('missing, malformed, expired, wrong audience, untrusted issuer, other key, alg none: refused', async () => {
  await rejects(undefined, /required/);
  await rejects('Bearer abc', /malformed|rejected/);
  await rejects(`Bearer ${await mintDevToken(signer, { sub: 'u', roles: ['analyst'], ttlSeconds: -60 })}`, /expired/);
  const wrongAud = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(DEV_ISSUER).setAudience('other').setSubject('u').setExpirationTime('1m').sign(key.privateKey);
  await rejects(`Bearer ${wrongAud}`, /rejected/);
  const otherIss = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://evil.example').setAudience(DEFAULT_AUDIENCE).setSubject('u').setExpirationTime('1m').sign(key.privateKey);
  await rejects(`Bearer ${otherIss}`, /untrusted/);
  const other = await generateKeyPair('ES256');
  await rejects(`Bearer ${await mintDevToken({ privateKey: other.privateKey, kid: 'k1', alg: 'ES256' }, { sub: 'u', roles: ['clinician'] })}`, /rejected/);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: DEV_ISSUER, aud: DEFAULT_AUDIENCE, sub: 'u', exp: 9999999999, roles: ['clinician'] })).toString('base64url')}.`;
  await rejects(`Bearer ${none}`, /rejected|malformed/);
  const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(DEV_ISSUER).setAudience(DEFAULT_AUDIENCE).setSubject('u').sign(key.privateKey);
  await rejects(`Bearer ${noExp}`, /rejected/);
});

test('purpose of use: the header overrides the claim; break-glass needs a reason; unknown codes refused', async () => {
  const token = await mintDevToken(signer, { sub: 'u1', roles: ['clinician'], purposeOfUse: 'TREAT', patient: 'p-1' });
  const p = await verify(`Bearer ${token}`, { requestId: 'r', clientIp: '127.0.0.1', purposeOfUseHeader: 'ETREAT', breakGlassReasonHeader: 'unconscious patient in ED' });
  assert.equal(p.purposeOfUse, 'ETREAT');
  assert.equal(p.breakGlassReason, 'unconscious patient in ED');
  assert.equal(p.patientContext, 'p-1');
  assert.equal(p.clientIp, '127.0.0.1');
  await assert.rejects(verify(`Bearer ${token}`, { requestId: 'r', purposeOfUseHeader: 'ETREAT' }), /reason/);
  await assert.rejects(verify(`Bearer ${token}`, { requestId: 'r', purposeOfUseHeader: 'SNOOP' }), /purpose/);
  assert.equal((await verify(`Bearer ${token}`, { requestId: 'r' })).purposeOfUse, 'TREAT');
});
