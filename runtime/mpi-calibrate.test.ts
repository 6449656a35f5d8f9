// `npm run mpi:calibrate` as an operator runs it: a child process, on an NDJSON file before a load
// and on the MPI after one (a unique PostgreSQL schema when DATABASE_URL is set, else a temporary
// embedded database). The population is bench/mpi/synthetic.ts's: people with a second record
// for ~10% of them, so the true prior is known.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropSchema, openDatabase } from '../platform/db.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';
import { hasSecondRecord, person, secondRecord, toPatient } from '../bench/mpi/synthetic.ts';
import { loadMatchingConfig, DEFAULT_MATCHING_CONFIG_FILE } from '../orchestration/mpi/matching/index.ts';
import { parseCalibrateArgs, reservoir } from './mpi-calibrate.ts';

const CALIBRATE = fileURLToPath(new URL('./mpi-calibrate.ts', import.meta.url));
const LINK = fileURLToPath(new URL('./mpi-link.ts', import.meta.url));
const url = databaseUrl();
const work = mkdtempSync(join(tmpdir(), 'mpi-calibrate-'));
const schema = uniqueSchema('mpicalib');
const input = join(work, 'patients.ndjson');
const PEOPLE = 3000;
const SEED = 7;

function run(cli: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: join(work, 'data'),
    KEYS_DIR: join(work, 'keys'),
    DB_SCHEMA: schema,
    LOG_LEVEL: 'warn',
  };
  if (!url) delete env.DATABASE_URL;
  delete env.MATCHING_CONFIG_FILE;
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: 240_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

let records = 0;
let duplicatePairs = 0;
const families: string[] = [];
before(() => {
  const lines: string[] = [];
  for (let i = 0; i < PEOPLE; i++) {
    const p = person(SEED, i);
    if (i < 20) families.push(p.family);
    lines.push(JSON.stringify(toPatient(p, `a-${i}`, `A${i}`)));
    if (hasSecondRecord(SEED, i)) {
      lines.push(JSON.stringify(toPatient(secondRecord(SEED, i), `b-${i}`, `B${i}`)));
      duplicatePairs++;
    }
  }
  lines.push('{"resourceType":"Observation","id":"not-a-patient"}', 'not json');
  records = lines.length - 2;
  writeFileSync(input, `${lines.join('\n')}\n`);
});

after(async () => {
  if (url) {
    const db = await openDatabase({ url, schema });
    await dropSchema(db);
    await db.close();
  }
  rmSync(work, { recursive: true, force: true });
});

const truePrior = () => duplicatePairs / ((records * (records - 1)) / 2);
const readConfig = (file: string) => ({
  config: loadMatchingConfig(file),
  raw: JSON.parse(readFileSync(file, 'utf8')) as { $calibration: Record<string, unknown>; $comment: unknown },
});

test('before a load: calibrates on the input file, writes a configuration the product accepts, prints no PHI', async () => {
  const out = join(work, 'calibrated.json');
  const r = await run(CALIBRATE, '--input', input, '--out', out, '--pairs', '200000');
  assert.equal(r.code, 0, r.stderr);
  const { config, raw } = readConfig(out);
  const base = loadMatchingConfig(DEFAULT_MATCHING_CONFIG_FILE);
  assert.equal(raw.$calibration.population, records, 'every Patient counted, the two refused lines skipped');
  assert.ok(raw.$comment, "the base file's comments are kept");
  // The EM estimate of the prior lands near the truth (the synthetic errors are not FEBRL's, so not exactly); the prior
  // written never exceeds the configured one (calibration never makes matching less precise).
  const estimated = raw.$calibration.priorEstimated as number;
  assert.ok(estimated > truePrior() / 3 && estimated < truePrior() * 3, `prior ${estimated}, truth ${truePrior()}`);
  assert.equal(config.prior, Math.min(estimated, base.prior));
  // u moves to this population but never below the configured u (no weight rises), m does not move.
  for (const [name, field] of Object.entries(config.fields))
    for (const [level, p] of Object.entries(field.levels)) assert.ok(p.u >= base.fields[name]!.levels[level]!.u, `${name}.${level}`);
  const moved = Object.entries(config.fields).flatMap(([name, f]) =>
    Object.entries(f.levels).filter(([level, p]) => p.u !== base.fields[name]!.levels[level]!.u),
  );
  assert.ok(moved.length > 0, 'some u moved to this population');
  assert.equal(config.fields.postal_code!.levels.exact!.m, base.fields.postal_code!.levels.exact!.m);
  assert.deepEqual(config.thresholds, base.thresholds);
  assert.match(r.stderr, /prior .* -> .* for 3,\d{3} records/);

  for (const family of families) assert.ok(!r.stderr.includes(family), 'no name in the report');
  assert.ok(!existsSync(`${out}.partial`));

  // Calibrated for the size the MPI is heading to: the prior falls as 1/N.
  const big = join(work, 'big.json');
  const r2 = await run(CALIBRATE, '--input', input, '--out', big, '--pairs', '200000', '--population', String(records * 100));
  assert.equal(r2.code, 0, r2.stderr);
  const ratio = estimated / (readConfig(big).raw.$calibration.priorEstimated as number);
  assert.ok(ratio > 80 && ratio < 125, `prior ratio ${ratio} for a population 100 times larger`);
});

test('after a load: calibrates on the records in the MPI (SSNs decrypted in memory), same estimate as on the file', async () => {
  const linked = await run(LINK, '--input', input, '--out', join(work, 'clusters.csv'));
  assert.equal(linked.code, 0, linked.stderr);
  const out = join(work, 'from-store.json');
  const r = await run(CALIBRATE, '--out', out, '--pairs', '200000');
  assert.equal(r.code, 0, r.stderr);
  const { config, raw } = readConfig(out);
  assert.equal(raw.$calibration.from, 'the MPI');
  // The two refused lines were linked as identity-only records: they count, without features that say anything.
  assert.equal(raw.$calibration.population, records + 2);
  const estimated = raw.$calibration.priorEstimated as number;
  assert.ok(estimated > truePrior() / 3 && estimated < truePrior() * 3, `prior ${estimated}, truth ${truePrior()}`);
  // SSNs were compared in clear (sealed in the store): an SSN agreement is rare among random pairs.
  assert.ok(config.fields.ssn!.levels.exact!.u < 1e-3, `ssn exact u ${config.fields.ssn!.levels.exact!.u}`);
});

test('refusals: bad arguments, unreadable input and too few records exit 2 with a message', async () => {
  const small = join(work, 'small.ndjson');
  writeFileSync(small, Array.from({ length: 50 }, (_, i) => JSON.stringify(toPatient(person(SEED, i), `s-${i}`, `S${i}`))).join('\n'));
  const cases: [string[], RegExp][] = [
    [['--sample', '10'], /--sample must be an integer of at least 1000/],
    [['--prior', '2'], /--prior must be a probability/],
    [['--bogus'], /Unknown option/],
    [['--input', join(work, 'missing.ndjson')], /cannot read input file/],
    [['--input', small, '--out', join(work, 'small.json')], /50 usable records in input file: calibration needs at least 1000/],
  ];
  for (const [args, message] of cases) {
    const r = await run(CALIBRATE, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.ok(!existsSync(join(work, 'small.json')));
  const help = await run(CALIBRATE, '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /MATCHING_CONFIG_FILE/);
});

test('parseCalibrateArgs defaults; reservoir keeps a uniform sample of a stream', () => {
  const a = parseCalibrateArgs([])!;
  assert.equal(a.sample, 100_000);
  assert.equal(a.pairs, 1_000_000);
  assert.equal(a.input, undefined);
  const hits = new Array(10).fill(0);
  for (let seed = 1; seed <= 2000; seed++) {
    const r = reservoir<number>(3, seed);
    for (let i = 0; i < 10; i++) r.add(i);
    assert.equal(r.seen, 10);
    for (const x of r.items) hits[x]++;
  }
  // Each of 10 items kept with probability 3/10: 600 of 2,000 runs.
  for (const h of hits) assert.ok(h > 500 && h < 700, `kept ${h} times`);
});
