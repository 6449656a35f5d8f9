// `npm run mpi:link` (runtime/mpi-link.ts) as a user runs it: a child process on the product's
// storage (a unique PostgreSQL schema when DATABASE_URL is set, else a temporary embedded
// database), keys in a temporary KEYS_DIR. Plus the pure parts: reading one line, CSV, arguments,
// and the MPI benchmarks' metrics and FEBRL conversion (bench/ is outside the test glob).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadVendorProfile } from '../platform/config.ts';
import { dropSchema, openDatabase } from '../platform/db.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';
import { febrlEntity, febrlToPatient, fhirId, parseFebrlCsv } from '../bench/mpi/febrl.ts';
import { markdownTable, pairwiseMetrics, percentile } from '../bench/mpi/metrics.ts';
import { ProductError } from '../platform/errors.ts';
import { mapBounded, prepareRecord, PROBLEMS, storedIdFor } from '../orchestration/mpi/ndjson-linking.ts';
import { connectionSystems, CSV_HEADER, csvRow, parseCliArgs } from './mpi-link.ts';
import { sourceScope } from '../translation/fhir-r4/patient.ts';

const BATCH = sourceScope({ id: 'batch' });
const CLI = fileURLToPath(new URL('./mpi-link.ts', import.meta.url));
const url = databaseUrl();
const work = mkdtempSync(join(tmpdir(), 'mpi-link-'));
const schema = uniqueSchema('mpilink');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: join(work, 'data'),
    KEYS_DIR: join(work, 'keys'),
    DB_SCHEMA: schema,
    LOG_LEVEL: 'warn',
  };
  if (!url) delete env.DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The product's storage as the CLI uses it; opened only while no CLI runs (PGlite serves one process). */
const openStore = () => openDatabase({ url, dataDir: url ? undefined : join(work, 'data', 'pg'), schema });

after(async () => {
  if (url) {
    const db = await openStore();
    await dropSchema(db);
    await db.close();
  }
  rmSync(work, { recursive: true, force: true });
});

const patient = (fields: Record<string, unknown>) => JSON.stringify({ resourceType: 'Patient', ...fields });
const SSN = 'http://hl7.org/fhir/sid/us-ssn';

// One person twice (formatting differs the way two EHRs differ), strangers, and every kind of bad
// record. Values that must never reach stderr are listed in PHI.
const LINES = [
  patient({
    id: 'p-1',
    name: [{ family: "O'Brien", given: ['Mary-Ann'] }],
    birthDate: '1975-03-14',
    gender: 'female',
    identifier: [{ system: SSN, value: '123-45-6789' }],
    address: [{ line: ['12 Harbor Street'], city: 'Salem', state: 'MA', postalCode: '01970' }],
    telecom: [{ system: 'phone', value: '978-555-0101' }],
  }),
  patient({
    id: 'p-2',
    name: [{ family: 'OBRIEN', given: ['MARY ANN'] }],
    birthDate: '1975-03-14',
    gender: 'female',
    identifier: [{ system: SSN, value: '123456789' }],
    address: [{ line: ['12 HARBOR ST'], city: 'SALEM', state: 'MA', postalCode: '01970' }],
    telecom: [{ system: 'phone', value: '(978) 555-0101' }],
  }),
  patient({
    id: 'p-3',
    name: [{ family: 'Castellanos', given: ['Rafael'] }],
    birthDate: '1962-11-02',
    gender: 'male',
    identifier: [{ system: SSN, value: '987-65-4321' }],
  }),
  patient({ id: 'p-4', birthDate: '1980-01-01', gender: 'male' }),
  patient({ id: 'p-5', name: [{ family: 'Whitlock', given: ['Ines'] }], birthDate: '1990-02-30', gender: 'female' }),
  '{"resourceType":"Patient","id":"p-6","name":[{"family":"Leakcheck"',
  JSON.stringify({ resourceType: 'Observation', id: 'o-7', status: 'final', code: { text: 'x' } }),
  '',
  patient({ name: [{ family: 'Quuxley', given: ['Zed'] }], birthDate: '2001-07-04' }),
  patient({ id: 'p-10', name: [{ family: 'Castellanos', given: ['Rafaela'] }], birthDate: '1999-05-05', gender: 'female' }),
];
const PHI = [
  "O'Brien",
  'OBRIEN',
  'Mary',
  '123-45-6789',
  '123456789',
  'Castellanos',
  'Whitlock',
  'Leakcheck',
  'Quuxley',
  '1975-03-14',
  '1990-02-30',
  '555-0101',
];
const EXPECTED_IDS = ['p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'line-6', 'o-7', 'line-9', 'p-10'];
const DECISIONS = new Set(['MATCH', 'POSSIBLE_MATCH', 'NO_MATCH']);

type Row = { recordId: string; goldenId: string; decision: string; score: string };
const readCsv = (file: string): { header: string; rows: Row[] } => {
  const [header = '', ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  return {
    header,
    rows: lines.map((l) => {
      const [recordId = '', goldenId = '', decision = '', score = ''] = l.split(',');
      return { recordId, goldenId, decision, score };
    }),
  };
};

test('links a file: one row per record in input order, the same golden record for one person, bad records reported without PHI, quarantined, still linked', async () => {
  const input = join(work, 'patients.ndjson');
  const out = join(work, 'clusters.csv');
  // With a byte-order mark and CRLF line ends, as a Windows export comes.
  writeFileSync(input, `\uFEFF${LINES.join('\r\n')}\r\n`);
  const run = await cli('--input', input, '--out', out);
  assert.equal(run.code, 0, run.stderr);

  const { header, rows } = readCsv(out);
  assert.equal(header, CSV_HEADER);
  assert.deepEqual(
    rows.map((r) => r.recordId),
    EXPECTED_IDS,
  );
  for (const r of rows) {
    assert.match(r.goldenId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, r.recordId);
    assert.ok(DECISIONS.has(r.decision), `${r.recordId}: ${r.decision}`);
    assert.match(r.score, /^$|^\d+\.\d{4}$/, r.recordId);
  }
  const golden = new Map(rows.map((r) => [r.recordId, r.goldenId]));
  assert.equal(golden.get('p-2'), golden.get('p-1'), 'the same person in two formats is one golden record');
  assert.equal(rows[1]!.decision, 'MATCH');
  assert.notEqual(golden.get('p-3'), golden.get('p-1'));
  assert.notEqual(golden.get('p-10'), golden.get('p-3'), 'same family name, different person');
  // Records with nothing readable as a patient get a provisional golden record of their own.
  for (const id of ['line-6', 'o-7']) assert.equal([...golden.values()].filter((g) => g === golden.get(id)).length, 1, id);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.equal(existsSync(`${out}.partial`), false);

  // Each bad record by line number and reason; never a value from a record.
  for (const expected of [
    /line 4 \(record "p-4"\): no usable name/,
    /line 5 \(record "p-5"\): birth date is not a valid date/,
    /line 6 \(record "line-6", stored as line-6-[0-9a-f]{12}\): not JSON/,
    /line 7 \(record "o-7", stored as line-7-[0-9a-f]{12}\): not a Patient resource \(Observation\)/,
    /line 9 \(record "line-9", stored as line-9-[0-9a-f]{12}\): no id/,
  ])
    assert.match(run.stderr, expected);
  for (const id of ['p-1', 'p-2', 'p-3', 'p-10']) assert.equal(run.stderr.includes(`(record "${id}"`), false, `${id} is not a bad record`);
  assert.match(run.stderr, /9 records in/);
  assert.match(run.stderr, /bad records \(linked anyway, see above\):\s+5 \(/);
  for (const value of PHI) assert.equal(run.stderr.includes(value), false, `stderr shows ${value}`);

  // Translation's refusals are kept, sealed, under the stored id the report names.
  const db = await openStore();
  try {
    const q = await db.query<{ resource_type: string; resource_id: string; payload: { encrypted?: string } }>(
      "SELECT resource_type, resource_id, payload FROM quarantine WHERE source = 'batch' ORDER BY resource_id",
    );
    assert.deepEqual(
      q.rows.map((r) => [r.resource_type, r.resource_id.replace(/-[0-9a-f]{12}$/, '')]),
      [
        ['Patient', 'line-6'],
        ['Observation', 'line-7'],
        ['Patient', 'line-9'],
      ],
    );
    for (const r of q.rows) assert.match(r.payload.encrypted ?? '', /^enc:v1:/);
  } finally {
    await db.close();
  }

  // Re-running the same file updates the same source records: same golden records, nothing new.
  const again = await cli('--input', input, '--out', join(work, 'again.csv'), '--concurrency', '1');
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    readCsv(join(work, 'again.csv')).rows.map((r) => [r.recordId, r.goldenId]),
    rows.map((r) => [r.recordId, r.goldenId]),
  );
  assert.match(again.stderr, /golden records created:\s+0/);
});

test('bad arguments and unreadable input: exit 2 with a message; --help: usage, exit 0', async () => {
  const help = await cli('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: npm run mpi:link -- --input FILE --out FILE/);
  const missing = await cli('--input', join(work, 'nope.ndjson'), '--out', join(work, 'x.csv'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read input file .*nope\.ndjson: ENOENT/);
  assert.equal(existsSync(join(work, 'x.csv')), false);
  const noOut = await cli('--input', join(work, 'nope.ndjson'));
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /--out is required/);
  const unknown = await cli('--input', 'a', '--out', 'b', '--fast');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--fast'/);
});

// ---------------------------------------------------------------------------------------------
// Pure parts

const profile = loadVendorProfile('fhir-r4');
const TODAY = '2025-06-01';

test('prepareRecord: good, warned and refused lines', () => {
  const good = prepareRecord(LINES[0]!, 1, BATCH, profile, TODAY);
  assert.deepEqual([good.recordId, good.demographics.sourcePatientId, good.problems, good.quarantine], ['p-1', 'p-1', [], null]);
  assert.equal(good.demographics.identifiers[0]?.type, 'SS');

  const future = prepareRecord(patient({ id: 'f', name: [{ family: 'A' }], birthDate: '2030-01-01' }), 2, BATCH, profile, TODAY);
  assert.deepEqual(future.problems, [PROBLEMS.futureBirthDate]);

  const impossible = prepareRecord(LINES[4]!, 5, BATCH, profile, TODAY);
  assert.deepEqual(impossible.problems, [PROBLEMS.invalidBirthDate]);
  assert.deepEqual([impossible.demographics.birthDate, impossible.demographics.birthDateAsRecorded], [null, '1990-02-30']);

  const notJson = prepareRecord('{oops', 6, BATCH, profile, TODAY);
  assert.deepEqual(
    [notJson.recordId, notJson.problems, notJson.demographics.name, notJson.quarantine?.resourceId],
    ['line-6', [PROBLEMS.notJson], null, storedIdFor(6, '{oops')],
  );

  // A Practitioner's name is not a patient's: nothing of it is linked.
  const other = prepareRecord(
    JSON.stringify({ resourceType: 'Practitioner', id: 'dr', name: [{ family: 'House' }] }),
    7,
    BATCH,
    profile,
    TODAY,
  );
  assert.deepEqual(
    [other.recordId, other.problems, other.demographics.name, other.quarantine?.resourceType],
    ['dr', ['not a Patient resource (Practitioner)'], null, 'Practitioner'],
  );

  // A Patient without id: quarantined, and linked on what it says under a stored id.
  const noId = prepareRecord(LINES[8]!, 9, BATCH, profile, TODAY);
  assert.deepEqual(
    [noId.recordId, noId.problems, noId.demographics.name?.family, noId.demographics.sourcePatientId],
    ['line-9', [PROBLEMS.noId], 'Quuxley', storedIdFor(9, LINES[8]!)],
  );
  assert.ok(noId.quarantine);

  const malformed = prepareRecord(patient({ id: 'm', identifier: { system: SSN } }), 10, BATCH, profile, TODAY);
  assert.deepEqual([malformed.recordId, malformed.problems, malformed.demographics.identifiers], ['m', [PROBLEMS.malformed], []]);
  assert.deepEqual(prepareRecord('[1,2]', 11, BATCH, profile, TODAY).problems, [PROBLEMS.notObject]);
  assert.notEqual(storedIdFor(3, 'a'), storedIdFor(3, 'b'));
});

test('csvRow: 4-decimal score or empty, RFC 4180 quoting of odd ids', () => {
  assert.equal(csvRow({ recordId: 'a', goldenId: 'g', decision: 'MATCH', score: 0.98765 }), 'a,g,MATCH,0.9877');
  assert.equal(csvRow({ recordId: 'a,"b"', goldenId: 'g', decision: 'NO_MATCH', score: null }), '"a,""b""",g,NO_MATCH,');
});

test('parseCliArgs: defaults and refusals', () => {
  assert.deepEqual(parseCliArgs(['--input', 'a.ndjson', '--out', 'b.csv']), {
    input: 'a.ndjson',
    out: 'b.csv',
    source: 'batch',
    profile: 'fhir-r4',
    concurrency: 8,
  });
  const usage = (e: unknown) => e instanceof ProductError && e.code === 'BAD_USER_INPUT';
  assert.equal(parseCliArgs(['--help']), null);
  assert.throws(() => parseCliArgs(['--input', 'a', '--out', 'a']), usage);
  assert.throws(() => parseCliArgs(['--input', 'a', '--out', 'b', '--concurrency', '0']), /--concurrency/);
  assert.throws(() => parseCliArgs(['--input', 'a', '--out', 'b', '--source', 'a b']), /--source/);
  assert.throws(() => parseCliArgs(['--input', 'a', '--out', 'b', 'extra']), usage);
});

test('mapBounded: input order, never more than the limit in flight, settles everything before rejecting', async () => {
  let inFlight = 0,
    peak = 0;
  const out = await mapBounded([5, 1, 4, 2, 3], 2, async (x) => {
    peak = Math.max(peak, ++inFlight);
    await new Promise((r) => setTimeout(r, x));
    inFlight--;
    return x * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(peak, 2);
  let settled = 0;
  await assert.rejects(
    mapBounded([1, 2, 3], 3, async (x) => {
      await new Promise((r) => setTimeout(r, x * 5));
      settled++;
      if (x === 1) throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(settled, 3);
});

test('pairwise metrics (bench/mpi/metrics.ts)', () => {
  // Truth: {a1,a2,a3} {b1,b2} {c1}. Predicted: {a1,a2} {a3,b1} {b2} {c1}.
  const m = pairwiseMetrics([
    { entity: 'a', cluster: '1' },
    { entity: 'a', cluster: '1' },
    { entity: 'a', cluster: '2' },
    { entity: 'b', cluster: '2' },
    { entity: 'b', cluster: '3' },
    { entity: 'c', cluster: '4' },
  ]);
  assert.deepEqual(
    [m.truePairs, m.predictedPairs, m.correctPairs, m.falseMergePairs, m.missedPairs, m.impureClusters, m.entities, m.clusters],
    [4, 2, 1, 1, 3, 1, 3, 4],
  );
  assert.equal(m.precision, 0.5);
  assert.equal(m.recall, 0.25);
  assert.ok(Math.abs(m.f1! - 1 / 3) < 1e-12);
  const none = pairwiseMetrics([
    { entity: 'a', cluster: '1' },
    { entity: 'a', cluster: '2' },
  ]);
  assert.deepEqual([none.precision, none.recall, none.f1], [null, 0, null]);
  assert.deepEqual([percentile([1, 2, 3, 4], 50), percentile([1, 2, 3, 4], 99), percentile([7], 95)], [2, 4, 7]);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.equal(markdownTable(['a', 'n'], [['x', 1200]]), '| a | n |\n| --- | ---: |\n| x | 1,200 |');
});

test('FEBRL rows as FHIR Patients, impossible dates passed on as recorded (bench/mpi/febrl.ts)', () => {
  const rows = parseFebrlCsv(
    'rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\r\n' +
      'rec-223-org, , waller, 6, tullaroop street, willaroo, st james, 4011, wa, 19081209, 6988048\r\n' +
      'rec-10-dup-0, kayla, harrington, , maltby circuit, , coolaroo, 3465, nsw, 19151345, \r\n',
  );
  assert.deepEqual(febrlToPatient(rows[0]!), {
    resourceType: 'Patient',
    id: 'rec-223-org',
    identifier: [{ system: SSN, value: '6988048' }],
    name: [{ family: 'waller' }],
    birthDate: '1908-12-09',
    address: [{ line: ['6 tullaroop street', 'willaroo'], city: 'st james', state: 'wa', postalCode: '4011', country: 'AU' }],
  });
  const dup = febrlToPatient(rows[1]!);
  assert.deepEqual(
    [dup.birthDate, dup.identifier, dup.address?.[0]?.line, dup.name],
    ['1915-13-45', undefined, ['maltby circuit'], [{ family: 'harrington', given: ['kayla'] }]],
  );
  assert.deepEqual([febrlEntity('rec-10-dup-0'), febrlEntity('rec-10-org'), fhirId('rec_1 x')], ['10', '10', 'rec-1-x']);
});

test("a source that is a configured connection links its MRNs under the connection's own system", () => {
  const configured = connectionSystems('epic-main', {});
  assert.ok(configured?.MR, 'config/connections.json names epic-main its MR system');
  assert.equal(connectionSystems('batch', {}), undefined);

  const line = patient({
    id: 'm-1',
    name: [{ family: 'A' }],
    identifier: [{ system: 'http://hospital.smarthealthit.org', type: { coding: [{ code: 'MR' }] }, value: 'MRN-1' }],
  });
  const mrn = (scope: ReturnType<typeof sourceScope>) =>
    prepareRecord(line, 1, scope, profile, TODAY).demographics.identifiers.find((i) => i.type === 'MR')?.system;
  assert.equal(mrn(sourceScope({ id: 'epic-main', identifierSystems: configured })), configured.MR);
  assert.equal(mrn(sourceScope({ id: 'batch' })), 'urn:patient-gateway:connection:batch:mr');
});
