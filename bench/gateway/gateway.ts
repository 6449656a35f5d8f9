// Gateway child of the benchmark, one process per gateway so each one's CPU and peak RSS are its
// own. `full` is the product's gateway exactly as deployed (startGatewayService: JWT
// verification, a signed identity per subgraph call, timeouts); `stock` is a plain
// @apollo/gateway in a plain Apollo Server with its standalone HTTP server, nothing added.
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { performance } from 'node:perf_hooks';
import { readCommittedSupergraph } from '../../gateway/compose.ts';
import { startGatewayService } from '../../runtime/components.ts';
import { maxRssKb, send, stopOnRequest, type GatewayConfig } from './protocol.ts';

async function startFull(config: GatewayConfig): Promise<{ url: string; close(): Promise<void> }> {
  return startGatewayService({
    keys: { dir: config.keysDir, generateMissing: false },
    subgraphUrls: config.subgraphUrls,
    port: 0,
    host: '127.0.0.1',
    production: false,
    trustDevIssuer: true,
  });
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

async function main(): Promise<void> {
  const started = performance.now();
  const config = JSON.parse(process.argv[2] ?? '{}') as GatewayConfig;
  if (config.kind !== 'full' && config.kind !== 'stock') throw new Error('usage: gateway.ts <GatewayConfig JSON>');
  const running = await (config.kind === 'full' ? startFull(config) : startStock(config));
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
