// `npm run mpi:calibrate`: fit the matching configuration to this deployment's population.
//
// Weights estimated elsewhere (config/matching.json comes from FEBRL) misprice evidence here: a
// shared city is worth ~9 bits among FEBRL's scattered records and far less in a regional
// hospital's, and the prior must fall as the MPI grows (a name and birth date that single out one
// person among 20,000 records do not among a million). This samples the population uniformly,
// re-estimates u and the prior (orchestration/mpi/matching/calibrate.ts) and writes a complete
// configuration file for MATCHING_CONFIG_FILE. m (the sources' error rates) is kept.
//
// Two sources of records:
//   --input FILE  the FHIR R4 Patient NDJSON about to be loaded (run before the initial load);
//   otherwise     the source records already in the MPI (DATABASE_URL, else the embedded database).
// Prints aggregates only (counts, probabilities, weights): never a record.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataDir, isProduction, type VendorProfile } from '../platform/config.ts';
import type { Database } from '../platform/db.ts';
import {
  calibrate,
  featuresAreCurrent,
  loadMatchingConfig,
  matchFeatures,
  matchingConfigFile,
  MIN_CALIBRATION_SAMPLE,
  seededRandom,
  type Calibration,
  type MatchFeatures,
  type MatchingConfig,
} from '../orchestration/mpi/matching/index.ts';
import { revealStoredFeatures } from '../orchestration/mpi/linking.ts';
import type { IdentifierProtection } from '../security/identifier-protection.ts';
import { databaseOptionsFromEnv, openStorage, protectionFor } from './components.ts';
import { DEFAULT_PROFILE, prepareRecord } from '../orchestration/mpi/ndjson-linking.ts';
import { sourceScope } from '../translation/fhir-r4/patient.ts';
import { checkReadable, inputLines, loadProfile } from './mpi-link.ts';
import { parseCommandLine, runCommand, usageError, type OptionValues } from './cli.ts';

export const MPI_CALIBRATE_COMMAND = {
  name: 'mpi:calibrate',
  usage: 'npm run mpi:calibrate -- [--input FILE] [--out FILE] [--sample N] [--population N] [--prior P] [--pairs N] [--profile NAME]',
  description: `Re-estimates the matching configuration's u probabilities and prior on your own population and
writes a complete configuration (default DATA_DIR/matching.calibrated.json). Use it with
MATCHING_CONFIG_FILE=FILE (npm start, npm run mpi:link).`,
  options: {
    input: {
      type: 'string',
      value: 'FILE',
      description: 'FHIR R4 Patient NDJSON you are about to load (- for standard input); without it, the records in the MPI',
    },
    out: { type: 'string', value: 'FILE', description: 'where to write the configuration' },
    sample: { type: 'integer', min: MIN_CALIBRATION_SAMPLE, default: 100_000, description: 'records sampled uniformly' },
    population: {
      type: 'integer',
      min: 2,
      description: 'records the MPI is expected to hold once loaded (default: the records read); the prior falls as 1/N',
    },
    prior: { type: 'number', value: 'P', description: 'take this prior, in (0, 0.5), instead of estimating it' },
    pairs: { type: 'integer', min: 10_000, default: 1_000_000, description: 'random record pairs for u' },
    profile: { type: 'string', default: DEFAULT_PROFILE, value: 'NAME', description: 'vendor profile for --input' },
  },
  example: 'npm run mpi:calibrate -- --input patients.ndjson --population 2000000',
  notes: `Starts from MATCHING_CONFIG_FILE if set, else config/matching.json. Without --input: the source records in
DATABASE_URL, else the embedded database in DATA_DIR/pg (stop \`npm start\` first).`,
} as const;

export type CalibrateArgs = {
  readonly input: string | undefined;
  readonly out: string | undefined;
  readonly sample: number;
  readonly population: number | undefined;
  readonly prior: number | undefined;
  readonly pairs: number;
  readonly profile: string;
};

export function checkCalibrateArgs(values: OptionValues<typeof MPI_CALIBRATE_COMMAND.options>): CalibrateArgs {
  if (values.prior !== undefined && !(values.prior > 0 && values.prior < 0.5))
    throw usageError(`--prior must be a probability in (0, 0.5) (got ${values.prior})`, 'prior');
  return { ...values };
}

/** The command line, checked; null when --help was asked. */
export function parseCalibrateArgs(argv: readonly string[]): CalibrateArgs | null {
  const parsed = parseCommandLine(MPI_CALIBRATE_COMMAND, argv);
  return parsed && checkCalibrateArgs(parsed.values);
}

/** A uniform sample of a stream of unknown length (reservoir sampling, algorithm R), seeded for repeatable runs. */
export function reservoir<T>(size: number, seed = 1) {
  const next = seededRandom(seed);
  const items: T[] = [];
  let seen = 0;
  return {
    add(item: T): void {
      seen++;
      if (items.length < size) items.push(item);
      else {
        const j = Math.floor(next() * seen);
        if (j < size) items[j] = item;
      }
    },
    get items(): readonly T[] {
      return items;
    },
    get seen(): number {
      return seen;
    },
  };
}

/**
 * Match features of one NDJSON line as mpi:link would link it; null for a line it would quarantine (not part of the population's
 * demographics).
 */
const CALIBRATION_SCOPE = sourceScope({ id: 'calibration' });

export function lineFeatures(
  text: string,
  line: number,
  profile: VendorProfile,
  base: MatchingConfig,
  today: string,
): MatchFeatures | null {
  const p = prepareRecord(text, line, CALIBRATION_SCOPE, profile, today);
  return p.quarantine ? null : matchFeatures(p.demographics, base);
}

type Sampled = {
  readonly features: readonly MatchFeatures[];
  readonly population: number;
  readonly skipped: number;
  readonly from: string;
};

/** Patients of an NDJSON file, translated as mpi:link translates them; lines it would refuse are skipped. */
async function sampleInput(input: string, args: CalibrateArgs, base: MatchingConfig): Promise<Sampled> {
  const profile = loadProfile(args.profile);
  const today = new Date().toISOString().slice(0, 10);
  const sample = reservoir<MatchFeatures>(args.sample);
  let line = 0,
    skipped = 0;
  for await (const text of inputLines(input)) {
    line++;
    if (text.trim() === '') continue;
    const f = lineFeatures(text, line, profile, base, today);
    if (f) sample.add(f);
    else skipped++;
  }
  return { features: sample.items, population: sample.seen, skipped, from: 'input file' };
}

/** Active source records of the MPI, their stored features (SSN decrypted in memory only). */
export async function sampleStore(db: Database, protection: IdentifierProtection, size: number): Promise<Sampled> {
  const count = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM source_record WHERE deleted_at IS NULL');
  const { rows } = await db.query<{ features: unknown }>(
    'SELECT features FROM source_record WHERE deleted_at IS NULL AND features IS NOT NULL ORDER BY random() LIMIT $1',
    [size],
  );
  const features: MatchFeatures[] = [];
  let skipped = 0;
  for (const r of rows) {
    if (featuresAreCurrent(r.features)) features.push(revealStoredFeatures(protection.cipher, r.features));
    else skipped++; // written by an older feature version: re-link to refresh
  }
  return { features, population: Number(count.rows[0]!.n), skipped, from: 'the MPI' };
}

/** The base file with the calibrated prior and u values; m, thresholds, guards and comments are kept. */
export function calibratedFile(baseFile: string, c: Calibration, meta: Record<string, unknown>): string {
  const raw = JSON.parse(readFileSync(baseFile, 'utf8')) as Record<string, unknown> & { fields: MatchingConfig['fields'] };
  raw.prior = c.config.prior;
  for (const [name, field] of Object.entries(c.config.fields)) {
    if (field.fixed || !raw.fields[name]) continue;
    for (const [level, p] of Object.entries(field.levels)) if (raw.fields[name]!.levels[level]) raw.fields[name]!.levels[level]!.u = p.u;
  }
  raw.$calibration = meta;
  return `${JSON.stringify(raw, null, 2)}\n`;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export function reportText(c: Calibration, s: Sampled, target: number, out: string): string {
  const lines = [
    `mpi:calibrate: ${fmt(c.sample)} records sampled from ${fmt(s.population)} in ${s.from}${s.skipped > 0 ? ` (${fmt(s.skipped)} skipped: refused or stale)` : ''}`,
    `  u: ${fmt(c.randomPairs)} random pairs; prior: ${fmt(c.candidatePairs)} blocked candidate pairs, ${fmt(c.expectedMatches)} expected matches`,
    `  prior ${c.prior[0]} -> ${c.prior[1]} for ${fmt(target)} records (~${fmt(c.duplicatePairs)} duplicate pairs)${c.estimatedPrior > c.prior[1] ? `; estimated ${c.estimatedPrior}, kept at the configured prior (calibration never makes matching less precise)` : ''}`,
  ];
  const moved = c.levels.filter((l) => Math.abs(l.weight[1] - l.weight[0]) >= 0.5);
  if (moved.length > 0) {
    lines.push('  weights that moved by half a bit or more (log2 m/u):');
    for (const l of moved)
      lines.push(
        `    ${`${l.field}.${l.level}`.padEnd(26)} ${l.weight[0].toFixed(1).padStart(5)} -> ${l.weight[1].toFixed(1).padStart(5)}   (u ${l.u[0].toExponential(1)} -> ${l.u[1].toExponential(1)})`,
      );
  }
  lines.push(`  written to ${out}; use it with MATCHING_CONFIG_FILE=${out}`);
  return lines.join('\n');
}

export async function calibrateCommand(args: CalibrateArgs, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const baseFile = matchingConfigFile(env);
  const base = loadMatchingConfig(baseFile);
  let sampled: Sampled;
  if (args.input !== undefined) {
    await checkReadable(args.input);
    sampled = await sampleInput(args.input, args, base);
  } else {
    const db = await openStorage(databaseOptionsFromEnv(env));
    try {
      sampled = await sampleStore(
        db,
        protectionFor({ dir: env.KEYS_DIR ?? join(dataDir(env), 'keys'), generateMissing: !isProduction(env) }),
        args.sample,
      );
    } finally {
      await db.close();
    }
  }
  if (sampled.features.length < MIN_CALIBRATION_SAMPLE)
    throw usageError(
      `${fmt(sampled.features.length)} usable records in ${sampled.from}: calibration needs at least ${MIN_CALIBRATION_SAMPLE}; keep config/matching.json until the MPI holds more`,
    );
  const target = args.population ?? sampled.population;
  const c = calibrate(sampled.features, base, {
    populationSize: sampled.population,
    targetPopulation: target,
    randomPairs: args.pairs,
    ...(args.prior !== undefined ? { prior: args.prior } : {}),
  });
  const out = resolve(args.out ?? join(dataDir(env), 'matching.calibrated.json'));
  const text = calibratedFile(baseFile, c, {
    at: new Date().toISOString(),
    from: sampled.from,
    sample: c.sample,
    population: sampled.population,
    targetPopulation: target,
    randomPairs: c.randomPairs,
    candidatePairs: c.candidatePairs,
    expectedMatches: Math.round(c.expectedMatches),
    priorBefore: c.prior[0],
    priorEstimated: c.estimatedPrior,
    base: baseFile,
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.partial`, text);
  loadMatchingConfig(`${out}.partial`); // a file the product would refuse is never put in place
  renameSync(`${out}.partial`, out);
  process.stderr.write(`${reportText(c, sampled, target, out)}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCommand(MPI_CALIBRATE_COMMAND, ({ values }) => calibrateCommand(checkCalibrateArgs(values)));
}
