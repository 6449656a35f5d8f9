// Helpers for tests that talk to a simulator the way a backend app does: a registered key pair, a
// signed client assertion, a token. Tests of other parts of the project may use them too.
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import type { SimulatorClient } from './fhir/auth.ts';
import { JWT_BEARER } from './fhir/auth.ts';

export type TestApp = {
  readonly clientId: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly registration: SimulatorClient;
};

export async function testApp(clientId = `app-${randomUUID()}`, alg: 'RS384' | 'ES384' = 'RS384'): Promise<TestApp> {
  const { publicKey, privateKey } = await generateKeyPair(alg, alg === 'RS384' ? { modulusLength: 2048 } : {});
  const publicJwk = await exportJWK(publicKey);
  return { clientId, privateKey, publicJwk, registration: { clientId, publicJwk } };
}

export type AssertionOverrides = {
  readonly iss?: string;
  readonly sub?: string;
  readonly aud?: string;
  readonly jti?: string | null;
  /** Seconds from now; negative = already expired. */
  readonly expiresIn?: number | null;
  readonly key?: CryptoKey;
  readonly alg?: string;
};

/** A SMART Backend Services client assertion (private_key_jwt). */
export async function clientAssertion(app: TestApp, tokenUrl: string, o: AssertionOverrides = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: o.alg ?? 'RS384', typ: 'JWT' })
    .setIssuer(o.iss ?? app.clientId)
    .setSubject(o.sub ?? app.clientId)
    .setAudience(o.aud ?? tokenUrl)
    .setIssuedAt(now);
  if (o.jti !== null) jwt.setJti(o.jti ?? randomUUID());
  if (o.expiresIn !== null) jwt.setExpirationTime(now + (o.expiresIn ?? 240));
  return jwt.sign(o.key ?? app.privateKey);
}

export type TokenAnswer = { readonly status: number; readonly body: Record<string, unknown> };

export async function requestToken(
  tokenUrl: string,
  assertion: string,
  scope = 'system/Patient.rs system/Observation.rs',
  extra: Record<string, string> = {},
): Promise<TokenAnswer> {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
      scope,
      ...extra,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A fresh access token for `app` at a simulator. */
export async function accessToken(app: TestApp, tokenUrl: string): Promise<string> {
  const answer = await requestToken(tokenUrl, await clientAssertion(app, tokenUrl));
  if (answer.status !== 200 || typeof answer.body.access_token !== 'string')
    throw new Error(`token refused: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token;
}
