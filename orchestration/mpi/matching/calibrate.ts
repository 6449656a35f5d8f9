// Calibration on a deployment's own population: what a weight is worth depends on who else is in
// the MPI. A shared city is strong evidence among FEBRL's scattered records and weak in a regional
// hospital's; a name and birth date that single out one person among 20,000 records do not among a
// million. Given a uniform sample of the population's records this re-estimates
//   - u of every level, from random pairs of the sample (a random pair of a uniform sample is a
//     random pair of the population), and
//   - the prior λ (probability that two random records are one person), from the share of matches
//     among the sample's blocked candidate pairs (EM on that share alone, m and u held fixed),
//     scaled to the population the MPI will hold.
// m (how often one person's records agree) describes the sources' error rates, not the population:
// it stays as configured. Calibration only ever weakens evidence: u never falls below the configured
// u and an estimated prior never rises above the configured prior, so a calibrated configuration is
// never less precise than the one it started from (EM overestimates the prior on populations with
// households, BENCHMARKS.md). Pure: the CLI (runtime/mpi-calibrate.ts) and the benchmarks feed it.
import type { MatchingConfig } from './config.ts';
import type { MatchFeatures } from './features.ts';
import { candidatePairVectors, estimateMatchShare, estimateU, randomPairVectors, TRAINING_BLOCKING_KEYS } from './em.ts';

export type CalibrationOptions = {
  /** Records in the population the sample was drawn from (the sample itself when it is the whole population). */
  readonly populationSize: number;
  /** Records the MPI is expected to hold (λ falls as 1/N at a constant duplicate rate); default populationSize. */
  readonly targetPopulation?: number;
  /** Random pairs for u (default 1,000,000). */
  readonly randomPairs?: number;
  readonly seed?: number;
  /** A known λ for the target population instead of estimating it. */
  readonly prior?: number;
};

export type LevelChange = {
  readonly field: string;
  readonly level: string;
  readonly u: readonly [number, number];
  readonly weight: readonly [number, number];
};
export type Calibration = {
  readonly config: MatchingConfig;
  readonly sample: number;
  readonly randomPairs: number;
  readonly candidatePairs: number;
  /** Expected matches among the candidate pairs (EM). */
  readonly expectedMatches: number;
  /** Expected duplicate pairs in the target population under the new prior. */
  readonly duplicatePairs: number;
  readonly prior: readonly [number, number];
  /** The prior the population suggests (EM) before it is bounded by the configured one. */
  readonly estimatedPrior: number;
  readonly levels: readonly LevelChange[];
};

/** Fewer records than this and the estimates are noise. */
export const MIN_CALIBRATION_SAMPLE = 1000;
const DEFAULT_RANDOM_PAIRS = 1_000_000;
/** Random pairs a level needs before its u is re-estimated; rarer levels keep their configured u. */
const MIN_OBSERVED = 20;

const pairs = (n: number): number => (n * (n - 1)) / 2;
/** Two significant digits, as the configuration file keeps them. */
export const roundForConfig = (x: number): number => Number(x.toPrecision(2));

/** Re-estimate u and the prior for the population `sample` was drawn from (uniformly). */
export function calibrate(sample: readonly MatchFeatures[], base: MatchingConfig, options: CalibrationOptions): Calibration {
  if (sample.length < MIN_CALIBRATION_SAMPLE)
    throw new Error(`calibration needs a sample of at least ${MIN_CALIBRATION_SAMPLE} records (got ${sample.length})`);
  if (!(options.populationSize >= sample.length)) throw new Error('calibration: populationSize must be at least the sample size');
  const target = options.targetPopulation ?? options.populationSize;
  if (!(Number.isFinite(target) && target >= 2)) throw new Error('calibration: targetPopulation must be at least 2');
  const randomCount = options.randomPairs ?? DEFAULT_RANDOM_PAIRS;
  const random = randomPairVectors(sample, base, randomCount, options.seed ?? 1);
  const candidates = candidatePairVectors(sample, base, TRAINING_BLOCKING_KEYS);

  // u depends on λ only through the few true matches among random pairs (λ·m): two rounds settle it.
  let prior = options.prior ?? base.prior;
  let config = base;
  let expectedMatches = 0;
  for (let round = 0; round < 2; round++) {
    config = estimateU(random, base, { prior, minObserved: MIN_OBSERVED });
    if (options.prior !== undefined) break;
    const share = estimateMatchShare(candidates, config, {
      start: Math.min(0.5, (prior * pairs(sample.length)) / Math.max(1, candidates.length)),
    });
    expectedMatches = share * candidates.length;
    // The sample's λ is the population's (uniform sample); at a constant duplicate rate λ scales as 1/(N-1).
    const sampleLambda = Math.max(expectedMatches, 1) / pairs(sample.length);
    prior = Math.min(0.5, (sampleLambda * (options.populationSize - 1)) / (target - 1));
  }

  const out = structuredClone(config) as MatchingConfig;
  // Never less precise than the configuration it starts from: an estimated prior never rises above it, and no level's u
  // falls below it (no weight rises). A population can only make evidence weaker: the shipped defaults are the ceiling.
  out.prior = roundForConfig(options.prior ?? Math.min(prior, base.prior));
  const levels: LevelChange[] = [];
  for (const [field, f] of Object.entries(out.fields)) {
    if (f.fixed) continue;
    for (const [level, p] of Object.entries(f.levels)) {
      const before = base.fields[field]!.levels[level]!;
      p.u = roundForConfig(Math.max(p.u, before.u));
      levels.push({ field, level, u: [before.u, p.u], weight: [Math.log2(before.m / before.u), Math.log2(p.m / p.u)] });
    }
  }
  return {
    config: out,
    sample: sample.length,
    randomPairs: random.length,
    candidatePairs: candidates.length,
    expectedMatches,
    duplicatePairs: out.prior * pairs(target),
    prior: [base.prior, out.prior],
    estimatedPrior: roundForConfig(prior),
    levels,
  };
}
