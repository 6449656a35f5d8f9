// Parameter estimation. u from random pairs (almost all non-matches, so level frequencies are u);
// m by expectation–maximisation over candidate pairs' level vectors with the prior held fixed:
// re-estimating the prior from blocked candidates lets EM drift to "everything matches" (PRODUCT.md).
import type { MatchingConfig } from './config.ts';
import { NEUTRAL_LEVELS } from './fields.ts';

type Vector = Readonly<Record<string, string>>;
export type EmOptions = { prior: number; iterations?: number; fixU?: boolean; tolerance?: number };

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
  return Math.min(0.5, Math.max(MIN_P, (populationPrior * allPairs) / Math.max(1, candidatePairs)));
}

/** u per level from random pairs' level vectors (fixed guard fields are left alone). */
export function estimateU(randomPairVectors: readonly Vector[], config: MatchingConfig): MatchingConfig {
  const out = copyConfig(config);
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
    for (const l of levels) field.levels[l]!.u = Math.max(MIN_P, ((counts.get(l) ?? 0) + PSEUDO) / (n + PSEUDO * levels.length));
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
  const { prior, iterations = 50, fixU = true, tolerance = 1e-6 } = options;
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
      let mTotal = 0;
      let uTotal = 0;
      vectors.forEach((v, i) => {
        const level = v[name];
        if (!counted(level) || !m.has(level)) return;
        const pi = p[i] ?? 0;
        m.set(level, (m.get(level) ?? 0) + pi);
        u.set(level, (u.get(level) ?? 0) + 1 - pi);
        mTotal += pi;
        uTotal += 1 - pi;
      });
      for (const l of levels) {
        const target = field.levels[l]!;
        const newM = Math.max(MIN_P, ((m.get(l) ?? 0) + PSEUDO * 1e-3) / (mTotal + PSEUDO * 1e-3 * levels.length));
        change = Math.max(change, Math.abs(newM - target.m));
        target.m = newM;
        if (!fixU) {
          const newU = Math.max(MIN_P, ((u.get(l) ?? 0) + PSEUDO * 1e-3) / (uTotal + PSEUDO * 1e-3 * levels.length));
          change = Math.max(change, Math.abs(newU - target.u));
          target.u = newU;
        }
      }
    }
    current = next;
    if (change < tolerance) break;
  }
  return current;
}
