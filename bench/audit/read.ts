// Reading the audit log at scale: one page of auditEvents (50 rows) as the audit subgraph reads it,
// now (orchestration/audit/query.ts: a person's trail, counts only on request) against the
// queries it replaced (current links only, count(*) of every matching row on every page), in
// interleaved rounds, on synthetic rows in a schema of its own that is dropped at the end:
//   DATABASE_URL=postgres://... node bench/audit/read.ts        (BENCH_AUDIT_ROWS, 3,000,000)
// Rows are inserted directly as the owner (hashes are not a chain: only reading is measured),
// 12 monthly partitions, 100,000 patients, 2,000 actors plus one batch account with a tenth of
// the rows; one patient has a merged id and a record that moved in from another golden record.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dropSchema, migrate, openDatabase, type Queryable } from '../../platform/db.ts';
import { AUDIT_MIGRATIONS } from '../../orchestration/audit/audit-log.ts';
import { MPI_MIGRATIONS } from '../../orchestration/mpi/migrations.ts';
import { auditEventCount, auditEventPage, withTrail, type AuditFilter } from '../../orchestration/audit/query.ts';
import { commandLine, reportFailure, usageError } from '../../runtime/cli.ts';
import { uniqueSchema } from '../../test/support/env.ts';

commandLine({
  name: 'bench:audit:read',
  usage: 'npm run bench:audit:read',
  description: 'One page of auditEvents at 3 million rows, now against the queries it replaced (BENCHMARKS.md).',
  options: {},
  example: 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:audit:read',
  notes:
    'BENCH_AUDIT_ROWS (default 3000000), BENCH_ROUNDS (default 15); BENCH_AUDIT_SCHEMA=name keeps and reuses the loaded schema.\n' +
    'Needs DATABASE_URL: this benchmark is about PostgreSQL at scale.',
});
const url = process.env.DATABASE_URL;
if (!url) process.exit(reportFailure('bench:audit:read', usageError('set DATABASE_URL: this benchmark is about PostgreSQL at scale')));
const ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 3_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const PAGE = 50;
// BENCH_AUDIT_SCHEMA: load into (or reuse) this schema and keep it, to rerun or EXPLAIN without loading again.
const kept = process.env.BENCH_AUDIT_SCHEMA;
const db = await openDatabase({ url, schema: kept ?? uniqueSchema('auditread'), maxConnections: 2 });

const uuid = (expr: string) => `md5('golden-' || (${expr}))::uuid`;
const START = '2025-01-01T00:00:00Z';
const STEP_S = (365 * 86400) / ROWS;

async function load(): Promise<void> {
  await migrate(db, [...AUDIT_MIGRATIONS, ...MPI_MIGRATIONS]);
  for (let m = 0; m < 12; m += 1)
    await db.query('SELECT audit_ensure_partitions($1::timestamptz)', [`2025-${String(m + 1).padStart(2, '0')}-15`]);
  const t0 = performance.now();
  // In batches of 250,000 rows; seq gap-free and recorded_at rising with it, as audit_append writes them.
  for (let lo = 1; lo <= ROWS; lo += 250_000) {
    const hi = Math.min(ROWS, lo + 249_999);
    await db.query(
      `INSERT INTO audit_event (seq, recorded_at, request_id, subgraph, subgraph_version, actor_sub, actor_roles, client_id, purpose_of_use, patient_ref, fields,
         operation_name, decision, outcome, prev_hash, hash)
       SELECT s, $3::timestamptz + make_interval(secs => s * $4::float8), 'req-' || (s / 3), CASE WHEN s % 5 = 0 THEN 'epic' ELSE 'mpi' END, '0.1.0',
         CASE WHEN s % 10 = 0 THEN 'svc-batch' ELSE 'clin-' || (s % 2000) END, '{clinician}', 'chart-app', 'TREAT',
         CASE WHEN s % 5 = 0 THEN 'SourceRecord/epic-main:E' || ((s * 7919) % 150000) ELSE 'Patient/' || ${uuid('(s * 7919) % 100000')} END,
         '{Patient.name,Patient.birthDate}', 'Chart', 'permit', 'success', '\\x00', sha256(s::text::bytea)
       FROM generate_series($1::bigint, $2::bigint) AS s`,
      [lo, hi, START, STEP_S],
    );
  }
  await db.query(`UPDATE audit_chain_head SET seq = $1, recorded_at = 'infinity' WHERE id = 1`, [ROWS]);
  // Patient 42: records epic E42 and cerner C42; golden 43 merged into it; record E44 moved in from golden 44 mid-year.
  await db.query(`INSERT INTO golden_patient (id) SELECT ${uuid('n')} FROM generate_series(0, 99999) AS n`);
  await db.query(`UPDATE golden_patient SET status = 'MERGED', merged_into = ${uuid('42')} WHERE id = ${uuid('43')}`);
  await db.query(
    `INSERT INTO source_record (source, source_patient_id, golden_id, demographics) VALUES
       ('epic-main', 'E42', ${uuid('42')}, '{}'), ('cerner-main', 'C42', ${uuid('42')}, '{}'), ('epic-main', 'E44', ${uuid('42')}, '{}'),
       ('epic-main', 'E45', ${uuid('44')}, '{}')`,
  );
  await db.query(
    `INSERT INTO link_event (at, source, source_patient_id, golden_id, previous_golden_id, state, origin, action, actor) VALUES
       ('2025-01-01', 'epic-main', 'E42', ${uuid('42')}, NULL, 'MATCH', 'AUTO', 'CREATED', 'system:mpi'),
       ('2025-01-01', 'cerner-main', 'C42', ${uuid('43')}, NULL, 'MATCH', 'AUTO', 'CREATED', 'system:mpi'),
       ('2025-03-01', 'cerner-main', 'C42', ${uuid('42')}, ${uuid('43')}, 'MATCH', 'MANUAL', 'MERGED', 'steward'),
       ('2025-01-01', 'epic-main', 'E44', ${uuid('44')}, NULL, 'MATCH', 'AUTO', 'CREATED', 'system:mpi'),
       ('2025-07-01', 'epic-main', 'E44', ${uuid('42')}, ${uuid('44')}, 'MATCH', 'MANUAL', 'LINKED', 'steward')`,
  );
  await db.query('ANALYZE');
  console.log(`loaded ${ROWS.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

// What the audit subgraph ran before (orchestration/audit/query.ts on main): current links only, and count(*) on every page.
const BEFORE_WHERE = `($1::text IS NULL OR e.patient_ref = 'Patient/' || $1 OR e.patient_ref IN (
                 SELECT 'SourceRecord/' || s.source || ':' || s.source_patient_id FROM source_record s WHERE s.golden_id::text = $1))
  AND ($2::text IS NULL OR e.actor_sub = $2)
  AND ($3::timestamptz IS NULL OR e.recorded_at >= $3::timestamptz)
  AND ($4::timestamptz IS NULL OR e.recorded_at < $4::timestamptz)`;
async function beforePage(q: Queryable, f: AuditFilter, beforeSeq: string | null): Promise<number> {
  const params = [f.patientId ?? null, f.actor ?? null, f.from ?? null, f.to ?? null];
  const { rows } = await q.query(
    `SELECT e.seq::text AS seq FROM audit_event e WHERE ${BEFORE_WHERE} AND ($5::bigint IS NULL OR e.seq < $5::bigint) ORDER BY e.seq DESC LIMIT $6`,
    [...params, beforeSeq, PAGE + 1],
  );
  await q.query(`SELECT count(*)::int AS n FROM audit_event e WHERE ${BEFORE_WHERE}`, params);
  return rows.length;
}

type Case = { readonly name: string; readonly filter: AuditFilter; readonly deep?: boolean };
const patient = (await import('node:crypto')).createHash('md5').update('golden-42').digest('hex');
const patientId = `${patient.slice(0, 8)}-${patient.slice(8, 12)}-${patient.slice(12, 16)}-${patient.slice(16, 20)}-${patient.slice(20)}`;
const CASES: Case[] = [
  { name: 'whole log, first page', filter: {} },
  { name: 'whole log, a page in the middle', filter: {}, deep: true },
  { name: 'one week (June)', filter: { from: '2025-06-01T00:00:00Z', to: '2025-06-08T00:00:00Z' } },
  { name: 'one patient (trail)', filter: { patientId } },
  { name: 'one clinician', filter: { actor: 'clin-42' } },
  { name: 'batch account (10% of rows)', filter: { actor: 'svc-batch' } },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

try {
  const loaded = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = $1 AND tablename = 'audit_event'`,
    [db.schema],
  );
  if (!kept || loaded.rows[0]!.n === '0') await load();
  const middle = String(Math.floor(ROWS / 2));
  const results: Record<string, { before: number; page: number; pageAndCount: number; count: number; exact: boolean; rows: number }> = {};
  for (const c of CASES) {
    const cursor = c.deep ? { seq: middle, recordedAt: null } : null;
    const samples = { before: [] as number[], page: [] as number[], pageAndCount: [] as number[] };
    let counted = { count: 0, exact: true };
    let rows = 0;
    for (let r = 0; r < ROUNDS + 2; r++) {
      // Interleaved; the first two rounds warm the cache and are not counted.
      const b = await time(() => beforePage(db, c.filter, cursor?.seq ?? null));
      const p = await time(async () => (rows = (await auditEventPage(db, c.filter, PAGE, cursor)).events.length));
      // As the audit subgraph does when totalCount is selected: the trail once, then the page and the count side by side.
      const pc = await time(async () => {
        const f = await withTrail(db, c.filter);
        await Promise.all([auditEventPage(db, f, PAGE, cursor), auditEventCount(db, f).then((x) => (counted = x))]);
      });
      if (r < 2) continue;
      samples.before.push(b);
      samples.page.push(p);
      samples.pageAndCount.push(pc);
    }
    results[c.name] = {
      before: median(samples.before),
      page: median(samples.page),
      pageAndCount: median(samples.pageAndCount),
      ...counted,
      rows,
    };
  }
  console.log(`\n${ROWS.toLocaleString('en-US')} rows, page of ${PAGE}, median of ${ROUNDS} interleaved rounds (ms)`);
  console.log('| query | before: page + count(*) | now: page | now: page + totalCount | totalCount |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, r] of Object.entries(results))
    console.log(
      `| ${name} | ${r.before.toFixed(1)} | ${r.page.toFixed(1)} | ${r.pageAndCount.toFixed(1)} | ${r.count.toLocaleString('en-US')}${r.exact ? '' : ' (capped)'} |`,
    );
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  const file = new URL(`../results/audit-read-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
  writeFileSync(
    file,
    JSON.stringify(
      { rows: ROWS, page: PAGE, rounds: ROUNDS, machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memory: totalmem() }, results },
      null,
      2,
    ),
  );
} finally {
  if (!kept) await dropSchema(db);
  await db.close();
}
