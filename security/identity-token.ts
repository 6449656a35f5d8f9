// The gateway-to-subgraph identity: an Ed25519 JWT signed for ONE subgraph request. Subgraphs
// accept nothing else, so a caller that reaches a subgraph directly (bypassing authentication,
// policies on the gateway and operation limits) gets 401. A captured identity is useless beyond
// its request: it names the subgraph (audience), the gateway request it belongs to (`rid`), the
// SHA-256 of the very document and variables it was signed for (`req`), lives seconds, and its
// unique `jti` is remembered by the subgraph until it expires, so it is accepted once.
import { SignJWT, jwtVerify, createLocalJWKSet, type JWK, type CryptoKey } from 'jose';
import { LRUCache } from 'lru-cache';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  KeyObject,
  randomUUID,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';
import { isPurposeOfUse, isRole, type Principal } from './principal.ts';

export const GATEWAY_ISSUER = 'urn:patient-gateway:gateway';
/** The gateway signs just before sending; this only has to cover the trip and clock skew between hosts. */
export const IDENTITY_LIFETIME_SECONDS = 15;
const CLOCK_TOLERANCE_SECONDS = 5;

/** What the gateway sends a subgraph: the identity is bound to exactly this. */
export type SubgraphRequest = {
  readonly query?: string | null;
  readonly operationName?: string | null;
  readonly variables?: Readonly<Record<string, unknown>> | null;
};

/** What else a gateway identity may carry besides the caller and the request. */
export type IdentityOptions = {
  /**
   * A fresh random nonce when the gateway itself appends this call's audit rows (the subgraph hands them
   * back under this nonce instead of committing them: orchestration/audit/handoff.ts); absent, the
   * subgraph audits itself.
   */
  readonly auditHandoff?: string;
};

export type IdentitySigner = (
  principal: Principal,
  audience: string,
  request: SubgraphRequest,
  options?: IdentityOptions,
) => Promise<string>;
/** The principal a gateway identity names (its requestId from the token) and the request it was signed for. */
export type VerifiedIdentity = {
  readonly principal: Principal;
  readonly requestHash: string;
  /** The audit hand-off nonce the gateway signed, or null: the subgraph then writes its own audit rows. */
  readonly auditHandoff: string | null;
};
export type IdentityVerifier = (token: string) => Promise<VerifiedIdentity>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * SHA-256 of a subgraph request's document, operation name and variables, as the gateway sends
 * them and as the subgraph parses them (JSON round-trips to the same serialization).
 */
export function subgraphRequestHash(request: SubgraphRequest): string {
  const variables = request.variables && Object.keys(request.variables).length > 0 ? request.variables : null;
  return createHash('sha256')
    .update(JSON.stringify([request.query ?? '', request.operationName ?? null, variables]))
    .digest('base64url');
}

/**
 * A plain HTTP request to a subgraph (a download the gateway relays) as the request an identity is
 * signed for: the method and path, so an identity for one file is good for that file only.
 */
export const httpRouteRequest = (method: string, path: string): SubgraphRequest => ({ query: `${method.toUpperCase()} ${path}` });

/** The claims of one identity (registered claims included), as jose would put them in the token. */
function identityClaims(p: Principal, audience: string, request: SubgraphRequest, options: IdentityOptions | undefined, now: number) {
  return {
    roles: p.roles,
    pou: p.purposeOfUse,
    bgr: p.breakGlassReason,
    cid: p.clientId,
    scope: p.scopes.join(' '),
    pctx: p.patientContext,
    ip: p.clientIp,
    rid: p.requestId,
    req: subgraphRequestHash(request),
    ...(options?.auditHandoff ? { aho: options.auditHandoff } : {}),
    iss: GATEWAY_ISSUER,
    sub: p.sub,
    aud: audience,
    jti: randomUUID(),
    iat: now,
    exp: now + IDENTITY_LIFETIME_SECONDS,
  };
}

const base64url = (text: string): string => Buffer.from(text).toString('base64url');

/**
 * Signs the caller's identity for one subgraph request: never cached, never reused. An Ed25519 key
 * signs with node:crypto directly (a compact JWS, verified by jose like any other): jose's WebCrypto
 * path costs several times the signature itself, on every subgraph call.
 */
export function identitySigner(key: { privateKey: CryptoKey; kid: string; alg: string; privateJwk?: JWK }): IdentitySigner {
  const header = { alg: key.alg, kid: key.kid, typ: 'gateway-identity+jwt' };
  const ed25519 = key.alg === 'EdDSA' && key.privateKey.algorithm.name === 'Ed25519';
  // From the key file's JWK when there is one (imported keys are not extractable), else from an extractable key.
  const privateKey = !ed25519
    ? undefined
    : key.privateJwk?.crv === 'Ed25519'
      ? createPrivateKey({ key: key.privateJwk as never, format: 'jwk' })
      : key.privateKey.extractable
        ? KeyObject.from(key.privateKey)
        : undefined;
  if (privateKey) {
    const encodedHeader = base64url(JSON.stringify(header));
    return async (p, audience, request, options) => {
      const input = `${encodedHeader}.${base64url(JSON.stringify(identityClaims(p, audience, request, options, Math.floor(Date.now() / 1000))))}`;
      return `${input}.${cryptoSign(null, Buffer.from(input), privateKey).toString('base64url')}`;
    };
  }
  return (p, audience, request, options) =>
    new SignJWT(identityClaims(p, audience, request, options, Math.floor(Date.now() / 1000)))
      .setProtectedHeader(header)
      .sign(key.privateKey);
}

/**
 * Identities already accepted, until they expire. In this process only: each replica of a subgraph
 * remembers its own (README, "Security"). Full of live entries, it refuses rather than forget one.
 */
const MAX_REMEMBERED = 200_000;

const REQUIRED_CLAIMS = ['jti', 'exp', 'iat', 'rid', 'req'] as const;
const COMPACT_PART = /^[A-Za-z0-9_-]+$/;

type Claims = Record<string, unknown> & { exp?: number; sub?: string };

const jsonObject = (part: string): Record<string, unknown> => {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
};

/**
 * An identity's claims, checked as jose's jwtVerify checks them with the options below, for Ed25519 keys
 * with node:crypto: a compact JWS with exactly three base64url parts; a protected header with alg EdDSA,
 * typ gateway-identity+jwt, a kid, no crit or b64; a valid signature by the key of that kid; issuer,
 * audience, required claims, exp, nbf and iat (not in the future, not older than the lifetime) within
 * the clock tolerance. Throws otherwise.
 */
function verifyEd25519Identity(token: string, keys: ReadonlyMap<string, KeyObject>, audience: string): Claims {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => COMPACT_PART.test(part))) throw new Error('not a compact JWS');
  const [encodedHeader, encodedPayload, signature] = parts as [string, string, string];
  const header = jsonObject(encodedHeader);
  if (header.alg !== 'EdDSA') throw new Error('unexpected alg');
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'gateway-identity+jwt') throw new Error('unexpected typ');
  if ('crit' in header || 'b64' in header) throw new Error('unsupported header parameter');
  const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
  if (!key) throw new Error('no key for this kid');
  if (!cryptoVerify(null, Buffer.from(`${encodedHeader}.${encodedPayload}`), key, Buffer.from(signature, 'base64url')))
    throw new Error('signature verification failed');
  const payload = jsonObject(encodedPayload) as Claims;
  const now = Math.floor(Date.now() / 1000);
  const tolerance = CLOCK_TOLERANCE_SECONDS;
  for (const claim of REQUIRED_CLAIMS) if (!(claim in payload)) throw new Error(`missing ${claim}`);
  if (payload.iss !== GATEWAY_ISSUER) throw new Error('unexpected iss');
  const aud = payload.aud;
  if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) throw new Error('unexpected aud');
  const { exp, iat, nbf } = payload;
  if (typeof exp !== 'number' || typeof iat !== 'number' || (nbf !== undefined && typeof nbf !== 'number'))
    throw new Error('invalid time claims');
  if (exp <= now - tolerance) throw new Error('expired');
  if (typeof nbf === 'number' && nbf > now + tolerance) throw new Error('not yet valid');
  const age = now - iat;
  if (age < -tolerance || age - tolerance > IDENTITY_LIFETIME_SECONDS) throw new Error('iat out of range');
  return payload;
}

/** jose's check, for keys other than Ed25519 (none the product generates). */
function joseVerifier(publicJwks: readonly JWK[], audience: string): (token: string) => Promise<Claims> {
  const keys = createLocalJWKSet({ keys: [...publicJwks] });
  return async (token) =>
    (
      await jwtVerify(token, keys, {
        issuer: GATEWAY_ISSUER,
        audience,
        algorithms: ['EdDSA'],
        typ: 'gateway-identity+jwt',
        requiredClaims: [...REQUIRED_CLAIMS],
        maxTokenAge: `${IDENTITY_LIFETIME_SECONDS}s`,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      })
    ).payload as Claims;
}

/**
 * Verifies against the gateway's public keys (several during a key rotation) for one subgraph. Ed25519
 * keys (the product's) are checked with node:crypto: jose's WebCrypto path cost several times the
 * signature check on every subgraph call (BENCHMARKS.md, "Issue 17: speed steps").
 */
export function identityVerifier(publicJwks: readonly JWK[], audience: string): IdentityVerifier {
  const ed25519 = publicJwks.every(
    (k) => k.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.kid === 'string' && (k.alg ?? 'EdDSA') === 'EdDSA',
  );
  const keys = new Map(ed25519 ? publicJwks.map((k) => [k.kid!, createPublicKey({ key: k as never, format: 'jwk' })]) : []);
  const claimsOf = ed25519 ? async (token: string) => verifyEd25519Identity(token, keys, audience) : joseVerifier(publicJwks, audience);
  const accepted = new LRUCache<string, true>({ max: MAX_REMEMBERED, ttlAutopurge: false });
  return async (token) => {
    const payload = await claimsOf(token);
    const jti = str(payload.jti);
    const requestId = str(payload.rid);
    const requestHash = str(payload.req);
    if (!jti || !requestId || !requestHash) throw new Error('gateway identity without jti, rid or req');
    if (accepted.has(jti)) throw new Error('gateway identity replayed');
    if (accepted.size >= MAX_REMEMBERED) accepted.purgeStale();
    if (accepted.size >= MAX_REMEMBERED) throw new Error('too many live gateway identities to remember');
    accepted.set(jti, true, { ttl: Math.max(1000, ((payload.exp ?? 0) + CLOCK_TOLERANCE_SECONDS) * 1000 - Date.now()) });
    return {
      principal: {
        sub: String(payload.sub),
        roles: Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [],
        purposeOfUse: isPurposeOfUse(payload.pou) ? payload.pou : null,
        clientId: typeof payload.cid === 'string' ? payload.cid : null,
        scopes: typeof payload.scope === 'string' && payload.scope ? payload.scope.split(' ') : [],
        patientContext: str(payload.pctx),
        breakGlassReason: str(payload.bgr),
        clientIp: str(payload.ip),
        requestId,
      },
      requestHash,
      auditHandoff: str(payload.aho),
    };
  };
}
