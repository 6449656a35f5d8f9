// One piece of the product per process, for docker compose and other multi-process deployments:
//   node runtime/service.ts keys | mpi | audit | clinical | integration | adapter <name> | ingest | gateway
// Configuration comes from config/ and the environment (README, "Configuration").
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCache } from '../platform/cache.ts';
import { openDatabase, servingTimeoutsFromEnv } from '../platform/db.ts';
import { dataDir, defaultPorts, fhirConnections, isProduction, loadAdapters, loadConnections } from '../platform/config.ts';
import { serveMetrics, type RunningHttpServer } from '../platform/graphql-http.ts';
import { metricsAccessFromEnv } from '../platform/metrics.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair, loadSecretKey, type KeyStoreOptions } from '../platform/keys.ts';
import { loadFieldKeys } from '../security/field-encryption.ts';
import { logger } from '../platform/log.ts';
import { exitOnUnhandledErrors } from './crash-policy.ts';
import { tracingFromEnv } from '../platform/tracing.ts';
import { openConnections } from '../protocol/connections.ts';
import type { FhirConnection } from '../protocol/fhir/client.ts';
import {
  auditRoleCheckFromEnv,
  databaseOptionsFromEnv,
  loadPatients,
  openLoadingStorage,
  openStorage,
  protectionFor,
  proxyTrustFromEnv,
  startAdapterService,
  startAuditCheckpointing,
  startAuditService,
  startClinicalService,
  startGatewayService,
  GATEWAY_ENGINES,
  type GatewayEngine,
  startIntegrationService,
  startMpiService,
  fhirAppliers,
  persistBreaker,
  startFhirSyncService,
  ingestMllpPort,
  startIngestionService,
} from './components.ts';
import { commandLine, reportFailure, usageError } from './cli.ts';

const SERVICE_COMMAND = {
  name: 'service',
  usage: 'node runtime/service.ts keys | mpi | audit | clinical | integration | adapter NAME | ingest | gateway',
  description:
    'Starts one piece of the product in this process, for docker compose and other multi-process deployments:\n' +
    '  keys          generates the keys once (KEYS_DIR), then exits\n' +
    '  mpi           the MPI subgraph; it also runs the initial load and signs the audit checkpoints\n' +
    '  audit         the audit subgraph\n' +
    '  clinical      the clinical subgraph (merged clinical view from the canonical store)\n' +
    '  integration   the integration subgraph (quarantine, re-processing, lineage impact)\n' +
    '  adapter NAME  the vendor adapter subgraph NAME of config/adapters.json\n' +
    '  ingest        the HL7 v2 MLLP listener (INGEST_MLLP_PORT, default 2575) and the inbox workers (INGEST_WORKERS);\n' +
    '                its /metrics on METRICS_PORT (default 9464)\n' +
    '  gateway       the gateway (SUBGRAPH_URL_<NAME> for each subgraph; GATEWAY_ENGINE=hive serves it on Hive Gateway)',
  options: {},
  positionals: { min: 1, max: 2 },
  example: 'DATABASE_URL=postgres://app@db:5432/gateway KEYS_DIR=/keys node runtime/service.ts mpi',
  notes:
    'Configuration: config/ and the environment (README, "Configuration"): DATABASE_URL, REDIS_URL, KEYS_DIR, PORT, HOST, INGEST_MLLP_PORT,\n' +
    "METRICS_TOKEN (bearer token of /metrics; required in production), METRICS_PORT (the ingester's /metrics).",
} as const;

const log = logger('service');
const env = process.env;
const [role, name] = commandLine(SERVICE_COMMAND).positionals;
if (name !== undefined && role !== 'adapter') throw usageError(`unexpected argument ${JSON.stringify(name)}`, 'arguments');
const adapters = loadAdapters();
const connections = loadConnections();
const ports = defaultPorts(adapters);
const host = env.HOST ?? '0.0.0.0';
const production = isProduction();
// Only the one-shot `keys` service generates keys; every other service requires them.
const keys: KeyStoreOptions = { dir: env.KEYS_DIR ?? join(dataDir(), 'keys'), generateMissing: role === 'keys' };
/** A started piece: an HTTP server, or the MLLP ingester. */
type Running = Pick<RunningHttpServer, 'url' | 'close'>;
let running: Running | undefined;
// A bug nobody caught is logged without PHI and ends the process (the container restarts it).
exitOnUnhandledErrors(async () => running?.close());
// Traces when an OTLP endpoint is configured (README, "Traces"); flushed on shutdown.
const tracing = tracingFromEnv(`patient-gateway-${name ?? role}`);
// A serving process: every wait on PostgreSQL is bounded (README, "Configuration").
const storage = () =>
  openStorage({ ...databaseOptionsFromEnv(), timeouts: servingTimeoutsFromEnv() }, { production, auditRoleCheck: auditRoleCheckFromEnv() });

async function run(): Promise<Running | undefined> {
  switch (role) {
    case 'keys': {
      // The development issuer's key exists only where development tokens may be trusted.
      if (!production) await loadKeyPair(keys, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
      await loadKeyPair(keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
      await loadKeyPair(keys, keyNames.auditCheckpoint, KEY_ALGORITHMS.auditCheckpoint);
      loadSecretKey(keys, keyNames.cohortCursor);
      loadFieldKeys(keys.dir, true);
      const clients: Record<string, unknown> = {};
      for (const c of fhirConnections(connections))
        clients[c.clientId] = (await loadKeyPair(keys, keyNames.smartClient(c.id), KEY_ALGORITHMS.smartClient)).publicJwk;
      // The simulated EHRs register these public keys, as a real EHR's app registration would.
      writeFileSync(join(keys.dir, 'simulator-clients.json'), JSON.stringify(clients, null, 2));
      log.info('keys_ready', { dir: keys.dir, connections: connections.length });
      return undefined;
    }
    case 'mpi': {
      const db = await storage();
      const server = await startMpiService({ db, keys, production, host, port: Number(env.PORT ?? ports.mpi), adapters, connections });
      // Then incremental sync from the watermarks (FHIR_SYNC=false: none); the ingest service's workers apply its events.
      // Both on the loader's pool (LOADING_TIMEOUTS): their batches outlast the serving statement timeout on a busy machine.
      if (env.INITIAL_LOAD !== 'false') {
        const loading = (await openLoadingStorage(db, databaseOptionsFromEnv().url)).db;
        void initialLoadWithRetry(loading).then((clients) => {
          if (env.FHIR_SYNC !== 'false') startFhirSyncService({ db: loading, keys, connections: fhirConnections(connections), clients });
        });
      }
      // The MPI service also signs the audit log's checkpoints for the whole deployment.
      await startAuditCheckpointing(db, keys);
      return server;
    }
    case 'audit':
      return startAuditService({ db: await storage(), keys, production, host, port: Number(env.PORT ?? ports.audit) });
    case 'clinical':
      return startClinicalService({ db: await storage(), keys, production, host, port: Number(env.PORT ?? ports.clinical) });
    case 'integration':
      return startIntegrationService({
        db: await storage(),
        keys,
        production,
        host,
        port: Number(env.PORT ?? ports.integration),
        adapters,
        connections,
      });
    case 'adapter': {
      const adapter = adapters.find((a) => a.name === name);
      if (!adapter)
        throw usageError(`unknown adapter ${name ?? '(none)'}; configured: ${adapters.map((a) => a.name).join(', ')}`, 'arguments');
      const own = connections.filter((c) => c.adapter === adapter.name);
      const cache = openCache({ redisUrl: env.REDIS_URL, prefix: `pgw:${adapter.name}`, cipher: protectionFor(keys).cipher, production });
      return startAdapterService({
        db: await storage(),
        keys,
        production,
        host,
        port: Number(env.PORT ?? ports.adapters[adapter.name]),
        adapter,
        connections: own,
        clients: await openConnections(fhirConnections(own), keys),
        cache,
        cacheTtlSeconds: Number(env.CACHE_TTL_SECONDS ?? 300),
      });
    }
    case 'ingest': {
      // The HL7 v2 MLLP listener (INGEST_MLLP_PORT, default 2575) and the inbox workers (FHIR sync events too); /health-less (TCP).
      const db = await storage();
      const loading = (await openLoadingStorage(db, databaseOptionsFromEnv().url)).db;
      const ingestion = await startIngestionService({
        db,
        appliers: fhirAppliers({ db: loading, keys, adapters, connections }),
        keys,
        adapters,
        connections,
        port: ingestMllpPort(),
        host,
        redisUrl: env.REDIS_URL,
        concurrency: Number(env.INGEST_WORKERS ?? 2),
      });
      // Its counters (messages by ACK code, apply latency) on a port of their own: MLLP is not HTTP.
      const scrape = await serveMetrics({ port: Number(env.METRICS_PORT ?? 9464), host, access: metricsAccessFromEnv(production) });
      log.info('ingest_listening', { port: ingestion.port ?? undefined, metricsPort: scrape.port });
      return { url: `mllp://${host}:${ingestion.port ?? ''}`, close: () => scrape.close().then(() => ingestion.close()) };
    }
    case 'gateway': {
      const subgraphUrls = Object.fromEntries(
        ['mpi', 'audit', 'clinical', 'integration', ...adapters.map((a) => a.name)].flatMap((n) => {
          const url = env[`SUBGRAPH_URL_${n.toUpperCase().replace(/-/g, '_')}`];
          return url ? [[n, url]] : [];
        }),
      );
      const engine = env.GATEWAY_ENGINE ?? 'apollo';
      const known = (e: string): e is GatewayEngine => (GATEWAY_ENGINES as readonly string[]).includes(e);
      if (!known(engine))
        throw usageError(`GATEWAY_ENGINE must be one of ${GATEWAY_ENGINES.join(', ')}, not ${JSON.stringify(engine)}`, 'GATEWAY_ENGINE');
      // With PostgreSQL the gateway appends each request's audit rows itself, in one commit, and the subgraphs
      // hand theirs over (orchestration/audit/README.md); it reads nothing else there, so no migrations run here.
      const auditDb =
        env.DATABASE_URL && engine === 'apollo'
          ? await openDatabase({ url: env.DATABASE_URL, schema: env.DB_SCHEMA, maxConnections: 4, timeouts: servingTimeoutsFromEnv() })
          : undefined;
      const gateway = await startGatewayService({
        engine,
        keys,
        subgraphUrls,
        production,
        host,
        port: Number(env.PORT ?? ports.gateway),
        trustDevIssuer: env.TRUST_DEV_ISSUER === 'true',
        proxyTrust: proxyTrustFromEnv(),
        ...(auditDb ? { auditDb } : {}),
      });
      log.info('gateway_audit', { mode: auditDb ? 'handoff' : 'per-subgraph' });
      return auditDb ? { ...gateway, close: () => gateway.close().finally(() => auditDb.close()) } : gateway;
    }
    default:
      throw usageError(
        `unknown service ${JSON.stringify(role)}: keys, mpi, audit, clinical, integration, adapter NAME, ingest or gateway`,
        'arguments',
      );
  }
}

/** The EHRs may come up after the MPI: retry the initial load with backoff until every source loaded. */
async function initialLoadWithRetry(db: Awaited<ReturnType<typeof storage>>): Promise<Map<string, FhirConnection>> {
  const fhir = fhirConnections(connections);
  const clients = await openConnections(fhir, keys, persistBreaker(db));
  for (let attempt = 0, pending = fhir; pending.length > 0; attempt++) {
    const reports = await loadPatients(db, keys, adapters, pending, clients, { skipLoaded: true });
    pending = pending.filter((c) => reports.find((r) => r.source === c.id)?.failed);
    if (pending.length > 0) await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)));
  }
  return clients;
}

const server = await run().catch((error: unknown) => process.exit(reportFailure(`service ${role}`, error)));
if (server) {
  running = server;
  log.info('listening', { role, name, url: server.url });
  const stop = () =>
    void server
      .close()
      .then(() => tracing?.shutdown())
      .then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
