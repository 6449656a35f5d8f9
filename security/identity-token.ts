// The gateway-to-subgraph identity: a short-lived Ed25519 JWT per subgraph call, audience =
// the subgraph's name. Subgraphs accept nothing else, so a caller that reaches a subgraph
// directly (bypassing authentication, policies on the gateway and operation limits) gets 401.
import { SignJWT, jwtVerify, createLocalJWKSet, type JWK, type CryptoKey } from 'jose';
import { isPurposeOfUse, isRole, type Principal } from './principal.ts';

export const GATEWAY_ISSUER = 'urn:patient-gateway:gateway';
const LIFETIME_SECONDS = 60;

export type IdentitySigner = (principal: Principal, audience: string) => Promise<string>;
export type IdentityVerifier = (token: string) => Promise<Principal>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export function identitySigner(key: { privateKey: CryptoKey; kid: string; alg: string }): IdentitySigner {
  return (p, audience) =>
    new SignJWT({ roles: p.roles, pou: p.purposeOfUse, bgr: p.breakGlassReason, cid: p.clientId, scope: p.scopes.join(' '), pctx: p.patientContext, ip: p.clientIp, rid: p.requestId })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'gateway-identity+jwt' })
      .setIssuer(GATEWAY_ISSUER)
      .setSubject(p.sub)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${LIFETIME_SECONDS}s`)
      .sign(key.privateKey);
}

/** Verifies against the gateway's public keys (several during a key rotation) for one subgraph. */
export function identityVerifier(publicJwks: readonly JWK[], audience: string): IdentityVerifier {
  const keys = createLocalJWKSet({ keys: [...publicJwks] });
  return async (token) => {
    const { payload } = await jwtVerify(token, keys, {
      issuer: GATEWAY_ISSUER,
      audience,
      algorithms: ['EdDSA'],
      typ: 'gateway-identity+jwt',
      maxTokenAge: `${LIFETIME_SECONDS + 5}s`,
      clockTolerance: 5,
    });
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
    return {
      sub: String(payload.sub),
      roles,
      purposeOfUse: isPurposeOfUse(payload.pou) ? payload.pou : null,
      clientId: typeof payload.cid === 'string' ? payload.cid : null,
      scopes: typeof payload.scope === 'string' && payload.scope ? payload.scope.split(' ') : [],
      patientContext: str(payload.pctx),
      breakGlassReason: str(payload.bgr),
      clientIp: str(payload.ip),
      requestId: typeof payload.rid === 'string' ? payload.rid : '',
    };
  };
}
