// `npm run audit:export` (runtime/audit-export.ts) as an auditor checks it (issue 12, finding 16):
// the export's own access is one audit row naming who exported (the OS user, or --operator), the
// purpose (HOPERAT, health care operations), how many rows left and the SHA-256 of the file; it is
// written before the file appears, so an export the log could not record leaves no file at all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropSchema, migrate, openDatabase, type Database } from '../../../platform/db.ts';
import { writeAuditEvents } from '../../../orchestration/audit/audit-log.ts';
import { appendRequests, testPrincipal } from '../../../orchestration/audit/test-helpers.ts';
import { ALL_MIGRATIONS } from '../../../runtime/components.ts';
import { databaseUrl, uniqueSchema } from '../../support/env.ts';
import { runCommandScript } from '../../support/command.ts';

const CLI = fileURLToPath(new URL('../../../runtime/audit-export.ts', import.meta.url));
const url = databaseUrl();
const work = mkdtempSync(join(tmpdir(), 'audit-export-'));
const schema = uniqueSchema('auditexp');
/** A golden patient with one access row of its own. */
const ONE = '6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e';

/** The product's storage, opened by the test only while the CLI is not running (PGlite serves one process). */
async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ url, dataDir: url ? undefined : join(work, 'data', 'pg'), schema });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const cli = (...args: string[]) => runCommandScript(CLI, args, { dataDir: join(work, 'data'), schema });

type ExportRow = {
  actor_sub: string;
  actor_roles: string[];
  purpose_of_use: string | null;
  patient_ref: string | null;
  fields: string[];
  operation_name: string | null;
  document_hash: string | null;
  subgraph: string;
};
const exportRows = (): Promise<ExportRow[]> =>
  withDb(
    async (db) =>
      (
        await db.query<ExportRow>(
          "SELECT actor_sub, actor_roles, purpose_of_use, patient_ref, fields, operation_name, document_hash, subgraph FROM audit_event WHERE operation_name = 'audit:export' ORDER BY seq",
        )
      ).rows,
  );
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

before(() =>
  withDb(async (db) => {
    await migrate(db, ALL_MIGRATIONS);
    await appendRequests(db, 3, 2);
    await writeAuditEvents(
      db,
      { principal: testPrincipal({ requestId: 'req-one' }), subgraph: 'mpi', operationName: 'One' },
      [{ patientRef: `Patient/${ONE}`, fields: ['Patient.name'] }],
      [],
    );
  }),
);
after(async () => {
  if (url) await withDb((db) => dropSchema(db));
  rmSync(work, { recursive: true, force: true });
});

test('an export is one audit row: operator, purpose, rows exported, the file digest', async () => {
  const out = join(work, 'all.ndjson');
  const run = await cli('--out', out, '--operator', 'auditor-7');
  assert.equal(run.code, 0, run.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines.length, 7);
  let rows = await exportRows();
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0], {
    actor_sub: 'auditor-7',
    actor_roles: ['security'],
    purpose_of_use: 'HOPERAT',
    patient_ref: 'AuditLog',
    fields: ['AuditEvent.fhir', 'rows=7'],
    operation_name: 'audit:export',
    document_hash: sha256(out),
    subgraph: 'audit-export',
  });

  // Without --operator: the operating-system user. The previous export is itself one of the rows now.
  const second = join(work, 'second.ndjson');
  const secondRun = await cli('--out', second);
  assert.equal(secondRun.code, 0, secondRun.stderr);
  rows = await exportRows();
  assert.equal(rows.length, 2);
  assert.deepEqual(
    [rows[1]!.actor_sub, rows[1]!.fields, rows[1]!.document_hash],
    [`os:${userInfo().username}`, ['AuditEvent.fhir', 'rows=8'], sha256(second)],
  );

  // One patient's trail: the row is about that patient.
  const one = join(work, 'one.ndjson');
  const oneRun = await cli('--out', one, '--patient', ONE.toUpperCase(), '--operator', 'auditor-7');
  assert.equal(oneRun.code, 0, oneRun.stderr);
  rows = await exportRows();
  assert.deepEqual([rows[2]!.patient_ref, rows[2]!.fields], [`Patient/${ONE}`, ['AuditEvent.fhir', 'rows=1']]);
  // Anything but a golden id is refused before the database is asked.
  const bad = await cli('--out', join(work, 'bad.ndjson'), '--patient', 'p0-1');
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^audit:export: --patient must be a golden patient id \(a UUID\)/);
});

test('an export the audit log cannot record leaves no file (the row is written before the file is put in place)', async () => {
  await withDb(async (db) => {
    await db.query(
      "CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit storage refused by the test'; END $$",
    );
    await db.query('CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()');
  });
  const out = join(work, 'unrecorded.ndjson');
  try {
    const run = await cli('--out', out);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /^audit:export: the export could not be recorded in the audit log, so nothing was exported\n$/);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(`${out}.partial`), false);
  } finally {
    await withDb(async (db) => {
      await db.query('DROP TRIGGER test_refuse_audit ON audit_event');
      await db.query('DROP FUNCTION test_refuse_audit()');
    });
  }
});

test('bad instants are refused before anything is read', async () => {
  const run = await cli('--out', join(work, 'x.ndjson'), '--from', 'yesterday');
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^audit:export: --from must be an ISO 8601 instant .* \(got "yesterday"\)/);
  assert.equal(existsSync(join(work, 'x.ndjson')), false);
});
