import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateParameters, estimateU, blockedPrior, seededRandom } from './em.ts';
import type { MatchingConfig } from './config.ts';
import { config } from './test-helpers.ts';

type Probs = Record<string, number>;
const TRUTH: Record<string, { m: Probs; u: Probs }> = {
  family: { m: { exact: 0.8, jw_high: 0.12, different: 0.08 }, u: { exact: 0.01, jw_high: 0.02, different: 0.97 } },
  given: { m: { exact: 0.75, nickname: 0.1, different: 0.15 }, u: { exact: 0.02, nickname: 0.01, different: 0.97 } },
  birth_date: { m: { exact: 0.9, one_digit: 0.06, different: 0.04 }, u: { exact: 0.001, one_digit: 0.01, different: 0.989 } },
  postal_code: { m: { exact: 0.7, different: 0.3 }, u: { exact: 0.05, different: 0.95 } },
};

/** A configuration with just these fields and the given starting probabilities. */
function configWith(start: (field: string, level: string) => { m: number; u: number }): MatchingConfig {
  const fields: MatchingConfig['fields'] = {};
  for (const [name, t] of Object.entries(TRUTH))
    fields[name] = { levels: Object.fromEntries(Object.keys(t.m).map((l) => [l, start(name, l)])) };
  return { ...config, fields };
}

function draw(p: Probs, next: () => number): string {
  let r = next();
  for (const [level, q] of Object.entries(p)) if ((r -= q) < 0) return level;
  return Object.keys(p).at(-1)!;
}

function vectors(n: number, matchShare: number, seed: number): Record<string, string>[] {
  const next = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const match = next() < matchShare;
    return Object.fromEntries(Object.entries(TRUTH).map(([name, t]) => [name, draw(match ? t.m : t.u, next)]));
  });
}

test('EM recovers known m from synthetic comparison vectors (u fixed, prior fixed)', () => {
  const start = configWith((f, l) => ({ m: 1 / Object.keys(TRUTH[f]!.m).length, u: TRUTH[f]!.u[l]! }));
  const estimated = estimateParameters(vectors(40_000, 0.2, 7), start, { prior: 0.2, iterations: 200 });
  for (const [name, t] of Object.entries(TRUTH)) {
    for (const [level, m] of Object.entries(t.m)) {
      const got = estimated.fields[name]!.levels[level]!.m;
      assert.ok(Math.abs(got - m) < 0.02, `${name}.${level}: m ${got} vs ${m}`);
      assert.equal(estimated.fields[name]!.levels[level]!.u, t.u[level]); // fixU (the default)
    }
  }
  assert.notEqual(estimated, start); // a new configuration; the input is untouched
  assert.equal(start.fields.family!.levels.exact!.m, 1 / 3);
});

test('EM can re-estimate u too (fixU: false)', () => {
  const start = configWith((f, l) => ({
    m: l === 'different' ? 0.2 : 0.8 / (Object.keys(TRUTH[f]!.m).length - 1),
    u: l === 'different' ? 0.9 : 0.1 / (Object.keys(TRUTH[f]!.m).length - 1),
  }));
  const estimated = estimateParameters(vectors(40_000, 0.3, 11), start, { prior: 0.3, iterations: 300, fixU: false });
  for (const [name, t] of Object.entries(TRUTH)) {
    for (const level of Object.keys(t.m)) {
      const p = estimated.fields[name]!.levels[level]!;
      assert.ok(Math.abs(p.m - t.m[level]!) < 0.03, `${name}.${level}: m ${p.m} vs ${t.m[level]}`);
      assert.ok(Math.abs(p.u - t.u[level]!) < 0.02, `${name}.${level}: u ${p.u} vs ${t.u[level]}`);
    }
  }
});

test('EM leaves fixed (guard) fields and levels the data cannot inform alone', () => {
  const start = configWith((f, l) => ({ m: 1 / Object.keys(TRUTH[f]!.m).length, u: TRUTH[f]!.u[l]! }));
  start.fields.family!.levels.swapped = { m: 0.01, u: 0.00001 }; // never seen in the vectors
  start.fields.twin = { fixed: true, levels: { suspected: { m: 0.0001, u: 1 } } };
  const estimated = estimateParameters(vectors(20_000, 0.2, 3), start, { prior: 0.2, iterations: 100, keep: ['given.nickname'] });
  assert.equal(estimated.fields.family!.levels.swapped!.m, 0.01);
  assert.equal(estimated.fields.given!.levels.nickname!.m, 1 / 3); // kept as configured
  assert.ok(Math.abs(estimated.fields.given!.levels.exact!.m - (0.75 * (1 - 1 / 3)) / 0.9) < 0.03); // the rest share what is left
  assert.deepEqual(estimated.fields.twin, start.fields.twin);
  const sum = Object.values(estimated.fields.family!.levels).reduce((s, p) => s + p.m, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9, `m sums to ${sum}`);
  assert.throws(() => estimateParameters([], start, { prior: 0 }), /prior/);
});

test('estimateU: level frequencies among random pairs, less the true matches among them', () => {
  const start = configWith((f, l) => ({ m: TRUTH[f]!.m[l]!, u: 0.5 }));
  const none = estimateU(vectors(200_000, 0, 5), start);
  const mixed = estimateU(vectors(200_000, 0.01, 5), start, { prior: 0.01 });
  for (const [name, t] of Object.entries(TRUTH)) {
    for (const [level, u] of Object.entries(t.u)) {
      assert.ok(
        Math.abs(none.fields[name]!.levels[level]!.u - u) < Math.max(0.002, u * 0.15),
        `${name}.${level}: ${none.fields[name]!.levels[level]!.u} vs ${u}`,
      );
      assert.ok(
        Math.abs(mixed.fields[name]!.levels[level]!.u - u) < Math.max(0.002, u * 0.2),
        `${name}.${level} (1% matches): ${mixed.fields[name]!.levels[level]!.u} vs ${u}`,
      );
    }
  }
});

test('blockedPrior: the population λ carried over to the blocked candidate pairs', () => {
  // 10,000 records, λ = 1e-4: about 5,000 true pairs, nearly all among 50,000 candidates.
  assert.ok(Math.abs(blockedPrior(1e-4, 10_000, 50_000) - 0.09999) < 1e-4);
  assert.equal(blockedPrior(1e-4, 10_000, 10), 0.99);
});
