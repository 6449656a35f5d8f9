// Translation throughput into the clinical store: Synthea's Bulk NDJSON (every clinical type it
// has) through ingestResources (validation, terminology, units, time, lineage, idempotent write)
// into real PostgreSQL, then the same rows loaded by PostgreSQL's own COPY (server-side file) into
// a table of the same shape, in the same run. Second pass: the same resources again (idempotent:
// nothing written). A schema of its own, dropped at the end:
//   DATABASE_URL=postgres://... node bench/clinical/ingest.ts
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dropSchema, migrate, openDatabase } from '../../platform/db.ts';
import { CLINICAL_STORE_MIGRATIONS, ITEM_COLUMNS } from '../../orchestration/clinical-store/migrations.ts';
import { ingestResources } from '../../orchestration/clinical-store/ingest.ts';
import { QUARANTINE_MIGRATIONS } from '../../translation/quarantine.ts';
import { isClinicalType } from '../../translation/fhir-r4/clinical-fields.ts';
import { loadTerminology } from '../../translation/terminology/translate.ts';
import { fieldCipher, loadFieldKeys } from '../../security/field-encryption.ts';
import { identifierProtection } from '../../security/identifier-protection.ts';
import { commandLine, reportFailure, usageError } from '../../runtime/cli.ts';
import { SHARED_DATA, uniqueSchema } from '../../test/support/env.ts';

commandLine({
  name: 'bench:clinical:ingest',
  usage: 'npm run bench:clinical:ingest',
  description: 'Synthea NDJSON through translate-and-store into PostgreSQL, beside COPY of the same rows (BENCHMARKS.md).',
  options: {},
  example: 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:clinical:ingest',
  notes: 'BENCH_BATCH (default 500). Needs DATABASE_URL and a superuser role (COPY to and from a server-side file).',
});
const url = process.env.DATABASE_URL;
if (!url) process.exit(reportFailure('bench:clinical:ingest', usageError('set DATABASE_URL: this benchmark is about PostgreSQL')));
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const dir = join(SHARED_DATA, 'synthea/bulk-ndjson-10-patients');
const resources = readdirSync(dir)
  .filter((f) => f.endsWith('.ndjson') && isClinicalType(f.split('.')[0]!))
  .flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown),
  );

const db = await openDatabase({ url, schema: uniqueSchema('clinbench'), maxConnections: 2 });
const keys = mkdtempSync(join(tmpdir(), 'clinbench-'));
try {
  await migrate(db, [...QUARANTINE_MIGRATIONS, ...CLINICAL_STORE_MIGRATIONS]);
  const protection = identifierProtection(fieldCipher(loadFieldKeys(keys, true)));
  const ctx = { source: 'synthea', timeZone: 'America/New_York', retrievedAt: new Date().toISOString(), terminology: loadTerminology() };
  const pass = async () => {
    const t0 = performance.now();
    let inserted = 0;
    let quarantined = 0;
    for (let i = 0; i < resources.length; i += BATCH) {
      const r = await ingestResources(db, resources.slice(i, i + BATCH), ctx, protection);
      inserted += r.inserted;
      quarantined += r.quarantined.length;
    }
    return { ms: performance.now() - t0, inserted, quarantined };
  };
  const first = await pass();
  const second = await pass();

  // COPY of the very rows stored, from a CSV file the server reads.
  const csv = join(keys, 'rows.csv');
  const cols = ITEM_COLUMNS.join(', ');
  // The server (same machine) writes and reads the file: a superuser role is needed.
  chmodSync(keys, 0o777);
  await db.query(`COPY (SELECT ${cols} FROM clinical_item) TO '${csv}' (FORMAT csv)`);
  await db.query(`CREATE TABLE clinical_item_copy (LIKE clinical_item INCLUDING ALL)`);
  const c0 = performance.now();
  await db.query(`COPY clinical_item_copy (${cols}) FROM '${csv}' (FORMAT csv)`);
  const copyMs = performance.now() - c0;
  const n = resources.length;
  const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);
  console.log(
    JSON.stringify({
      resources: n,
      batch: BATCH,
      first: { ...first, ms: Math.round(first.ms), perSecond: rate(n, first.ms) },
      again: { ...second, ms: Math.round(second.ms), perSecond: rate(n, second.ms) },
      copy: { rows: first.inserted, ms: Math.round(copyMs), perSecond: rate(first.inserted, copyMs) },
    }),
  );
} finally {
  await dropSchema(db);
  await db.close();
  rmSync(keys, { recursive: true, force: true });
}
