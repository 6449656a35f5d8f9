// The product's deployable pieces, each started from configuration: storage, the MPI subgraph,
// one vendor adapter subgraph, the audit and clinical subgraphs, the gateway. runtime/stack.ts starts them all in one process
// (npm start, tests, benchmarks); runtime/service.ts starts one per container (compose).
import { readCommittedSupergraph } from '../gateway/compose.ts';
import { startHiveGateway } from '../gateway/hive/server.ts';
import { startGateway } from '../gateway/server.ts';
import type { TtlCache } from '../platform/cache.ts';
import {
  dataDir,
  defaultPorts,
  fhirConnections,
  isHl7Feed,
  loadIssuers,
  loadVendorProfile,
  type AdapterConfig,
  type AnyConnectionConfig,
  type ConnectionConfig,
} from '../platform/config.ts';
import { LOADING_TIMEOUTS, migrate, openDatabase, type Database, type DatabaseOptions, type Queryable } from '../platform/db.ts';
import { remoteReadiness, type RunningHttpServer } from '../platform/graphql-http.ts';
import { logger } from '../platform/log.ts';
import { metrics, type MetricsAccess } from '../platform/metrics.ts';
import { ingestionStatus } from '../orchestration/sync/status.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_ALGORITHMS, keyNames, loadKeyFile, loadKeyPair, loadSecretKey, type KeyStoreOptions } from '../platform/keys.ts';
import type { FhirConnection } from '../protocol/fhir/client.ts';
import { AUDIT_MIGRATIONS } from '../orchestration/audit/audit-log.ts';
import { auditRoleRisks } from '../orchestration/audit/grants.ts';
import { startAuditCheckpoints, type CheckpointSchedule, type CheckpointScheduler } from '../orchestration/audit/checkpoint.ts';
import { handoffSink } from '../orchestration/audit/handoff.ts';
import { CLINICAL_STORE_MIGRATIONS } from '../orchestration/clinical-store/store.ts';
import { connectionIngest } from '../orchestration/clinical-store/connection-ingest.ts';
import { INGEST_MIGRATIONS } from '../orchestration/ingest/migrations.ts';
import { startIngestion, type Ingestion } from '../orchestration/ingest/ingestion.ts';
import { translateHl7 } from '../translation/hl7v2/translate.ts';
import { wakeUpChannel } from '../platform/wake-up.ts';
import { COHORT_MIGRATIONS } from '../orchestration/cohort/migrations.ts';
import { MPI_MIGRATIONS } from '../orchestration/mpi/store.ts';
import { initialLoad, type LoadReport } from '../orchestration/sync/initial-load.ts';
import { SYNC_MIGRATIONS } from '../orchestration/sync/migrations.ts';
import { startFhirSync, type FhirSync } from '../orchestration/sync/scheduler.ts';
import { recordHealth, watermarks } from '../orchestration/sync/state.ts';
import { fhirApplier } from '../orchestration/ingest/apply-fhir.ts';
import type { Appliers } from '../orchestration/ingest/apply.ts';
import type { BreakerListener } from '../protocol/connections.ts';
import { liveFieldCipher } from '../security/field-encryption.ts';
import { identifierProtection, type IdentifierProtection } from '../security/identifier-protection.ts';
import { proxyTrust, type ProxyTrust } from '../security/client-address.ts';
import { identitySigner, identityVerifier } from '../security/identity-token.ts';
import { DEFAULT_AUDIENCE, DEV_ISSUER, mintDevToken, userTokenVerifier, type TrustedIssuer } from '../security/user-token.ts';
import { ROLES, type Role } from '../security/principal.ts';
import { consoleRoutes, type ConsoleOidc } from '../gateway/console.ts';
import { explorerRoutes } from '../gateway/explorer.ts';
import { auditSubgraph } from '../subgraphs/audit/subgraph.ts';
import { clinicalSubgraph } from '../subgraphs/clinical/subgraph.ts';
import { mpiSubgraph } from '../subgraphs/mpi/subgraph.ts';
import { exportRendering } from '../subgraphs/mpi/export-rendering.ts';
import { startExportWorker } from '../orchestration/cohort/export.ts';
import { loadSafeHarbor } from '../policies/safe-harbor.ts';
import { startSubgraph } from '../subgraphs/shared/subgraph-server.ts';
import type { VendorAdapterDeps } from '../subgraphs/vendor-adapter/resolvers.ts';
import type { SourceConnection } from '../orchestration/clinical/read-through.ts';
import { vendorAdapterSubgraph } from '../subgraphs/vendor-adapter/subgraph.ts';
import { QUARANTINE_MIGRATIONS } from '../translation/quarantine.ts';
import { integrationSubgraph } from '../subgraphs/integration/subgraph.ts';

export const ALL_MIGRATIONS = [
  ...AUDIT_MIGRATIONS,
  ...MPI_MIGRATIONS,
  ...QUARANTINE_MIGRATIONS,
  ...CLINICAL_STORE_MIGRATIONS,
  ...INGEST_MIGRATIONS,
  ...SYNC_MIGRATIONS,
  ...COHORT_MIGRATIONS,
];

/** Where the product's data lives, from the environment: DATABASE_URL, else PGlite under DATA_DIR/pg; DB_SCHEMA. */
export function databaseOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseOptions {
  return { url: env.DATABASE_URL || undefined, dataDir: env.DATABASE_URL ? undefined : join(dataDir(env), 'pg'), schema: env.DB_SCHEMA };
}

/** Proxies trusted to name the client (TRUSTED_PROXIES, TRUSTED_PROXY_HEADER); throws on a malformed entry. */
export const proxyTrustFromEnv = (env: NodeJS.ProcessEnv = process.env): ProxyTrust | null =>
  proxyTrust(env.TRUSTED_PROXIES, env.TRUSTED_PROXY_HEADER || undefined);

/**
 * In production, whether a database role that could rewrite the audit log stops the start
 * ('refuse', the default) or only logs a warning at every start ('warn', AUDIT_ROLE_CHECK=warn).
 */
export type AuditRoleCheck = 'refuse' | 'warn';

export const auditRoleCheckFromEnv = (env: NodeJS.ProcessEnv = process.env): AuditRoleCheck =>
  env.AUDIT_ROLE_CHECK === 'warn' ? 'warn' : 'refuse';

const storageLog = logger('storage');

export async function openStorage(
  options: DatabaseOptions,
  start: { readonly production?: boolean; readonly auditRoleCheck?: AuditRoleCheck } = {},
): Promise<Database> {
  const db = await openDatabase(options);
  try {
    await migrate(db, ALL_MIGRATIONS);
  } catch (error) {
    // A role held to appending cannot apply migrations: the owner does, with audit:harden.
    if ((error as { code?: string }).code === '42501')
      throw new Error(
        `cannot apply migrations as this role (${(error as Error).message}): run npm run audit:harden as the schema's owner`,
        {
          cause: error,
        },
      );
    throw error;
  }
  if (start.production) await checkAuditRole(db, start.auditRoleCheck ?? 'refuse');
  return db;
}

/** The loader's database: the initial load, incremental sync and its appliers (LOADING_TIMEOUTS). */
export type LoadingStorage = { readonly db: Database; close(): Promise<void> };

/**
 * A pool with the loader's longer bounds (LOADING_TIMEOUTS) beside the serving one, on the same
 * schema (already migrated by openStorage). PGlite is one connection without timeouts: the same database.
 */
export async function openLoadingStorage(serving: Database, url: string | undefined): Promise<LoadingStorage> {
  if (serving.kind === 'pglite' || !url) return { db: serving, close: () => Promise.resolve() };
  const db = await openDatabase({ url, schema: serving.schema, maxConnections: LOADING_POOL_SIZE, timeouts: LOADING_TIMEOUTS });
  return { db, close: () => db.close() };
}

/** The loader works one connection at a time, plus the inbox workers applying its events. */
const LOADING_POOL_SIZE = 4;

/**
 * Production only: the application's role must not be able to rewrite the audit log (own its tables,
 * be a superuser, hold UPDATE/DELETE/TRUNCATE...). PGlite has one user, who owns everything: warned.
 */
async function checkAuditRole(db: Database, check: AuditRoleCheck): Promise<void> {
  const risks =
    db.kind === 'postgres' ? await auditRoleRisks(db, db.schema) : ['the embedded database (PGlite) has a single user, who owns the log'];
  if (risks.length === 0) return;
  if (check === 'refuse' && db.kind === 'postgres') {
    await db.close();
    throw new Error(
      `the audit log is not append-only for this database role: ${risks.join('; ')}. Run npm run audit:harden -- --app-role <role> as the schema's owner and connect as that role (or set AUDIT_ROLE_CHECK=warn to accept the risk)`,
    );
  }
  storageLog.warn('audit_log_not_append_only', {
    risks: risks.join('; '),
    hint: 'npm run audit:harden -- --app-role <role>, as the schema owner',
  });
}

/** Encryption of protected identifiers (SSN) and quarantined payloads, keyed from the key directory. */
export function protectionFor(keys: KeyStoreOptions): IdentifierProtection {
  return identifierProtection(liveFieldCipher(keys.dir, keys.generateMissing));
}

type ServiceCommon = {
  readonly db: Database;
  readonly keys: KeyStoreOptions;
  readonly port: number;
  readonly host?: string;
  readonly production: boolean;
  /** Who may read /metrics; METRICS_TOKEN when absent. */
  readonly metricsAccess?: MetricsAccess;
};

/**
 * Subgraphs trust the gateway's current identity key and, during a rotation, its `-next` and
 * `-previous` keys (README, "Rotating the gateway identity key").
 */
async function gatewayPublicKeys(keys: KeyStoreOptions) {
  const current = await loadKeyPair(keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  const others = ['next', 'previous']
    .map((suffix) => join(keys.dir, `${keyNames.gatewayIdentity}-${suffix}.json`))
    .filter((file) => existsSync(file));
  return [
    current.publicJwk,
    ...(await Promise.all(others.map(async (file) => (await loadKeyFile(file, KEY_ALGORITHMS.gatewayIdentity)).publicJwk))),
  ];
}

async function subgraphRuntime(name: string, c: ServiceCommon) {
  return {
    db: c.db,
    production: c.production,
    port: c.port,
    host: c.host,
    verifyIdentity: identityVerifier(await gatewayPublicKeys(c.keys), name),
    ...(c.metricsAccess ? { metricsAccess: c.metricsAccess } : {}),
  };
}

/**
 * Where cohort exports go, how long they last, and the public origin of their download URLs
 * (EXPORTS_DIR, EXPORT_TTL_SECONDS, PUBLIC_BASE_URL).
 */
export type ExportSettings = { readonly dir?: string; readonly ttlSeconds?: number; readonly baseUrl?: () => string };

export function exportSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ExportSettings {
  const ttl = env.EXPORT_TTL_SECONDS;
  if (ttl !== undefined && ttl !== '' && !/^[1-9]\d{0,8}$/.test(ttl))
    throw new Error('EXPORT_TTL_SECONDS must be a whole number of seconds');
  return {
    ...(env.EXPORTS_DIR ? { dir: env.EXPORTS_DIR } : {}),
    ...(ttl ? { ttlSeconds: Number(ttl) } : {}),
    ...(env.PUBLIC_BASE_URL ? { baseUrl: () => env.PUBLIC_BASE_URL! } : {}),
  };
}

/** The MPI subgraph, with the cohort export worker beside it (stopped when the server closes). */
export async function startMpiService(
  c: ServiceCommon & {
    readonly adapters: readonly AdapterConfig[];
    readonly connections: readonly AnyConnectionConfig[];
    readonly exports?: ExportSettings;
  },
): Promise<RunningHttpServer> {
  const settings = { ...exportSettingsFromEnv(), ...c.exports };
  const dir = settings.dir ?? join(dataDir(), 'exports');
  const baseUrl = settings.baseUrl ?? (() => `http://localhost:${defaultPorts(c.adapters).gateway}`);
  const protection = protectionFor(c.keys);
  const safeHarbor = loadSafeHarbor();
  const worker = startExportWorker({
    db: c.db,
    protection,
    dir,
    render: exportRendering(safeHarbor, () => new Date().getUTCFullYear()),
    baseUrl,
    ttlMs: (settings.ttlSeconds ?? DEFAULT_EXPORT_TTL_SECONDS) * 1000,
  });
  try {
    const server = await startSubgraph(
      mpiSubgraph({
        db: c.db,
        protection,
        adapters: c.adapters,
        connections: c.connections,
        cursorKey: loadSecretKey(c.keys, keyNames.cohortCursor),
        safeHarbor,
        exports: { dir, baseUrl, wake: worker.wake },
      }),
      await subgraphRuntime('mpi', c),
    );
    return {
      ...server,
      async close() {
        await worker.stop();
        await server.close();
      },
    };
  } catch (error) {
    await worker.stop();
    throw error;
  }
}

/** A day: long enough to fetch a large export over a slow link, short enough not to keep PHI files around. */
const DEFAULT_EXPORT_TTL_SECONDS = 86_400;

export async function startAuditService(c: ServiceCommon): Promise<RunningHttpServer> {
  return startSubgraph(auditSubgraph({ db: c.db }), await subgraphRuntime('audit', c));
}

/** The merged clinical view (canonical clinical store), in the database the MPI links live in. */
export async function startClinicalService(c: ServiceCommon): Promise<RunningHttpServer> {
  return startSubgraph(clinicalSubgraph({ db: c.db }), await subgraphRuntime('clinical', c));
}

/** Quarantine, re-processing and lineage impact, for integration engineers. */
export async function startIntegrationService(
  c: ServiceCommon & { readonly adapters: readonly AdapterConfig[]; readonly connections: readonly AnyConnectionConfig[] },
): Promise<RunningHttpServer> {
  const server = await startSubgraph(
    integrationSubgraph({ db: c.db, protection: protectionFor(c.keys), adapters: c.adapters, connections: c.connections }),
    await subgraphRuntime('integration', c),
  );
  // The ingestion gauges of /metrics read what ingestionStatus answers, at each scrape.
  const unwatch = metrics.watchIngestion(async () =>
    (await ingestionStatus(c.db, c.connections)).map((s) => ({
      connectionId: s.connectionId,
      inboxDepth: s.inboxDepth,
      deadLetters: s.deadLetters,
      lagSeconds: s.lagSeconds,
      breakerState: s.health?.breakerState ?? null,
    })),
  );
  return { ...server, close: () => (unwatch(), server.close()) };
}

/**
 * What a vendor adapter subgraph resolves with: its connections, each with its ingest context built
 * once from configuration, and the clinical store read through with the given TTL.
 */
export function vendorAdapterDeps(c: {
  readonly db: Database;
  readonly keys: KeyStoreOptions;
  readonly adapter: AdapterConfig;
  readonly connections: readonly AnyConnectionConfig[];
  readonly clients: ReadonlyMap<string, FhirConnection>;
  readonly ttlSeconds: number;
}): VendorAdapterDeps {
  const profile = loadVendorProfile(c.adapter.profile);
  const own = new Map(
    c.connections
      .filter((x) => x.adapter === c.adapter.name)
      .map((x): [string, SourceConnection] => {
        const ingest = connectionIngest(x, profile);
        // An HL7 feed has no EHR to ask: its records are answered from the store its messages fill.
        return [x.id, isHl7Feed(x) ? { config: x, client: null, ingest } : { config: x, client: c.clients.get(x.id)!, ingest }];
      }),
  );
  return { db: c.db, protection: protectionFor(c.keys), profile, ttlSeconds: c.ttlSeconds, connections: own };
}

export async function startAdapterService(
  c: ServiceCommon & {
    readonly adapter: AdapterConfig;
    readonly connections: readonly AnyConnectionConfig[];
    readonly clients: ReadonlyMap<string, FhirConnection>;
    readonly cache: TtlCache;
    /** How long a retrieved clinical list is answered from the store (a connection's clinicalTtlSeconds overrides it). */
    readonly cacheTtlSeconds: number;
  },
): Promise<RunningHttpServer> {
  const deps = vendorAdapterDeps({ ...c, ttlSeconds: c.cacheTtlSeconds });
  const ping = c.cache.ping;
  return startSubgraph(vendorAdapterSubgraph(c.adapter, deps), {
    ...(await subgraphRuntime(c.adapter.name, c)),
    // A cache outage degrades to misses: reported, not a reason to stop serving.
    readiness: ping ? [{ name: 'redis', check: ping, optional: true }] : [],
  });
}

export const DEV_ISSUER_IN_PRODUCTION =
  'refusing to start: production mode (NODE_ENV=production) never trusts the development token issuer; ' +
  'unset TRUST_DEV_ISSUER and configure your identity provider in config/issuers.json or AUTH_ISSUERS_FILE';

export const GATEWAY_ENGINES = ['apollo', 'hive'] as const;
export type GatewayEngine = (typeof GATEWAY_ENGINES)[number];

export async function startGatewayService(c: {
  readonly keys: KeyStoreOptions;
  readonly subgraphUrls: Readonly<Record<string, string>>;
  readonly port: number;
  readonly host?: string;
  readonly production: boolean;
  readonly trustDevIssuer: boolean;
  readonly issuers?: readonly TrustedIssuer[];
  readonly proxyTrust?: ProxyTrust | null;
  /** The supergraph to serve; the committed gateway/supergraph.graphql when absent. */
  readonly supergraphSdl?: string;
  /** Which engine plans and executes: the product's @apollo/gateway (default) or Hive Gateway (gateway/hive/). */
  readonly engine?: GatewayEngine;
  /** Who may read /metrics; METRICS_TOKEN when absent. */
  readonly metricsAccess?: MetricsAccess;
  /** The console's production sign-in; from CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID when absent. */
  readonly consoleOidc?: ConsoleOidc | null;
  /**
   * The audit log's storage: the gateway then appends each request's audit rows itself, in one commit, and
   * the subgraphs hand theirs over (orchestration/audit/handoff.ts). Apollo engine only.
   */
  readonly auditDb?: Queryable;
}): Promise<RunningHttpServer> {
  // Whoever reads the development issuer's key (a file in the key directory) can mint any role: a
  // production gateway never trusts it, and says so rather than silently ignore the setting.
  if (c.production && c.trustDevIssuer) throw new Error(DEV_ISSUER_IN_PRODUCTION);
  const gatewayKey = await loadKeyPair(c.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  const issuers: TrustedIssuer[] = [...(c.issuers ?? (loadIssuers() as TrustedIssuer[]))];
  const devIssuer = c.trustDevIssuer ? await loadKeyPair(c.keys, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer) : null;
  if (devIssuer) issuers.push({ issuer: DEV_ISSUER, audience: DEFAULT_AUDIENCE, jwks: [devIssuer.publicJwk] });
  const oidc = c.consoleOidc === undefined ? consoleOidcFromEnv() : c.consoleOidc;
  // A console signing in at an issuer the gateway does not trust would get tokens every request refuses.
  if (oidc && !issuers.some((i) => i.issuer === oidc.issuer))
    throw new Error(`CONSOLE_OIDC_ISSUER ${oidc.issuer} is not a trusted issuer (config/issuers.json)`);
  const common = {
    supergraphSdl: c.supergraphSdl ?? readCommittedSupergraph(),
    subgraphUrls: c.subgraphUrls,
    signIdentity: identitySigner(gatewayKey),
    verifyUserToken: userTokenVerifier(issuers),
    port: c.port,
    host: c.host,
    production: c.production,
    proxyTrust: c.proxyTrust ?? null,
  };
  // Hive Gateway answers /ready itself (its schema is loaded); the subgraphs' readiness is the balancer's to probe.
  if (c.engine === 'hive') return startHiveGateway(common);
  return startGateway({
    ...common,
    // Ready when the MPI and the audit log are (without them no answer leaves); a vendor adapter that
    // is down only empties its source's lists, so it degrades /ready instead of failing it.
    readiness: Object.entries(c.subgraphUrls).map(([name, url]) => ({
      ...remoteReadiness(name, url),
      optional: name !== 'mpi' && name !== 'audit',
    })),
    ...(c.metricsAccess ? { metricsAccess: c.metricsAccess } : {}),
    ...(c.auditDb ? { auditHandoff: handoffSink(c.auditDb) } : {}),
    console: await consoleRoutes({
      production: c.production,
      oidc,
      // The development sign-in exists only where the development issuer is trusted (never in production).
      ...(devIssuer ? { mintDevToken: (role: Role) => mintConsoleDevToken(devIssuer, role) } : {}),
    }),
    // GraphiQL in development only; its tokens come from the console's development sign-in above.
    explorer: explorerRoutes({ production: c.production, devRoles: devIssuer ? ROLES : [] }),
  });
}

/** A console session's length: the page holds the token in memory and signs out when it expires. */
const CONSOLE_DEV_TOKEN_SECONDS = 1800;

async function mintConsoleDevToken(key: Parameters<typeof mintDevToken>[0], role: Role): Promise<{ token: string; expiresAt: number }> {
  const token = await mintDevToken(key, {
    sub: `dev-console-${role}`,
    roles: [role],
    // A clinician works for treatment, as `npm run token -- --role clinician` gives.
    ...(role === 'clinician' ? { purposeOfUse: 'TREAT' as const } : {}),
    ttlSeconds: CONSOLE_DEV_TOKEN_SECONDS,
  });
  return { token, expiresAt: Date.now() + CONSOLE_DEV_TOKEN_SECONDS * 1000 };
}

/** CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID (a public client registered for /console/), or null. */
export function consoleOidcFromEnv(env: NodeJS.ProcessEnv = process.env): ConsoleOidc | null {
  const issuer = env.CONSOLE_OIDC_ISSUER?.trim();
  const clientId = env.CONSOLE_OIDC_CLIENT_ID?.trim();
  if (!issuer && !clientId) return null;
  if (!issuer || !clientId) throw new Error('CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID go together');
  if (!/^https:\/\//.test(issuer) && !/^http:\/\/(localhost|127\.0\.0\.1)[:/]/.test(issuer))
    throw new Error('CONSOLE_OIDC_ISSUER must be an https URL');
  return { issuer, clientId, scope: env.CONSOLE_OIDC_SCOPE?.trim() || 'openid' };
}

/** Signs audit checkpoints in the background (one process per deployment is enough; several are safe). */
export async function startAuditCheckpointing(
  db: Database,
  keys: KeyStoreOptions,
  schedule?: CheckpointSchedule,
): Promise<CheckpointScheduler> {
  return startAuditCheckpoints(db, await loadKeyPair(keys, keyNames.auditCheckpoint, KEY_ALGORITHMS.auditCheckpoint), schedule);
}

/**
 * Pulls and links every patient of the given connections, then their clinical resources into the
 * store (initial load). With `skipLoaded` (the product's starts), a connection loaded before (it has
 * a Patient watermark) is not loaded again: incremental sync goes on from its watermarks.
 */
export async function loadPatients(
  db: Database,
  keys: KeyStoreOptions,
  adapters: readonly AdapterConfig[],
  connections: readonly ConnectionConfig[],
  clients: ReadonlyMap<string, FhirConnection>,
  options: { readonly skipLoaded?: boolean } = {},
): Promise<LoadReport[]> {
  const protection = protectionFor(keys);
  const fresh = [];
  for (const c of connections) if (!options.skipLoaded || !(await watermarks(db, c.id)).has('Patient')) fresh.push(c);
  return initialLoad(
    db,
    fresh.map((c) => {
      const profile = loadVendorProfile(adapters.find((a) => a.name === c.adapter)!.profile);
      return { connection: c, client: clients.get(c.id)!, profile, protection, ingest: connectionIngest(c, profile) };
    }),
  );
}

/** Persists each breaker change (connection_health), so every process and ingestionStatus see it. */
export const persistBreaker =
  (db: Database): BreakerListener =>
  (connectionId, state, since) =>
    void recordHealth(db, connectionId, { breakerState: state, breakerSince: since }).catch(() => undefined);

/**
 * Incremental sync of the FHIR connections, after the initial load. Its events are applied by the
 * inbox workers of startIngestionService (fhirApplier); onEvents wakes them after a poll found some.
 */
export function startFhirSyncService(c: {
  readonly db: Database;
  readonly keys: KeyStoreOptions;
  readonly connections: readonly ConnectionConfig[];
  readonly clients: ReadonlyMap<string, FhirConnection>;
  /** Poll on each connection's schedule (default); false: tests drive polls with sync.runNow. */
  readonly autoStart?: boolean;
  readonly onEvents?: () => void;
}): FhirSync {
  return startFhirSync({
    db: c.db,
    protection: protectionFor(c.keys),
    sources: c.connections.map((x) => ({ connection: x, client: c.clients.get(x.id)! })),
    autoStart: c.autoStart,
    ...(c.onEvents ? { onEvents: c.onEvents } : {}),
  });
}

/** The applier of FHIR sync events for the inbox dispatcher: each FHIR connection with its vendor profile. */
export function fhirAppliers(c: {
  readonly keys: KeyStoreOptions;
  readonly db: Database;
  readonly adapters: readonly AdapterConfig[];
  readonly connections: readonly AnyConnectionConfig[];
}): Pick<Appliers, 'fhir'> {
  const targets = fhirConnections(c.connections).map((x) => {
    const profile = loadVendorProfile(c.adapters.find((a) => a.name === x.adapter)!.profile);
    return { connection: x, profile, ingest: connectionIngest(x, profile) };
  });
  return { fhir: fhirApplier({ db: c.db, protection: protectionFor(c.keys) }, targets) };
}

/** The MLLP port of the HL7 v2 listener: INGEST_MLLP_PORT, default 2575. */
export const ingestMllpPort = (env: NodeJS.ProcessEnv = process.env): number => Number(env.INGEST_MLLP_PORT ?? 2575);

/**
 * HL7 v2 ingestion: the MLLP listener for every feed and the workers applying the inbox, woken
 * through Redis pub/sub when REDIS_URL is set (a hint only: they poll PostgreSQL anyway).
 */
export async function startIngestionService(c: {
  readonly db: Database;
  readonly keys: KeyStoreOptions;
  readonly adapters: readonly AdapterConfig[];
  readonly connections: readonly AnyConnectionConfig[];
  readonly port: number | null;
  readonly host?: string;
  readonly redisUrl?: string;
  readonly concurrency?: number;
  /** Appliers of other connection kinds (fhirAppliers: incremental sync's events). */
  readonly appliers?: Omit<Appliers, 'hl7v2'>;
}): Promise<Ingestion & { readonly notify: () => void }> {
  const wakeUp = wakeUpChannel({ redisUrl: c.redisUrl, name: `pgw:${c.db.schema}:inbox` });
  try {
    const ingestion = await startIngestion({
      db: c.db,
      protection: protectionFor(c.keys),
      connections: c.connections,
      adapters: c.adapters,
      translate: translateHl7,
      port: c.port,
      ...(c.host ? { host: c.host } : {}),
      wakeUp,
      ...(c.concurrency !== undefined ? { concurrency: c.concurrency } : {}),
      ...(c.appliers ? { appliers: c.appliers } : {}),
    });
    return { ...ingestion, notify: () => wakeUp.notify(), close: () => ingestion.close().finally(() => wakeUp.close()) };
  } catch (error) {
    await wakeUp.close();
    throw error;
  }
}
