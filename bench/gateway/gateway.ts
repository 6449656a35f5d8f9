// Gateway child of the benchmark, one process per target so each one's CPU and peak RSS are its
// own. `full` is the product's gateway exactly as deployed (startGatewayService: JWT
// verification, a signed identity per subgraph call, timeouts); `stock` is a plain
// @apollo/gateway in a plain Apollo Server with its standalone HTTP server, nothing added;
// `hive-rust` is Hive Gateway with the Rust query planner (@graphql-hive/router-runtime), nothing
// added but the subgraph URLs, with in-flight request de-duplication off (`hive-rust-dedup`: on,
// its default); `floor` is no gateway at all (floor.ts).
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';
import httpTransport from '@graphql-mesh/transport-http';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { readCommittedSupergraph } from '../../gateway/compose.ts';
import { useSubgraphUrls } from '../../gateway/hive/server.ts';
import { openDatabase } from '../../platform/db.ts';
import { startGatewayService } from '../../runtime/components.ts';
import { startFloor } from './floor.ts';
import { GATEWAY_KINDS, maxRssKb, send, stopOnRequest, type GatewayConfig } from './protocol.ts';
import { listen, stopServer } from '../../platform/graphql-http.ts';

async function startFull(config: GatewayConfig): Promise<{ url: string; close(): Promise<void> }> {
  const auditDb = config.auditDatabase ? await openDatabase({ ...config.auditDatabase, maxConnections: 4 }) : undefined;
  const gateway = await startGatewayService({
    keys: { dir: config.keysDir, generateMissing: false },
    subgraphUrls: config.subgraphUrls,
    port: 0,
    host: '127.0.0.1',
    production: false,
    trustDevIssuer: true,
    ...(auditDb ? { auditDb } : {}),
  });
  return { url: gateway.url, close: () => gateway.close().finally(() => auditDb?.close()) };
}

async function startStock(config: GatewayConfig): Promise<{ url: string; close(): Promise<void> }> {
  const gateway = new ApolloGateway({
    supergraphSdl: readCommittedSupergraph(),
    buildService: ({ name, url }) => new RemoteGraphQLDataSource({ url: config.subgraphUrls[name] ?? url }),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, close: () => server.stop() };
}

async function startHive(config: GatewayConfig, deduplicate: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const runtime = createGatewayRuntime({
    supergraph: readCommittedSupergraph(),
    unifiedGraphHandler,
    transports: { http: httpTransport },
    transportEntries: { '*.http': { options: { deduplicateInflightRequests: deduplicate } } },
    graphqlEndpoint: '/graphql',
    graphiql: false,
    landingPage: false,
    logging: 'warn',
    plugins: () => [useSubgraphUrls(config.subgraphUrls)],
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, runtime);
  const port = await listen(server, 0);
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      await stopServer(server);
      await runtime.dispose();
    },
  };
}

const START = {
  full: startFull,
  stock: startStock,
  'hive-rust': (c: GatewayConfig) => startHive(c, false),
  'hive-rust-dedup': (c: GatewayConfig) => startHive(c, true),
  floor: (c: GatewayConfig) => startFloor(c.subgraphUrls, c.subgraphOfRecordType),
} as const satisfies Record<GatewayConfig['kind'], (c: GatewayConfig) => Promise<{ url: string; close(): Promise<void> }>>;

async function main(): Promise<void> {
  const started = performance.now();
  const config = JSON.parse(process.argv[2] ?? '{}') as GatewayConfig;
  if (!GATEWAY_KINDS.includes(config.kind)) throw new Error('usage: gateway.ts <GatewayConfig JSON>');
  const running = await START[config.kind](config);
  stopOnRequest(
    () => running.close(),
    async () => ({ type: 'stats', maxRssKb: maxRssKb() }),
  );
  send({ type: 'ready', url: running.url, startupSeconds: (performance.now() - started) / 1000 });
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench gateway] ${(error as Error).stack ?? String(error)}\n`);
  send({ type: 'failed', message: (error as Error).message });
  setTimeout(() => process.exit(1), 200);
});
