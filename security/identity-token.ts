// The gateway-to-subgraph identity: a short-lived Ed25519 JWT per subgraph call, audience =
// the subgraph's name. Subgraphs accept nothing else, so a caller that reaches a subgraph
// directly (bypassing authentication, policies on the gateway and operation limits) gets 401.
import { SignJWT, jwtVerify, createLocalJWKSet, type JWK, type CryptoKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { tokenCache } from './token-cache.ts';
import { isPurposeOfUse, isRole, type Principal } from './principal.ts';

export const GATEWAY_ISSUER = 'urn:patient-gateway:gateway';
const LIFETIME_SECONDS = 60;

export type IdentitySigner = (principal: Principal, audience: string) => Promise<string>;
/** The principal named by a gateway identity; its requestId is empty (it comes from x-request-id). */
export type IdentityVerifier = (token: string) => Promise<Principal>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Reuse a signed identity while it has at least this long to live. */
const REUSE_MARGIN_SECONDS = 20;

/**
 * Signs the identity of a caller for one subgraph. The same caller's identity is signed once and
 * reused for most of its 60-second life: the token names who is asking, not which request (the
 * request id travels in the x-request-id header, for audit correlation only).
 */
export function identitySigner(key: { privateKey: CryptoKey; kid: string; alg: string }): IdentitySigner {
  const signed = new LRUCache<string, { token: string; exp: number }>({ max: 10_000 });
  return async (p, audience) => {
    const claims = {
      roles: p.roles,
      pou: p.purposeOfUse,
      bgr: p.breakGlassReason,
      cid: p.clientId,
      scope: p.scopes.join(' '),
      pctx: p.patientContext,
      ip: p.clientIp,
    };
    const cacheKey = JSON.stringify([audience, p.sub, claims]);
    const now = Math.floor(Date.now() / 1000);
    const hit = signed.get(cacheKey);
    if (hit && hit.exp - now >= REUSE_MARGIN_SECONDS) return hit.token;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'gateway-identity+jwt' })
      .setIssuer(GATEWAY_ISSUER)
      .setSubject(p.sub)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + LIFETIME_SECONDS)
      .sign(key.privateKey);
    signed.set(cacheKey, { token, exp: now + LIFETIME_SECONDS });
    return token;
  };
}

/** Verifies against the gateway's public keys (several during a key rotation) for one subgraph. */
export function identityVerifier(publicJwks: readonly JWK[], audience: string): IdentityVerifier {
  const keys = createLocalJWKSet({ keys: [...publicJwks] });
  const verified = tokenCache<Principal>();
  return async (token) => {
    const hit = verified.get(token);
    if (hit) return hit;
    const { payload } = await jwtVerify(token, keys, {
      issuer: GATEWAY_ISSUER,
      audience,
      algorithms: ['EdDSA'],
      typ: 'gateway-identity+jwt',
      maxTokenAge: `${LIFETIME_SECONDS + 5}s`,
      clockTolerance: 5,
    });
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
    const principal: Principal = {
      sub: String(payload.sub),
      roles,
      purposeOfUse: isPurposeOfUse(payload.pou) ? payload.pou : null,
      clientId: typeof payload.cid === 'string' ? payload.cid : null,
      scopes: typeof payload.scope === 'string' && payload.scope ? payload.scope.split(' ') : [],
      patientContext: str(payload.pctx),
      breakGlassReason: str(payload.bgr),
      clientIp: str(payload.ip),
      requestId: '',
    };
    verified.set(token, principal, payload.exp);
    return principal;
  };
}
