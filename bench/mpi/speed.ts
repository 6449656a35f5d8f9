// `npm run bench:mpi:speed -- [--golden 1000000] [--stream 2000] [--concurrency 8] [--seed 42] [--calibration-sample 100000] [--keep]
// [--reuse SCHEMA] [--json FILE]`
//
// Two questions about the MPI at scale, in real PostgreSQL (DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test), in a fresh schema dropped at the end unless --keep:
//
// 1. Batch throughput: a synthetic population of --golden people (bench/mpi/synthetic.ts), ~10%
//    of them with a second source record carrying registration errors, is built through the
//    pipeline of `npm run mpi:link` (linkNdjson). Records/s over the whole build, with progress
//    lines on stderr.
// 2. Online latency: a stream of --stream new records, half duplicates of people already in the
//    MPI, half new people, each linked alone with linkSourceRecord, as the online path does:
//    p50/p95/p99, and whether each landed where the truth says.
//
// Before both, the matching configuration is calibrated on a uniform sample of the population, as a
// deployment does before its initial load (`npm run mpi:calibrate -- --input ...`): u of every level
// and the prior for a population of this size (--calibration-sample 0 keeps config/matching.json).
//
// Plus this process's peak RSS and the schema's table and index sizes. --reuse SCHEMA skips the
// build and measures the stream against a population kept by an earlier --keep (its stream
// records are added to it, under a source name of their own).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadVendorProfile } from '../../platform/config.ts';
import { dropSchema, type Database } from '../../platform/db.ts';
import { linkBySourceRecord, linkSourceRecord } from '../../orchestration/mpi/store.ts';
import { openStorage, protectionFor } from '../../runtime/components.ts';
import { DEFAULT_CONCURRENCY, DEFAULT_PROFILE, linkNdjson, type BatchSummary } from '../../orchestration/mpi/ndjson-linking.ts';
import { sourceDemographics, sourceScope } from '../../translation/fhir-r4/patient.ts';
import { commandLine, reportFailure, runMain, usageError } from '../../runtime/cli.ts';
import { describeMachine } from '../gateway/report.ts';
import { markdownTable, percentile } from './metrics.ts';
import { hasSecondRecord, person, rng, secondRecord, streamDuplicate, toPatient } from './synthetic.ts';
import {
  calibrate,
  loadMatchingConfig,
  matchFeatures,
  type Calibration,
  type MatchFeatures,
  type MatchingConfig,
} from '../../orchestration/mpi/matching/index.ts';

process.env.LOG_LEVEL ??= 'warn';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const META_TABLE = 'bench_mpi_speed_population';
const SOURCES = { first: 'synth-a', second: 'synth-b' } as const;
const PROGRESS_EVERY_MS = 15_000;

const err = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const minutes = (s: number): string => (s < 120 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);

type Args = {
  golden: number;
  stream: number;
  concurrency: number;
  seed: number;
  calibrationSample: number;
  keep: boolean;
  reuse: string | undefined;
  json: string | undefined;
};

const SPEED_COMMAND = {
  name: 'bench:mpi:speed',
  usage:
    'npm run bench:mpi:speed -- [--golden N] [--stream N] [--concurrency N] [--seed N] [--calibration-sample N] [--keep] [--reuse SCHEMA] [--json FILE]',
  description:
    'Batch throughput of building a synthetic MPI of --golden people through the mpi:link pipeline, then the online\n' +
    'latency of --stream new records linked one at a time, on PostgreSQL (DATABASE_URL, default ' +
    `${DEFAULT_DATABASE_URL}) in a fresh schema.`,
  options: {
    golden: { type: 'integer', min: 1, max: 100_000_000, default: 1_000_000, description: 'people in the population' },
    stream: { type: 'integer', min: 0, max: 10_000_000, default: 2000, description: 'records of the online stream' },
    concurrency: { type: 'integer', min: 1, max: 64, default: DEFAULT_CONCURRENCY, description: 'records linked at once' },
    seed: { type: 'integer', min: 0, max: 2 ** 31, default: 42, description: 'seed of the population' },
    'calibration-sample': {
      type: 'integer',
      min: 0,
      max: 10_000_000,
      default: 100_000,
      description: 'records sampled to calibrate (0 keeps config/matching.json)',
    },
    keep: { type: 'boolean', description: 'keep the schema (and its keys) for a later --reuse' },
    reuse: { type: 'string', value: 'SCHEMA', description: 'measure the stream against a population kept by --keep' },
    json: { type: 'string', value: 'FILE', description: 'also write the results as JSON' },
  },
  example: 'npm run bench:mpi:speed -- --golden 100000 --stream 1000',
} as const;

function parse(): Args {
  const { values } = commandLine(SPEED_COMMAND);
  if (values.reuse !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(values.reuse)) throw usageError('--reuse must name a schema', 'reuse');
  return {
    golden: values.golden,
    stream: values.stream,
    concurrency: values.concurrency,
    seed: values.seed,
    calibrationSample: values['calibration-sample'],
    keep: values.keep,
    reuse: values.reuse,
    json: values.json,
  };
}

// ---------------------------------------------------------------------------------------------
// Build

/** FHIR lines of the first source (everyone) or the second source (~10%), generated as they are read. */
function* firstSourceLines(seed: number, golden: number): Generator<string> {
  for (let i = 0; i < golden; i++) yield JSON.stringify(toPatient(person(seed, i), `a-${i}`, `A${i}`));
}
/**
 * Person i's record in the second source: another EHR formats differently (upper case, SSN without dashes, abbreviated street types, each
 * on some records).
 */
function secondSourcePatient(seed: number, i: number): Record<string, unknown> {
  const style = rng(seed, 77, i);
  return toPatient(secondRecord(seed, i), `b-${i}`, `B${i}`, {
    upper: style() < 0.3,
    compactSsn: style() < 0.5,
    abbreviate: style() < 0.4,
  });
}
function* secondSourceLines(seed: number, golden: number): Generator<string> {
  for (let i = 0; i < golden; i++) if (hasSecondRecord(seed, i)) yield JSON.stringify(secondSourcePatient(seed, i));
}

const countRecords = (seed: number, golden: number): number => {
  let n = golden;
  for (let i = 0; i < golden; i++) if (hasSecondRecord(seed, i)) n++;
  return n;
};

type Calibrated = { readonly matching: MatchingConfig; readonly calibration: Calibration | null; readonly seconds: number };

/** Calibrate on a uniform sample of the population's records (both sources), translated as mpi:link translates them. */
function calibrateOnPopulation(args: Args): Calibrated {
  const base = loadMatchingConfig();
  if (args.calibrationSample === 0) return { matching: base, calibration: null, seconds: 0 };
  const started = performance.now();
  const profile = loadVendorProfile(DEFAULT_PROFILE);
  const total = countRecords(args.seed, args.golden);
  const share = Math.min(1, args.calibrationSample / total);
  const sample: MatchFeatures[] = [];
  const take = (patient: Record<string, unknown>, source: string) => {
    const t = sourceDemographics(patient as never, sourceScope({ id: source }), profile);
    if (t.ok) sample.push(matchFeatures(t.value, base));
  };
  for (let i = 0; i < args.golden; i++) {
    const r = rng(args.seed, 55, i);
    if (r() < share) take(toPatient(person(args.seed, i), `a-${i}`, `A${i}`), SOURCES.first);
    if (hasSecondRecord(args.seed, i) && r() < share) take(secondSourcePatient(args.seed, i), SOURCES.second);
  }
  err(`calibration: ${fmt(sample.length)} of ${fmt(total)} records sampled`);
  const calibration = calibrate(sample, base, { populationSize: total, targetPopulation: total + args.stream, seed: args.seed });
  return { matching: calibration.config, calibration, seconds: (performance.now() - started) / 1000 };
}

type Phase = { readonly source: string; readonly summary: BatchSummary };

type Built = {
  readonly phases: Phase[];
  readonly seconds: number;
  /** records/s in each tenth of the build: does linking slow down as the MPI grows? */ readonly perTenth: number[];
};

async function build(db: Database, args: Args, protection: ReturnType<typeof protectionFor>, matching: MatchingConfig): Promise<Built> {
  const profile = loadVendorProfile(DEFAULT_PROFILE);
  const total = countRecords(args.seed, args.golden);
  const second = total - args.golden;
  err(`build: ${fmt(args.golden)} people + ${fmt(second)} second-source records = ${fmt(total)} records, concurrency ${args.concurrency}`);
  const started = performance.now();
  let done = 0,
    lastAt = started,
    lastDone = 0;
  const perTenth: number[] = [];
  let tenthStartedAt = started,
    tenthStartedDone = 0;
  const onRow = () => {
    done++;
    const now = performance.now();
    if (done === total || done >= Math.ceil(((perTenth.length + 1) * total) / 10)) {
      perTenth.push((done - tenthStartedDone) / ((now - tenthStartedAt) / 1000));
      tenthStartedAt = now;
      tenthStartedDone = done;
    }
    if (now - lastAt < PROGRESS_EVERY_MS) return;
    const overall = done / ((now - started) / 1000);
    const recent = (done - lastDone) / ((now - lastAt) / 1000);
    err(
      `build: ${fmt(done)} / ${fmt(total)} (${((100 * done) / total).toFixed(1)}%), ${fmt(overall)} records/s overall, ${fmt(recent)} in the last ${(PROGRESS_EVERY_MS / 1000).toFixed(0)} s, ETA ${minutes((total - done) / overall)}, RSS ${fmt(process.memoryUsage.rss() / 2 ** 20)} MB`,
    );
    lastAt = now;
    lastDone = done;
  };
  const phases: Phase[] = [];
  for (const [source, lines] of [
    [SOURCES.first, firstSourceLines(args.seed, args.golden)],
    [SOURCES.second, secondSourceLines(args.seed, args.golden)],
  ] as const) {
    phases.push({
      source,
      summary: await linkNdjson(db, lines, { source, profile, protection, concurrency: args.concurrency, onRow, matching }),
    });
  }
  return { phases, seconds: (performance.now() - started) / 1000, perTenth };
}

// ---------------------------------------------------------------------------------------------
// Online stream

async function goldenIdsOfPerson(db: Database, index: number): Promise<Set<string>> {
  const links = await Promise.all([
    linkBySourceRecord(db, SOURCES.first, `a-${index}`),
    linkBySourceRecord(db, SOURCES.second, `b-${index}`),
  ]);
  return new Set(links.flatMap((l) => (l ? [l.goldenId] : [])));
}

type StreamResult = {
  readonly latenciesMs: number[];
  readonly duplicates: { total: number; toTheirPerson: number; elsewhere: number; decisions: Record<string, number> };
  readonly newPeople: { total: number; merged: number; decisions: Record<string, number> };
  readonly source: string;
};

/**
 * Even positions: a duplicate of an existing person; odd: a person the MPI has never seen (an
 * index beyond the population, offset per run so that a --reuse run never meets an earlier run's
 * new people again).
 */
async function stream(
  db: Database,
  args: Args,
  protection: ReturnType<typeof protectionFor>,
  matching: MatchingConfig,
): Promise<StreamResult> {
  const profile = loadVendorProfile(DEFAULT_PROFILE);
  const run = Date.now() % 2 ** 31;
  const source = `synth-stream-${run.toString(36)}`;
  const pickPerson = rng(args.seed, 99, run);
  const latenciesMs: number[] = [];
  const duplicates = { total: 0, toTheirPerson: 0, elsewhere: 0, decisions: {} as Record<string, number> };
  const newPeople = { total: 0, merged: 0, decisions: {} as Record<string, number> };
  for (let k = 0; k < args.stream; k++) {
    const duplicate = k % 2 === 0;
    const index = duplicate ? Math.floor(pickPerson() * args.golden) : args.golden + (run % 100_000) * args.stream + k;
    const p = duplicate ? streamDuplicate(args.seed, index, run) : person(args.seed, index);
    const t = sourceDemographics(toPatient(p, `s-${k}`, `S${k}`) as never, sourceScope({ id: source }), profile);
    if (!t.ok) throw new Error(`stream record ${k} did not translate`);
    // Where the truth says a duplicate belongs: a golden record holding one of the person's records
    // (the first source's, or the second source's when it was not linked to the first). Read before, not timed.
    const expected = duplicate ? await goldenIdsOfPerson(db, index) : new Set<string>();
    const t0 = performance.now();
    const outcome = await linkSourceRecord(db, t.value, protection, { matching });
    latenciesMs.push(performance.now() - t0);
    const bucket = duplicate ? duplicates : newPeople;
    bucket.total++;
    bucket.decisions[outcome.decision] = (bucket.decisions[outcome.decision] ?? 0) + 1;
    if (duplicate) {
      if (expected.has(outcome.goldenId)) duplicates.toTheirPerson++;
      else if (!outcome.created) duplicates.elsewhere++;
    } else if (!outcome.created) newPeople.merged++;
  }
  return { latenciesMs, duplicates, newPeople, source };
}

// ---------------------------------------------------------------------------------------------
// Sizes and machine

type TableSize = { table: string; rows: number; tableMb: number; indexMb: number };

async function tableSizes(db: Database): Promise<TableSize[]> {
  const { rows } = await db.query<{ table: string; table_bytes: string; index_bytes: string }>(
    `SELECT c.relname AS table, pg_table_size(c.oid)::text AS table_bytes, pg_indexes_size(c.oid)::text AS index_bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> $2 ORDER BY pg_total_relation_size(c.oid) DESC`,
    [db.schema, META_TABLE],
  );
  const out: TableSize[] = [];
  for (const r of rows) {
    const n = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${r.table.replace(/"/g, '""')}"`);
    out.push({
      table: r.table,
      rows: Number(n.rows[0]!.n),
      tableMb: Number(r.table_bytes) / 2 ** 20,
      indexMb: Number(r.index_bytes) / 2 ** 20,
    });
  }
  return out.filter((t) => t.rows > 0 || t.tableMb > 0.1);
}

const mb = (x: number): string => x.toFixed(1);

async function main(): Promise<number> {
  let args = parse();
  const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const schema = args.reuse ?? `bench_mpi_speed_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  // Keys outside the project (the bench writes nothing into .data), named after the schema: a kept
  // population's SSNs are sealed and blind-indexed under them, and a --reuse run must look SSNs up
  // with the same index key or no duplicate would ever agree on its SSN.
  const keysDir = join(tmpdir(), `${schema}-keys`);
  if (args.reuse && !existsSync(keysDir)) {
    err(`bench:mpi:speed: the keys of schema ${schema} are not in ${keysDir}; without them SSNs cannot be compared`);
    return 2;
  }
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const protection = protectionFor({ dir: keysDir, generateMissing: true });
  const machine = describeMachine();
  const db = await openStorage({ url, schema, maxConnections: args.concurrency + 2 });
  const keepSchema = args.keep || args.reuse !== undefined;
  try {
    const pg = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown';
    let built: Built | null = null;
    let calibrated: Calibrated | null = null;
    if (args.reuse) {
      const meta = await db
        .query<{ golden: number; seed: number }>(`SELECT golden, seed FROM ${META_TABLE} LIMIT 1`)
        .catch(() => ({ rows: [] as { golden: number; seed: number }[] }));
      const m = meta.rows[0];
      if (!m) throw new Error(`schema ${schema} holds no population of this benchmark (run once with --keep)`);
      args = { ...args, golden: m.golden, seed: m.seed };
      err(`reusing schema ${schema}: ${fmt(m.golden)} people, seed ${m.seed}`);
      calibrated = calibrateOnPopulation(args); // deterministic: the same configuration the build used
    } else {
      err(`schema ${schema}${args.keep ? ' (kept at the end: --keep)' : ' (dropped at the end)'}`);
      calibrated = calibrateOnPopulation(args);
      built = await build(db, args, protection, calibrated.matching);
      await db.query(`CREATE TABLE ${META_TABLE} (golden int NOT NULL, seed int NOT NULL, built_at timestamptz NOT NULL DEFAULT now())`);
      await db.query(`INSERT INTO ${META_TABLE} (golden, seed) VALUES ($1, $2)`, [args.golden, args.seed]);
    }
    const sizesAfterBuild = await tableSizes(db);
    err(`stream: ${fmt(args.stream)} records linked one at a time`);
    const online = await stream(db, args, protection, calibrated!.matching);
    const sizes = await tableSizes(db);
    const peakRssMb = process.resourceUsage().maxRSS / 1024;

    const sorted = [...online.latenciesMs].sort((a, b) => a - b);
    const lat = {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? NaN,
      mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    };
    const out: string[] = [];
    out.push(
      '',
      `## MPI speed: ${fmt(args.golden)} people${built ? '' : ` (reused schema ${schema})`}, online stream of ${fmt(args.stream)}`,
      '',
    );
    out.push(
      `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, Node ${machine.node} (${machine.platform}), PostgreSQL ${pg} (${new URL(url).hostname}); load average at start ${machine.loadAverageAtStart.join(' ')}`,
    );
    const cal = calibrated?.calibration;
    out.push('', '### Calibration', '');
    if (!cal) out.push('None (--calibration-sample 0): config/matching.json as it is.');
    else {
      out.push(
        `On a uniform sample of ${fmt(cal.sample)} records (${calibrated!.seconds.toFixed(0)} s): ${fmt(cal.randomPairs)} random pairs for u, ${fmt(cal.candidatePairs)} blocked candidate pairs of which ${fmt(cal.expectedMatches)} expected matches (EM), so prior ${cal.prior[0]} -> ${cal.prior[1]} (${fmt(cal.duplicatePairs)} duplicate pairs expected in the population; the truth is about ${fmt(countRecords(args.seed, args.golden) - args.golden)}).`,
        '',
        markdownTable(
          ['field level', 'u before', 'u after', 'weight before (bits)', 'weight after'],
          cal.levels
            .filter((l) => Math.abs(l.weight[0] - l.weight[1]) >= 0.5)
            .map((l) => [
              `${l.field}.${l.level}`,
              l.u[0].toExponential(1),
              l.u[1].toExponential(1),
              l.weight[0].toFixed(1),
              l.weight[1].toFixed(1),
            ]),
        ),
      );
    }
    if (built) {
      const records = built.phases.reduce((n, p) => n + p.summary.records, 0);
      const created = built.phases.reduce((n, p) => n + p.summary.created, 0);
      out.push('', `### Batch build (mpi:link pipeline, concurrency ${args.concurrency})`, '');
      out.push(
        markdownTable(
          ['phase', 'records', 'seconds', 'records/s', 'MATCH', 'POSSIBLE_MATCH', 'NO_MATCH', 'golden records created', 'bad records'],
          [
            ...built.phases.map((p) => [
              p.source === SOURCES.first ? `${p.source} (every person once)` : `${p.source} (~10% again, with errors)`,
              p.summary.records,
              (p.summary.elapsedMs / 1000).toFixed(1),
              (p.summary.records / (p.summary.elapsedMs / 1000)).toFixed(1),
              p.summary.decisions.MATCH,
              p.summary.decisions.POSSIBLE_MATCH,
              p.summary.decisions.NO_MATCH,
              p.summary.created,
              p.summary.bad,
            ]),
            ['**whole build**', records, built.seconds.toFixed(1), (records / built.seconds).toFixed(1), '', '', '', created, ''],
          ],
        ),
      );
      out.push(
        '',
        `records/s by tenth of the build (the MPI growing from empty to ${fmt(records)} records): ${built.perTenth.map((x) => fmt(x)).join(', ')}`,
      );
      const first = built.phases[0]!.summary;
      out.push(
        '',
        `In ${SOURCES.first} every record is a different person, so each MATCH there merged two strangers (${fmt(first.decisions.MATCH)}) and each POSSIBLE_MATCH sent one to review (${fmt(first.decisions.POSSIBLE_MATCH)}).`,
      );
    }
    out.push('', '### Online linking, one record at a time (linkSourceRecord)', '');
    out.push(
      markdownTable(
        ['records', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms'],
        [[online.latenciesMs.length, lat.p50.toFixed(2), lat.p95.toFixed(2), lat.p99.toFixed(2), lat.max.toFixed(2), lat.mean.toFixed(2)]],
      ),
    );
    const d = online.duplicates,
      n = online.newPeople;
    const decisions = (x: Record<string, number>) =>
      ['MATCH', 'POSSIBLE_MATCH', 'NO_MATCH'].map((k) => `${k} ${fmt(x[k] ?? 0)}`).join(', ');
    out.push(
      '',
      markdownTable(
        ['stream half', 'records', 'decisions', 'where they landed'],
        [
          [
            'duplicates of existing people',
            d.total,
            decisions(d.decisions),
            `${fmt(d.toTheirPerson)} on a golden record of their person, ${fmt(d.elsewhere)} on another person's (false merges), ${fmt(d.total - d.toTheirPerson - d.elsewhere)} on a new one (missed, or queued for review when POSSIBLE_MATCH)`,
          ],
          [
            'new people',
            n.total,
            decisions(n.decisions),
            `${fmt(n.merged)} joined an existing golden record (false merges), ${fmt(n.total - n.merged)} a new one`,
          ],
        ],
      ),
    );
    out.push('', `Peak RSS of this process (build + stream): ${mb(peakRssMb)} MB`, '', '### PostgreSQL sizes (schema ' + schema + ')', '');
    const after = new Map(sizesAfterBuild.map((s) => [s.table, s]));
    out.push(
      markdownTable(
        ['table', 'rows', 'table MB', 'index MB', 'total MB'],
        [
          ...sizes.map((s) => [s.table, s.rows, mb(s.tableMb), mb(s.indexMb), mb(s.tableMb + s.indexMb)]),
          [
            '**all**',
            sizes.reduce((a, s) => a + s.rows, 0),
            mb(sizes.reduce((a, s) => a + s.tableMb, 0)),
            mb(sizes.reduce((a, s) => a + s.indexMb, 0)),
            mb(sizes.reduce((a, s) => a + s.tableMb + s.indexMb, 0)),
          ],
        ],
      ),
    );
    if (after.size > 0)
      out.push('', `(after the build, before the stream: ${mb(sizesAfterBuild.reduce((a, s) => a + s.tableMb + s.indexMb, 0))} MB)`);
    out.push('');
    process.stdout.write(out.join('\n'));
    if (args.json) {
      writeFileSync(
        args.json,
        `${JSON.stringify({ benchmark: 'mpi speed', args, schema, machine: { ...machine, postgres: pg }, build: built && { seconds: built.seconds, phases: built.phases }, calibration: calibrated?.calibration && { ...calibrated.calibration, config: undefined, seconds: calibrated.seconds }, online: { latency: lat, duplicates: d, newPeople: n }, peakRssMb, sizes, sizesAfterBuild }, null, 2)}\n`,
      );
    }
    return 0;
  } catch (error) {
    return reportFailure('bench:mpi:speed', error);
  } finally {
    if (!keepSchema) await dropSchema(db).catch(() => undefined);
    else
      err(
        `schema ${schema} kept (keys in ${keysDir}): npm run bench:mpi:speed -- --reuse ${schema}; to remove: DROP SCHEMA ${schema} CASCADE and rm -r ${keysDir}`,
      );
    await db.close();
    if (!keepSchema) rmSync(keysDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runMain('bench:mpi:speed', main);
