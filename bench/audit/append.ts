// What one chained append costs against the plain INSERT it replaced, on the configured storage
// (DATABASE_URL, else PGlite in memory), in a schema of its own that is dropped at the end:
//   node bench/audit/append.ts
// Sequential calls (latency of one append, as a subgraph awaits it before responding), then 16
// callers at once (throughput; the chain serializes appends on its head row).
import { performance } from 'node:perf_hooks';
import { dropSchema, migrate, openDatabase, type Queryable } from '../../platform/db.ts';
import { AUDIT_MIGRATIONS, writeAuditEvents } from '../../orchestration/audit/audit-log.ts';
import { testPrincipal } from '../../orchestration/audit/test-helpers.ts';
import { uniqueSchema } from '../../test/support/env.ts';

const url = process.env.DATABASE_URL || undefined;
const db = await openDatabase({ url, schema: uniqueSchema('auditbench') });
const FIELDS = ['Patient.id', 'Patient.name', 'Patient.birthDate', 'Patient.gender', 'Patient.identifiers', 'Patient.sourceRecords'];

// The table and statement the chained log replaced (orchestration/audit/audit-log.ts before).
const PLAIN = `CREATE TABLE plain_audit_event (
  id bigserial PRIMARY KEY, recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(), request_id text NOT NULL, subgraph text NOT NULL,
  actor_sub text NOT NULL, actor_roles text[] NOT NULL, client_id text, purpose_of_use text, patient_ref text NOT NULL, fields text[] NOT NULL,
  decision text NOT NULL CHECK (decision IN ('permit', 'deny')), operation_name text);
CREATE INDEX plain_audit_event_patient ON plain_audit_event (patient_ref, recorded_at);
CREATE INDEX plain_audit_event_request ON plain_audit_event (request_id)`;

const plainInsert = (q: Queryable, i: number, rows: number) =>
  q.query(
    `INSERT INTO plain_audit_event (request_id, subgraph, actor_sub, actor_roles, client_id, purpose_of_use, patient_ref, fields, decision, operation_name)
     SELECT $1, $2, $3, $4::text[], $5, $6, r.patient_ref, ARRAY(SELECT jsonb_array_elements_text(r.fields)), r.decision, $7
     FROM jsonb_to_recordset($8::jsonb) AS r(patient_ref text, fields jsonb, decision text)`,
    [
      'bench-' + i,
      'mpi',
      'clin-1',
      ['clinician'],
      'app',
      'TREAT',
      'Op',
      JSON.stringify(Array.from({ length: rows }, (_, j) => ({ patient_ref: `Patient/${i}-${j}`, fields: FIELDS, decision: 'permit' }))),
    ],
  );
const chained = (q: Queryable, i: number, rows: number) =>
  writeAuditEvents(
    q,
    { principal: testPrincipal({ requestId: `bench-${i}` }), subgraph: 'mpi', operationName: 'Op' },
    Array.from({ length: rows }, (_, j) => ({ patientRef: `Patient/${i}-${j}`, fields: FIELDS })),
    [],
  );

async function sequential(name: string, n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 30; i++) await fn(-i - 1);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  const ms = (performance.now() - t0) / n;
  console.log(`${name.padEnd(44)} ${ms.toFixed(3)} ms per call`);
  return ms;
}

async function concurrent(name: string, n: number, callers: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await fn(i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const total = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(44)} ${((n / total) * 1000).toFixed(0)} calls/s, p50 ${latencies[Math.floor(n / 2)]!.toFixed(2)} ms, p99 ${latencies[Math.floor(n * 0.99)]!.toFixed(2)} ms`,
  );
}

try {
  await migrate(db, [...AUDIT_MIGRATIONS, { id: 'bench-plain', sql: PLAIN }]);
  console.log(`storage: ${db.kind}${url ? '' : ' (in memory)'}`);
  const n = Number(process.env.BENCH_CALLS ?? 500);
  for (const rows of [1, 3, 20]) {
    const p = await sequential(`plain INSERT, ${rows} row(s) per call`, n, (i) => plainInsert(db, i, rows));
    const c = await sequential(`chained audit_append, ${rows} row(s) per call`, n, (i) => chained(db, i, rows));
    console.log(`${''.padEnd(44)} chained / plain = ×${(c / p).toFixed(2)} (+${(c - p).toFixed(3)} ms)`);
  }
  for (const callers of [16]) {
    await concurrent(`plain INSERT, 1 row, ${callers} callers`, n * 4, callers, (i) => plainInsert(db, i, 1));
    await concurrent(`chained, 1 row, ${callers} callers (grouped)`, n * 4, callers, (i) => chained(db, i, 1));
    // Without the in-process grouping: every call takes the chain head itself.
    await concurrent(`chained, 1 row, ${callers} callers (ungrouped)`, n * 4, callers, (i) =>
      db.query('SELECT audit_append($1::jsonb)', [
        JSON.stringify([
          {
            request_id: `u-${i}`,
            subgraph: 'mpi',
            actor_sub: 'clin-1',
            actor_roles: ['clinician'],
            patient_ref: `Patient/${i}`,
            fields: FIELDS,
            decision: 'permit',
          },
        ]),
      ]),
    );
  }
} finally {
  await dropSchema(db);
  await db.close();
}
