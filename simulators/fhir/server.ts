// A FHIR R4 server over HTTP standing in for one EHR: SMART Backend Services token endpoint
// (private_key_jwt client assertions, RS384/ES384), bearer-protected search on Patient and the
// clinical resources with paging, CapabilityStatement, OperationOutcome errors, and fault
// injection (down, slow) for resilience tests. node:http only; logs nothing (it serves PHI-shaped data).
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClinicalType, SiteData } from '../population/generate.ts';
import { CLINICAL_TYPES } from '../population/generate.ts';
import type { Bundle, FhirResource, OperationOutcome } from '../fhir-types.ts';
import { CERNER, EPIC } from '../vendors/constants.ts';
import type { Vendor } from '../vendors/shape.ts';

export type SimulatorClient = { readonly clientId: string; readonly publicJwk: JWK };
export type Fault = { readonly delayMs?: number; readonly status?: number } | null;

export type FhirSimulatorOptions = {
  readonly siteId: string;
  readonly vendor: Vendor;
  readonly data: SiteData;
  readonly port?: number;
  readonly host?: string;
  readonly clients: readonly SimulatorClient[];
  readonly tokenTtlSeconds?: number;
  readonly softwareVersion?: string;
};

export type FhirSimulator = {
  /** FHIR base URL, e.g. http://127.0.0.1:4101/api/FHIR/R4 */
  readonly url: string;
  readonly tokenUrl: string;
  setFault(fault: Fault): void;
  /** FHIR calls answered so far (token requests and metadata excluded). */
  requestCount(): number;
  close(): Promise<void>;
};

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const MAX_ASSERTION_LIFETIME_S = 300;
const DEFAULT_COUNT = 50;
const MAX_COUNT = 200;

const outcome = (code: string, diagnostics: string): OperationOutcome => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] });

function send(res: ServerResponse, status: number, body: unknown, contentType = FHIR_JSON, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 100_000) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/** A `_lastUpdated` comparison such as ge2025-03-01 or lt2025-06-01T00:00:00Z. */
function lastUpdatedMatches(value: string | undefined, filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  if (!value) return false;
  const t = Date.parse(value);
  return filters.every((f) => {
    const m = /^(eq|ne|gt|lt|ge|le)?(.+)$/.exec(f);
    const bound = Date.parse(m?.[2] ?? '');
    if (Number.isNaN(bound)) return false;
    switch (m?.[1] ?? 'eq') {
      case 'gt': return t > bound;
      case 'lt': return t < bound;
      case 'ge': return t >= bound;
      case 'le': return t <= bound;
      case 'ne': return t !== bound;
      default: return value.startsWith(m?.[2] ?? '');
    }
  });
}

const splitIds = (values: readonly string[]): string[] => values.flatMap((v) => v.split(',')).map((v) => v.trim().replace(/^Patient\//, '')).filter(Boolean);

export async function startFhirSimulator(options: FhirSimulatorOptions): Promise<FhirSimulator> {
  const host = options.host ?? '127.0.0.1';
  const basePath = options.vendor === 'epic' ? EPIC.fhirPath : CERNER.fhirPath;
  const tokenPath = options.vendor === 'epic' ? '/oauth2/token' : `/tenants/${CERNER.tenant}/protocols/oauth2/profiles/smart-v1/token`;
  const ttl = options.tokenTtlSeconds ?? 300;
  const clientKeys = new Map(options.clients.map((c) => [c.clientId, createLocalJWKSet({ keys: [{ ...c.publicJwk }] })]));
  const seenJti = new Map<string, number>();
  const tokens = new Map<string, { clientId: string; expiresAt: number; scope: string }>();
  let fault: Fault = null;
  let fhirCalls = 0;
  let boundOrigin = '';

  // Indexes: every search is O(requested patients), as a real EHR's would be.
  const patients = options.data.patients;
  const patientById = new Map(patients.map((p) => [p.id, p]));
  const patientsByIdentifier = new Map<string, FhirResource[]>();
  for (const p of patients) {
    for (const i of (p.identifier as { system?: string; value?: string }[] | undefined) ?? []) {
      for (const key of [`${i.system}|${i.value}`, `|${i.value}`]) patientsByIdentifier.set(key, [...(patientsByIdentifier.get(key) ?? []), p]);
    }
  }
  const byPatient = new Map<ClinicalType, Map<string, FhirResource[]>>(
    CLINICAL_TYPES.map((type) => {
      const index = new Map<string, FhirResource[]>();
      for (const r of options.data.resources[type]) {
        const pid = ((r.subject as { reference: string }).reference ?? '').replace(/^Patient\//, '');
        (index.get(pid) ?? index.set(pid, []).get(pid)!).push(r);
      }
      return [type, index];
    }),
  );

  const capability = (origin: string) => ({
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    kind: 'instance',
    software: { name: options.vendor === 'epic' ? 'Simulated Epic' : 'Simulated Oracle Health Millennium', version: options.softwareVersion ?? '1.0.0' },
    implementation: { description: `EHR simulator for ${options.siteId}`, url: `${origin}${basePath}` },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      security: {
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
        extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: [{ url: 'token', valueUri: `${origin}${tokenPath}` }] }],
      },
      resource: [
        { type: 'Patient', interaction: [{ code: 'read' }, { code: 'search-type' }], searchParam: ['_id', 'identifier', '_lastUpdated', '_count'].map((name) => ({ name, type: name === '_lastUpdated' ? 'date' : 'token' })) },
        ...CLINICAL_TYPES.map((type) => ({ type, interaction: [{ code: 'search-type' }], searchParam: [{ name: 'patient', type: 'reference' }, { name: '_count', type: 'number' }] })),
      ],
    }],
  });

  function smartConfiguration(origin: string) {
    return {
      token_endpoint: `${origin}${tokenPath}`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      scopes_supported: ['system/*.rs', 'system/*.read'],
      capabilities: ['client-confidential-asymmetric'],
    };
  }

  async function token(req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
    const oauthError = (status: number, error: string, description: string) => send(res, status, { error, error_description: description }, 'application/json', { 'cache-control': 'no-store' });
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return oauthError(400, 'invalid_request', 'form-encoded body required');
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return oauthError(400, 'invalid_request', 'client_assertion_type must be jwt-bearer');
    const assertion = form.get('client_assertion') ?? '';
    let clientId: string;
    try {
      clientId = String(decodeJwt(assertion).iss ?? '');
    } catch {
      return oauthError(400, 'invalid_request', 'client_assertion is not a JWT');
    }
    const keys = clientKeys.get(clientId);
    if (!keys) return oauthError(401, 'invalid_client', 'unknown client');
    try {
      const { payload } = await jwtVerify(assertion, keys, { issuer: clientId, subject: clientId, audience: `${origin}${tokenPath}`, algorithms: ['RS384', 'ES384'], requiredClaims: ['exp', 'jti'] });
      const now = Math.floor(Date.now() / 1000);
      if ((payload.exp ?? 0) > now + MAX_ASSERTION_LIFETIME_S + 5) return oauthError(400, 'invalid_grant', 'assertion lifetime exceeds 5 minutes');
      for (const [jti, exp] of seenJti) if (exp < now) seenJti.delete(jti);
      if (seenJti.has(payload.jti!)) return oauthError(400, 'invalid_grant', 'assertion jti already used');
      seenJti.set(payload.jti!, payload.exp ?? now);
    } catch (error) {
      const code = (error as { code?: string }).code;
      return oauthError(code === 'ERR_JWT_EXPIRED' ? 400 : 401, code === 'ERR_JWT_EXPIRED' ? 'invalid_grant' : 'invalid_client', code === 'ERR_JWT_EXPIRED' ? 'assertion expired' : 'assertion verification failed');
    }
    const accessToken = randomBytes(24).toString('base64url');
    const scope = form.get('scope') ?? 'system/*.rs';
    tokens.set(accessToken, { clientId, expiresAt: Date.now() + ttl * 1000, scope });
    send(res, 200, { access_token: accessToken, token_type: 'bearer', expires_in: ttl, scope }, 'application/json', { 'cache-control': 'no-store' });
  }

  function authorized(req: IncomingMessage): boolean {
    const t = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const entry = t ? tokens.get(t) : undefined;
    if (entry && entry.expiresAt > Date.now()) return true;
    if (t && entry) tokens.delete(t);
    return false;
  }

  function page(type: string, matches: readonly FhirResource[], params: URLSearchParams, origin: string): Bundle {
    const count = Math.min(Math.max(Number(params.get('_count') ?? DEFAULT_COUNT) || DEFAULT_COUNT, 1), MAX_COUNT);
    const offset = Math.max(Number(params.get('_getpagesoffset') ?? 0) || 0, 0);
    const selfParams = new URLSearchParams(params);
    const link = [{ relation: 'self', url: `${origin}${basePath}/${type}?${selfParams}` }];
    if (offset + count < matches.length) {
      const next = new URLSearchParams(params);
      next.set('_getpagesoffset', String(offset + count));
      next.set('_count', String(count));
      link.push({ relation: 'next', url: `${origin}${basePath}/${type}?${next}` });
    }
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matches.length,
      link,
      entry: matches.slice(offset, offset + count).map((r) => ({ fullUrl: `${origin}${basePath}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' as const } })),
    };
  }

  function searchPatients(params: URLSearchParams): FhirResource[] {
    let result: readonly FhirResource[] = patients;
    const ids = splitIds(params.getAll('_id'));
    if (ids.length > 0) result = ids.flatMap((id) => (patientById.has(id) ? [patientById.get(id)!] : []));
    for (const identifier of params.getAll('identifier')) {
      const hits = new Set(identifier.split(',').flatMap((token) => patientsByIdentifier.get(token.includes('|') ? token : `|${token}`) ?? []));
      result = result.filter((p) => hits.has(p));
    }
    const lastUpdated = params.getAll('_lastUpdated');
    return result.filter((p) => lastUpdatedMatches(p.meta?.lastUpdated, lastUpdated));
  }

  async function fhir(req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams, origin: string): Promise<void> {
    fhirCalls++;
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault!.delayMs));
    if (res.destroyed) return;
    if (fault?.status) return send(res, fault.status, outcome('transient', 'service unavailable (simulated fault)'));
    if (!authorized(req)) return send(res, 401, outcome('login', 'a valid bearer token is required'), FHIR_JSON, { 'www-authenticate': 'Bearer' });
    const [type, id, extra] = path.split('/').filter(Boolean);
    if (!type) return send(res, 404, outcome('not-found', 'no resource type'));
    if (type === 'Patient' && id && id !== '_search' && !extra) {
      const p = patientById.get(id);
      return p ? send(res, 200, p) : send(res, 404, outcome('not-found', `Patient/${id} is not known`));
    }
    if (id && id !== '_search') return send(res, 404, outcome('not-supported', 'operation not supported'));
    if (type === 'Patient') return send(res, 200, page('Patient', searchPatients(params), params, origin));
    if (!(CLINICAL_TYPES as readonly string[]).includes(type)) return send(res, 404, outcome('not-supported', `resource type ${type} is not supported`));
    const ids = splitIds([...params.getAll('patient'), ...params.getAll('subject')]);
    if (ids.length === 0) return send(res, 400, outcome('required', `a ${type} search requires the patient parameter`));
    const index = byPatient.get(type as ClinicalType)!;
    let matches = [...new Set(ids)].flatMap((pid) => index.get(pid) ?? []);
    const category = params.get('category');
    if (type === 'Observation' && category) matches = matches.filter((r) => JSON.stringify(r.category ?? []).includes(`"code":"${category.split('|').at(-1)}"`));
    return send(res, 200, page(type, matches, params, origin));
  }

  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Absolute URLs (paging links, token endpoint) use the host the client addressed, so the same
    // simulator works on loopback and behind a compose service name.
    const origin = req.headers.host ? `http://${req.headers.host}` : boundOrigin;
    const handle = async (): Promise<void> => {
      if (req.method === 'POST' && url.pathname === tokenPath) return token(req, res, origin);
      if (!url.pathname.startsWith(basePath)) return send(res, 404, outcome('not-found', 'unknown path'));
      const path = url.pathname.slice(basePath.length);
      if (req.method === 'GET' && path === '/metadata') return send(res, 200, capability(origin));
      if (req.method === 'GET' && path === '/.well-known/smart-configuration') return send(res, 200, smartConfiguration(origin), 'application/json');
      if (req.method === 'GET') return fhir(req, res, path, url.searchParams, origin);
      if (req.method === 'POST' && path.endsWith('/_search')) {
        const form = new URLSearchParams(await readBody(req));
        for (const [k, v] of url.searchParams) form.append(k, v);
        return fhir(req, res, path, form, origin);
      }
      return send(res, 405, outcome('not-supported', `${req.method} is not supported`));
    };
    handle().catch(() => {
      if (!res.headersSent) send(res, 500, outcome('exception', 'internal error'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  boundOrigin = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  return {
    url: `${boundOrigin}${basePath}`,
    tokenUrl: `${boundOrigin}${tokenPath}`,
    setFault: (f) => {
      fault = f;
    },
    requestCount: () => fhirCalls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
