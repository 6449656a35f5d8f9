// The committed supergraph served by Hive Gateway (MIT, @graphql-hive/gateway-runtime) with the
// product's authentication, per-subgraph identities and operation limits as plugins: the path for
// users who outgrow the Node gateway (README, "Scale-out"). The subgraphs cannot tell the two apart.
import { createGatewayRuntime, useUpstreamTimeout, type GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { Logger, type LogLevel } from '@graphql-hive/logger';
import httpTransport from '@graphql-mesh/transport-http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningHttpServer } from '../../platform/graphql-http.ts';
import { toHttpError } from '../../platform/errors.ts';
import { logger } from '../../platform/log.ts';
import type { GatewayOptions } from '../server.ts';
import { subgraphCallFailure } from '../subgraph-limits.ts';
import { useOperationLimits } from './hardening.ts';
import { useProductAuth } from './product-auth.ts';

/**
 * The Node gateway's options (gateway/server.ts), less its /ready checks: Hive Gateway's /ready says its
 * schema is loaded. Production mode turns introspection off; GraphiQL and the landing page are off in every mode.
 */
export type HiveGatewayOptions = Omit<GatewayOptions, 'readiness'>;

const log = logger('hive-gateway');
const field = (attrs: unknown, name: string): string | undefined => {
  const value = (attrs as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, 100) : undefined;
};

/**
 * Hive Gateway's own logs, through the product's log without PHI: its records carry the subgraph
 * request's body and variables and error messages that may quote data, so only the level, the error
 * code and the subgraph's name are kept (platform/log.ts).
 */
const productLogger = new Logger({
  level: 'warn',
  writers: [
    {
      write(level: LogLevel, attrs) {
        const extensions = (attrs as { extensions?: unknown } | null | undefined)?.extensions;
        const fields = { code: field(extensions, 'code') ?? field(attrs, 'code'), subgraph: field(extensions, 'serviceName') };
        if (level === 'error') log.error('hive_gateway_error', fields);
        else if (level === 'warn') log.warn('hive_gateway_warning', fields);
      },
    },
  ],
});

/** Sends each subgraph's calls to its configured URL (compose service names, ephemeral test ports, the benchmark). */
export function useSubgraphUrls(urls: Readonly<Record<string, string>>): GatewayPlugin {
  return {
    onFetch({ executionRequest, setURL }) {
      const url = executionRequest?.subgraphName ? urls[executionRequest.subgraphName] : undefined;
      if (url) setURL(url);
    },
  };
}

/**
 * A subgraph call that got no answer (connection refused, timeout) reaches the client as the Node gateway
 * says it: SUBGRAPH_UNAVAILABLE naming the subgraph and the failure, instead of a bare internal error.
 * It is handed to Hive Gateway as that subgraph's GraphQL answer, so the rest of the plan proceeds alike.
 */
function useSubgraphFailures(): GatewayPlugin {
  return {
    onFetch({ executionRequest, fetchFn, setFetchFn }) {
      const subgraph = executionRequest?.subgraphName;
      if (!subgraph) return;
      setFetchFn(async (...args) => {
        try {
          return await fetchFn(...args);
        } catch (error) {
          const { body } = toHttpError(subgraphCallFailure(subgraph, error as Error).originalError);
          return new Response(JSON.stringify({ data: null, ...body }), { headers: { 'content-type': 'application/json' } });
        }
      });
    },
  };
}

export async function startHiveGateway(options: HiveGatewayOptions): Promise<RunningHttpServer> {
  const runtime = createGatewayRuntime({
    supergraph: options.supergraphSdl,
    // The subgraphs speak GraphQL over HTTP; loaded here rather than looked up by name at the first request.
    transports: { http: httpTransport },
    // Never merge identical in-flight subgraph queries (the HTTP executor's default): it merges before
    // the identity is signed, so one caller's authorized answer would go to another, unaudited.
    transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } },
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    readinessCheckEndpoint: '/ready',
    graphiql: false,
    landingPage: false,
    // Errors the product did not shape (a bug, a failed fetch) reach the client as a bare internal error.
    maskedErrors: true,
    ...(options.production ? { disableIntrospection: {} } : {}),
    logging: productLogger,
    plugins: () => [
      useSubgraphUrls(options.subgraphUrls),
      useUpstreamTimeout(options.subgraphTimeoutMs ?? 10_000),
      useSubgraphFailures(),
      useOperationLimits(options.operationLimits),
      useProductAuth({ verifyUserToken: options.verifyUserToken, signIdentity: options.signIdentity, proxyTrust: options.proxyTrust }),
    ],
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, runtime);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/graphql`,
    port,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.dispose();
    },
  };
}
