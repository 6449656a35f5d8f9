// Re-estimate config/matching.json's m/u from FEBRL (unsupervised: the truth is not used except
// for the population-level duplicate count that sets λ, a number a deployment estimates from its
// duplicate rate). u from random pairs; m by EM over blocked candidate pairs with λ fixed.
//   node bench/mpi/estimate-febrl.ts [--write | --out FILE] [--datasets 1,2,3,4] [--random 2000000]
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SHARED_DATA } from '../../test/support/env.ts';
import { loadMatchingConfig, DEFAULT_MATCHING_CONFIG_FILE, type MatchingConfig } from '../../orchestration/mpi/matching/config.ts';
import { matchFeatures } from '../../orchestration/mpi/matching/features.ts';
import {
  estimateU,
  estimateParameters,
  blockedPrior,
  randomPairVectors,
  candidatePairVectors,
  TRAINING_BLOCKING_KEYS,
} from '../../orchestration/mpi/matching/em.ts';
import { readFebrl, type LabelledRecord } from '../../orchestration/mpi/matching/febrl-harness.ts';
import { roundForConfig as round } from '../../orchestration/mpi/matching/calibrate.ts';

const FEBRL = join(SHARED_DATA, 'mpi', 'febrl');
const DATASETS: Record<string, () => LabelledRecord[]> = {
  '1': () => readFebrl(join(FEBRL, 'dataset1.csv'), 'a'),
  '2': () => readFebrl(join(FEBRL, 'dataset2.csv'), 'a'),
  '3': () => readFebrl(join(FEBRL, 'dataset3.csv'), 'a'),
  '4': () => [...readFebrl(join(FEBRL, 'dataset4a.csv'), 'a'), ...readFebrl(join(FEBRL, 'dataset4b.csv'), 'b')],
};

/**
 * Levels FEBRL's generator never produces as errors of one person (nicknames, initials): their m
 * stays hand-set, or EM would price them from a handful of coincidences.
 */
const HAND_SET_M = ['given.nickname', 'given.initial'];

function main(): void {
  const { values } = parseArgs({
    options: {
      write: { type: 'boolean' },
      out: { type: 'string' },
      keys: { type: 'string', default: TRAINING_BLOCKING_KEYS.join(',') },
      datasets: { type: 'string', default: '2,3,4' },
      random: { type: 'string', default: '400000' },
    },
  });
  const base = loadMatchingConfig();
  const names = values.datasets.split(',');
  // u from random pairs pooled over the datasets.
  const data = names.map((n) => {
    const records = DATASETS[n]!();
    return { name: n, records, features: records.map((r) => matchFeatures(r.demographics, base)) };
  });
  const lambdas = data.map((d) => {
    const entities = new Map<string, number>();
    for (const r of d.records) entities.set(r.entity, (entities.get(r.entity) ?? 0) + 1);
    let duplicatePairs = 0;
    for (const c of entities.values()) duplicatePairs += (c * (c - 1)) / 2;
    const n = d.records.length;
    return { duplicatePairs, lambda: duplicatePairs / ((n * (n - 1)) / 2) };
  });
  const perSet = Math.round(Number(values.random) / data.length);
  const randomVectors = data.flatMap((d, k) => randomPairVectors(d.features, base, perSet, k + 1));
  const pooledLambda = lambdas.reduce((s, l) => s + l.lambda, 0) / lambdas.length;
  const candidates = data.map((d) => candidatePairVectors(d.features, base, values.keys.split(',')));
  // Two rounds: u (less the true matches among random pairs, λ·m) then m by EM, then again with the new m.
  let current = base;
  let estimates: { weight: number; config: MatchingConfig }[] = [];
  for (let round = 0; round < 2; round++) {
    const withU = estimateU(randomVectors, current, { prior: pooledLambda });
    estimates = data.map((d, k) => {
      const { lambda, duplicatePairs } = lambdas[k]!;
      const prior = blockedPrior(lambda, d.records.length, candidates[k]!.length);
      if (round === 0)
        console.error(
          `dataset ${d.name}: ${d.records.length} records, λ=${lambda.toExponential(2)}, ${candidates[k]!.length} candidate pairs, EM prior ${prior.toFixed(4)}`,
        );
      return { weight: duplicatePairs, config: estimateParameters(candidates[k]!, withU, { prior, iterations: 100, keep: HAND_SET_M }) };
    });
    current = structuredClone(withU) as MatchingConfig;
    const total = estimates.reduce((s, e) => s + e.weight, 0);
    for (const [name, field] of Object.entries(current.fields))
      for (const [level, p] of Object.entries(field.levels))
        p.m = estimates.reduce((s, e) => s + (e.weight / total) * e.config.fields[name]!.levels[level]!.m, 0);
  }
  const out = current;
  for (const [name, field] of Object.entries(out.fields)) {
    if (field.fixed) continue;
    for (const [level, p] of Object.entries(field.levels)) {
      p.m = round(p.m);
      p.u = round(p.u);
      console.error(
        `${name}.${level}: m=${p.m} u=${p.u} w=${Math.log2(p.m / p.u).toFixed(2)}  per dataset m: ${estimates.map((e) => round(e.config.fields[name]!.levels[level]!.m)).join(' ')}`,
      );
    }
  }
  if (values.write || values.out) {
    const target = values.out ?? DEFAULT_MATCHING_CONFIG_FILE;
    const file = JSON.parse(readFileSync(DEFAULT_MATCHING_CONFIG_FILE, 'utf8')) as { fields: MatchingConfig['fields'] };
    for (const [name, field] of Object.entries(out.fields)) if (!field.fixed) file.fields[name]!.levels = field.levels;
    writeFileSync(target, `${JSON.stringify(file, null, 2)}\n`);
    console.error(`wrote ${target}`);
  }
}

if (import.meta.main) main();
