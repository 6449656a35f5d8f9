// Cohort exports: asynchronous jobs, durable in PostgreSQL (cohort_export), that write a
// Bulk-FHIR-style manifest and one NDJSON file per resource type for the members of one snapshot
// (so a job's content does not move while it runs, and a restarted job writes the same members).
//
// A worker claims a job with a lease (FOR UPDATE SKIP LOCKED: one worker per job, however many
// processes run one), renews the lease every page, and writes each file as `<name>.partial`,
// renamed when the job is done, the manifest last; only then is the job completed. A job whose
// lease ran out (its process crashed or stopped) is claimed again and restarted from scratch: its
// directory is emptied first, so a completed job never has partial files and nothing left by the
// crash is served. Each page of members is one audit append naming the patients it exported,
// attributed to the requester. Completed jobs expire (410 for downloads), and a sweeper removes
// their files.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, Queryable } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import { logger } from '../../platform/log.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { Principal } from '../../security/principal.ts';
import { mergedItemsFor, type MergedItem } from '../clinical-store/read.ts';
import { writeAuditEvents } from '../audit/audit-log.ts';
import type { GoldenPatient } from '../mpi/store.ts';
import type { ClinicalResourceType, FhirJson } from '../../translation/fhir-r4/clinical-fields.ts';
import type { CursorPosition } from './cursor.ts';
import type { CohortView } from './saved.ts';
import { snapshotById, snapshotPage, type CohortSnapshot } from './saved.ts';

export const EXPORT_STATUS = {
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  expired: 'expired',
} as const;
export type ExportStatus = (typeof EXPORT_STATUS)[keyof typeof EXPORT_STATUS];

/** One NDJSON file of a completed job: what the manifest lists, and what downloads check (size, ETag). */
export type ExportFile = {
  readonly type: string;
  readonly name: string;
  readonly count: number;
  readonly bytes: number;
  readonly etag: string;
};

/** Bulk Data Access IG (FHIR) manifest, as the job's manifest.json holds it. */
export type ExportManifest = {
  readonly transactionTime: string;
  readonly request: string;
  readonly requiresAccessToken: true;
  readonly output: readonly { readonly type: string; readonly url: string; readonly count: number }[];
  readonly error: readonly { readonly type: string; readonly url: string }[];
};

export type ExportJob = {
  readonly id: string;
  readonly cohortId: string;
  readonly snapshotId: string;
  readonly requester: string;
  readonly view: CohortView;
  readonly types: readonly string[];
  readonly status: ExportStatus;
  readonly membersTotal: number;
  readonly membersDone: number;
  readonly resourcesWritten: number;
  readonly attempts: number;
  readonly error: string | null;
  readonly files: readonly ExportFile[];
  readonly requestedAt: string;
  readonly completedAt: string | null;
  readonly expiresAt: string | null;
};

/** What the worker needs from the requester to write audit rows in their name (never PHI). */
export type ExportPrincipal = Pick<Principal, 'sub' | 'roles' | 'purposeOfUse' | 'clientId' | 'scopes' | 'requestId'>;

/** How members become resources in the job's view (policies/safe-harbor.ts for de-identified jobs). */
export type ExportRendering = {
  patient(p: GoldenPatient, view: CohortView): FhirJson;
  clinical(item: MergedItem, patientId: string, view: CohortView, jobId: string): FhirJson;
};

export type ExportDependencies = {
  readonly db: Database;
  readonly protection: IdentifierProtection;
  /** Files go to `<dir>/<job id>/`. */
  readonly dir: string;
  readonly render: ExportRendering;
  /** The public base of download URLs (the gateway's origin), read when a job completes. */
  readonly baseUrl: () => string;
  /** How long a completed export may be downloaded. */
  readonly ttlMs: number;
  /** How long a claim lasts without renewal (renewed every page). */
  readonly leaseMs?: number;
  /** Members per page (one audit append and one progress update each). */
  readonly pageSize?: number;
  /** A crashed job is retried this many times in all, then failed. */
  readonly maxAttempts?: number;
  /** Aborted when the process stops: the running job is handed back between pages, for the next start to redo. */
  readonly signal?: AbortSignal;
};

const log = logger('cohort-export');
const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_PAGE = 200;
const DEFAULT_ATTEMPTS = 3;
const MANIFEST = 'manifest.json';
const iso = (v: Date | string | null): string | null => (v === null ? null : (v instanceof Date ? v : new Date(v)).toISOString());

type JobRow = {
  id: string;
  cohort_id: string;
  snapshot_id: string;
  requester: string;
  principal: ExportPrincipal;
  view: CohortView;
  types: string[];
  status: ExportStatus;
  members_total: number;
  members_done: number;
  resources_written: number;
  attempts: number;
  error: string | null;
  files: ExportFile[] | null;
  requested_at: Date | string;
  completed_at: Date | string | null;
  expires_at: Date | string | null;
};
const COLUMNS = `id::text, cohort_id::text, snapshot_id::text, requester, principal, view, types, status, members_total, members_done,
  resources_written, attempts, error, files, requested_at, completed_at, expires_at`;
const toJob = (r: JobRow): ExportJob => ({
  id: r.id,
  cohortId: r.cohort_id,
  snapshotId: r.snapshot_id,
  requester: r.requester,
  view: r.view,
  types: r.types,
  status: r.status,
  membersTotal: r.members_total,
  membersDone: r.members_done,
  resourcesWritten: r.resources_written,
  attempts: r.attempts,
  error: r.error,
  files: r.files ?? [],
  requestedAt: iso(r.requested_at)!,
  completedAt: iso(r.completed_at),
  expiresAt: iso(r.expires_at),
});

/** Queues an export of one snapshot; `types` are Patient and the clinical types the requester may read. */
export async function requestExport(
  db: Queryable,
  r: {
    readonly snapshot: CohortSnapshot;
    readonly principal: ExportPrincipal;
    readonly view: CohortView;
    readonly types: readonly string[];
  },
): Promise<ExportJob> {
  const { principal: p } = r;
  const principal: ExportPrincipal = {
    sub: p.sub,
    roles: p.roles,
    purposeOfUse: p.purposeOfUse,
    clientId: p.clientId,
    scopes: p.scopes,
    requestId: p.requestId,
  };
  const { rows } = await db.query<JobRow>(
    `INSERT INTO cohort_export (id, cohort_id, snapshot_id, requester, principal, view, types, status, members_total)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::text[], 'queued', $8) RETURNING ${COLUMNS}`,
    [randomUUID(), r.snapshot.cohortId, r.snapshot.id, p.sub, JSON.stringify(principal), r.view, r.types, r.snapshot.memberCount],
  );
  return toJob(rows[0]!);
}

export async function exportJobById(db: Queryable, id: string): Promise<ExportJob | null> {
  const { rows } = await db.query<JobRow>(`SELECT ${COLUMNS} FROM cohort_export WHERE id = $1`, [id]);
  return rows[0] ? toJob(rows[0]) : null;
}

/** Claims the oldest queued job, or a running one whose lease ran out (its worker is gone). */
async function claim(db: Queryable, leaseMs: number): Promise<(ExportJob & { principal: ExportPrincipal }) | null> {
  const { rows } = await db.query<JobRow>(
    `UPDATE cohort_export SET status = 'running', attempts = attempts + 1, members_done = 0, resources_written = 0,
       started_at = now(), lease_until = now() + make_interval(secs => $1::double precision / 1000)
     WHERE id = (SELECT id FROM cohort_export WHERE status = 'queued' OR (status = 'running' AND lease_until < now())
                 ORDER BY requested_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING ${COLUMNS}`,
    [leaseMs],
  );
  return rows[0] ? { ...toJob(rows[0]), principal: rows[0].principal } : null;
}

/** Progress and lease, in one statement; false when the job is no longer ours (claimed again elsewhere after a lapse). */
async function renew(db: Queryable, job: ExportJob, attempt: number, done: number, written: number, leaseMs: number): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE cohort_export SET members_done = $3, resources_written = $4, lease_until = now() + make_interval(secs => $5::double precision / 1000)
     WHERE id = $1 AND attempts = $2 AND status = 'running' RETURNING 1`,
    [job.id, attempt, done, written, leaseMs],
  );
  return rows.length === 1;
}

/** One NDJSON file being written: its lines counted and hashed as they go (the ETag of the finished file). */
type Sink = {
  readonly type: string;
  readonly name: string;
  readonly stream: WriteStream;
  readonly hash: ReturnType<typeof createHash>;
  count: number;
};

const write = (s: Sink, resource: FhirJson): Promise<void> => {
  const line = `${JSON.stringify(resource)}\n`;
  s.hash.update(line);
  s.count++;
  return s.stream.write(line) ? Promise.resolve() : new Promise((resolve) => s.stream.once('drain', () => resolve()));
};
const close = (s: Sink): Promise<void> =>
  new Promise((resolve, reject) => {
    s.stream.once('error', reject);
    s.stream.end(() => resolve());
  });

/** Every item of these patients of the given types: one statement per page of items, per patient only for long histories. */
async function itemsOf(db: Queryable, ids: readonly string[], types: readonly ClinicalResourceType[]): Promise<Map<string, MergedItem[]>> {
  const out = new Map<string, MergedItem[]>();
  if (types.length === 0) return out;
  const first = await mergedItemsFor(db, ids, { types, first: 200 });
  for (const [id, page] of first) {
    const items = [...page.items];
    for (let after = page.endCursor, more = page.hasNextPage; more && after;) {
      const next = (await mergedItemsFor(db, [id], { types, first: 200, after })).get(id)!;
      items.push(...next.items);
      more = next.hasNextPage;
      after = next.endCursor;
    }
    out.set(id, items);
  }
  return out;
}

const fileName = (type: string): string => `${type}.ndjson`;

/** Runs one claimed job to completion (or throws); the caller records a failure. */
async function run(deps: ExportDependencies, job: ExportJob & { principal: ExportPrincipal }): Promise<void> {
  const { db } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const size = deps.pageSize ?? DEFAULT_PAGE;
  const snapshot = await snapshotById(db, job.snapshotId);
  if (!snapshot) throw new ProductError('NOT_FOUND', `snapshot ${job.snapshotId} of export ${job.id} is gone`);
  const dir = join(deps.dir, job.id);
  // A restart begins from nothing: whatever an earlier attempt left (partial or renamed files) goes.
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const sinks = new Map<string, Sink>(
    job.types.map((type) => [
      type,
      {
        type,
        name: fileName(type),
        stream: createWriteStream(join(dir, `${fileName(type)}.partial`), { mode: 0o600 }),
        hash: createHash('sha256'),
        count: 0,
      },
    ]),
  );
  const clinicalTypes = job.types.filter((t) => t !== 'Patient') as ClinicalResourceType[];
  const principal: Principal = { ...job.principal, patientContext: null, breakGlassReason: null, clientIp: null };
  let done = 0;
  let written = 0;
  try {
    for (let after: CursorPosition | null = null; ;) {
      if (deps.signal?.aborted) throw new Stopped();
      const page = await snapshotPage(db, deps.protection, { snapshot, first: size, after, count: false });
      const ids = page.members.map((m) => m.patient.id);
      const items = await itemsOf(db, ids, clinicalTypes);
      for (const m of page.members) {
        const patientId = m.patient.id;
        const patient = sinks.get('Patient');
        if (patient) {
          await write(patient, deps.render.patient(m.patient, job.view));
          written++;
        }
        for (const item of items.get(patientId) ?? []) {
          const sink = sinks.get(item.resourceType);
          if (!sink) continue;
          await write(sink, deps.render.clinical(item, patientId, job.view, job.id));
          written++;
        }
      }
      // One audit append per page, naming every patient the page exported (as patients() does for a page it shows).
      if (ids.length > 0)
        await writeAuditEvents(
          db,
          { principal, subgraph: 'mpi', operationName: 'exportCohort', outcome: 'success' },
          ids.map((id) => ({
            patientRef: `Patient/${id}`,
            fields: ['Mutation.exportCohort', ...job.types.map((t) => `CohortExport.${t}`)],
            rules: [job.view === 'deidentified' ? 'deidentifiedExport' : 'identifiedExport'],
          })),
          [],
        );
      done += page.members.length;
      if (!(await renew(db, job, job.attempts, done, written, leaseMs))) throw new LostLease();
      if (!page.hasNextPage || !page.end) break;
      after = page.end;
    }
    const files: ExportFile[] = [];
    for (const s of sinks.values()) {
      await close(s);
      await rename(join(dir, `${s.name}.partial`), join(dir, s.name));
      files.push({
        type: s.type,
        name: s.name,
        count: s.count,
        bytes: (await stat(join(dir, s.name))).size,
        etag: `"${s.hash.digest('hex')}"`,
      });
    }
    const base = deps.baseUrl().replace(/\/+$/, '');
    const manifest: ExportManifest = {
      transactionTime: snapshot.takenAt,
      request: `${base}/graphql#exportCohort(id:${job.cohortId},snapshot:${job.snapshotId})`,
      requiresAccessToken: true,
      // Bulk Data: files without resources are left out of `output`.
      output: files.filter((f) => f.count > 0).map((f) => ({ type: f.type, url: `${base}/exports/${job.id}/${f.name}`, count: f.count })),
      error: [],
    };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    await writeText(join(dir, MANIFEST), manifestText);
    const manifestFile: ExportFile = {
      type: 'manifest',
      name: MANIFEST,
      count: 0,
      bytes: Buffer.byteLength(manifestText),
      etag: `"${createHash('sha256').update(manifestText).digest('hex')}"`,
    };
    const completed = await db.query(
      `UPDATE cohort_export SET status = 'completed', files = $3::jsonb, manifest = $4::jsonb, members_done = $5, resources_written = $6,
         completed_at = now(), expires_at = now() + make_interval(secs => $7::double precision / 1000), lease_until = NULL
       WHERE id = $1 AND attempts = $2 AND status = 'running' RETURNING 1`,
      [job.id, job.attempts, JSON.stringify([...files, manifestFile]), JSON.stringify(manifest), done, written, deps.ttlMs],
    );
    if (completed.rows.length !== 1) throw new LostLease();
  } finally {
    for (const s of sinks.values()) if (!s.stream.closed) s.stream.destroy();
  }
}

/** The process is stopping: the job goes back to be claimed again at once (not counted as an attempt). */
class Stopped extends Error {
  constructor() {
    super('export worker stopped');
    this.name = 'Stopped';
  }
}

/** Another worker claimed the job after this one's lease lapsed: this one stops and leaves the files to it. */
class LostLease extends Error {
  constructor() {
    super('export lease lost');
    this.name = 'LostLease';
  }
}

async function writeText(file: string, body: string): Promise<void> {
  const stream = createWriteStream(`${file}.partial`, { mode: 0o600 });
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(body, () => resolve());
  });
  await rename(`${file}.partial`, file);
}

/** What a failed job says: a code from the product's vocabulary or the error's class, never a message that could quote data. */
const failureOf = (error: unknown): string => (error instanceof ProductError ? error.code : ((error as Error | null)?.name ?? 'unknown'));

/**
 * Claims and runs jobs until none is left. Returns how many it finished (completed or failed).
 * A job that has already been tried maxAttempts times is failed when claimed again.
 */
export async function runPendingExports(deps: ExportDependencies): Promise<number> {
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  let finished = 0;
  for (;;) {
    if (deps.signal?.aborted) return finished;
    const job = await claim(deps.db, leaseMs);
    if (!job) return finished;
    try {
      if (job.attempts > (deps.maxAttempts ?? DEFAULT_ATTEMPTS)) throw new ProductError('INTERNAL_SERVER_ERROR', 'too many attempts');
      await run(deps, job);
      log.info('export_completed', { job: job.id, attempt: job.attempts });
    } catch (error) {
      if (error instanceof LostLease) continue;
      if (error instanceof Stopped) {
        await deps.db.query(
          `UPDATE cohort_export SET attempts = attempts - 1, lease_until = now() WHERE id = $1 AND attempts = $2 AND status = 'running'`,
          [job.id, job.attempts],
        );
        return finished;
      }
      log.warn('export_failed', { job: job.id, attempt: job.attempts, error: failureOf(error) });
      await rm(join(deps.dir, job.id), { recursive: true, force: true });
      await deps.db.query(`UPDATE cohort_export SET status = 'failed', error = $3, lease_until = NULL WHERE id = $1 AND attempts = $2`, [
        job.id,
        job.attempts,
        failureOf(error),
      ]);
    }
    finished++;
  }
}

/** Marks completed jobs past their expiry as expired and removes their files; returns how many. */
export async function sweepExpiredExports(db: Queryable, dir: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE cohort_export SET status = 'expired' WHERE status = 'completed' AND expires_at <= now() RETURNING id::text`,
  );
  for (const r of rows) await rm(join(dir, r.id), { recursive: true, force: true });
  return rows.length;
}

/** Runs queued jobs in the background (woken by new requests, and every pollMs), and sweeps expired ones. */
export function startExportWorker(deps: ExportDependencies & { readonly pollMs?: number }): { wake(): void; stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const stopping = new AbortController();
  const work = { ...deps, signal: stopping.signal };
  const tick = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await sweepExpiredExports(deps.db, deps.dir);
          await runPendingExports(work);
        } catch (error) {
          log.warn('export_worker_failed', { error: failureOf(error) });
        }
      } while (again && !stopped);
    })().finally(() => (running = null));
  };
  const timer = setInterval(tick, deps.pollMs ?? 10_000);
  timer.unref();
  tick();
  return {
    wake: tick,
    async stop() {
      stopped = true;
      stopping.abort();
      clearInterval(timer);
      await running;
    },
  };
}

/** What a download request gets: a file of the requester's completed job, or why not. */
export type ExportDownload =
  | { readonly kind: 'file'; readonly path: string; readonly file: ExportFile; readonly job: ExportJob }
  | { readonly kind: 'gone' }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-ready'; readonly status: ExportStatus };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Decides a download: only the requester's own job (anyone else gets not-found, as for a job that
 * does not exist), completed and not expired (gone after expiry), and only a file the job lists.
 */
export async function exportDownload(db: Queryable, dir: string, requester: string, jobId: string, name: string): Promise<ExportDownload> {
  if (!UUID.test(jobId)) return { kind: 'not-found' };
  const { rows } = await db.query<JobRow & { expired: boolean }>(
    `SELECT ${COLUMNS}, (expires_at IS NOT NULL AND expires_at <= now()) AS expired FROM cohort_export WHERE id = $1`,
    [jobId],
  );
  const row = rows[0];
  if (!row || row.requester !== requester) return { kind: 'not-found' };
  if (row.status === 'expired' || row.expired) return { kind: 'gone' };
  const job = toJob(row);
  if (job.status !== 'completed') return { kind: 'not-ready', status: job.status };
  const file = job.files.find((f) => f.name === name);
  return file ? { kind: 'file', path: join(dir, job.id, file.name), file, job } : { kind: 'not-found' };
}
