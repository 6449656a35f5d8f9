// Serves an Apollo Server over node:http, for the gateway and every subgraph alike: a body size
// limit, authentication before any GraphQL work (a caller that fails it never reaches the
// schema, _service and _entities included), /health (liveness: the process answers) and /ready
// (readiness: its dependencies answer too), and errors as GraphQL JSON.
import {
  HeaderMap,
  type ApolloServer,
  type ApolloServerOptions,
  type ApolloServerPlugin,
  type BaseContext,
  type GraphQLRequestContext,
} from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_CODES, isErrorCode, ProductError, toClientError, toHttpError } from './errors.ts';
import { logger } from './log.ts';
import { checkMetricsAccess, metrics, type MetricsAccess } from './metrics.ts';
import { endRequestSpan, inRequestSpan, startRequestSpan, TRACE_PARENT, type RequestTrace, type TraceParentTrust } from './tracing.ts';
import {
  characterLimitError,
  DEFAULT_OPERATION_LIMITS,
  formatLimitError,
  operationLimitPlugins,
  operationLimitServerOptions,
  type OperationLimits,
} from './operation-limits/index.ts';

export type ServeOptions<C extends BaseContext> = {
  readonly server: ApolloServer<C>;
  readonly port: number;
  readonly host?: string;
  /** Builds the request context or throws a ProductError (UNAUTHENTICATED: HTTP 401). */
  readonly authenticate: (req: IncomingMessage) => Promise<C>;
  readonly health?: () => Promise<Record<string, unknown>>;
  /** What /ready checks (PostgreSQL, Redis, subgraphs); /ready answers 503 naming each one that fails. */
  readonly readiness?: readonly ReadinessCheck[];
  readonly maxBodyBytes?: number;
  /** The document's length is checked here, before parsing (platform/operation-limits); its defaults when absent. */
  readonly operationLimits?: OperationLimits;
  /** Other routes on the same port (the gateway's console): true when it answered the request. */
  readonly routes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Where a browser's GET of /graphql (one that asks for HTML) is redirected: the explorer in development. */
  readonly browserPage?: string;
  /** Requests counted under this component in platform/metrics.ts, and /metrics served; no /metrics when absent. */
  readonly metrics?: ServerMetrics<C>;
  /** Each /graphql request as a span (platform/tracing.ts, when tracing is on); none when absent. */
  readonly tracing?: ServerTracing<C>;
};

export type ServerTracing<C> = {
  /** `gateway` or the subgraph's name. */
  readonly component: string;
  /** Whose traceparent an authenticated request carries: the client's (gateway) or the gateway's (subgraph, identity verified). */
  readonly parent: Exclude<TraceParentTrust, 'untrusted'>;
  /** The context a request runs with, told its span's traceparent (a subgraph's audit rows carry it). */
  readonly withTraceparent?: (context: C, traceparent: string) => C;
};

export type ServerMetrics<C> = {
  /** `gateway` or the subgraph's name. */
  readonly component: string;
  readonly access: MetricsAccess;
  /** The operation name to count a request under (a subgraph: the client's, sent by the gateway); the resolved one when absent. */
  readonly operationName?: (context: C, resolved: string | null) => string | null;
};

export type RunningHttpServer = { readonly url: string; readonly port: number; readonly server: Server; close(): Promise<void> };

const DEFAULT_MAX_BODY = 1_000_000;

/**
 * A dependency /ready checks: resolves when it answers, throws (or takes longer than READY_TIMEOUT_MS)
 * when it does not. An `optional` one (a cache, a vendor adapter) degrades answers when down instead of
 * preventing them: /ready then still answers 200, with status `degraded`, so a load balancer does not
 * pull every replica out because Redis or one EHR's adapter is gone.
 */
export type ReadinessCheck = { readonly name: string; readonly check: () => Promise<unknown>; readonly optional?: boolean };

/** Each check's bound, under the 3 s a compose or Kubernetes probe usually allows. */
export const READY_TIMEOUT_MS = 2000;

const readyLog = logger('ready');

/** Another server's /ready (a subgraph's, for the gateway), from its /graphql URL. */
export const remoteReadiness = (name: string, graphqlUrl: string): ReadinessCheck => ({
  name,
  async check() {
    const res = await fetch(new URL('/ready', graphqlUrl), { signal: AbortSignal.timeout(READY_TIMEOUT_MS) });
    await res.body?.cancel();
    if (!res.ok) throw Object.assign(new Error('not ready'), { name: `HTTP${res.status}` });
  },
});

/** What a log may say about a failed check: our code, a system error's code (ECONNREFUSED), or the error's name; never its text. */
const reasonOf = (error: unknown): string => {
  if (error instanceof ProductError) return error.code;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof cause === 'string' ? cause : ((error as Error | null)?.name ?? 'unknown');
};

/**
 * Runs every check at once, each bounded by READY_TIMEOUT_MS. The answer names each dependency
 * `up` or `down`, nothing else: no URL, host, user or error text (logged as the error's name only).
 */
export async function readiness(
  checks: readonly ReadinessCheck[],
): Promise<{ ready: boolean; degraded: boolean; checks: Record<string, 'up' | 'down'> }> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), READY_TIMEOUT_MS);
      });
      try {
        await Promise.race([check(), timeout]);
        return [name, 'up'] as const;
      } catch (error) {
        readyLog.warn('dependency_down', { dependency: name, error: reasonOf(error) });
        return [name, 'down'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const down = new Set(results.filter(([, state]) => state === 'down').map(([name]) => name));
  return {
    ready: checks.every((c) => c.optional || !down.has(c.name)),
    degraded: down.size > 0,
    checks: Object.fromEntries(results),
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return; // already refused: the rest is discarded, not buffered
      size += chunk.length;
      if (size > limit) {
        // Answer at once with a JSON 413 and close the connection once it is sent (see the
        // handler); destroying the socket here would reset the connection before the answer.
        chunks.length = 0;
        reject(new ProductError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A refusal before or around GraphQL execution, with the status its code maps to (platform/errors.ts). */
function sendError(res: ServerResponse, error: unknown): void {
  const { status, body } = toHttpError(error);
  // A 413 closes the connection once sent: the rest of the body is not read.
  const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : status === 413 ? { connection: 'close' } : {};
  sendJson(res, status, body, headers);
}

/** A browser navigating: text/html before any JSON type (GraphQL clients ask for JSON or send no Accept). */
const prefersHtml = (accept: string | undefined): boolean => {
  const html = accept?.indexOf('text/html') ?? -1;
  const json = accept?.search(/application\/(graphql-response\+)?json/) ?? -1;
  return html >= 0 && (json < 0 || html < json);
};

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return undefined;
  // Apollo Server's CSRF prevention decides about other content types; hand them over as text.
  if (!contentType?.startsWith('application/json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new ProductError('BAD_REQUEST', 'request body is not valid JSON');
  }
}

export async function serveGraphQL<C extends BaseContext>(options: ServeOptions<C>): Promise<RunningHttpServer> {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') {
      sendJson(res, 200, { status: 'ok', ...(await options.health?.()) });
      return;
    }
    if (url.pathname === '/ready') {
      const { ready, degraded, checks } = await readiness(options.readiness ?? []);
      const status = !ready ? 'unavailable' : degraded ? 'degraded' : 'ready';
      sendJson(res, ready ? 200 : 503, { status, checks }, { 'cache-control': 'no-store' });
      return;
    }
    if (url.pathname === '/metrics' && options.metrics) {
      await sendMetrics(res, options.metrics.access, req.headers.authorization);
      return;
    }
    if (url.pathname !== '/graphql' && (await options.routes?.(req, res))) return;
    if (url.pathname !== '/graphql') {
      sendError(res, new ProductError('NOT_FOUND', 'not found'));
      return;
    }
    if (options.browserPage && req.method === 'GET' && prefersHtml(req.headers.accept)) {
      res.writeHead(302, { location: options.browserPage, 'content-length': '0', 'cache-control': 'no-store' });
      res.end();
      return;
    }
    const started = performance.now();
    let context: C | undefined;
    const slot = new RequestSlot();
    let status = 200;
    // The codes of a refusal before GraphQL (authentication, body size, length): no Apollo context then.
    let refusal: unknown[] = [];
    let span: RequestTrace | undefined;
    try {
      const caller = await options.authenticate(req);
      // Only now may the request's traceparent parent its span: a subgraph believes the gateway's once its identity is verified.
      span = options.tracing && startRequestSpan(options.tracing.component, req.headers, options.tracing.parent, started);
      const traced = span && options.tracing?.withTraceparent ? options.tracing.withTraceparent(caller, span.traceparent) : caller;
      // A copy: the object authenticate returns is its own business (it could be shared).
      const authenticated = { ...traced, [REQUEST_SLOT]: slot };
      context = authenticated;
      const body = parseBody(await readBody(req, maxBody), req.headers['content-type']);
      const tooLong = characterLimitError(body, url.searchParams, options.operationLimits ?? DEFAULT_OPERATION_LIMITS);
      if (tooLong) {
        status = 400;
        refusal = [tooLong.extensions?.code];
        sendJson(res, 400, { errors: [tooLong] });
        return;
      }
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      const result = await inRequestSpan(span, () =>
        options.server.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: req.method?.toUpperCase() ?? 'GET', headers, search: url.search, body },
          context: async () => authenticated,
        }),
      );
      for (const [key, value] of result.headers) res.setHeader(key, value);
      res.statusCode = status = result.status ?? 200;
      if (result.body.kind === 'complete') {
        res.end(result.body.string);
      } else {
        for await (const chunk of result.body.asyncIterator) res.write(chunk);
        res.end();
      }
    } catch (error) {
      const http = toHttpError(error);
      status = http.status;
      refusal = http.body.errors.map((e) => e.extensions?.code);
      sendError(res, error);
    } finally {
      if (options.metrics) recordRequest(options.metrics, context, slot, status, refusal, started);
      // A refused request's span has no parent: what it carries was not vouched for.
      if (options.tracing) {
        span ??= startRequestSpan(options.tracing.component, req.headers, TRACE_PARENT.untrusted, started);
        endRequestSpan(span, requestOutcome(options, context, slot, status, refusal));
      }
    }
  };
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, error);
      else res.destroy();
    });
  });
  const port = await listen(server, options.port, options.host);
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/graphql`,
    port,
    server,
    async close() {
      await options.server.stop();
      await stopServer(server);
    },
  };
}

/** Listens on host (loopback by default) and port (0: any free one); resolves with the port. */
export async function listen(server: Server, port: number, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Closes the server and its kept-alive connections. */
export async function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Where the metrics plugin leaves a request's Apollo context (operation, response errors) for
 * recordRequest. Carried on the context value under a symbol: Apollo Server hands plugins a
 * shallow copy of the context, which keeps the symbol's property and so this same slot.
 */
class RequestSlot {
  requestContext: Pick<GraphQLRequestContext<BaseContext>, 'operation' | 'operationName' | 'response'> | undefined;
}
const REQUEST_SLOT = Symbol('request metrics');

/** Remembers the request's Apollo context for recordRequest; nothing else per request. */
function requestMetricsPlugin<C extends BaseContext>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart(requestContext) {
      const slot: unknown = Reflect.get(requestContext.contextValue, REQUEST_SLOT);
      if (slot instanceof RequestSlot) slot.requestContext = requestContext;
    },
  };
}

/**
 * Counts one /graphql request once every plugin is done (the subgraphs' audit plugin may still
 * turn an answer into AUDIT_UNAVAILABLE): its operation, latency and error codes. A request
 * refused before GraphQL (authentication, body size, length) counts under operation `none` with
 * its refusal's code.
 */
function recordRequest<C extends BaseContext>(
  m: ServerMetrics<C>,
  context: C | undefined,
  slot: RequestSlot,
  status: number,
  refusal: unknown[],
  started: number,
): void {
  const rc = slot.requestContext;
  if (!rc) {
    // Refused by Apollo Server before its pipeline (a GET without a query, CSRF): BAD_REQUEST.
    const codes = refusal.length > 0 ? refusal : status >= 400 ? ['BAD_REQUEST'] : [];
    metrics.request(m.component, { name: null, resolved: false }, started, codes);
    return;
  }
  const body = rc.response?.body;
  const errors = body?.kind === 'single' ? (body.singleResult.errors ?? []) : [];
  const resolved = rc.operation !== undefined;
  const name = m.operationName && context ? m.operationName(context, rc.operationName ?? null) : (rc.operationName ?? null);
  metrics.request(
    m.component,
    { name, resolved },
    started,
    errors.map((e) => e.extensions?.code),
  );
}

/** What a request's span records once it was answered (the operation as metrics count it). */
function requestOutcome<C extends BaseContext>(
  options: ServeOptions<C>,
  context: C | undefined,
  slot: RequestSlot,
  status: number,
  refusal: unknown[],
): Parameters<typeof endRequestSpan>[1] {
  const rc = slot.requestContext;
  const body = rc?.response?.body;
  const errors = body?.kind === 'single' ? (body.singleResult.errors ?? []) : [];
  const resolved = rc?.operationName ?? null;
  const name = options.metrics?.operationName && context ? options.metrics.operationName(context, resolved) : resolved;
  return {
    status,
    operationName: name,
    operationType: rc?.operation?.operation,
    errorCodes: rc ? errors.map((e) => e.extensions?.code) : refusal,
  };
}

async function sendMetrics(res: ServerResponse, access: MetricsAccess, authorization: string | undefined): Promise<void> {
  try {
    checkMetricsAccess(access, authorization);
  } catch (error) {
    sendError(res, error);
    return;
  }
  const text = await metrics.scrape();
  res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * A port that serves only /metrics (and /health), for a process without a GraphQL server: the
 * ingester in compose (METRICS_PORT), whose MLLP listener speaks no HTTP.
 */
export async function serveMetrics(options: {
  readonly port: number;
  readonly host?: string;
  readonly access: MetricsAccess;
}): Promise<Pick<RunningHttpServer, 'url' | 'port' | 'close'>> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/health') sendJson(res, 200, { status: 'ok' });
    else if (path === '/metrics')
      sendMetrics(res, options.access, req.headers.authorization).catch((error: unknown) => sendError(res, error));
    else sendError(res, new ProductError('NOT_FOUND', 'not found'));
  });
  const port = await listen(server, options.port, options.host);
  return { url: `http://${options.host ?? '127.0.0.1'}:${port}/metrics`, port, close: () => stopServer(server) };
}

const SUGGESTION = / Did you mean .*\?$/;

/**
 * Apollo Server options shared by the gateway and every subgraph. Production mode turns off
 * introspection and schema hints in errors; stack traces are never sent. The operation limits
 * (platform/operation-limits) apply in every mode; pass the same limits to hardenedPlugins.
 */
export function hardenedServerOptions(
  production: boolean,
  limits: OperationLimits = DEFAULT_OPERATION_LIMITS,
): Pick<
  ApolloServerOptions<BaseContext>,
  | 'introspection'
  | 'includeStacktraceInErrorResponses'
  | 'csrfPrevention'
  | 'formatError'
  | 'hideSchemaDetailsFromClientErrors'
  | 'validationRules'
  | 'parseOptions'
  | 'allowBatchedHttpRequests'
  | 'stopOnTerminationSignals'
> {
  return {
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    // Shutdown is ours (runtime/): Apollo's own signal handler would re-raise SIGINT/SIGTERM and
    // kill the process before the embedded database is closed.
    stopOnTerminationSignals: false,
    // "Did you mean" hints map the schema for anyone who types; off in every mode (introspection,
    // which developers use on purpose, stays on outside production).
    hideSchemaDetailsFromClientErrors: true,
    ...operationLimitServerOptions(limits),
    // Every error a client sees goes through the product's one mapping (platform/errors.ts).
    formatError: (original: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
      const formatted = toClientError(formatLimitError(original), error);
      logServerSideError(formatted, error);
      return { ...formatted, message: formatted.message.replace(SUGGESTION, '') };
    },
  };
}

const errorLog = logger('graphql');

/**
 * Failures on our side (5xx codes: a database, source or subgraph down; an internal error) are
 * logged once where they become a client's error: the code and its details, which are safe by
 * construction, and for an internal error only the error's class name (its message may quote data).
 */
function logServerSideError(formatted: GraphQLFormattedError, error: unknown): void {
  const code = formatted.extensions?.code;
  if (!isErrorCode(code) || ERROR_CODES[code].status < 500) return;
  if (code === 'INTERNAL_SERVER_ERROR') {
    let original = error;
    while (original instanceof GraphQLError && original.originalError) original = original.originalError;
    errorLog.error('internal_error', { error: (original as Error | null)?.constructor?.name ?? 'unknown' });
    return;
  }
  const details = Object.fromEntries(
    Object.entries(formatted.extensions ?? {}).filter(([k, v]) => k !== 'code' && ['string', 'number', 'boolean'].includes(typeof v)),
  ) as Record<string, string | number | boolean>;
  errorLog.warn('request_failed', { ...details, code });
}

/** Plugins shared by the gateway and every subgraph: request metrics, the operation limits, and no landing page in production. */
export function hardenedPlugins<C extends BaseContext>(
  production: boolean,
  limits: OperationLimits = DEFAULT_OPERATION_LIMITS,
): ApolloServerPlugin<C>[] {
  return [
    // No answer is ever HTTP-cacheable (patient data, per caller), and Apollo Server's default cache
    // control plugin computes a cache hint on every resolved field of every object to say so.
    ApolloServerPluginCacheControlDisabled() as ApolloServerPlugin<C>,
    requestMetricsPlugin<C>(),
    ...operationLimitPlugins<C>(limits),
    ...(production ? [ApolloServerPluginLandingPageDisabled() as ApolloServerPlugin<C>] : []),
  ];
}
