// Assembles the whole product in one process: storage, keys, (optionally) the EHR simulators,
// the MPI and vendor adapter subgraphs, the initial load and the gateway. `npm start`, the
// end-to-end tests and the benchmarks all start the product through this one function, so they
// run the same code; compose runs each piece as its own service (runtime/service.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCommittedSupergraph } from '../gateway/compose.ts';
import { startGateway } from '../gateway/server.ts';
import { openCache, type TtlCache } from '../platform/cache.ts';
import { defaultPorts, loadAdapters, loadConnections, loadVendorProfile, type AdapterConfig, type ConnectionConfig } from '../platform/config.ts';
import { dropSchema, migrate, openDatabase, type Database } from '../platform/db.ts';
import type { RunningHttpServer } from '../platform/graphql-http.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair, type KeyStoreOptions } from '../platform/keys.ts';
import { openConnections } from '../protocol/connections.ts';
import { AUDIT_MIGRATIONS } from '../orchestration/audit/audit-log.ts';
import { MPI_MIGRATIONS } from '../orchestration/mpi/store.ts';
import { initialLoad, type LoadReport } from '../orchestration/sync/initial-load.ts';
import { identitySigner, identityVerifier } from '../security/identity-token.ts';
import { DEFAULT_AUDIENCE, DEV_ISSUER, userTokenVerifier, type TrustedIssuer } from '../security/user-token.ts';
import { startSimulators, truthToCsv, type Population } from '../simulators/index.ts';
import { mpiSubgraph } from '../subgraphs/mpi/subgraph.ts';
import { startSubgraph } from '../subgraphs/shared/subgraph-server.ts';
import { vendorAdapterSubgraph } from '../subgraphs/vendor-adapter/subgraph.ts';
import { QUARANTINE_MIGRATIONS } from '../translation/quarantine.ts';

export const ALL_MIGRATIONS = [...AUDIT_MIGRATIONS, ...MPI_MIGRATIONS, ...QUARANTINE_MIGRATIONS];

export type StackOptions = {
  /** postgres:// URL; PGlite when absent. */
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
  /** PGlite directory; in memory when absent. */
  readonly pgliteDir?: string;
  /** Schema for this stack's tables; tests use a fresh one per run. */
  readonly dbSchema?: string;
  /** Drop the schema on close (tests). */
  readonly dropSchemaOnClose?: boolean;
  /** Key directory; a temporary one (removed on close) when absent. */
  readonly keysDir?: string;
  /** Start simulated EHRs for the configured connections (embedded default, tests). */
  readonly simulators?: { readonly seed: number; readonly size: number; readonly truthFile?: string };
  /** Ephemeral ports everywhere (tests, benchmarks) instead of the defaults. */
  readonly ephemeralPorts?: boolean;
  readonly production?: boolean;
  readonly adapters?: readonly AdapterConfig[];
  readonly connections?: readonly ConnectionConfig[];
  readonly cacheTtlSeconds?: number;
  /** Extra trusted token issuers besides the development issuer. */
  readonly issuers?: readonly TrustedIssuer[];
  /** Trust the local development issuer (never in production unless explicitly set). */
  readonly trustDevIssuer?: boolean;
  readonly skipInitialLoad?: boolean;
};

export type Stack = {
  readonly gateway: RunningHttpServer;
  readonly subgraphs: Readonly<Record<string, RunningHttpServer>>;
  readonly simulators?: Awaited<ReturnType<typeof startSimulators>>;
  readonly population?: Population;
  readonly db: Database;
  readonly cache: TtlCache;
  readonly keys: KeyStoreOptions;
  readonly loadReports: readonly LoadReport[];
  readonly connections: readonly ConnectionConfig[];
  close(): Promise<void>;
};

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const adapters = options.adapters ?? loadAdapters();
  const temporaryKeys = options.keysDir ? undefined : mkdtempSync(join(tmpdir(), 'pgw-keys-'));
  const keys: KeyStoreOptions = { dir: options.keysDir ?? temporaryKeys!, generateMissing: true };
  const production = options.production ?? false;
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (temporaryKeys) rmSync(temporaryKeys, { recursive: true, force: true });
  };
  try {
    const db = await openDatabase({ url: options.databaseUrl, dataDir: options.pgliteDir, schema: options.dbSchema });
    cleanups.push(async () => {
      if (options.dropSchemaOnClose) await dropSchema(db);
      await db.close();
    });
    await migrate(db, ALL_MIGRATIONS);
    const cache = openCache({ redisUrl: options.redisUrl, prefix: `pgw:${options.dbSchema ?? 'default'}` });
    cleanups.push(() => cache.close());

    let connections = options.connections ?? loadConnections();
    let simulators: Stack['simulators'];
    if (options.simulators) {
      const clients = await Promise.all(
        connections.map(async (c) => ({ clientId: c.clientId, publicJwk: (await loadKeyPair(keys, keyNames.smartClient(c.id), KEY_ALGORITHMS.smartClient))
          .publicJwk })),
      );
      simulators = await startSimulators({
        seed: options.simulators.seed,
        size: options.simulators.size,
        sites: connections.map((c) => ({ id: c.id, vendor: vendorOf(c, adapters), ...(options.ephemeralPorts ? { port: 0 } : { port: Number(new URL(c.baseUrl).port) }) })),
        clients,
      });
      cleanups.push(() => simulators!.close());
      if (options.simulators.truthFile) writeFileSync(options.simulators.truthFile, truthToCsv(simulators.population.truth));
      // The simulators decide their URLs; point each connection at its simulator.
      connections = connections.map((c) => ({ ...c, baseUrl: simulators!.servers[c.id]!.url }));
    }

    const clients = await openConnections(connections, keys);
    const gatewayKey = await loadKeyPair(keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
    const ports = defaultPorts(adapters);
    const portFor = (name: string): number => (options.ephemeralPorts ? 0 : name === 'mpi' ? ports.mpi : ports.adapters[name]!);
    const runtimeFor = (name: string) => ({ db, production, port: portFor(name), verifyIdentity: identityVerifier([gatewayKey.publicJwk], name) });

    const subgraphs: Record<string, RunningHttpServer> = {};
    subgraphs.mpi = await startSubgraph(mpiSubgraph({ db, adapters, connections }), runtimeFor('mpi'));
    cleanups.push(() => subgraphs.mpi!.close());
    for (const adapter of adapters) {
      const profile = loadVendorProfile(adapter.profile);
      const own = new Map(connections.filter((c) => c.adapter === adapter.name).map((c) => [c.id, { config: c, client: clients.get(c.id)! }]));
      const running = await startSubgraph(vendorAdapterSubgraph(adapter, { db, profile, cache, cacheTtlSeconds: options.cacheTtlSeconds ?? 300, connections: own }), runtimeFor(adapter.name));
      subgraphs[adapter.name] = running;
      cleanups.push(() => running.close());
    }

    const loadReports = options.skipInitialLoad
      ? []
      : await initialLoad(
          db,
          connections.map((c) => ({ connection: c, client: clients.get(c.id)!, profile: loadVendorProfile(adapters.find((a) => a.name === c.adapter)!.profile) })),
        );

    const devIssuer = await loadKeyPair(keys, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
    const issuers: TrustedIssuer[] = [
      ...(options.trustDevIssuer ?? !production ? [{ issuer: DEV_ISSUER, audience: DEFAULT_AUDIENCE, jwks: [devIssuer.publicJwk] }] : []),
      ...(options.issuers ?? []),
    ];
    const gateway = await startGateway({
      supergraphSdl: readCommittedSupergraph(),
      subgraphUrls: Object.fromEntries(Object.entries(subgraphs).map(([name, s]) => [name, s.url])),
      signIdentity: identitySigner(gatewayKey),
      verifyUserToken: userTokenVerifier(issuers),
      port: options.ephemeralPorts ? 0 : ports.gateway,
      production,
    });
    cleanups.push(() => gateway.close());
    return { gateway, subgraphs, simulators, population: simulators?.population, db, cache, keys, loadReports, connections, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function vendorOf(c: ConnectionConfig, adapters: readonly AdapterConfig[]): 'epic' | 'cerner' {
  const profile = adapters.find((a) => a.name === c.adapter)?.profile;
  if (profile !== 'epic' && profile !== 'cerner') throw new Error(`no simulator for the ${profile ?? '?'} profile of connection ${c.id}`);
  return profile;
}
