// Assembles the whole product in one process: storage, keys, (optionally) the EHR simulators,
// the MPI, vendor adapter, audit and clinical subgraphs, the initial load and the gateway. `npm start`, the
// end-to-end tests and the benchmarks all start the product through this one function, so they
// run the same code; compose runs each piece as its own service (runtime/service.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache, type TtlCache } from '../platform/cache.ts';
import {
  defaultPorts,
  fhirConnections,
  hl7Feeds,
  isHl7Feed,
  loadAdapters,
  loadConnections,
  validateConnections,
  type AdapterConfig,
  type AnyConnectionConfig,
  type ConnectionConfig,
} from '../platform/config.ts';
import type { Ingestion } from '../orchestration/ingest/ingestion.ts';
import { dropSchema, servingTimeoutsFromEnv, type Database, type DatabaseTimeouts } from '../platform/db.ts';
import type { RunningHttpServer } from '../platform/graphql-http.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair, type KeyStoreOptions } from '../platform/keys.ts';
import { openConnections } from '../protocol/connections.ts';
import type { LoadReport } from '../orchestration/sync/initial-load.ts';
import type { ProxyTrust } from '../security/client-address.ts';
import type { TrustedIssuer } from '../security/user-token.ts';
import {
  createHl7Sender,
  startSimulators,
  truthToCsv,
  VENDORS,
  type Hl7SiteSpec,
  type Population,
  type Vendor,
} from '../simulators/index.ts';
import { logger } from '../platform/log.ts';
import { metricsAccessFromEnv, type MetricsAccess } from '../platform/metrics.ts';
import { composeSupergraph } from '../gateway/compose.ts';
import {
  auditRoleCheckFromEnv,
  exportSettingsFromEnv,
  loadPatients,
  openLoadingStorage,
  openStorage,
  protectionFor,
  startAdapterService,
  startAuditCheckpointing,
  startAuditService,
  startClinicalService,
  startGatewayService,
  startIntegrationService,
  startMpiService,
  persistBreaker,
  fhirAppliers,
  startFhirSyncService,
  ingestMllpPort,
  startIngestionService,
  type AuditRoleCheck,
  type ExportSettings,
} from './components.ts';
import type { FhirSync } from '../orchestration/sync/scheduler.ts';
import { createTracing, tracingFromEnv, tracingOn, type Tracing, type TracingConfig } from '../platform/tracing.ts';

const hl7SimLog = logger('hl7-simulator');

export type StackOptions = {
  /** postgres:// URL; PGlite when absent. */
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
  /** PGlite directory; in memory when absent. */
  readonly pgliteDir?: string;
  /** Schema for this stack's tables; tests use a fresh one per run. */
  readonly dbSchema?: string;
  /** Bounds on waiting for PostgreSQL; the serving defaults and their DATABASE_*_TIMEOUT_MS overrides when absent. */
  readonly databaseTimeouts?: DatabaseTimeouts;
  /** Drop the schema on close (tests). */
  readonly dropSchemaOnClose?: boolean;
  /** Key directory; a temporary one (removed on close) when absent. */
  readonly keysDir?: string;
  /** Start simulated EHRs for the configured connections (embedded default, tests). */
  readonly simulators?: {
    readonly seed: number;
    readonly size: number;
    readonly truthFile?: string;
    /** Observations added to the first patient of every site (paging tests). */
    readonly largeHistory?: number;
    /** Serve the simulators' development-only change endpoints (/_simulator). */
    readonly devWrites?: boolean;
    /**
     * Simulate the HL7 v2 feeds too: their sites join the population and, once the MLLP listener
     * is up, send their ADT and ORU traffic to it (the same control ids at every start).
     */
    readonly hl7?: boolean;
  };
  /**
   * Incremental FHIR sync and the inbox workers applying its events: on by default, polling each
   * connection every syncIntervalSeconds; `autoStart: false` polls only on sync.runNow (tests); false = none.
   */
  readonly sync?: false | { readonly autoStart?: boolean };
  /** Ephemeral ports everywhere (tests, benchmarks) instead of the defaults. */
  readonly ephemeralPorts?: boolean;
  readonly production?: boolean;
  /**
   * Vendor adapters other than config/adapters.json's (a hospital on a new vendor, added by
   * configuration): the supergraph is then composed for them at start instead of read from
   * gateway/supergraph.graphql.
   */
  readonly adapters?: readonly AdapterConfig[];
  readonly connections?: readonly AnyConnectionConfig[];
  /** The HL7 v2 MLLP listener's port: INGEST_MLLP_PORT or 2575 (0 with ephemeralPorts); null starts no ingestion. */
  readonly ingestMllpPort?: number | null;
  readonly cacheTtlSeconds?: number;
  /** Extra trusted token issuers besides the development issuer. */
  readonly issuers?: readonly TrustedIssuer[];
  /** Trust the local development issuer (never in production unless explicitly set). */
  readonly trustDevIssuer?: boolean;
  readonly skipInitialLoad?: boolean;
  /** Proxies trusted to name the client in x-forwarded-for / forwarded (TRUSTED_PROXIES); none when absent. */
  readonly proxyTrust?: ProxyTrust | null;
  /** In production: refuse to start (default, or AUDIT_ROLE_CHECK) or warn when the database role could rewrite the audit log. */
  readonly auditRoleCheck?: AuditRoleCheck;
  /** Cohort exports: directory and lifetime (EXPORTS_DIR, EXPORT_TTL_SECONDS; DATA_DIR/exports and a day when absent). */
  readonly exports?: Omit<ExportSettings, 'baseUrl'>;
  /** The bearer token /metrics asks for on every port (METRICS_TOKEN when absent); in production no /metrics without one. */
  readonly metricsToken?: string;
  /**
   * The gateway appends each client request's audit rows in one commit, handed over by the subgraphs
   * (default); false: every subgraph commits its own rows before answering, as when it is called directly.
   */
  readonly auditHandoff?: boolean;
  /** Traces (platform/tracing.ts): this configuration, null for none; from the environment (OTEL_*) when absent. */
  readonly tracing?: TracingConfig | null;
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
  readonly connections: readonly AnyConnectionConfig[];
  /** HL7 v2 ingestion (MLLP listener + inbox workers); undefined when not started. */
  readonly ingestion?: Ingestion;
  /** Incremental sync (absent when turned off). */
  readonly sync?: FhirSync;
  /** Traces, when on (flush() exports what is buffered). */
  readonly tracing?: Tracing;
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
    // First on, last off: shutting down exports the spans of everything closed before it.
    // From the environment unless another stack of this process turned it on already (its spans carry this one's too).
    const fromEnv = () => (tracingOn() ? undefined : tracingFromEnv('patient-gateway'));
    const tracing = options.tracing === undefined ? fromEnv() : options.tracing && createTracing(options.tracing);
    if (tracing) cleanups.push(() => tracing.shutdown());
    const db = await openStorage(
      {
        url: options.databaseUrl,
        dataDir: options.pgliteDir,
        schema: options.dbSchema,
        timeouts: options.databaseTimeouts ?? servingTimeoutsFromEnv(),
      },
      { production, auditRoleCheck: options.auditRoleCheck ?? auditRoleCheckFromEnv() },
    );
    cleanups.push(async () => {
      if (options.dropSchemaOnClose) await dropSchema(db);
      await db.close();
    });
    // The initial load, incremental sync and the application of its events: longer bounds (LOADING_TIMEOUTS).
    const loading = await openLoadingStorage(db, options.databaseUrl);
    cleanups.push(() => loading.close());
    const checkpoints = await startAuditCheckpointing(db, keys);
    cleanups.push(() => checkpoints.stop());
    // Cached values are encrypted with the field-encryption keys (platform/cache.ts).
    const cache = openCache({ redisUrl: options.redisUrl, prefix: `pgw:${db.schema}`, cipher: protectionFor(keys).cipher, production });
    cleanups.push(async () => {
      if (options.dropSchemaOnClose) await cache.clear();
      await cache.close();
    });

    let connections = validateConnections(options.connections ?? loadConnections());
    let simulators: Stack['simulators'];
    if (options.simulators) {
      const clients = await Promise.all(
        fhirConnections(connections).map(async (c) => ({
          clientId: c.clientId,
          publicJwk: (await loadKeyPair(keys, keyNames.smartClient(c.id), KEY_ALGORITHMS.smartClient)).publicJwk,
        })),
      );
      simulators = await startSimulators({
        seed: options.simulators.seed,
        size: options.simulators.size,
        sites: fhirConnections(connections).map((c) => ({
          id: c.id,
          vendor: vendorOf(c, adapters),
          timeZone: c.timeZone,
          port: options.ephemeralPorts ? 0 : Number(new URL(c.baseUrl).port),
        })),
        clients,
        largeHistory: options.simulators.largeHistory ? { observations: options.simulators.largeHistory } : undefined,
        devWrites: options.simulators.devWrites,
        ...(options.simulators.hl7 ? { hl7Sites: hl7SimulatorSites(connections) } : {}),
      });
      cleanups.push(() => simulators!.close());
      if (options.simulators.truthFile) writeFileSync(options.simulators.truthFile, truthToCsv(simulators.population.truth));
      // The simulators decide their URLs; point each connection at its simulator.
      connections = connections.map((c) => (isHl7Feed(c) ? c : { ...c, baseUrl: simulators!.servers[c.id]!.url }));
    }

    const clients = await openConnections(fhirConnections(connections), keys, persistBreaker(db));
    const ports = defaultPorts(adapters);
    const metricsAccess: MetricsAccess = options.metricsToken
      ? { production, token: options.metricsToken }
      : metricsAccessFromEnv(production);
    const common = { db, keys, production, metricsAccess };
    const track = (running: RunningHttpServer): RunningHttpServer => (cleanups.push(() => running.close()), running);

    const subgraphs: Record<string, RunningHttpServer> = {};
    // Download URLs name the gateway, which starts last (PUBLIC_BASE_URL, when set, wins: a proxy in front).
    let gatewayOrigin = `http://localhost:${ports.gateway}`;
    const exportsBase = exportSettingsFromEnv().baseUrl ?? (() => gatewayOrigin);
    subgraphs.mpi = track(
      await startMpiService({
        ...common,
        port: options.ephemeralPorts ? 0 : ports.mpi,
        adapters,
        connections,
        exports: { ...options.exports, baseUrl: exportsBase },
      }),
    );
    for (const adapter of adapters) {
      subgraphs[adapter.name] = track(
        await startAdapterService({
          ...common,
          port: options.ephemeralPorts ? 0 : ports.adapters[adapter.name]!,
          adapter,
          connections,
          clients,
          cache,
          cacheTtlSeconds: options.cacheTtlSeconds ?? 300,
        }),
      );
    }
    subgraphs.audit = track(await startAuditService({ ...common, port: options.ephemeralPorts ? 0 : ports.audit }));
    subgraphs.clinical = track(await startClinicalService({ ...common, port: options.ephemeralPorts ? 0 : ports.clinical }));
    subgraphs.integration = track(
      await startIntegrationService({ ...common, port: options.ephemeralPorts ? 0 : ports.integration, adapters, connections }),
    );
    const loadReports = options.skipInitialLoad
      ? []
      : await loadPatients(loading.db, keys, adapters, fhirConnections(connections), clients, { skipLoaded: true });
    // The MLLP listener (HL7 v2 feeds) and the inbox workers, which also apply incremental sync's
    // events: workers only when there is no listener port but sync is on (closed before the database).
    const mllpPort = options.ingestMllpPort === undefined ? (options.ephemeralPorts ? 0 : ingestMllpPort()) : options.ingestMllpPort;
    const ingestion =
      mllpPort === null && options.sync === false
        ? undefined
        : await startIngestionService({
            db,
            keys,
            adapters,
            connections,
            port: mllpPort,
            redisUrl: options.redisUrl,
            appliers: fhirAppliers({ db: loading.db, keys, adapters, connections }),
          });
    if (ingestion) cleanups.push(() => ingestion.close());
    if (ingestion?.port && simulators) {
      const traffic = sendHl7Traffic(simulators.hl7Traffic, ingestion.port);
      cleanups.push(() => traffic.stop());
    }
    let sync: FhirSync | undefined;
    if (options.sync !== false) {
      const running = startFhirSyncService({
        db: loading.db,
        keys,
        connections: fhirConnections(connections),
        clients,
        autoStart: options.sync?.autoStart,
        ...(ingestion ? { onEvents: ingestion.notify } : {}),
      });
      cleanups.push(() => running.stop());
      sync = running;
    }
    const gateway = track(
      await startGatewayService({
        keys,
        subgraphUrls: Object.fromEntries(Object.entries(subgraphs).map(([name, s]) => [name, s.url])),
        ...(options.adapters ? { supergraphSdl: composeSupergraph(adapters) } : {}),
        port: options.ephemeralPorts ? 0 : ports.gateway,
        production,
        trustDevIssuer: options.trustDevIssuer ?? !production,
        issuers: options.issuers,
        proxyTrust: options.proxyTrust,
        metricsAccess,
        // One audit commit per client request: the subgraphs hand their rows to the gateway.
        ...(options.auditHandoff === false ? {} : { auditDb: db }),
      }),
    );
    gatewayOrigin = new URL(gateway.url).origin;
    return {
      gateway,
      subgraphs,
      simulators,
      population: simulators?.population,
      db,
      cache,
      keys,
      loadReports,
      connections,
      ...(ingestion ? { ingestion } : {}),
      ...(sync ? { sync } : {}),
      ...(tracing ? { tracing } : {}),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The HL7 v2 feeds as simulated sites: each sends as the facility its feed is configured for. */
const hl7SimulatorSites = (connections: readonly AnyConnectionConfig[]): Hl7SiteSpec[] =>
  hl7Feeds(connections).map((f) => ({ id: f.id, facility: f.facility.sendingFacility, timeZone: f.timeZone }));

/** The simulated HL7 sites send their traffic in the background, each retransmitting until answered. */
function sendHl7Traffic(traffic: Readonly<Record<string, readonly string[]>>, port: number): { stop(): Promise<void> } {
  const senders = Object.entries(traffic).map(([site, messages]) => {
    const sender = createHl7Sender({ host: '127.0.0.1', port });
    let accepted = 0;
    const done = sender
      .sendAll(messages, (ack) => {
        if (/\rMSA\|(AA|CA)\|/.test(`\r${ack}`)) accepted++;
      })
      .then((sent) => hl7SimLog.info('hl7_site_sent', { site, sent, accepted, retransmissions: sender.retransmissions }))
      .catch((error: unknown) => hl7SimLog.warn('hl7_site_failed', { site, error: (error as Error).name }));
    return { sender, done };
  });
  return {
    async stop() {
      await Promise.all(senders.map(async (s) => (await s.sender.close(), await s.done)));
    },
  };
}

/** The simulated vendor of a connection: the one named like its adapter's vendor profile. */
function vendorOf(c: ConnectionConfig, adapters: readonly AdapterConfig[]): Vendor {
  const profile = adapters.find((a) => a.name === c.adapter)?.profile;
  const vendor = VENDORS.find((v) => v === profile);
  if (!vendor) throw new Error(`no simulator for the ${profile ?? '?'} profile of connection ${c.id}`);
  return vendor;
}
