import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair } from 'jose';
import { identitySigner, identityVerifier, subgraphRequestHash } from '../security/identity-token.ts';
import { authenticateCaller, clientDocumentHash, subgraphCallHeaders } from './identity-forwarding.ts';
import type { Principal } from '../security/principal.ts';
import type { UserTokenVerifier } from '../security/user-token.ts';

const principal: Principal = {
  sub: 'u-1',
  roles: ['clinician'],
  purposeOfUse: 'TREAT',
  clientId: null,
  scopes: [],
  patientContext: null,
  breakGlassReason: null,
  clientIp: null,
  requestId: 'req-1',
};

const keyPair = async () => {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' } };
};

// The pieces both gateways (gateway/server.ts, gateway/hive/) use for their security.
test('the headers of a subgraph call: an identity bound to that subgraph and request, the request id, safe client facts', async () => {
  const key = await keyPair();
  const request = { query: '{ a }', operationName: null, variables: { id: '1' } };
  const headers = await subgraphCallHeaders(
    identitySigner({ privateKey: key.privateKey, kid: 'k1', alg: 'EdDSA' }),
    principal,
    'mpi',
    request,
    {
      operationName: 'x'.repeat(300),
      documentHash: clientDocumentHash('{ a }'),
      traceparent: 'not-a-traceparent\r\nx-evil: 1',
    },
  );
  assert.equal(headers['x-request-id'], 'req-1');
  assert.equal(headers['x-client-operation-name']!.length, 200);
  assert.equal(headers['x-client-document-hash'], clientDocumentHash('{ a }'));
  assert.equal(headers.traceparent, undefined, 'a malformed traceparent is not forwarded');
  const verified = await identityVerifier([key.publicJwk], 'mpi')(headers.authorization!.slice('Bearer '.length));
  assert.equal(verified.principal.sub, 'u-1');
  assert.equal(verified.requestHash, subgraphRequestHash(request));
  await assert.rejects(identityVerifier([key.publicJwk], 'epic')(headers.authorization!.slice('Bearer '.length)));
  const traced = await subgraphCallHeaders(
    identitySigner({ privateKey: key.privateKey, kid: 'k1', alg: 'EdDSA' }),
    principal,
    'mpi',
    request,
    {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
  );
  assert.equal(traced.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(traced['x-client-operation-name'], undefined);
});

test('authentication reads the token and the purpose headers, never identity headers, and a fresh request id each time', async () => {
  const seen: Parameters<UserTokenVerifier>[] = [];
  const verify: UserTokenVerifier = async (authorization, facts) => {
    seen.push([authorization, facts]);
    return principal;
  };
  const req = {
    headers: { authorization: 'Bearer t', 'x-user': 'admin', 'x-purpose-of-use': 'TREAT', 'x-forwarded-for': '203.0.113.9' },
    socket: { remoteAddress: '127.0.0.1' },
  };
  await authenticateCaller(verify, null, req);
  await authenticateCaller(verify, null, req);
  const [[authorization, facts], [, again]] = seen as [
    [string, { requestId: string; clientIp: string; purposeOfUseHeader: string }],
    [string, { requestId: string }],
  ];
  assert.equal(authorization, 'Bearer t');
  assert.equal(facts.purposeOfUseHeader, 'TREAT');
  assert.equal(facts.clientIp, '127.0.0.1', 'x-forwarded-for is not believed without trusted proxies');
  assert.notEqual(facts.requestId, again.requestId);
});
