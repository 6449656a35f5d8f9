// Re-estimate config/matching.json's m/u from FEBRL (unsupervised: the truth is not used except
// for the population-level duplicate count that sets λ, a number a deployment estimates from its
// duplicate rate). u from random pairs; m by EM over blocked candidate pairs with λ fixed.
//   node orchestration/mpi/matching/estimate.ts [--write] [--datasets 2,3,4]
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SHARED_DATA } from '../../../test/support/env.ts';
import { loadMatchingConfig, DEFAULT_MATCHING_CONFIG_FILE, type MatchingConfig } from './config.ts';
import { matchFeatures, blockingKeys, type MatchFeatures } from './features.ts';
import { compareFeatures, levelsOf } from './compare.ts';
import { estimateU, estimateParameters, blockedPrior } from './em.ts';
import { readFebrl, type LabelledRecord } from './febrl-harness.ts';

const FEBRL = join(SHARED_DATA, 'mpi', 'febrl');
const DATASETS: Record<string, () => LabelledRecord[]> = {
  '1': () => readFebrl(join(FEBRL, 'dataset1.csv'), 'a'),
  '2': () => readFebrl(join(FEBRL, 'dataset2.csv'), 'a'),
  '3': () => readFebrl(join(FEBRL, 'dataset3.csv'), 'a'),
  '4': () => [...readFebrl(join(FEBRL, 'dataset4a.csv'), 'a'), ...readFebrl(join(FEBRL, 'dataset4b.csv'), 'b')],
};

/** A small deterministic PRNG (mulberry32), so estimates are reproducible. */
export function random(seed: number): () => number {
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
export function randomPairVectors(features: readonly MatchFeatures[], config: MatchingConfig, count: number, seed = 1): Record<string, string>[] {
  const next = random(seed);
  const out: Record<string, string>[] = [];
  while (out.length < count && features.length > 1) {
    const i = Math.floor(next() * features.length);
    const j = Math.floor(next() * features.length);
    if (i !== j) out.push(levelsOf(compareFeatures(features[i]!, features[j]!, config)));
  }
  return out;
}

/** Level vectors of every pair sharing a blocking key (uncapped). */
export function candidatePairVectors(features: readonly MatchFeatures[], config: MatchingConfig): Record<string, string>[] {
  const index = new Map<string, number[]>();
  features.forEach((f, i) => {
    for (const k of blockingKeys(f, config)) index.set(k, [...(index.get(k) ?? []), i]);
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

/** Round to 2 significant digits for the configuration file. */
const round = (x: number): number => Number(x.toPrecision(2));

function main(): void {
  const { values } = parseArgs({ options: { write: { type: 'boolean' }, datasets: { type: 'string', default: '2,3,4' }, random: { type: 'string', default: '400000' } } });
  const base = loadMatchingConfig();
  const names = values.datasets.split(',');
  // u from random pairs pooled over the datasets.
  const data = names.map((n) => {
    const records = DATASETS[n]!();
    return { name: n, records, features: records.map((r) => matchFeatures(r.demographics, base)) };
  });
  const randomVectors = data.flatMap((d, k) => randomPairVectors(d.features, base, Math.round(Number(values.random) / data.length), k + 1));
  const withU = estimateU(randomVectors, base);
  // m by EM per dataset (each its own λ), averaged weighted by the expected matches.
  const estimates = data.map((d) => {
    const n = d.records.length;
    const entities = new Map<string, number>();
    for (const r of d.records) entities.set(r.entity, (entities.get(r.entity) ?? 0) + 1);
    let duplicatePairs = 0;
    for (const c of entities.values()) duplicatePairs += (c * (c - 1)) / 2;
    const lambda = duplicatePairs / ((n * (n - 1)) / 2);
    const vectors = candidatePairVectors(d.features, base);
    const prior = blockedPrior(lambda, n, vectors.length);
    console.error(`dataset ${d.name}: ${n} records, λ=${lambda.toExponential(2)}, ${vectors.length} candidate pairs, EM prior ${prior.toFixed(4)}`);
    return { weight: duplicatePairs, config: estimateParameters(vectors, withU, { prior, iterations: 100 }) };
  });
  const total = estimates.reduce((s, e) => s + e.weight, 0);
  const out = structuredClone(withU) as MatchingConfig;
  for (const [name, field] of Object.entries(out.fields)) {
    if (field.fixed) continue;
    for (const [level, p] of Object.entries(field.levels)) {
      p.m = round(estimates.reduce((s, e) => s + (e.weight / total) * e.config.fields[name]!.levels[level]!.m, 0));
      p.u = round(p.u);
      console.error(`${name}.${level}: m=${p.m} u=${p.u} w=${Math.log2(p.m / p.u).toFixed(2)}  per dataset m: ${estimates.map((e) => round(e.config.fields[name]!.levels[level]!.m)).join(' ')}`);
    }
  }
  if (values.write) {
    const file = JSON.parse(readFileSync(DEFAULT_MATCHING_CONFIG_FILE, 'utf8')) as { fields: MatchingConfig['fields'] };
    for (const [name, field] of Object.entries(out.fields)) if (!field.fixed) file.fields[name]!.levels = field.levels;
    writeFileSync(DEFAULT_MATCHING_CONFIG_FILE, `${JSON.stringify(file, null, 2)}\n`);
    console.error(`wrote ${DEFAULT_MATCHING_CONFIG_FILE}`);
  }
}

if (import.meta.main) main();
