// SMART Backend Services on the EHR side: the token endpoint that accepts a client_credentials
// grant authenticated by a private_key_jwt client assertion (RFC 7523, SMART App Launch 2
// "client-confidential-asymmetric"), and the check of the opaque bearer tokens it hands out.
import { decodeJwt, decodeProtectedHeader, errors, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';

export type SimulatorClient = { readonly clientId: string; readonly publicJwk: JWK };

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const SIGNING_ALGORITHMS = ['RS384', 'ES384'] as const;
/** An assertion may not live longer than this (SMART: "no more than five minutes in the future"). */
const MAX_ASSERTION_SECONDS = 300;
const CLOCK_SKEW_SECONDS = 5;
const SYSTEM_SCOPE = /^system\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)$/;

export type OAuthError = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';

export type TokenResponse =
  | { readonly status: 200; readonly body: { access_token: string; token_type: 'bearer'; expires_in: number; scope: string } }
  | { readonly status: 400 | 401; readonly body: { error: OAuthError; error_description: string } };

export type TokenCheck = 'ok' | 'missing' | 'invalid';

export type TokenService = {
  /** Answers one token request; `audiences` are the token URLs the assertion's `aud` may name. */
  issue(form: URLSearchParams, audiences: readonly string[]): Promise<TokenResponse>;
  /** Checks an `Authorization` header. */
  check(authorization: string | undefined): TokenCheck;
};

type RegisteredClient = { readonly key: CryptoKey | Uint8Array; readonly alg: (typeof SIGNING_ALGORITHMS)[number] };

const fail = (status: 400 | 401, error: OAuthError, description: string): TokenResponse => ({
  status,
  body: { error, error_description: description },
});

/** RSA keys sign RS384 and P-384 keys ES384: the algorithms SMART asks servers to support. */
function algorithmOf(jwk: JWK): RegisteredClient['alg'] {
  if (jwk.alg === 'RS384') return 'RS384';
  if (jwk.alg === 'ES384') return 'ES384';
  if (jwk.kty === 'RSA') return 'RS384';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  throw new Error(`client key must be RSA (RS384) or EC P-384 (ES384), got ${jwk.kty ?? '?'} ${jwk.alg ?? ''}`);
}

/** Why jose refused an assertion, in words a client developer can act on (no token contents). */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'client assertion has expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'client assertion signature does not verify with the registered key';
  if (error instanceof errors.JWTClaimValidationFailed) return `client assertion claim "${error.claim}" is invalid (${error.reason})`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'client assertion is signed with an algorithm not registered for this client';
  if (error instanceof errors.JOSEError) return `client assertion rejected (${error.code})`;
  return 'client assertion rejected';
}

export async function createTokenService(options: {
  readonly clients: readonly SimulatorClient[];
  readonly tokenTtlSeconds: number;
  readonly now: () => number;
}): Promise<TokenService> {
  const clients = new Map<string, RegisteredClient>();
  for (const c of options.clients) {
    const alg = algorithmOf(c.publicJwk);
    clients.set(c.clientId, { alg, key: await importJWK({ ...c.publicJwk, alg }, alg) });
  }
  /** jti → when it may be forgotten (its assertion's expiry): replay protection. */
  const seenJti = new Map<string, number>();
  const tokens = new Map<string, number>();
  let lastSweep = 0;

  const sweep = (nowMs: number): void => {
    if (nowMs - lastSweep < 10_000) return;
    lastSweep = nowMs;
    for (const [jti, until] of seenJti) if (until < nowMs) seenJti.delete(jti);
    for (const [token, until] of tokens) if (until <= nowMs) tokens.delete(token);
  };

  return {
    async issue(form, audiences) {
      const nowMs = options.now();
      sweep(nowMs);
      const grantType = form.get('grant_type');
      if (!grantType) return fail(400, 'invalid_request', 'grant_type is required');
      if (grantType !== 'client_credentials') return fail(400, 'unsupported_grant_type', 'only client_credentials is supported');
      if (form.get('client_assertion_type') !== JWT_BEARER)
        return fail(400, 'invalid_request', `client_assertion_type must be ${JWT_BEARER}`);
      const assertion = form.get('client_assertion');
      if (!assertion) return fail(400, 'invalid_request', 'client_assertion is required');
      const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
      if (requested.length === 0) return fail(400, 'invalid_request', 'scope is required');
      const granted = requested.filter((s) => SYSTEM_SCOPE.test(s));
      if (granted.length === 0) return fail(400, 'invalid_scope', 'only system/ scopes are available to backend services');

      let clientId: unknown;
      try {
        decodeProtectedHeader(assertion);
        clientId = decodeJwt(assertion).iss;
      } catch {
        return fail(400, 'invalid_request', 'client_assertion is not a JWT');
      }
      const client = typeof clientId === 'string' ? clients.get(clientId) : undefined;
      if (!client || typeof clientId !== 'string') return fail(401, 'invalid_client', 'unknown client (iss is not a registered client_id)');
      let payload;
      try {
        ({ payload } = await jwtVerify(assertion, client.key, {
          algorithms: [client.alg],
          issuer: clientId,
          subject: clientId,
          audience: [...audiences],
          requiredClaims: ['exp', 'jti'],
          clockTolerance: CLOCK_SKEW_SECONDS,
          currentDate: new Date(nowMs),
        }));
      } catch (error) {
        return fail(401, 'invalid_client', describe(error));
      }
      const nowSeconds = Math.floor(nowMs / 1000);
      if (payload.exp! > nowSeconds + MAX_ASSERTION_SECONDS + CLOCK_SKEW_SECONDS)
        return fail(401, 'invalid_client', 'client assertion exp is more than 5 minutes in the future');
      const jtiKey = `${clientId}\u0000${payload.jti!}`;
      if (seenJti.has(jtiKey)) return fail(401, 'invalid_client', 'client assertion jti has already been used');
      seenJti.set(jtiKey, (payload.exp! + CLOCK_SKEW_SECONDS) * 1000);

      const accessToken = randomBytes(32).toString('base64url');
      tokens.set(accessToken, nowMs + options.tokenTtlSeconds * 1000);
      return {
        status: 200,
        body: { access_token: accessToken, token_type: 'bearer', expires_in: options.tokenTtlSeconds, scope: granted.join(' ') },
      };
    },

    check(authorization) {
      const token = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization ?? '')?.[1];
      if (!token) return 'missing';
      const until = tokens.get(token);
      if (until === undefined) return 'invalid';
      if (until <= options.now()) {
        tokens.delete(token);
        return 'invalid';
      }
      return 'ok';
    },
  };
}
