// Runs incremental sync (incremental.ts) for every FHIR connection on its own schedule: a poll
// every syncIntervalSeconds (clinical types every clinicalEvery-th poll: they cost a search per
// batch of patients), the EHR's FHIR version and software read at the first poll and then every
// capabilityCheckMs (a warning when they change or are not announced), and after a failed poll a
// wait of one interval plus a fully jittered backoff, so that connections coming back after an
// outage do not poll together. What each poll found is recorded in connection_health, shared by
// every process (ingestionStatus reads it). Every reconcileEverySeconds (counted from the last
// pass any process completed, so restarts do not postpone it forever) a reconciliation pass
// (reconcile.ts) runs in the connection's queue, after a poll: it lists the EHR's ids to find deletions.
import type { ConnectionConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import { SourceError } from '../../protocol/errors.ts';
import type { FhirConnection, ServerInfo } from '../../protocol/fhir/client.ts';
import { fullJitter } from '../../protocol/fhir/resilience.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { offeredTypes } from './clinical-load.ts';
import { syncConnection, type SyncReport } from './incremental.ts';
import { DEFAULT_RECONCILE_EVERY_SECONDS, reconcileConnection, type ReconcileReport } from './reconcile.ts';
import { connectionHealth, recordHealth } from './state.ts';
import { traceJob } from '../../platform/tracing.ts';

const log = logger('fhir-sync');

export const DEFAULT_SYNC_INTERVAL_SECONDS = 30;
export const DEFAULT_CLINICAL_EVERY = 10;
export const DEFAULT_CAPABILITY_CHECK_MS = 10 * 60_000;

export type ScheduledSource = {
  readonly connection: Pick<
    ConnectionConfig,
    'id' | 'scope' | 'syncIntervalSeconds' | 'reconcileEverySeconds' | 'reconcileMaxMissingShare' | 'reconcileMaxMissing'
  >;
  readonly client: FhirConnection;
};

export type FhirSyncOptions = {
  readonly db: Database;
  readonly protection: Pick<IdentifierProtection, 'cipher' | 'sealPayload'>;
  readonly sources: readonly ScheduledSource[];
  /** Poll on the schedule (default); false: only runNow polls (tests drive the cycle). */
  readonly autoStart?: boolean;
  readonly clinicalEvery?: number;
  readonly capabilityCheckMs?: number;
  readonly overlapMs?: number;
  /** Called after a poll committed new events (wakes the inbox workers). */
  readonly onEvents?: () => void;
  readonly random?: () => number;
};

export type FhirSync = {
  /**
   * Polls now, after any poll in progress: every connection (the reports of those that succeeded),
   * or one (rejects with its failure). `clinical` forces the clinical types in or out of this poll.
   */
  runNow(connectionId?: string, options?: { readonly clinical?: boolean }): Promise<SyncReport[]>;
  /** A reconciliation pass of one connection now, after any poll in progress (rejects with its failure). */
  reconcileNow(connectionId: string): Promise<ReconcileReport>;
  stop(): Promise<void>;
};

/** Does the announced server differ from what was recorded? Unknown values are reported by the caller. */
const describe = (i: ServerInfo): string => `FHIR ${i.fhirVersion ?? '?'}, ${i.softwareName ?? '?'} ${i.softwareVersion ?? '?'}`;

/** Reads the EHR's CapabilityStatement version facts, warns on change or absence, records them. */
export async function checkServer(db: Database, s: ScheduledSource): Promise<ServerInfo> {
  const id = s.connection.id;
  const info = await s.client.serverInfo();
  const before = (await connectionHealth(db, [id])).get(id);
  if (!info.fhirVersion || !info.softwareName || !info.softwareVersion)
    log.warn('ehr_version_unknown', { source: id, announced: describe(info) });
  if (before?.capabilityCheckedAt) {
    const was = { fhirVersion: before.fhirVersion, softwareName: before.softwareName, softwareVersion: before.softwareVersion };
    if (describe(was) !== describe(info)) log.warn('ehr_version_changed', { source: id, was: describe(was), now: describe(info) });
  }
  if (info.fhirVersion && !info.fhirVersion.startsWith('4.0'))
    log.warn('ehr_fhir_version_unsupported', { source: id, fhirVersion: info.fhirVersion });
  await recordHealth(db, id, { ...info, capabilityCheckedAt: new Date() });
  return info;
}

const errorCode = (e: unknown): string => (e instanceof SourceError ? `${e.failure}${e.httpStatus ? ` ${e.httpStatus}` : ''}` : 'INTERNAL');

export function startFhirSync(o: FhirSyncOptions): FhirSync {
  const clinicalEvery = o.clinicalEvery ?? DEFAULT_CLINICAL_EVERY;
  const capabilityCheckMs = o.capabilityCheckMs ?? DEFAULT_CAPABILITY_CHECK_MS;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();

  type Runner = {
    source: ScheduledSource;
    chain: Promise<unknown>;
    polls: number;
    failures: number;
    checkedAt: number;
    types?: string[];
    /** When the next reconciliation is due (ms); read from connection_health at the first poll. */
    reconcileDue?: number;
  };
  const runners = new Map<string, Runner>(
    o.sources.map((source) => [source.connection.id, { source, chain: Promise.resolve(), polls: 0, failures: 0, checkedAt: -Infinity }]),
  );

  const poll = async (r: Runner, clinical: boolean | undefined): Promise<SyncReport> => {
    const id = r.source.connection.id;
    if (Date.now() - r.checkedAt >= capabilityCheckMs) {
      // The version watch never stops a poll: an unreadable CapabilityStatement is logged.
      await checkServer(o.db, r.source).then(
        () => (r.checkedAt = Date.now()),
        (e: unknown) => log.warn('capability_statement_unreadable', { source: id, error: errorCode(e) }),
      );
    }
    const withClinical = clinical ?? (r.polls > 0 && r.polls % clinicalEvery === 0);
    r.polls++;
    if (withClinical && !r.types) r.types = (await offeredTypes(r.source.connection, r.source.client)).types;
    try {
      const report = await syncConnection(
        o.db,
        {
          connection: r.source.connection,
          client: r.source.client,
          protection: o.protection,
          clinicalTypes: r.types ?? [],
          overlapMs: o.overlapMs,
        },
        { clinical: withClinical },
      );
      r.failures = 0;
      const now = new Date();
      await recordHealth(o.db, id, { lastSyncAt: now, lastSuccessAt: now });
      if (Object.values(report.types).some((t) => t.accepted > 0)) o.onEvents?.();
      return report;
    } catch (error) {
      r.failures++;
      await recordHealth(o.db, id, { lastErrorAt: new Date(), lastErrorCode: errorCode(error) }).catch(() => undefined);
      log.warn('fhir_sync_failed', { source: id, error: errorCode(error), failures: r.failures });
      throw error;
    }
  };

  const enqueue = (r: Runner, clinical?: boolean): Promise<SyncReport> => {
    const run = r.chain.then(() => traceJob('fhir sync', { 'pgw.connection': r.source.connection.id }, () => poll(r, clinical)));
    r.chain = run.catch(() => undefined);
    return run;
  };

  const reconcile = async (r: Runner): Promise<ReconcileReport> => {
    const id = r.source.connection.id;
    if (!r.types) r.types = (await offeredTypes(r.source.connection, r.source.client)).types;
    try {
      return await reconcileConnection(o.db, {
        connection: r.source.connection,
        client: r.source.client,
        protection: o.protection,
        clinicalTypes: r.types,
      });
    } catch (error) {
      log.warn('fhir_reconcile_failed', { source: id, error: errorCode(error) });
      throw error;
    }
  };

  const enqueueReconcile = (r: Runner): Promise<ReconcileReport> => {
    const run = r.chain.then(() => traceJob('fhir reconcile', { 'pgw.connection': r.source.connection.id }, () => reconcile(r)));
    r.chain = run.catch(() => undefined);
    return run;
  };

  /** Reconciles when due; a failed pass is tried again after a tenth of the interval (at most 10 minutes). */
  const reconcileIfDue = async (r: Runner): Promise<void> => {
    const every = (r.source.connection.reconcileEverySeconds ?? DEFAULT_RECONCILE_EVERY_SECONDS) * 1000;
    if (every === 0 || stopped) return;
    if (r.reconcileDue === undefined) {
      const last = (await connectionHealth(o.db, [r.source.connection.id])).get(r.source.connection.id)?.reconciledAt;
      // Never reconciled: the initial load has just read everything, nothing to find yet.
      r.reconcileDue = (last?.getTime() ?? Date.now()) + every;
    }
    if (Date.now() < r.reconcileDue) return;
    await enqueueReconcile(r).then(
      () => (r.reconcileDue = Date.now() + every),
      () => (r.reconcileDue = Date.now() + Math.min(every / 10, 600_000)),
    );
  };

  const schedule = (r: Runner): void => {
    if (stopped) return;
    const interval = (r.source.connection.syncIntervalSeconds ?? DEFAULT_SYNC_INTERVAL_SECONDS) * 1000;
    const delay = r.failures === 0 ? interval : interval + fullJitter(r.failures - 1, interval, 10 * interval, o.random);
    const timer = setTimeout(() => {
      timers.delete(timer);
      void enqueue(r)
        .catch(() => undefined)
        .then(() => reconcileIfDue(r))
        .catch(() => undefined)
        .then(() => schedule(r));
    }, delay);
    timers.add(timer);
  };

  if (o.autoStart !== false)
    for (const r of runners.values())
      void enqueue(r)
        .catch(() => undefined)
        .then(() => reconcileIfDue(r))
        .catch(() => undefined)
        .then(() => schedule(r));

  return {
    async runNow(connectionId, options = {}) {
      const selected = [...runners.values()].filter((r) => connectionId === undefined || r.source.connection.id === connectionId);
      if (connectionId !== undefined && selected.length === 0) throw new Error(`no FHIR connection ${connectionId} is synced`);
      // One connection named: its failure is the answer.
      if (connectionId !== undefined) return [await enqueue(selected[0]!, options.clinical)];
      const settled = await Promise.allSettled(selected.map((r) => enqueue(r, options.clinical)));
      return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    },
    reconcileNow(connectionId) {
      const r = runners.get(connectionId);
      if (!r) return Promise.reject(new Error(`no FHIR connection ${connectionId} is synced`));
      return enqueueReconcile(r);
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([...runners.values()].map((r) => r.chain));
    },
  };
}
