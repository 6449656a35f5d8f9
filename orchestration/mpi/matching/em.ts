// Parameter estimation. u from random pairs (almost all non-matches, so level frequencies are u);
// m by expectation–maximisation over candidate pairs' level vectors with the prior held fixed:
// re-estimating the prior from blocked candidates lets EM drift to "everything matches" (PRODUCT.md).
import type { MatchingConfig } from './config.ts';
import { compareFeatures, levelsOf } from './compare.ts';
import { blockingKeys, type MatchFeatures } from './features.ts';
import { NEUTRAL_LEVELS } from './fields.ts';

type Vector = Readonly<Record<string, string>>;
export type EmOptions = {
  prior: number;
  iterations?: number;
  /** Keep u as configured (default): u from random pairs is better than u from candidates. */
  fixU?: boolean;
  tolerance?: number;
  /** Levels with fewer expected matches than this keep their configured m: the data cannot inform them. */
  minExpected?: number;
  /**
   * 'field.level' names whose m (and u, when EM estimates it) stay as configured: levels the training data does not represent (e.g.
   * nicknames in FEBRL).
   */
  keep?: readonly string[];
};

/** Pseudo-count per level: keeps unseen levels away from 0/∞ weights, and errs towards weaker evidence. */
const PSEUDO = 0.5;
const MIN_P = 1e-9;

const copyConfig = (c: MatchingConfig): MatchingConfig => structuredClone(c) as MatchingConfig;
const counted = (level: string | undefined): level is string => level !== undefined && !NEUTRAL_LEVELS.has(level);

/**
 * The prior for EM over blocked candidate pairs, derived from the population-level λ: the expected
 * matches among all pairs (λ·N(N−1)/2) are (nearly) all among the candidates. Never estimated from them.
 */
export function blockedPrior(populationPrior: number, populationSize: number, candidatePairs: number): number {
  const allPairs = (populationSize * (populationSize - 1)) / 2;
  return Math.min(0.99, Math.max(MIN_P, (populationPrior * allPairs) / Math.max(1, candidatePairs)));
}

/**
 * u per level from random pairs' level vectors (fixed guard fields are left alone). Random pairs
 * include a few true matches (λ of them): with options.prior = λ their share (λ·m) is removed.
 * Levels seen fewer than options.minObserved times keep their configured u.
 */
export function estimateU(
  randomPairVectors: readonly Vector[],
  config: MatchingConfig,
  options: { prior?: number; minObserved?: number } = {},
): MatchingConfig {
  const out = copyConfig(config);
  const lambda = options.prior ?? 0;
  const minObserved = options.minObserved ?? 5;
  for (const [name, field] of Object.entries(out.fields)) {
    if (field.fixed) continue;
    const levels = Object.keys(field.levels);
    const counts = new Map(levels.map((l) => [l, 0]));
    let n = 0;
    for (const v of randomPairVectors) {
      const level = v[name];
      if (!counted(level) || !counts.has(level)) continue;
      counts.set(level, (counts.get(level) ?? 0) + 1);
      n++;
    }
    if (n === 0) continue;
    for (const l of levels) {
      // Too rare among random pairs to estimate (or absent from this population): keep the configured u.
      if ((counts.get(l) ?? 0) < minObserved) continue;
      const p = field.levels[l]!;
      const observed = ((counts.get(l) ?? 0) + PSEUDO) / (n + PSEUDO * levels.length);
      p.u = Math.max(PSEUDO / (n + PSEUDO * levels.length), (observed - lambda * p.m) / (1 - lambda), MIN_P);
    }
  }
  return out;
}

/** Posterior match probability of one vector under the current parameters (prior fixed). */
function posterior(v: Vector, config: MatchingConfig, priorLogOdds: number): number {
  let w = priorLogOdds;
  for (const [name, field] of Object.entries(config.fields)) {
    const level = v[name];
    if (!counted(level)) continue;
    const p = field.levels[level];
    if (p) w += Math.log2(p.m / p.u);
  }
  return 1 / (1 + 2 ** -w);
}

/**
 * Re-estimate m (and u unless fixU, the default) per field level by EM. options.prior is the
 * match probability among these vectors: the population λ for random pairs, blockedPrior(...) for
 * blocked candidates. Fixed (guard) fields keep their values. Term frequencies are not involved.
 */
export function estimateParameters(vectors: readonly Vector[], config: MatchingConfig, options: EmOptions): MatchingConfig {
  const { prior, iterations = 50, fixU = true, tolerance = 1e-6, minExpected = 5, keep = [] } = options;
  if (!(prior > 0 && prior < 1)) throw new Error('estimateParameters: options.prior must be in (0, 1)');
  let current = copyConfig(config);
  const priorLogOdds = Math.log2(prior / (1 - prior));
  for (let iter = 0; iter < iterations; iter++) {
    const p = vectors.map((v) => posterior(v, current, priorLogOdds));
    const next = copyConfig(current);
    let change = 0;
    for (const [name, field] of Object.entries(next.fields)) {
      if (field.fixed) continue;
      const levels = Object.keys(field.levels);
      const m = new Map(levels.map((l) => [l, 0]));
      const u = new Map(levels.map((l) => [l, 0]));
      vectors.forEach((v, i) => {
        const level = v[name];
        if (!counted(level) || !m.has(level)) return;
        const pi = p[i] ?? 0;
        m.set(level, (m.get(level) ?? 0) + pi);
        u.set(level, (u.get(level) ?? 0) + 1 - pi);
      });
      // Kept levels count as unseen, so reestimate leaves them as configured.
      for (const l of levels) {
        if (!keep.includes(`${name}.${l}`)) continue;
        m.set(l, -1);
        u.set(l, -1);
      }
      change = Math.max(change, reestimate(field.levels, m, 'm', minExpected), fixU ? 0 : reestimate(field.levels, u, 'u', minExpected));
    }
    current = next;
    if (change < tolerance) break;
  }
  return current;
}

/**
 * New probabilities from expected counts. Levels with too few expected counts keep their value;
 * the others share the remaining probability mass in proportion to their counts. Returns the largest change.
 */
function reestimate(
  levels: Record<string, { m: number; u: number }>,
  counts: ReadonlyMap<string, number>,
  key: 'm' | 'u',
  minExpected: number,
): number {
  const names = Object.keys(levels);
  const estimable = names.filter((l) => (counts.get(l) ?? 0) >= minExpected);
  if (estimable.length === 0) return 0;
  const kept = names.filter((l) => !estimable.includes(l)).reduce((s, l) => s + levels[l]![key], 0);
  const mass = Math.max(0, 1 - kept);
  const total = estimable.reduce((s, l) => s + (counts.get(l) ?? 0), 0);
  let change = 0;
  for (const l of estimable) {
    const next = Math.max(MIN_P, (mass * (counts.get(l) ?? 0)) / total);
    change = Math.max(change, Math.abs(next - levels[l]![key]));
    levels[l]![key] = next;
  }
  return change;
}

/** A small deterministic PRNG (mulberry32), so estimates are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Level vectors of random record pairs (nearly all non-matches): the input of estimateU. */
export function randomPairVectors(
  features: readonly MatchFeatures[],
  config: MatchingConfig,
  count: number,
  seed = 1,
): Record<string, string>[] {
  const next = seededRandom(seed);
  const out: Record<string, string>[] = [];
  while (out.length < count && features.length > 1) {
    const i = Math.floor(next() * features.length);
    const j = Math.floor(next() * features.length);
    if (i !== j) out.push(levelsOf(compareFeatures(features[i]!, features[j]!, config)));
  }
  return out;
}

/**
 * The share of matches among level vectors with m and u held fixed: EM on the mixing weight alone,
 * which is well conditioned where freeing m and u too is not. On blocked candidate pairs this
 * estimates how many of them are the same person; start is the first guess.
 */
export function estimateMatchShare(
  vectors: readonly Vector[],
  config: MatchingConfig,
  options: { start?: number; iterations?: number } = {},
): number {
  if (vectors.length === 0) return 0;
  let share = Math.min(0.5, Math.max(MIN_P, options.start ?? 0.01));
  for (let iter = 0; iter < (options.iterations ?? 200); iter++) {
    const logOdds = Math.log2(share / (1 - share));
    let expected = 0;
    for (const v of vectors) expected += posterior(v, config, logOdds);
    const next = Math.min(1 - MIN_P, Math.max(MIN_P, expected / vectors.length));
    const done = Math.abs(next - share) <= 1e-4 * share;
    share = next;
    if (done) break;
  }
  return share;
}

/**
 * Blocking keys whose candidate pairs estimation trains on: the stricter kinds. The broad ones (fpc,
 * gpc, fhn) only add recall at linking time; their extra non-matches sharing a postcode skew EM.
 */
export const TRAINING_BLOCKING_KEYS: readonly string[] = ['fdm', 'gsx', 'nms', 'ssn', 'tel', 'eml', 'pcd', 'adr', 'dob'];

/** Level vectors of every pair of records sharing one of `keys`' blocking keys (uncapped, each pair once). */
export function candidatePairVectors(
  features: readonly MatchFeatures[],
  config: MatchingConfig,
  keys: readonly string[] = config.blocking.keys,
): Record<string, string>[] {
  const blocking = { ...config, blocking: { ...config.blocking, keys } };
  const index = new Map<string, number[]>();
  features.forEach((f, i) => {
    for (const k of blockingKeys(f, blocking)) {
      const list = index.get(k);
      if (list) list.push(i);
      else index.set(k, [i]);
    }
  });
  const seen = new Set<number>();
  const out: Record<string, string>[] = [];
  for (const list of index.values()) {
    for (let x = 0; x < list.length; x++) {
      for (let y = x + 1; y < list.length; y++) {
        const [i, j] = [list[x]!, list[y]!];
        const key = i * features.length + j;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(levelsOf(compareFeatures(features[i]!, features[j]!, config)));
      }
    }
  }
  return out;
}
