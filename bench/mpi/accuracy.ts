// `npm run bench:mpi:accuracy [-- --datasets 1,2,3,4] [--concurrency 1] [--uncalibrated] [--json FILE]`
//
// How well the MPI links the FEBRL benchmark datasets: each dataset goes, in file order, through
// the very pipeline of `npm run mpi:link` (linkNdjson: translation with the generic fhir-r4
// profile, bad-record handling, the store) into a fresh PostgreSQL schema, dropped at the end.
// The clusters (golden id per record) are scored against the truth encoded in the record ids:
// pairwise precision, recall and F1, false merges, and the steward review queue.
//
// Each dataset is first calibrated on its own records (`npm run mpi:calibrate -- --input`, as a
// deployment does before its initial load): u and the prior; --uncalibrated keeps config/matching.json.
//
// Concurrency defaults to 1 (strictly file order) so two runs of the same store give the same
// figures; `--concurrency 8` measures the command's default instead. Writes nothing unless --json.
// Needs DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and ../shared/data.
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
import { markdownTable, pairwiseMetrics, ratio4, type Assignment, type PairwiseMetrics } from './metrics.ts';

process.env.LOG_LEVEL ??= 'warn';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export type DatasetResult = {
  readonly dataset: string;
  /** The prior linking used (calibrated on the dataset, or the configured one). */
  readonly prior: number;
  readonly metrics: PairwiseMetrics;
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

async function runDataset(
  dataset: (typeof FEBRL_DATASETS)[number],
  url: string,
  keysDir: string,
  concurrency: number,
  febrlDir: string,
  calibrated: boolean,
): Promise<DatasetResult> {
  const files = dataset.files.map(({ file, source }) => ({
    file,
    source,
    lines: readFebrl(file, febrlDir).map((r) => JSON.stringify(febrlToPatient(r))),
  }));
  const base = loadMatchingConfig();
  const matching = calibrated ? calibratedFor(files, base) : base;
  const schema = `bench_mpi_acc_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const db = await openStorage({ url, schema, maxConnections: concurrency + 2 });
  try {
    const protection = protectionFor({ dir: keysDir, generateMissing: true });
    const profile = loadVendorProfile(DEFAULT_PROFILE);
    const assignments: Assignment[] = [];
    const decisions: Record<string, number> = {};
    let bad = 0,
      seconds = 0;
    for (const { file, source, lines } of files) {
      const summary = await linkNdjson(db, lines, {
        source,
        profile,
        protection,
        concurrency,
        matching,
        onRow: (row: BatchRow) => {
          assignments.push({ entity: febrlEntity(row.recordId), cluster: row.goldenId });
          decisions[row.decision] = (decisions[row.decision] ?? 0) + 1;
        },
      });
      bad += summary.bad;
      seconds += summary.elapsedMs / 1000;
      process.stderr.write(
        `  ${dataset.name} ${file} as source ${source}: ${summary.records} records in ${(summary.elapsedMs / 1000).toFixed(1)} s\n`,
      );
    }
    const metrics = pairwiseMetrics(assignments);
    return {
      dataset: dataset.name,
      prior: matching.prior,
      metrics,
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
      'prior',
      'records',
      'true pairs',
      'predicted pairs',
      'precision',
      'recall',
      'F1',
      'false-merge pairs',
      'clusters with >1 person',
      'missed pairs',
      'golden records',
      'review queue (POSSIBLE_MATCH)',
      'bad records',
      'records/s',
    ],
    results.map((r) => [
      r.dataset,
      r.prior.toExponential(1),
      r.metrics.records,
      r.metrics.truePairs,
      r.metrics.predictedPairs,
      ratio4(r.metrics.precision),
      ratio4(r.metrics.recall),
      ratio4(r.metrics.f1),
      r.metrics.falseMergePairs,
      r.metrics.impureClusters,
      r.metrics.missedPairs,
      r.metrics.clusters,
      r.reviewQueue,
      r.badRecords,
      r.recordsPerSecond.toFixed(1),
    ]),
  );
}

const ACCURACY_COMMAND = {
  name: 'bench:mpi:accuracy',
  usage: 'npm run bench:mpi:accuracy -- [--datasets 1,2,3,4] [--concurrency N] [--uncalibrated] [--febrl DIR] [--json FILE]',
  description:
    'How well the MPI links the FEBRL datasets through the mpi:link pipeline, each in a fresh PostgreSQL schema\n' +
    `(DATABASE_URL, default ${DEFAULT_DATABASE_URL}): pairwise precision, recall, F1, false merges, review queue.`,
  options: {
    datasets: { type: 'string', default: '1,2,3,4', value: 'LIST', description: 'FEBRL datasets to run, among 1, 2, 3, 4' },
    concurrency: { type: 'integer', min: 1, max: 64, default: 1, description: 'records linked at once (1 = file order, repeatable)' },
    uncalibrated: { type: 'boolean', description: 'keep config/matching.json instead of calibrating on each dataset' },
    febrl: { type: 'string', default: FEBRL_DIR, value: 'DIR', description: 'where the FEBRL files are' },
    json: { type: 'string', value: 'FILE', description: 'also write the results as JSON' },
  },
  example: 'npm run bench:mpi:accuracy -- --datasets 1,2 --concurrency 8',
} as const;

async function main(): Promise<number> {
  const { values } = commandLine(ACCURACY_COMMAND);
  const wanted = values.datasets.split(',').map((s) => `FEBRL ${s.trim()}`);
  const datasets = FEBRL_DATASETS.filter((d) => wanted.includes(d.name));
  const concurrency = values.concurrency;
  if (datasets.length !== wanted.length) throw usageError('--datasets is a list of 1, 2, 3, 4', 'datasets');
  if (!existsSync(values.febrl))
    throw usageError(`FEBRL data not found in ${values.febrl} (expected ../shared/data/mpi/febrl beside the project)`, 'febrl');
  const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const keysDir = mkdtempSync(join(tmpdir(), 'bench-mpi-keys-'));
  const machine = describeMachine();
  const startedAt = new Date();
  try {
    const results: DatasetResult[] = [];
    for (const d of datasets) results.push(await runDataset(d, url, keysDir, concurrency, values.febrl, !values.uncalibrated));
    process.stdout.write(
      [
        '',
        `MPI accuracy on FEBRL (pairwise), linked through the mpi:link pipeline (profile ${DEFAULT_PROFILE}), concurrency ${concurrency}${concurrency === 1 ? ' (file order)' : ''}, PostgreSQL; ${values.uncalibrated ? 'config/matching.json as it is' : 'calibrated on each dataset (u and prior, mpi:calibrate)'}`,
        `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, Node ${machine.node}; load average at start ${machine.loadAverageAtStart.join(' ')}`,
        '',
        resultsTable(results),
        '',
        'precision = predicted pairs that are true / predicted pairs; recall = true pairs found / true pairs; false-merge pairs = predicted pairs of two different people.',
        '',
      ].join('\n'),
    );
    if (values.json)
      writeFileSync(
        values.json,
        `${JSON.stringify({ benchmark: 'mpi accuracy (FEBRL)', startedAt: startedAt.toISOString(), concurrency, calibrated: !values.uncalibrated, machine, results }, null, 2)}\n`,
      );
    return 0;
  } finally {
    rmSync(keysDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runMain('bench:mpi:accuracy', main);
