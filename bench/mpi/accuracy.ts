// `npm run bench:mpi:accuracy [-- --datasets 1,2,3,4,population] [--population-only] [--uncalibrated | --calibrated-only]
//    [--people 20000] [--seed 13] [--population-dir DIR] [--concurrency 1] [--json FILE]`
//
// How well the MPI links FEBRL 1-4 and our own evaluation population (bench/mpi/population.ts:
// households, twins, juniors, shared SSNs, common names in a small region; generated at run time
// into a temporary directory, never committed): each dataset goes, in file order, through the very
// pipeline of `npm run mpi:link` (linkNdjson: translation with the generic fhir-r4 profile,
// bad-record handling, the store) into a fresh PostgreSQL schema, dropped at the end. The clusters
// (golden id per record) are scored against the truth: pairwise precision, recall and F1, false
// merges (on the population also by trap: the relation of the two people wrongly joined), missed
// pairs, and the steward review queue.
//
// Two modes, both by default: the shipped defaults (config/matching.json as it is) and calibrated
// (`npm run mpi:calibrate -- --input` on the dataset's own records first, as a deployment does
// before its initial load: u and the prior). --uncalibrated runs the defaults only,
// --calibrated-only the calibrated one.
//
// Quick loop for the model developer (the population's 35k records once: ~50 s on a quiet 2-core machine, ~2 min loaded):
//   node bench/mpi/accuracy.ts --population-only --uncalibrated
//
// Concurrency defaults to 1 (strictly file order) so two runs of the same store give the same
// figures; `--concurrency 8` measures the command's default instead. Writes nothing unless --json
// or --population-dir. Needs DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and ../shared/data.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadVendorProfile } from '../../platform/config.ts';
import { dropSchema } from '../../platform/db.ts';
import { openStorage, protectionFor } from '../../runtime/components.ts';
import { DEFAULT_PROFILE, linkNdjson, type BatchRow } from '../../orchestration/mpi/ndjson-linking.ts';
import { lineFeatures } from '../../runtime/mpi-calibrate.ts';
import { calibrate, loadMatchingConfig, type MatchingConfig } from '../../orchestration/mpi/matching/index.ts';
import { commandLine, runMain, usageError } from '../../runtime/cli.ts';
import { describeMachine } from '../gateway/report.ts';
import { FEBRL_DATASETS, FEBRL_DIR, febrlEntity, febrlToPatient, readFebrl } from './febrl.ts';
import { falseMergePairsBy, markdownTable, pairwiseMetrics, ratio4, type Assignment, type PairwiseMetrics } from './metrics.ts';
import {
  generatePopulation,
  populationStats,
  relationOf,
  sourceLines,
  TRAPS,
  truthOf,
  writePopulation,
  type PopulationStats,
} from './population.ts';

process.env.LOG_LEVEL ??= 'warn';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export const MODES = { defaults: 'defaults', calibrated: 'calibrated' } as const;
export type Mode = (typeof MODES)[keyof typeof MODES];

/** A dataset to link: its sources' NDJSON lines in file order, the true entity of each record id. */
export type Dataset = {
  readonly name: string;
  readonly files: readonly { readonly file: string; readonly source: string; readonly lines: readonly string[] }[];
  readonly entity: (recordId: string) => string;
  /** What relates the two people of a false-merge pair (the population's traps); absent for FEBRL. */
  readonly relation?: (a: string, b: string) => string;
};

export type DatasetResult = {
  readonly dataset: string;
  readonly mode: Mode;
  /** The prior linking used (calibrated on the dataset, or the configured one). */
  readonly prior: number;
  readonly metrics: PairwiseMetrics;
  /** False-merge pairs by the relation of the two people (population only). */
  readonly falseMergesByTrap: Readonly<Record<string, number>> | null;
  /** People in the golden record that joins the most people. */
  readonly mostPeopleInOneGolden: number;
  readonly reviewQueue: number;
  readonly decisions: Readonly<Record<string, number>>;
  readonly badRecords: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
};

/** The configuration calibrated on every record of the dataset, translated as mpi:link translates it. */
function calibratedFor(files: readonly { lines: readonly string[] }[], base: MatchingConfig): MatchingConfig {
  const profile = loadVendorProfile(DEFAULT_PROFILE);
  const features = files.flatMap((f) => f.lines.flatMap((text, i) => lineFeatures(text, i + 1, profile, base, '9999-12-31') ?? []));
  return calibrate(features, base, { populationSize: features.length }).config;
}

function febrlDataset(dataset: (typeof FEBRL_DATASETS)[number], febrlDir: string): Dataset {
  return {
    name: dataset.name,
    files: dataset.files.map(({ file, source }) => ({
      file,
      source,
      lines: readFebrl(file, febrlDir).map((r) => JSON.stringify(febrlToPatient(r))),
    })),
    entity: febrlEntity,
  };
}

const mostPeopleInOneGolden = (assignments: readonly Assignment[]): number => {
  const people = new Map<string, Set<string>>();
  for (const a of assignments) (people.get(a.cluster) ?? people.set(a.cluster, new Set()).get(a.cluster)!).add(a.entity);
  return Math.max(0, ...[...people.values()].map((s) => s.size));
};

async function runDataset(dataset: Dataset, mode: Mode, url: string, keysDir: string, concurrency: number): Promise<DatasetResult> {
  const base = loadMatchingConfig();
  const matching = mode === MODES.calibrated ? calibratedFor(dataset.files, base) : base;
  const schema = `bench_mpi_acc_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const db = await openStorage({ url, schema, maxConnections: concurrency + 2 });
  try {
    const protection = protectionFor({ dir: keysDir, generateMissing: true });
    const profile = loadVendorProfile(DEFAULT_PROFILE);
    const assignments: (Assignment & { record: string })[] = [];
    const decisions: Record<string, number> = {};
    let bad = 0,
      seconds = 0;
    for (const { file, source, lines } of dataset.files) {
      const summary = await linkNdjson(db, lines, {
        source,
        profile,
        protection,
        concurrency,
        matching,
        onRow: (row: BatchRow) => {
          assignments.push({ record: row.recordId, entity: dataset.entity(row.recordId), cluster: row.goldenId });
          decisions[row.decision] = (decisions[row.decision] ?? 0) + 1;
        },
      });
      bad += summary.bad;
      seconds += summary.elapsedMs / 1000;
      process.stderr.write(
        `  ${dataset.name} (${mode}) ${file} as source ${source}: ${summary.records} records in ${(summary.elapsedMs / 1000).toFixed(1)} s\n`,
      );
    }
    return {
      dataset: dataset.name,
      mode,
      prior: matching.prior,
      metrics: pairwiseMetrics(assignments),
      falseMergesByTrap: dataset.relation ? falseMergePairsBy(assignments, dataset.relation) : null,
      mostPeopleInOneGolden: mostPeopleInOneGolden(assignments),
      reviewQueue: decisions.POSSIBLE_MATCH ?? 0,
      decisions,
      badRecords: bad,
      seconds,
      recordsPerSecond: assignments.length / seconds,
    };
  } finally {
    await dropSchema(db).catch(() => undefined);
    await db.close();
  }
}

export function resultsTable(results: readonly DatasetResult[]): string {
  return markdownTable(
    [
      'dataset',
      'mode',
      'prior',
      'records',
      'true pairs',
      'predicted pairs',
      'precision',
      'recall',
      'F1',
      'false-merge pairs',
      'golden records joining 2+ people',
      'most people in one golden',
      'missed pairs',
      'golden records',
      'review queue (POSSIBLE_MATCH)',
      'bad records',
      'records/s',
    ],
    results.map((r) => [
      r.dataset,
      r.mode,
      r.prior.toExponential(1),
      r.metrics.records,
      r.metrics.truePairs,
      r.metrics.predictedPairs,
      ratio4(r.metrics.precision),
      ratio4(r.metrics.recall),
      ratio4(r.metrics.f1),
      r.metrics.falseMergePairs,
      r.metrics.impureClusters,
      r.mostPeopleInOneGolden,
      r.metrics.missedPairs,
      r.metrics.clusters,
      r.reviewQueue,
      r.badRecords,
      r.recordsPerSecond.toFixed(1),
    ]),
  );
}

/** False-merge pairs by trap, one row per run of a dataset that has traps. */
export function trapTable(results: readonly DatasetResult[]): string {
  const rows = results.filter((r) => r.falseMergesByTrap !== null);
  return markdownTable(
    ['dataset', 'mode', ...TRAPS, 'total'],
    rows.map((r) => [r.dataset, r.mode, ...TRAPS.map((t) => r.falseMergesByTrap![t] ?? 0), r.metrics.falseMergePairs]),
  );
}

const populationLine = (s: PopulationStats, seed: number): string =>
  `Population (seed ${seed}): ${s.people.toLocaleString('en-US')} people in ${s.households.toLocaleString('en-US')} households, ` +
  `${s.records.toLocaleString('en-US')} records (${Object.entries(s.recordsBySource)
    .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
    .join(', ')}); people with 1/2/3/4+ records ${['1', '2', '3', '4+'].map((k) => s.peopleByRecords[k] ?? 0).join('/')}; ` +
  `${s.twinPairs} twin pairs, ${s.juniors} juniors, ${s.sameNameSameTownPairs} same-name same-town pairs; ` +
  `SSN missing on ${(s.missingSsnAmongDuplicates * 100).toFixed(0)}% of duplicates' records; record traps ${Object.entries(s.recordTraps)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}.`;

const ACCURACY_COMMAND = {
  name: 'bench:mpi:accuracy',
  usage:
    'npm run bench:mpi:accuracy -- [--datasets 1,2,3,4,population] [--population-only] [--uncalibrated | --calibrated-only] [--people N] [--seed N] [--concurrency N] [--json FILE]',
  description:
    'How well the MPI links FEBRL 1-4 and the evaluation population through the mpi:link pipeline, each in a fresh\n' +
    `PostgreSQL schema (DATABASE_URL, default ${DEFAULT_DATABASE_URL}), with the shipped defaults and calibrated:\n` +
    'pairwise precision, recall, F1, false merges (by trap on the population), missed pairs, review queue.',
  options: {
    datasets: {
      type: 'string',
      default: '1,2,3,4,population',
      value: 'LIST',
      description: 'datasets to run, among 1, 2, 3, 4 (FEBRL) and population',
    },
    'population-only': { type: 'boolean', description: 'the evaluation population only (same as --datasets population)' },
    uncalibrated: { type: 'boolean', description: 'the shipped defaults (config/matching.json) only' },
    'calibrated-only': { type: 'boolean', description: 'calibrated on each dataset only' },
    people: { type: 'integer', min: 100, max: 1_000_000, default: 20_000, description: 'people in the evaluation population' },
    seed: { type: 'integer', min: 0, max: 2 ** 31, default: 13, description: 'seed of the evaluation population' },
    'population-dir': { type: 'string', value: 'DIR', description: 'keep the population files (NDJSON per source, truth.ndjson) in DIR' },
    concurrency: { type: 'integer', min: 1, max: 64, default: 1, description: 'records linked at once (1 = file order, repeatable)' },
    febrl: { type: 'string', default: FEBRL_DIR, value: 'DIR', description: 'where the FEBRL files are' },
    json: { type: 'string', value: 'FILE', description: 'also write the results as JSON' },
  },
  example: 'node bench/mpi/accuracy.ts --population-only --uncalibrated',
} as const;

async function main(): Promise<number> {
  const { values } = commandLine(ACCURACY_COMMAND);
  const wanted = (values['population-only'] ? 'population' : values.datasets).split(',').map((s) => s.trim());
  const febrl = FEBRL_DATASETS.filter((d) => wanted.includes(d.name.replace('FEBRL ', '')));
  const withPopulation = wanted.includes('population');
  if (febrl.length + (withPopulation ? 1 : 0) !== wanted.length)
    throw usageError('--datasets is a list of 1, 2, 3, 4, population', 'datasets');
  if (values.uncalibrated && values['calibrated-only'])
    throw usageError('--uncalibrated and --calibrated-only exclude each other', 'uncalibrated');
  const modes: Mode[] = values.uncalibrated
    ? [MODES.defaults]
    : values['calibrated-only']
      ? [MODES.calibrated]
      : [MODES.defaults, MODES.calibrated];
  if (febrl.length > 0 && !existsSync(values.febrl))
    throw usageError(`FEBRL data not found in ${values.febrl} (expected ../shared/data/mpi/febrl beside the project)`, 'febrl');
  const concurrency = values.concurrency;
  const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const keysDir = mkdtempSync(join(tmpdir(), 'bench-mpi-keys-'));
  const populationDir = values['population-dir'] ?? mkdtempSync(join(tmpdir(), 'bench-mpi-population-'));
  const machine = describeMachine();
  const startedAt = new Date();
  try {
    const datasets: Dataset[] = febrl.map((d) => febrlDataset(d, values.febrl));
    let stats: PopulationStats | null = null;
    if (withPopulation) {
      const population = generatePopulation({ seed: values.seed, people: values.people });
      writePopulation(population, populationDir);
      stats = populationStats(population);
      const truth = truthOf(population);
      datasets.push({
        name: 'population',
        files: sourceLines(population).map(({ source, lines }) => ({ file: `${source}.ndjson`, source, lines })),
        entity: (id) => truth.get(id) ?? `unknown:${id}`,
        relation: relationOf(population),
      });
    }
    const results: DatasetResult[] = [];
    for (const mode of modes) for (const d of datasets) results.push(await runDataset(d, mode, url, keysDir, concurrency));
    const seconds = (Date.now() - startedAt.getTime()) / 1000;
    process.stdout.write(
      [
        '',
        `MPI accuracy (pairwise), linked through the mpi:link pipeline (profile ${DEFAULT_PROFILE}), concurrency ${concurrency}${concurrency === 1 ? ' (file order)' : ''}, PostgreSQL; modes: ${modes.join(', ')} (defaults = config/matching.json as it is; calibrated = u and prior from mpi:calibrate on the dataset's own records); ${seconds.toFixed(0)} s in all`,
        `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, Node ${machine.node}; load average at start ${machine.loadAverageAtStart.join(' ')}`,
        ...(stats ? ['', populationLine(stats, values.seed)] : []),
        '',
        resultsTable(results),
        '',
        ...(stats ? ['False-merge pairs by trap (the relation of the two people joined):', '', trapTable(results), ''] : []),
        'precision = predicted pairs that are true / predicted pairs; recall = true pairs found / true pairs; false-merge pairs = predicted pairs of two different people.',
        '',
      ].join('\n'),
    );
    if (values.json)
      writeFileSync(
        values.json,
        `${JSON.stringify({ benchmark: 'mpi accuracy', startedAt: startedAt.toISOString(), concurrency, modes, machine, population: stats && { seed: values.seed, ...stats }, results }, null, 2)}\n`,
      );
    return 0;
  } finally {
    rmSync(keysDir, { recursive: true, force: true });
    if (!values['population-dir']) rmSync(populationDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runMain('bench:mpi:accuracy', main);
