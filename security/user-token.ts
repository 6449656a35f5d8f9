// End-user (or system client) bearer tokens at the gateway: OIDC/SMART JWTs verified with jose
// against the configured issuers' keys. Roles and purpose of use come from claims only.
import { SignJWT, jwtVerify, createLocalJWKSet, errors, type JWK, type CryptoKey } from 'jose';
import { isPurposeOfUse, isRole, type Principal, type PurposeOfUse, type Role } from './principal.ts';

export type TrustedIssuer = { readonly issuer: string; readonly audience: string; readonly jwks: readonly JWK[] };

export const DEV_ISSUER = 'urn:patient-gateway:dev-issuer';
export const DEFAULT_AUDIENCE = 'patient-gateway';
const ALLOWED_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'RS384', 'PS256', 'EdDSA'];

export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
}

export type UserTokenVerifier = (authorization: string | undefined, requestId: string) => Promise<Principal>;

export function userTokenVerifier(issuers: readonly TrustedIssuer[]): UserTokenVerifier {
  const byIssuer = new Map(issuers.map((i) => [i.issuer, { ...i, keys: createLocalJWKSet({ keys: [...i.jwks] }) }]));
  return async (authorization, requestId) => {
    const token = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization ?? '')?.[1];
    if (!token) throw new AuthenticationError('a bearer token is required');
    let iss: unknown;
    try {
      iss = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).iss;
    } catch {
      throw new AuthenticationError('malformed token');
    }
    const trusted = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
    if (!trusted) throw new AuthenticationError('untrusted issuer');
    try {
      const { payload } = await jwtVerify(token, trusted.keys, { issuer: trusted.issuer, audience: trusted.audience, algorithms: ALLOWED_ALGORITHMS, clockTolerance: 30, requiredClaims: ['exp', 'sub'] });
      const roles = (Array.isArray(payload.roles) ? payload.roles : []).filter(isRole);
      const scope = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
      return {
        sub: String(payload.sub),
        roles,
        purposeOfUse: isPurposeOfUse(payload.purpose_of_use) ? payload.purpose_of_use : null,
        clientId: typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : null,
        scopes: scope,
        requestId,
      };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new AuthenticationError('token expired');
      throw new AuthenticationError('token rejected');
    }
  };
}

export type DevTokenRequest = { readonly sub: string; readonly roles: readonly Role[]; readonly purposeOfUse?: PurposeOfUse; readonly scope?: string; readonly ttlSeconds?: number };

/** Mints a token from the local development issuer (npm run token); never trusted in production unless configured. */
export function mintDevToken(key: { privateKey: CryptoKey; kid: string; alg: string }, req: DevTokenRequest): Promise<string> {
  return new SignJWT({ roles: req.roles, ...(req.purposeOfUse ? { purpose_of_use: req.purposeOfUse } : {}), scope: req.scope ?? 'user/*.rs', client_id: 'dev-cli' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEFAULT_AUDIENCE)
    .setSubject(req.sub)
    .setIssuedAt()
    .setExpirationTime(`${req.ttlSeconds ?? 3600}s`)
    .sign(key.privateKey);
}
