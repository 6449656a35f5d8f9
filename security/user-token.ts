// End-user (or system client) bearer tokens at the gateway: OIDC/SMART JWTs verified with jose
// against the configured issuers' keys. Roles and the purposes of use granted come from claims
// only; a request may narrow the purpose to one the token grants, never add one.
import { SignJWT, jwtVerify, createLocalJWKSet, createRemoteJWKSet, errors, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { ProductError, unauthenticated } from '../platform/errors.ts';
import { launchContextOf } from './launch-context.ts';
import { tokenCache } from './token-cache.ts';
import { isPurposeOfUse, isRole, type Principal, type PurposeOfUse, type Role } from './principal.ts';

/** An identity provider: its keys inline (a JWK Set file) or at a JWKS URL (fetched, cached, refreshed on an unknown kid). */
export type TrustedIssuer = {
  readonly issuer: string;
  readonly audience: string;
  readonly jwks?: readonly JWK[];
  readonly jwksUri?: string;
  /** Least time between two refetches of jwksUri (an unknown kid triggers one); default 30 s. */
  readonly jwksCooldownMs?: number;
  /**
   * The hospital connection (config/connections.json) whose EHR runs this authorization server: the
   * `patient` claim of its SMART launches is that EHR's FHIR Patient id (security/launch-context.ts).
   */
  readonly connection?: string;
};

const keySetOf = (i: TrustedIssuer) => {
  if (i.jwksUri)
    return createRemoteJWKSet(new URL(i.jwksUri), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: i.jwksCooldownMs ?? 30_000,
      timeoutDuration: 5000,
    });
  if (i.jwks?.length) return createLocalJWKSet({ keys: [...i.jwks] });
  throw new Error(`issuer ${i.issuer}: jwks or jwksUri is required`);
};

export const DEV_ISSUER = 'urn:patient-gateway:dev-issuer';
export const DEFAULT_AUDIENCE = 'patient-gateway';
const ALLOWED_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'RS384', 'PS256', 'EdDSA'];

/** What the gateway knows about the request besides the token. Identity headers are never read. */
export type RequestFacts = {
  readonly requestId: string;
  readonly clientIp?: string | null;
  /** `x-purpose-of-use` header: a v3 ActReason code; picks one of the purposes the token grants. */
  readonly purposeOfUseHeader?: string | undefined;
  /** `x-break-glass-reason` header: required with ETREAT. */
  readonly breakGlassReasonHeader?: string | undefined;
};

export type UserTokenVerifier = (authorization: string | undefined, request: RequestFacts | string) => Promise<Principal>;

const MAX_REASON_LENGTH = 500;

/**
 * The purposes of use a token grants: its `purpose_of_use` claim, one v3 ActReason code or an
 * array of them. Codes this product does not know are dropped.
 */
export function grantedPurposes(claim: unknown): PurposeOfUse[] {
  const codes: unknown[] = Array.isArray(claim) ? claim : [claim];
  return [...new Set(codes.filter(isPurposeOfUse))];
}

/**
 * The purpose of use in force for one request. The `x-purpose-of-use` header may only narrow what
 * the token grants (the identity provider decided what this user may claim, a header is the
 * client's say-so); without it, the token's only purpose, or none when it grants several (the
 * client must say which). Break-glass (ETREAT) needs a reason.
 */
function purposeOf(claim: unknown, facts: RequestFacts): { purposeOfUse: PurposeOfUse | null; breakGlassReason: string | null } {
  const granted = grantedPurposes(claim);
  const header = facts.purposeOfUseHeader?.trim();
  let purpose: PurposeOfUse | null;
  if (header) {
    if (!isPurposeOfUse(header)) throw unauthenticated('x-purpose-of-use is not a known purpose of use');
    if (!granted.includes(header))
      throw new ProductError(
        'FORBIDDEN',
        `x-purpose-of-use ${header} is not a purpose of use this token grants (it grants: ${granted.join(', ') || 'none'})`,
        { header: 'x-purpose-of-use' },
      );
    purpose = header;
  } else {
    purpose = granted.length === 1 ? granted[0]! : null;
  }
  const reason = facts.breakGlassReasonHeader?.trim().slice(0, MAX_REASON_LENGTH) || null;
  if (purpose === 'ETREAT' && !reason) throw unauthenticated('break-glass (ETREAT) requires the x-break-glass-reason header');
  return { purposeOfUse: purpose, breakGlassReason: purpose === 'ETREAT' ? reason : null };
}

export function userTokenVerifier(issuers: readonly TrustedIssuer[]): UserTokenVerifier {
  const byIssuer = new Map(issuers.map((i) => [i.issuer, { ...i, keys: keySetOf(i) }]));
  const verified = tokenCache<JWTPayload>();
  return async (authorization, request) => {
    const facts: RequestFacts = typeof request === 'string' ? { requestId: request } : request;
    const token = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization ?? '')?.[1];
    if (!token) throw unauthenticated('a bearer token is required');
    const payload = verified.get(token) ?? (await verifyToken(token));
    return principalFrom(payload, facts, byIssuer.get(String(payload.iss))?.connection);
  };

  async function verifyToken(token: string): Promise<JWTPayload> {
    let iss: unknown;
    try {
      iss = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).iss;
    } catch {
      throw unauthenticated('malformed token');
    }
    const trusted = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
    if (!trusted) throw unauthenticated('untrusted issuer');
    try {
      const { payload } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.issuer,
        audience: trusted.audience,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: 30,
        requiredClaims: ['exp', 'sub'],
      });
      verified.set(token, payload, payload.exp);
      return payload;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw unauthenticated('token expired');
      throw unauthenticated('token rejected');
    }
  }
}

function principalFrom(payload: JWTPayload, facts: RequestFacts, issuerConnection: string | undefined): Principal {
  const roles = (Array.isArray(payload.roles) ? payload.roles : []).filter(isRole);
  const scope = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
  return {
    sub: String(payload.sub),
    roles,
    ...purposeOf(payload.purpose_of_use, facts),
    clientId: typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : null,
    scopes: scope,
    fhirUser: typeof payload.fhirUser === 'string' ? payload.fhirUser : null,
    // SMART launch context: a token issued for one patient's app sees that patient only (the subgraphs map it to the golden record).
    patientContext: launchContextOf(payload.patient, issuerConnection),
    clientIp: facts.clientIp ?? null,
    requestId: facts.requestId,
  };
}

export type DevTokenRequest = {
  readonly sub: string;
  readonly roles: readonly Role[];
  /** One purpose (the claim is that code) or several (an array: the client picks one with x-purpose-of-use). */
  readonly purposeOfUse?: PurposeOfUse | readonly PurposeOfUse[];
  readonly scope?: string;
  readonly patient?: string;
  readonly ttlSeconds?: number;
  /** The development issuer unless given (tests mint for a test identity provider, as a production gateway would trust). */
  readonly issuer?: string;
};

const purposeClaim = (p: DevTokenRequest['purposeOfUse']): { purpose_of_use?: string | string[] } => {
  if (p === undefined || p.length === 0) return {};
  if (typeof p === 'string') return { purpose_of_use: p };
  return { purpose_of_use: p.length === 1 ? p[0]! : [...p] };
};

/** Mints a token from the local development issuer (npm run token); a gateway in production mode never trusts it. */
export function mintDevToken(key: { privateKey: CryptoKey; kid: string; alg: string }, req: DevTokenRequest): Promise<string> {
  return new SignJWT({
    roles: req.roles,
    ...purposeClaim(req.purposeOfUse),
    ...(req.patient ? { patient: req.patient } : {}),
    scope: req.scope ?? 'user/*.rs',
    client_id: 'dev-cli',
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(req.issuer ?? DEV_ISSUER)
    .setAudience(DEFAULT_AUDIENCE)
    .setSubject(req.sub)
    .setIssuedAt()
    .setExpirationTime(`${req.ttlSeconds ?? 3600}s`)
    .sign(key.privateKey);
}
