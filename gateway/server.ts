// The gateway: @apollo/gateway on the committed static supergraph. It authenticates callers
// (bearer JWTs), never forwards what a client says about itself, and calls each subgraph with a
// single-use identity signed for that subgraph and that request alone, under a timeout.
// Tracing first: @apollo/gateway takes its tracer when it loads (platform/tracing.ts).
import { traceSubgraphCall } from '../platform/tracing.ts';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import type { IncomingMessage } from 'node:http';
import { logger } from '../platform/log.ts';
import { hardenedPlugins, hardenedServerOptions, serveGraphQL, type RunningHttpServer } from '../platform/graphql-http.ts';
import { errorCodeLabel, metrics, metricsAccessFromEnv, type MetricsAccess } from '../platform/metrics.ts';
import type { OperationLimits } from '../platform/operation-limits/index.ts';
import type { ReadinessCheck } from '../platform/graphql-http.ts';
import type { ProxyTrust } from '../security/client-address.ts';
import type { IdentitySigner } from '../security/identity-token.ts';
import type { Principal } from '../security/principal.ts';
import type { UserTokenVerifier } from '../security/user-token.ts';
import type { ConsoleRoutes } from './console.ts';
import { EXPLORER_PATH, type ExplorerRoutes } from './explorer.ts';
import { subgraphDefinitions } from './compose.ts';
import { downloadRoute } from './downloads.ts';
import { auditHandoffPlugin, auditUnavailable, handoffCollector, type AuditHandoffSink, type HandoffCollector } from './audit-handoff.ts';
import { subgraphFetcher } from './subgraph-client.ts';
import { authenticateCaller, subgraphCallHeaders } from './identity-forwarding.ts';
import { withEntityErrorPaths } from './entity-error-paths.ts';
import { planCostCheck, subgraphCallFailure, subgraphRefusal, subgraphSchemas } from './subgraph-limits.ts';

export type GatewayContext = {
  readonly principal: Principal;
  /** The audit rows the subgraph calls of this request handed over, when the gateway appends them (auditHandoff). */
  readonly audit?: HandoffCollector;
};

export type GatewayOptions = {
  readonly supergraphSdl: string;
  /** Subgraph name -> URL; overrides the URLs recorded in the supergraph. */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  readonly signIdentity: IdentitySigner;
  readonly verifyUserToken: UserTokenVerifier;
  readonly port: number;
  readonly host?: string;
  readonly production: boolean;
  /** Upper bound for one subgraph call. */
  readonly subgraphTimeoutMs?: number;
  /** Depth, aliases, cost... (platform/operation-limits); its defaults when absent. */
  readonly operationLimits?: OperationLimits;
  /** What /ready checks (each subgraph's /ready). */
  readonly readiness?: readonly ReadinessCheck[];
  /** Proxies whose forwarded-for header names the client (TRUSTED_PROXIES); none when absent. */
  readonly proxyTrust?: ProxyTrust | null;
  /** Who may read /metrics; METRICS_TOKEN when absent. */
  readonly metricsAccess?: MetricsAccess;
  /** The steward console (gateway/console.ts) on the same port, at /console. */
  readonly console?: ConsoleRoutes;
  /** The GraphQL explorer (gateway/explorer.ts), development mode only, at /explorer. */
  readonly explorer?: ExplorerRoutes;
  /**
   * The audit log, for the hand-off: the subgraphs then hand their rows to the gateway, which appends all rows
   * of a client request in one commit before answering (orchestration/audit/handoff.ts). Absent, each subgraph
   * commits its own rows before it answers.
   */
  readonly auditHandoff?: AuditHandoffSink;
};

const log = logger('gateway');

/** Cohort export downloads: `/exports/...` on the gateway's port, relayed to the MPI subgraph, which holds the files. */
export const DOWNLOADS = { prefix: '/exports/', subgraph: 'mpi' } as const;

class IdentityForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly #subgraph: string;
  readonly #sign: IdentitySigner;
  readonly #audit: AuditHandoffSink | undefined;
  /** The hand-off nonce of each call in flight (willSendRequest and process see the same request object). */
  readonly #nonces = new WeakMap<object, string>();
  constructor(url: string, subgraph: string, sign: IdentitySigner, timeoutMs: number, audit: AuditHandoffSink | undefined) {
    // Kept-alive connections to the subgraph over node:http; the timeout bounds every call (gateway/subgraph-client.ts).
    super({ url, fetcher: subgraphFetcher(url, timeoutMs) as never });
    this.#subgraph = subgraph;
    this.#sign = sign;
    this.#audit = audit;
  }
  override async willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const { request, context } = options;
    const principal = (context as Partial<GatewayContext>).principal;
    // Health checks and schema loads carry no principal; there are none with a static supergraph.
    if (!principal) throw new Error('no authenticated principal for a subgraph call');
    const incoming = 'incomingRequestContext' in options ? options.incomingRequestContext : undefined;
    const audit = (context as Partial<GatewayContext>).audit;
    const nonce = audit && this.#audit ? this.#audit.nonce() : undefined;
    if (nonce) this.#nonces.set(request, nonce);
    // A fresh identity per call, bound to this document and these variables (gateway/identity-forwarding.ts).
    const headers = await subgraphCallHeaders(
      this.#sign,
      principal,
      this.#subgraph,
      request,
      {
        operationName: incoming?.operationName,
        documentHash: incoming?.queryHash,
        traceparent: incoming?.request.http?.headers.get('traceparent'),
      },
      nonce ? { auditHandoff: nonce } : undefined,
    );
    for (const [name, value] of Object.entries(headers)) request.http?.headers.set(name, value);
  }
  /** Each call timed for /metrics by subgraph and outcome: ok, errors (answered with GraphQL errors) or the failure's code; and traced. */
  override process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    return traceSubgraphCall(this.#subgraph, () => this.#process(options));
  }
  async #process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const started = performance.now();
    try {
      const response = this.#takeAuditRows(options, await super.process(options));
      metrics.subgraphCall(this.#subgraph, response.errors?.length ? 'errors' : 'ok', started);
      return response;
    } catch (error) {
      const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
      metrics.subgraphCall(this.#subgraph, errorCodeLabel(code), started);
      throw error;
    }
  }
  /**
   * Hands the call's audit rows to the request's collector and strips them from the response. A response
   * whose rows are missing or not this call's is refused: its data never reaches the client.
   */
  #takeAuditRows<R extends { data?: unknown; extensions?: Record<string, unknown> }>(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
    response: R,
  ): R {
    const nonce = this.#nonces.get(options.request);
    const context = options.context as Partial<GatewayContext>;
    if (!nonce || !this.#audit || !context.audit || !context.principal) return response;
    this.#nonces.delete(options.request);
    // An answer without data (a refusal) discloses nothing: it passes with its own error even without rows.
    if (!this.#audit.carries(response.extensions) && (response.data === undefined || response.data === null)) return response;
    try {
      const { rows, extensions } = this.#audit.take(response.extensions, {
        nonce,
        subgraph: this.#subgraph,
        requestId: context.principal.requestId,
        actorSub: context.principal.sub,
      });
      context.audit.add(rows);
      return { ...response, extensions };
    } catch (error) {
      log.error('audit_handoff_refused', { subgraph: this.#subgraph, reason: (error as Error).message });
      const product = auditUnavailable();
      throw new GraphQLError(product.message, { originalError: product });
    }
  }
  /** A subgraph's refusal reaches the client with its code and bound, not as an internal error. */
  override async errorFromResponse(response: Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0]) {
    return subgraphRefusal(this.#subgraph, response.status, await this.parseBody(response).catch(() => undefined));
  }
  /** A call that got no answer (timeout, connection refused) is SUBGRAPH_UNAVAILABLE naming the subgraph. */
  override didEncounterError(error: Error): void {
    throw subgraphCallFailure(this.#subgraph, error);
  }
}

export async function startGateway(options: GatewayOptions): Promise<RunningHttpServer> {
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    // Each subgraph's part of the plan must pass that subgraph's cost limit: refused here, before any call.
    experimental_didResolveQueryPlan: planCostCheck(subgraphSchemas(subgraphDefinitions()), options.operationLimits),
    buildService: ({ name, url }) =>
      withEntityErrorPaths(
        new IdentityForwardingDataSource(
          options.subgraphUrls[name] ?? url ?? '',
          name,
          options.signIdentity,
          options.subgraphTimeoutMs ?? 10_000,
          options.auditHandoff,
        ),
      ),
  });
  const plugins: ApolloServerPlugin<GatewayContext>[] = [
    ...hardenedPlugins<GatewayContext>(options.production, options.operationLimits),
    ...(options.auditHandoff ? [auditHandoffPlugin<GatewayContext>(options.auditHandoff)] : []),
  ];
  const server = new ApolloServer<GatewayContext>({
    gateway,
    ...hardenedServerOptions(options.production, options.operationLimits),
    plugins,
  });
  await server.start();
  // Identity comes from the verified token only; headers such as x-user or x-roles are ignored.
  // A refusal is UNAUTHENTICATED (HTTP 401) from the verifier.
  const authenticate = async (req: IncomingMessage): Promise<GatewayContext> => ({
    principal: await authenticateCaller(options.verifyUserToken, options.proxyTrust ?? null, req),
    ...(options.auditHandoff ? { audit: handoffCollector() } : {}),
  });
  const downloadsUrl = options.subgraphUrls[DOWNLOADS.subgraph];
  const downloads = downloadsUrl
    ? downloadRoute({
        ...DOWNLOADS,
        subgraphUrl: downloadsUrl,
        signIdentity: options.signIdentity,
        authenticate,
        timeoutMs: options.subgraphTimeoutMs ?? 10_000,
      })
    : undefined;
  const consoleRoutes = options.console;
  const explorer = options.explorer;
  return serveGraphQL({
    server,
    port: options.port,
    host: options.host,
    authenticate,
    tracing: { component: 'gateway', parent: 'client' },
    health: async () => ({ component: 'gateway' }),
    readiness: options.readiness,
    operationLimits: options.operationLimits,
    metrics: { component: 'gateway', access: options.metricsAccess ?? metricsAccessFromEnv(options.production) },
    // Export downloads (/exports/...), then the console (/console...), then the explorer (/explorer...).
    routes: async (req, res) =>
      ((await downloads?.(req, res)) ?? false) || ((await consoleRoutes?.(req, res)) ?? false) || ((await explorer?.(req, res)) ?? false),
    // A browser opening /graphql in development lands in the explorer.
    ...(explorer && !options.production ? { browserPage: EXPLORER_PATH } : {}),
  });
}
