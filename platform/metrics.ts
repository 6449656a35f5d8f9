// Prometheus metrics (prom-client) for the gateway, every subgraph and the ingester. One registry
// per process (`metrics`): in `npm start` every port's /metrics shows the same registry; in compose
// each service is its own process and shows its own part. Every label value is bounded: components
// and connections come from configuration, codes and outcomes from our vocabularies, and operation
// names from a set that stops growing (boundedLabels). Never a patient id, name, identifier, query
// text or variable. Per request and per subgraph or EHR call only: no per-field work.
import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isErrorCode, ProductError } from './errors.ts';
import { logger } from './log.ts';

const log = logger('metrics');

/** Seconds; from a cached answer (a few ms) to a subgraph or EHR timeout (10 s). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Distinct operation names kept per component; later ones are counted as `other`. */
export const DEFAULT_MAX_OPERATIONS = 50;

/** A GraphQL name (the spec's Name), short enough for a label. */
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;

/**
 * A label from values that may be many: the first `max` distinct values are kept as they are,
 * every later one is `other`. Not an LRU: a series, once exported, stays in the registry, so only
 * a set that stops growing bounds what a scrape returns.
 */
export function boundedLabels(max: number, other = 'other'): (value: string) => string {
  const kept = new Set<string>();
  return (value) => {
    if (kept.has(value)) return value;
    if (kept.size >= max) return other;
    kept.add(value);
    return value;
  };
}

/** What a request's operation is counted as: `none` before one is resolved, `anonymous`, its name, or `other`. */
export function operationLabel(name: string | null | undefined, resolved: boolean, bound: (value: string) => string): string {
  if (!resolved) return 'none';
  if (!name) return 'anonymous';
  return GRAPHQL_NAME.test(name) ? bound(name) : 'invalid';
}

/** An error code as a label: one of platform/errors.ts's codes, else OTHER. */
export const errorCodeLabel = (code: unknown): string => (isErrorCode(code) ? code : 'OTHER');

export const BREAKER_GAUGE = { closed: 0, 'half-open': 1, open: 2 } as const satisfies Record<string, number>;

/** A connection's ingestion figures, as ingestionStatus reads them (orchestration/sync/status.ts). */
export type IngestionFigures = {
  readonly connectionId: string;
  readonly inboxDepth: number;
  readonly deadLetters: number;
  readonly lagSeconds: number | null;
  readonly breakerState: string | null;
};

export type PoolFigures = { readonly total: number; readonly idle: number; readonly waiting: number; readonly max: number };

export type MetricsOptions = {
  readonly maxOperations?: number;
  /** Node's process metrics (CPU, memory, event loop lag, GC); on for the process registry. */
  readonly processMetrics?: boolean;
  /** How long one read of the ingestion figures serves the scrapes (INGESTION_READ_MS). */
  readonly ingestionReadMs?: number;
};

/** How long one read of the ingestion figures serves the gauges of a scrape (and of scrapes of other ports at once). */
const INGESTION_READ_MS = 1000;

export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'pgw_' });
  const maxOperations = options.maxOperations ?? DEFAULT_MAX_OPERATIONS;
  const operationsOf = new Map<string, (value: string) => string>();
  const bound = (component: string) => {
    let b = operationsOf.get(component);
    if (!b) operationsOf.set(component, (b = boundedLabels(maxOperations)));
    return b;
  };
  // Connection ids come from configuration; this only guards against a channel read from the database.
  const connectionLabel = boundedLabels(200);

  const requests = new Counter({
    name: 'pgw_graphql_requests_total',
    help: 'GraphQL requests by component (gateway or subgraph), operation name and result (ok, error)',
    labelNames: ['component', 'operation', 'result'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'pgw_graphql_request_duration_seconds',
    help: 'GraphQL request latency by component and operation name, authentication and audit commit included',
    labelNames: ['component', 'operation'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: 'pgw_graphql_errors_total',
    help: 'Errors returned to callers by component and code (platform/errors.ts), refusals before GraphQL included',
    labelNames: ['component', 'code'] as const,
    registers,
  });
  const subgraphCalls = new Histogram({
    name: 'pgw_gateway_subgraph_request_duration_seconds',
    help: "The gateway's calls to each subgraph by outcome (ok, errors: answered with GraphQL errors, or the failure's code)",
    labelNames: ['subgraph', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const auditQueue = new Gauge({
    name: 'pgw_audit_queue_depth',
    help: 'Requests whose audit rows wait for their commit (group commit queue); no data leaves before',
    registers,
  });
  const auditCommit = new Histogram({
    name: 'pgw_audit_commit_duration_seconds',
    help: 'One group commit of audit rows to the chain, by result (ok, error)',
    labelNames: ['result'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const auditRows = new Counter({ name: 'pgw_audit_rows_total', help: 'Audit rows committed', registers });
  const cache = new Counter({
    name: 'pgw_cache_lookups_total',
    help: 'Source-data cache lookups by backend (redis, memory) and result (hit, miss)',
    labelNames: ['backend', 'result'] as const,
    registers,
  });
  const ehrCalls = new Histogram({
    name: 'pgw_ehr_call_duration_seconds',
    help: 'Calls to an EHR by connection and outcome (ok, or the failure: TIMEOUT, HTTP_ERROR, CIRCUIT_OPEN...), retries each counted',
    labelNames: ['connection', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const hl7Messages = new Counter({
    name: 'pgw_hl7_messages_total',
    help: 'HL7 v2 messages received over MLLP by feed (unrouted: no feed), ACK code sent (none: not acknowledged) and outcome',
    labelNames: ['connection', 'ack', 'outcome'] as const,
    registers,
  });
  const inboxApply = new Histogram({
    name: 'pgw_ingest_apply_duration_seconds',
    help: 'Applying one inbox message by connection and outcome (applied, retry, dead)',
    labelNames: ['connection', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });

  const pools = new Set<() => PoolFigures>();
  const poolSum = (key: keyof PoolFigures): number => [...pools].reduce((sum, read) => sum + read()[key], 0);
  const poolGauge = (name: string, help: string, key: keyof PoolFigures) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(poolSum(key));
      },
    });
  poolGauge('pgw_db_pool_connections', "PostgreSQL connections open in this process's pools", 'total');
  poolGauge('pgw_db_pool_idle_connections', 'Open PostgreSQL connections not in use', 'idle');
  poolGauge('pgw_db_pool_waiting_requests', 'Queries waiting for a free PostgreSQL connection', 'waiting');
  poolGauge('pgw_db_pool_max_connections', 'Upper bound of the pools', 'max');

  // One read of the figures per scrape, shared by the four gauges below.
  let ingestion: (() => Promise<readonly IngestionFigures[]>) | undefined;
  let lastRead: { at: number; figures: Promise<readonly IngestionFigures[]> } | undefined;
  const readIngestion = (): Promise<readonly IngestionFigures[]> => {
    if (!ingestion) return Promise.resolve([]);
    if (!lastRead || Date.now() - lastRead.at > (options.ingestionReadMs ?? INGESTION_READ_MS)) {
      const figures = ingestion().catch((error: unknown) => {
        log.warn('ingestion_figures_unavailable', { error: error instanceof ProductError ? error.code : (error as Error).name });
        return [];
      });
      lastRead = { at: Date.now(), figures };
    }
    return lastRead.figures;
  };
  const ingestionGauge = (name: string, help: string, value: (f: IngestionFigures) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['connection'] as const,
      registers,
      async collect() {
        const figures = await readIngestion();
        this.reset();
        for (const f of figures) {
          const v = value(f);
          if (v !== null) this.set({ connection: connectionLabel(f.connectionId) }, v);
        }
      },
    });
  ingestionGauge('pgw_ingest_inbox_depth', 'Inbox messages pending or processing, by connection', (f) => f.inboxDepth);
  ingestionGauge('pgw_ingest_dead_letters', 'Dead-lettered inbox messages, by connection', (f) => f.deadLetters);
  ingestionGauge('pgw_ingest_lag_seconds', 'Age of the oldest change not yet applied (ingestionStatus lagSeconds)', (f) => f.lagSeconds);
  ingestionGauge(
    'pgw_connection_breaker_state',
    "Circuit breaker toward the connection's EHR as last recorded: 0 closed, 1 half-open, 2 open",
    // No series where no breaker state is recorded (a feed, a connection never called), as ingestionStatus says null.
    (f) => (f.breakerState === null ? null : (BREAKER_GAUGE[f.breakerState as keyof typeof BREAKER_GAUGE] ?? null)),
  );

  const seconds = (startedMs: number): number => (performance.now() - startedMs) / 1000;

  return {
    registry,
    /** One GraphQL request's end: its operation (operationLabel), latency and the codes of its errors. */
    request(component: string, operation: { name: string | null | undefined; resolved: boolean }, startedMs: number, codes: unknown[]) {
      const label = operationLabel(operation.name, operation.resolved, bound(component));
      requests.inc({ component, operation: label, result: codes.length > 0 ? 'error' : 'ok' });
      requestDuration.observe({ component, operation: label }, seconds(startedMs));
      for (const code of codes) errors.inc({ component, code: errorCodeLabel(code) });
    },
    subgraphCall(subgraph: string, outcome: string, startedMs: number) {
      subgraphCalls.observe({ subgraph, outcome }, seconds(startedMs));
    },
    auditQueued(requests: number) {
      auditQueue.inc(requests);
    },
    auditCommitted(requests: number, rows: number, ok: boolean, startedMs: number) {
      auditQueue.dec(requests);
      auditCommit.observe({ result: ok ? 'ok' : 'error' }, seconds(startedMs));
      if (ok) auditRows.inc(rows);
    },
    cacheLookups(backend: string, hits: number, misses: number) {
      if (hits > 0) cache.inc({ backend, result: 'hit' }, hits);
      if (misses > 0) cache.inc({ backend, result: 'miss' }, misses);
    },
    ehrCall(connection: string, outcome: string, startedMs: number) {
      ehrCalls.observe({ connection: connectionLabel(connection), outcome }, seconds(startedMs));
    },
    hl7Message(connection: string, ack: string, outcome: string) {
      hl7Messages.inc({ connection: connectionLabel(connection), ack, outcome });
    },
    inboxApplied(connection: string, outcome: 'applied' | 'retry' | 'dead', startedMs: number) {
      inboxApply.observe({ connection: connectionLabel(connection), outcome }, seconds(startedMs));
    },
    /** Counts a database pool in the pool gauges until the returned function is called. */
    watchPool(read: () => PoolFigures): () => void {
      pools.add(read);
      return () => pools.delete(read);
    },
    /** The ingestion gauges read these figures at each scrape (the last one watched wins) until unwatched. */
    watchIngestion(read: () => Promise<readonly IngestionFigures[]>): () => void {
      ingestion = read;
      lastRead = undefined;
      return () => {
        if (ingestion === read) ingestion = lastRead = undefined;
      };
    },
    /** The text exposition format. */
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** This process's registry: every server, the audit log, the cache, the EHR clients and the ingester record here. */
export const metrics: Metrics = createMetrics({ processMetrics: true });

/** Who may read /metrics: anyone in development unless a token is set; in production only with METRICS_TOKEN. */
export type MetricsAccess = { readonly production: boolean; readonly token?: string | undefined };

export const metricsAccessFromEnv = (production: boolean, env: NodeJS.ProcessEnv = process.env): MetricsAccess => ({
  production,
  token: env.METRICS_TOKEN || undefined,
});

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Throws when the caller may not read /metrics: FORBIDDEN in production without METRICS_TOKEN
 * configured (metrics stay off rather than world-readable), UNAUTHENTICATED without the bearer token.
 */
export function checkMetricsAccess(access: MetricsAccess, authorization: string | undefined): void {
  if (!access.token) {
    if (access.production) throw new ProductError('FORBIDDEN', 'metrics are off in production until METRICS_TOKEN is set');
    return;
  }
  const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  if (!given || !timingSafeEqual(digest(given), digest(access.token)))
    throw new ProductError('UNAUTHENTICATED', 'metrics need the METRICS_TOKEN bearer token');
}
