// A FHIR R4 server over HTTP standing in for one EHR: the SMART Backend Services token endpoint,
// bearer-protected read and search on Patient and the clinical types with paging, the
// CapabilityStatement and SMART configuration, OperationOutcome errors, and fault injection
// (down, slow) for resilience tests. node:http only. It logs nothing: it serves PHI-shaped data.
// Charts can change while it runs (upsert, newPatient, remove; over HTTP under /_simulator when devWrites
// is on), each change stamped with a new versionId and lastUpdated, as an EHR does; a deleted
// resource leaves every search and a read of it answers 410 Gone, as FHIR's DELETE says.
// `_elements` answers subsets (resourceType, id, meta and the elements named, tagged SUBSETTED):
// what a reconciliation lists ids with.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FhirPatient, FhirResource } from '../fhir-types.ts';
import type { Vendor } from '../population/model.ts';
import type { SiteData } from '../site-data.ts';
import { ATHENA, CERNER, EPIC } from '../vendors/constants.ts';
import { createTokenService, type SimulatorClient } from './auth.ts';
import { capabilityStatement, smartConfiguration } from './capability.ts';
import { BodyTooLarge, FHIR_JSON, JSON_UTF8, isForm, readBody, requestOrigin, send, sendOutcome } from './http.ts';
import { OFFSET_PARAM, pageOf, search, type Page } from './search.ts';
import { createStore, isResourceType, type ResourceType, type Store } from './store.ts';

export type { SimulatorClient } from './auth.ts';

/**
 * `status`: every FHIR read and search answers it; `delayMs`: they are delayed; `searchLimit`: a
 * search matches at most that many (its `total` says so too), as an EHR with a paging or
 * authorisation bug answers a truncated list that looks whole.
 */
export type Fault = { readonly delayMs?: number; readonly status?: number; readonly searchLimit?: number };

export type FhirSimulatorOptions = {
  readonly siteId: string;
  readonly vendor: Vendor;
  readonly data: SiteData;
  /** 0 (default) = an ephemeral port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The registered backend apps and their public keys (RSA for RS384, or EC P-384 for ES384). */
  readonly clients: readonly SimulatorClient[];
  /** Access token lifetime (default 300 s). */
  readonly tokenTtlSeconds?: number;
  readonly softwareVersion?: string;
  /** Clock for token and assertion expiry (tests). */
  readonly now?: () => number;
  /**
   * Serve the development-only change endpoints (no authentication): `PUT /_simulator/<type>/<id>`
   * (a resource JSON body) and `POST /_simulator/Patient` (`{ family, given, birthDate, gender }`).
   */
  readonly devWrites?: boolean;
};

/** A new person's demographics (synthetic). */
export type NewPatient = {
  readonly family: string;
  readonly given: string;
  readonly birthDate: string;
  readonly gender?: 'female' | 'male';
};

export const DEV_PATH = '/_simulator';

export type FhirSimulator = {
  /** FHIR base URL: http://127.0.0.1:PORT/api/FHIR/R4 (Epic) or http://127.0.0.1:PORT/r4/<tenant> (Cerner). */
  readonly url: string;
  readonly tokenUrl: string;
  /**
   * `{ status }` answers every FHIR read and search with that status; `{ delayMs }` delays them;
   * null clears. Metadata, SMART discovery and the token endpoint are never faulted.
   */
  setFault(fault: Fault | null): void;
  /** FHIR reads and searches received so far, refused ones included (metadata, discovery and token calls excluded). */
  requestCount(): number;
  /**
   * Adds or replaces a resource as a change at the EHR: versionId one more than the stored one's
   * (else 1) and lastUpdated now. Returns what is served from now on.
   */
  upsert(resource: FhirResource): FhirResource;
  /** Deletes a resource at the EHR (FHIR DELETE): gone from searches, 410 on read. False when it was not there. */
  remove(resourceType: string, id: string): boolean;
  /** The software version the CapabilityStatement names from now on (an EHR upgrade). */
  setSoftwareVersion(version: string | undefined): void;
  /** Registers a new patient shaped like the site's others (the vendor's identifiers and quirks), with fresh ids. */
  newPatient(input: NewPatient): FhirPatient;
  close(): Promise<void>;
};

export const VENDOR_PATHS: Readonly<Record<Vendor, { readonly fhir: string; readonly token: string }>> = {
  epic: { fhir: EPIC.fhirPath, token: EPIC.tokenPath },
  cerner: { fhir: CERNER.fhirPath, token: CERNER.tokenPath },
  athenahealth: { fhir: ATHENA.fhirPath, token: ATHENA.tokenPath },
};

const SMART_CONFIGURATION = '/.well-known/smart-configuration';
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

const ENTRY_RESOURCE = Buffer.from('","resource":');
const ENTRY_END = Buffer.from(',"search":{"mode":"match"}}');
const COMMA = Buffer.from(',');
const BUNDLE_END = Buffer.from(']}');

/** FHIR's tag on a resource returned in part (`_elements`, `_summary`). */
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' } as const;

/** The resource with only the named elements (and resourceType, id, meta, which FHIR always returns), tagged SUBSETTED. */
export function subsetOf(r: FhirResource, elements: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = { resourceType: r.resourceType, id: r.id };
  for (const [k, v] of Object.entries(r)) if (elements.has(k)) out[k] = v;
  const meta = r.meta as { tag?: unknown[] };
  out.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return out;
}

/** `_elements` as a set of top-level element names; undefined when absent (whole resources). */
export const elementsOf = (params: URLSearchParams): ReadonlySet<string> | undefined => {
  const raw = params.getAll('_elements');
  return raw.length === 0
    ? undefined
    : new Set(
        raw
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter(Boolean),
      );
};

/**
 * A searchset Bundle, assembled from each resource's cached UTF-8 bytes (searches are the hot
 * path; re-serialising and re-encoding every resource per request would dominate the cost).
 */
function bundleBytes(
  store: Store,
  base: string,
  type: ResourceType,
  matches: readonly FhirResource[],
  used: readonly (readonly [string, string])[],
  page: Page,
  elements?: ReadonlySet<string>,
): Buffer {
  const link = (offset: number): string => {
    const q = new URLSearchParams(used.map(([k, v]): [string, string] => [k, v]));
    if (elements) q.set('_elements', [...elements].join(','));
    q.set('_count', String(page.count));
    if (offset > 0) q.set(OFFSET_PARAM, String(offset));
    return `${base}/${type}?${q.toString()}`;
  };
  const links = [{ relation: 'self', url: link(page.offset) }];
  if (page.count > 0 && page.offset + page.count < matches.length) links.push({ relation: 'next', url: link(page.offset + page.count) });
  if (page.count > 0 && page.offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, page.offset - page.count)) });
  const slice = page.count === 0 ? [] : matches.slice(page.offset, page.offset + page.count);
  const head = `{"resourceType":"Bundle","id":"${randomUUID()}","meta":{"lastUpdated":"${new Date().toISOString()}"},"type":"searchset","total":${matches.length},"link":${JSON.stringify(links)}`;
  if (slice.length === 0) return Buffer.from(`${head}}`);
  const parts: Buffer[] = [Buffer.from(`${head},"entry":[`)];
  // fullUrl values are ids under our base: nothing to escape beyond what JSON.stringify would.
  const prefix = JSON.stringify(`${base}/`).slice(0, -1);
  slice.forEach((r, i) => {
    if (i > 0) parts.push(COMMA);
    const bytes = elements ? Buffer.from(JSON.stringify(subsetOf(r, elements))) : store.json(r);
    parts.push(Buffer.from(`{"fullUrl":${prefix}${r.resourceType}/${r.id}`), ENTRY_RESOURCE, bytes, ENTRY_END);
  });
  parts.push(BUNDLE_END);
  return Buffer.concat(parts);
}

let created = 0;

/**
 * A new patient built from one of the site's own (its identifier systems, types and extensions: the
 * vendor's shape), with new identifier values, the given name and birth date, and no SSN, address
 * or phone of the template's person.
 */
export function patientLike(template: FhirPatient, id: string, input: NewPatient): FhirPatient {
  created++;
  const identifier = template.identifier
    .filter((i) => !/ssn/i.test(i.system ?? ''))
    .map((i, n) => ({ ...i, value: `${/^\d+$/.test(i.value ?? '') ? '' : 'SIM'}${9_000_000 + created * 10 + n}` }));
  const name = [
    { ...template.name[0], use: 'official' as const, text: `${input.given} ${input.family}`, family: input.family, given: [input.given] },
  ];
  const { address: _a, telecom: _t, ...rest } = template;
  const gender = input.gender ?? 'female';
  return { ...rest, id, identifier, name, birthDate: input.birthDate, gender, meta: {} };
}

export async function startFhirSimulator(options: FhirSimulatorOptions): Promise<FhirSimulator> {
  const host = options.host ?? '127.0.0.1';
  const paths = VENDOR_PATHS[options.vendor];
  const ttl = options.tokenTtlSeconds ?? 300;
  if (!(ttl > 0)) throw new Error('tokenTtlSeconds must be positive');
  const now = options.now ?? Date.now;
  const tokens = await createTokenService({ clients: options.clients, tokenTtlSeconds: ttl, now });
  const store = createStore(options.data);
  let fault: Fault | null = null;
  let softwareVersion = options.softwareVersion;
  let fhirCalls = 0;
  let closed = false;
  let boundOrigin = '';
  const waiting = new Set<() => void>();

  /** Waits out an injected delay; cut short when the client goes away or the server closes. */
  const delay = (ms: number, res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        waiting.delete(done);
        res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiting.add(done);
      res.once('close', done);
    });

  async function token(req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
    const error = (status: number, code: string, description: string): void =>
      send(res, status, JSON.stringify({ error: code, error_description: description }), JSON_UTF8, NO_STORE);
    if (req.method !== 'POST') return error(405, 'invalid_request', 'the token endpoint accepts POST only');
    if (!isForm(req)) return error(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
    const form = new URLSearchParams(await readBody(req));
    // The assertion's aud must be this endpoint, as the client addressed it or as the simulator announced it.
    const answer = await tokens.issue(form, [...new Set([`${origin}${paths.token}`, `${boundOrigin}${paths.token}`])]);
    send(res, answer.status, JSON.stringify(answer.body), JSON_UTF8, NO_STORE);
  }

  async function fhir(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, origin: string): Promise<void> {
    const base = `${origin}${paths.fhir}`;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    // Discovery answers even when a fault is set (health checks and token discovery keep working).
    if (method === 'GET' && path === '/metadata')
      return send(
        res,
        200,
        JSON.stringify(
          capabilityStatement({
            vendor: options.vendor,
            siteId: options.siteId,
            baseUrl: base,
            tokenUrl: `${origin}${paths.token}`,
            softwareVersion,
          }),
        ),
        FHIR_JSON,
      );
    if (method === 'GET' && path === SMART_CONFIGURATION)
      return send(res, 200, JSON.stringify(smartConfiguration(`${origin}${paths.token}`)), JSON_UTF8);
    fhirCalls++;
    const current = fault;
    if (current?.delayMs) await delay(current.delayMs, res);
    if (closed || res.destroyed) return;
    if (current?.status)
      return sendOutcome(
        res,
        current.status,
        current.status >= 500 ? 'transient' : 'processing',
        `simulated fault: HTTP ${current.status}`,
        current.status === 503 ? { 'retry-after': '1' } : {},
      );

    const auth = tokens.check(req.headers.authorization);
    if (auth !== 'ok') {
      const challenge =
        auth === 'missing' ? 'Bearer' : 'Bearer error="invalid_token", error_description="The access token is unknown or expired"';
      return sendOutcome(
        res,
        401,
        'login',
        auth === 'missing' ? 'a bearer access token is required' : 'the access token is unknown or expired',
        { 'www-authenticate': challenge },
      );
    }

    let segments: string[];
    try {
      segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return sendOutcome(res, 400, 'invalid', 'malformed URL');
    }
    const [type, id, extra] = segments;
    if (!type) return sendOutcome(res, 404, 'not-supported', 'whole-system interactions are not supported; name a resource type');
    if (!isResourceType(type)) return sendOutcome(res, 404, 'not-supported', `resource type ${type} is not supported by this server`);
    const isSearch = id === undefined || (id === '_search' && extra === undefined);
    if (method === 'POST' && !(id === '_search' && extra === undefined))
      return sendOutcome(res, 405, 'not-supported', 'this server is read-only');
    if (method !== 'GET' && method !== 'POST') return sendOutcome(res, 405, 'not-supported', `${method ?? '?'} is not supported`);

    if (!isSearch) {
      if (extra !== undefined) return sendOutcome(res, 404, 'not-supported', 'only read and search are supported');
      const resource = store.byId(type, id!);
      if (!resource && store.isDeleted(type, id!)) return sendOutcome(res, 410, 'deleted', `${type}/${id!} was deleted`);
      if (!resource) return sendOutcome(res, 404, 'not-found', `${type}/${id!} is not known`);
      const headers: Record<string, string> = {};
      if (resource.meta.versionId) headers.etag = `W/"${resource.meta.versionId}"`;
      if (resource.meta.lastUpdated) headers['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
      return send(res, 200, store.json(resource), FHIR_JSON, headers);
    }

    let params = query;
    if (method === 'POST') {
      if (!isForm(req)) return sendOutcome(res, 400, 'invalid', 'POST _search needs an application/x-www-form-urlencoded body');
      params = new URLSearchParams(await readBody(req));
      for (const [k, v] of query) params.append(k, v);
    }
    const page = pageOf(params);
    if (typeof page === 'string') return sendOutcome(res, 400, 'invalid', page);
    const result = search(store, type, params);
    if (!result.ok) return sendOutcome(res, result.status, result.code, result.diagnostics);
    const matches = current?.searchLimit === undefined ? result.matches : result.matches.slice(0, current.searchLimit);
    send(res, 200, bundleBytes(store, base, type, matches, result.used, page, elementsOf(params)), FHIR_JSON);
  }

  const upsert = (resource: FhirResource): FhirResource => {
    const type = resource.resourceType;
    if (!isResourceType(type) || typeof resource.id !== 'string' || resource.id === '')
      throw new Error('upsert: a served resource type with an id is required');
    const previous = Number(store.byId(type, resource.id)?.meta.versionId ?? 0);
    // A change is never older than the last one of the same resource, even within one millisecond.
    const stamped = {
      ...resource,
      meta: {
        ...resource.meta,
        versionId: String((Number.isFinite(previous) ? previous : 0) + 1),
        lastUpdated: new Date(now()).toISOString(),
      },
    } as FhirResource;
    store.upsert(stamped);
    return stamped;
  };
  const newPatient = (input: NewPatient): FhirPatient => {
    const template = store.all('Patient')[0] as FhirPatient | undefined;
    if (!template) throw new Error('newPatient: the site has no patient to take its shape from');
    return upsert(patientLike(template, `sim-new-${randomUUID().slice(0, 8)}`, input)) as FhirPatient;
  };

  const remove = (type: string, id: string): boolean => isResourceType(type) && store.remove(type, id);

  /** Development-only changes: PUT and DELETE /_simulator/<type>/<id>, POST /_simulator/Patient. */
  async function dev(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const [type, id, extra] = path.split('/').filter(Boolean);
    if (req.method === 'DELETE' && type && id && extra === undefined) {
      if (!isResourceType(type)) return sendOutcome(res, 404, 'not-supported', `resource type ${type} is not supported by this server`);
      // FHIR DELETE is idempotent: deleting what is already gone succeeds too; an id never known is 404.
      if (remove(type, id) || store.isDeleted(type, id)) {
        res.writeHead(204).end();
        return;
      }
      return sendOutcome(res, 404, 'not-found', `${type}/${id} is not known`);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof BodyTooLarge) throw error;
      return sendOutcome(res, 400, 'invalid', 'the body must be JSON');
    }
    if (req.method === 'POST' && type === 'Patient' && id === undefined) {
      const { family, given, birthDate, gender } = body;
      if (
        typeof family !== 'string' ||
        typeof given !== 'string' ||
        typeof birthDate !== 'string' ||
        !/^\d{4}-\d{2}-\d{2}$/.test(birthDate)
      )
        return sendOutcome(res, 400, 'invalid', 'give family, given and birthDate (YYYY-MM-DD); gender female or male');
      if (gender !== undefined && gender !== 'female' && gender !== 'male')
        return sendOutcome(res, 400, 'invalid', 'gender must be female or male');
      return send(res, 201, JSON.stringify(newPatient({ family, given, birthDate, gender })), FHIR_JSON);
    }
    if (req.method === 'PUT' && type && id && extra === undefined) {
      if (body.resourceType !== type || body.id !== id)
        return sendOutcome(res, 400, 'invalid', 'resourceType and id must be those of the URL');
      if (!isResourceType(type)) return sendOutcome(res, 404, 'not-supported', `resource type ${type} is not supported by this server`);
      return send(res, 200, JSON.stringify(upsert(body as FhirResource)), FHIR_JSON);
    }
    sendOutcome(res, 405, 'not-supported', 'use PUT or DELETE /_simulator/<type>/<id>, or POST /_simulator/Patient');
  }

  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const origin = requestOrigin(req, boundOrigin);
    const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const handle = (): Promise<void> => {
      if (pathname === paths.token) return token(req, res, origin);
      if (options.devWrites && (pathname === DEV_PATH || pathname.startsWith(`${DEV_PATH}/`)))
        return dev(req, res, pathname.slice(DEV_PATH.length));
      if (pathname === paths.fhir || pathname.startsWith(`${paths.fhir}/`))
        return fhir(req, res, pathname.slice(paths.fhir.length), url.searchParams, origin);
      sendOutcome(res, 404, 'not-found', `no FHIR endpoint at this path; the FHIR base is ${paths.fhir}`);
      return Promise.resolve();
    };
    handle().catch((error: unknown) => {
      if (error instanceof BodyTooLarge) sendOutcome(res, 413, 'too-costly', 'request body too large');
      else sendOutcome(res, 500, 'exception', 'internal error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const announcedHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  boundOrigin = `http://${announcedHost}:${port}`;

  return {
    url: `${boundOrigin}${paths.fhir}`,
    tokenUrl: `${boundOrigin}${paths.token}`,
    setFault(f) {
      if (
        f &&
        ((f.delayMs !== undefined && !(f.delayMs >= 0)) ||
          (f.status !== undefined && !(Number.isInteger(f.status) && f.status >= 400 && f.status <= 599)) ||
          (f.searchLimit !== undefined && !(Number.isInteger(f.searchLimit) && f.searchLimit >= 0)))
      ) {
        throw new Error('fault: delayMs must be >= 0, status an HTTP error status (400-599), searchLimit a whole number');
      }
      fault = f && (f.delayMs || f.status || f.searchLimit !== undefined) ? { ...f } : null;
    },
    requestCount: () => fhirCalls,
    upsert,
    newPatient,
    remove,
    setSoftwareVersion: (v) => {
      softwareVersion = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        for (const release of [...waiting]) release();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
