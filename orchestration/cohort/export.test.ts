// Export jobs against real PostgreSQL (or PGlite) and real files: a job left running by a crash
// (its lease run out, partial files on disk) is claimed again and restarted from scratch, never
// completed with what the crash left; its files are then the same bytes as a clean run's; a
// worker that lost its lease stops without completing; a job tried too often fails; the
// identified view writes golden Patients and clinical resources about them.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadSafeHarbor } from '../../policies/safe-harbor.ts';
import { exportRendering } from '../../subgraphs/mpi/export-rendering.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';
import { AUDIT_MIGRATIONS } from '../audit/audit-log.ts';
import { migrate } from '../../platform/db.ts';
import { cohortCriteria } from './criteria.ts';
import { exportJobById, requestExport, runPendingExports, type ExportDependencies, type ExportJob } from './export.ts';
import { createCohort, takeSnapshot, type CohortSnapshot } from './saved.ts';
import { buildFixture, identifiedTestContext, openCohortTestDb, type Fixture } from './test-helpers.ts';

let t: MpiTestDb;
let fixture: Fixture;
let dir: string;
let snapshot: CohortSnapshot;
let deps: ExportDependencies;
const principal = {
  sub: 'clinician-x',
  roles: ['clinician'] as const,
  purposeOfUse: 'TREAT' as const,
  clientId: null,
  scopes: ['user/*.rs'],
  requestId: 'r1',
};

before(async () => {
  t = await openCohortTestDb();
  await migrate(t.db, AUDIT_MIGRATIONS);
  fixture = await buildFixture(t);
  dir = mkdtempSync(join(tmpdir(), 'export-test-'));
  const context = identifiedTestContext();
  // Everyone but bob.
  const filter = { not: { gender: 'male', birthYearFrom: 1980 } };
  const c = await createCohort(t.db, { name: 'all but one', filter, view: 'identified', actor: 'clinician-x' }, async () => undefined);
  snapshot = await takeSnapshot(t.db, {
    cohortId: c.id,
    version: 1,
    criteria: cohortCriteria(filter, context),
    coarsening: { oldestCategoryBirthYear: 1936, restrictedZip3: [] },
    actor: 'clinician-x',
  });
  deps = {
    db: t.db,
    protection: t.protection,
    dir,
    render: exportRendering(loadSafeHarbor(), () => 2026),
    baseUrl: () => 'http://gateway.test',
    ttlMs: 60_000,
    pageSize: 2,
  };
});
after(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

const TYPES = ['Patient', 'Observation', 'Condition', 'MedicationRequest', 'Encounter'];
const queue = (): Promise<ExportJob> => requestExport(t.db, { snapshot, principal, view: 'identified', types: TYPES });
const filesOf = (job: ExportJob): Record<string, string> =>
  Object.fromEntries(readdirSync(join(dir, job.id)).map((f) => [f, readFileSync(join(dir, job.id, f), 'utf8')]));

test('identified export: golden Patients, clinical resources about them, manifest last, progress counted', async () => {
  const job = await queue();
  assert.equal(await runPendingExports(deps), 1);
  const done = (await exportJobById(t.db, job.id))!;
  assert.equal(done.status, 'completed');
  // ann, cara, eve (dan merged into eve): bob is left out.
  assert.equal(done.membersTotal, 3);
  assert.equal(done.membersDone, 3);
  const files = filesOf(done);
  assert.deepEqual(Object.keys(files).sort(), [...TYPES.map((x) => `${x}.ndjson`), 'manifest.json'].sort());
  assert.ok(!Object.keys(files).some((f) => f.endsWith('.partial')));
  const patients = files['Patient.ndjson']!.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; name?: unknown[] });
  assert.deepEqual(patients.map((p) => p.id).sort(), [fixture.ann, fixture.cara, fixture.eve].sort());
  assert.ok(patients.every((p) => Array.isArray(p.name) && p.name.length === 1));
  // dan's condition was merged into eve: it is about eve.
  const conditions = files['Condition.ndjson']!.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { subject: { reference: string } });
  assert.ok(conditions.some((c) => c.subject.reference === `Patient/${fixture.eve}`));
  assert.ok(!conditions.some((c) => c.subject.reference === `Patient/${fixture.dan}`));
  const manifest = JSON.parse(files['manifest.json']!) as { output: { type: string; url: string; count: number }[] };
  assert.equal(manifest.output.find((o) => o.type === 'Patient')?.url, `http://gateway.test/exports/${job.id}/Patient.ndjson`);
  assert.equal(
    done.resourcesWritten,
    manifest.output.reduce((n, o) => n + o.count, 0),
  );
  // One audit append per page of two members: two appends, every member named once.
  const audit = await t.db.query<{ patient_ref: string; recorded_at: Date }>(
    `SELECT patient_ref, recorded_at FROM audit_event WHERE actor_sub = 'clinician-x' AND 'Mutation.exportCohort' = ANY(fields)`,
  );
  assert.deepEqual(audit.rows.map((r) => r.patient_ref).sort(), patients.map((p) => `Patient/${p.id}`).sort());
  assert.equal(new Set(audit.rows.map((r) => r.recorded_at.toISOString())).size, 2);
});

test('a job left running by a crash is restarted from scratch: same bytes as a clean run, nothing the crash left', async () => {
  const clean = await queue();
  await runPendingExports(deps);
  const expected = filesOf((await exportJobById(t.db, clean.id))!);
  // A crash mid-run: claimed (attempt 1), some progress, a partial file and a stray file on disk, the lease run out.
  const crashed = await queue();
  await t.db.query(
    `UPDATE cohort_export SET status = 'running', attempts = 1, members_done = 2, lease_until = now() - interval '1 second' WHERE id = $1`,
    [crashed.id],
  );
  mkdirSync(join(dir, crashed.id), { recursive: true });
  writeFileSync(join(dir, crashed.id, 'Patient.ndjson.partial'), '{"resourceType":"Patient","id":"half');
  writeFileSync(join(dir, crashed.id, 'stray.ndjson'), 'left by the crash\n');
  // Still running (lease valid): another job's worker leaves it alone.
  assert.equal((await exportJobById(t.db, crashed.id))!.status, 'running');
  assert.equal(await runPendingExports(deps), 1);
  const resumed = (await exportJobById(t.db, crashed.id))!;
  assert.deepEqual([resumed.status, resumed.attempts, resumed.membersDone], ['completed', 2, 3]);
  const files = filesOf(resumed);
  assert.equal(files['stray.ndjson'], undefined);
  for (const [name, body] of Object.entries(expected)) {
    if (name === 'manifest.json') continue;
    assert.equal(files[name], body, name);
  }
  // A clean run finds nothing more to do: a restart changes nothing.
  assert.equal(await runPendingExports(deps), 0);
});

test('a worker stopped mid-job hands it back between pages, not counted as an attempt; the next run completes it', async () => {
  const job = await queue();
  const stopping = new AbortController();
  // Stopped once the first page is written (page size 2, three members).
  let pages = 0;
  const stopAfterFirstPage = {
    ...deps,
    render: {
      patient: (...a: Parameters<ExportDependencies['render']['patient']>) => {
        if (++pages === 2) stopping.abort();
        return deps.render.patient(...a);
      },
      clinical: deps.render.clinical,
    },
    signal: stopping.signal,
  };
  assert.equal(await runPendingExports(stopAfterFirstPage), 0);
  const handedBack = (await exportJobById(t.db, job.id))!;
  assert.deepEqual([handedBack.status, handedBack.attempts, handedBack.membersDone], ['running', 0, 2]);
  // Claimable at once (its lease ended), and completed by the next run.
  assert.equal(await runPendingExports(deps), 1);
  assert.deepEqual([(await exportJobById(t.db, job.id))!.status, (await exportJobById(t.db, job.id))!.attempts], ['completed', 1]);
});

test('a job tried too often fails, with a code and no files', async () => {
  const job = await queue();
  await t.db.query(`UPDATE cohort_export SET status = 'running', attempts = 3, lease_until = now() - interval '1 second' WHERE id = $1`, [
    job.id,
  ]);
  await runPendingExports(deps);
  const failed = (await exportJobById(t.db, job.id))!;
  assert.deepEqual([failed.status, failed.error], ['failed', 'INTERNAL_SERVER_ERROR']);
  assert.equal(existsSync(join(dir, job.id)), false);
});
