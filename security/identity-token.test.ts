import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, exportJWK } from 'jose';
import { identitySigner, identityVerifier } from './identity-token.ts';
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

test('a subgraph recovers exactly the principal the gateway signed for it', async () => {
  // The request id is not part of the identity (it travels in x-request-id).
  assert.deepEqual(await identityVerifier([jwk], 'mpi')(await sign(principal, 'mpi')), { ...principal, requestId: '' });
  // Signed once per caller and audience, reused across requests; verified once, then remembered.
  const again = await sign({ ...principal, requestId: 'req-10' }, 'mpi');
  assert.equal(again, await sign(principal, 'mpi'));
  assert.notEqual(await sign({ ...principal, roles: ['clinician'] }, 'mpi'), again);
});

test('another audience, another key or a rotated-out key is refused', async () => {
  const token = await sign(principal, 'epic');
  await assert.rejects(identityVerifier([jwk], 'mpi')(token));
  const other = await generateKeyPair('EdDSA', { extractable: true });
  await assert.rejects(identityVerifier([{ ...(await exportJWK(other.publicKey)), kid: 'g2', alg: 'EdDSA' }], 'epic')(token));
  // During a rotation both keys are trusted.
  assert.equal(
    (await identityVerifier([{ ...(await exportJWK(other.publicKey)), kid: 'g2', alg: 'EdDSA' }, jwk], 'epic')(token)).sub,
    'u1',
  );
});
