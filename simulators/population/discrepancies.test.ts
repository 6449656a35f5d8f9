import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dobSwap, dobTypo, marriedName, typo } from './discrepancies.ts';
import { random, seededRandom, streamSeed } from './random.ts';
import { NICKNAMES, FAMILY, FEMALE_GIVEN, MALE_GIVEN } from './names.ts';

/** Damerau-Levenshtein distance (optimal string alignment), enough to check "one edit". */
function edits(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

test('a family-name typo is exactly one edit and keeps the first letter', () => {
  const rng = random(1, 'typo');
  for (const name of FAMILY) {
    const t = typo(rng, name);
    assert.notEqual(t, name);
    assert.equal(edits(name, t), 1, `${name} -> ${t}`);
    assert.equal(t[0], name[0]);
  }
});

test('a birth-date typo changes one digit and stays a valid past date; a swap exchanges day and month', () => {
  const rng = random(2, 'dob');
  for (let i = 0; i < 500; i++) {
    const date = `19${rng.int(30, 99)}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`;
    const t = dobTypo(rng, date);
    assert.notEqual(t, date);
    assert.ok(!Number.isNaN(Date.parse(t)) && new Date(`${t}T00:00:00Z`).toISOString().startsWith(t), `${t} is a real date`);
    assert.ok([...t].filter((c, k) => c !== date[k]).length <= 2, `${date} -> ${t}`);
  }
  assert.equal(dobSwap('1980-03-07'), '1980-07-03');
  assert.equal(dobSwap('1980-03-25'), null);
  assert.equal(dobSwap('1980-04-04'), null);
});

test('a married name is another family name, sometimes hyphenated with the old one', () => {
  const rng = random(3, 'married');
  const results = Array.from({ length: 200 }, () => marriedName(rng, 'Lopez'));
  assert.ok(results.every((r) => r !== 'Lopez'));
  assert.ok(results.some((r) => r.startsWith('Lopez-')) && results.some((r) => !r.includes('Lopez')));
});

test('name lists are large, varied and consistent with the nickname table', () => {
  assert.ok(FEMALE_GIVEN.length >= 200 && MALE_GIVEN.length >= 200 && FAMILY.length >= 300);
  for (const must of ['William', 'Robert', 'Elizabeth', 'Katherine']) assert.ok(NICKNAMES[must]!.length > 0);
  assert.deepEqual(NICKNAMES.William!.slice(0, 1), ['Bill']);
  assert.ok(FAMILY.some((f) => /[^\x00-\x7f]/.test(f)) && FAMILY.some((f) => f.includes("'")) && FAMILY.some((f) => f.includes(' ')));
});

test('the PRNG is deterministic, uniform enough and its streams are independent', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b.next()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05);
  assert.notEqual(streamSeed(1, 'ab', 'c'), streamSeed(1, 'a', 'bc'));
  assert.notEqual(streamSeed(1, 'person', 1), streamSeed(2, 'person', 1));
  const r = seededRandom(7);
  for (let i = 0; i < 1000; i++) {
    const n = r.int(3, 5);
    assert.ok(n >= 3 && n <= 5 && Number.isInteger(n));
  }
  const picks = Array.from({ length: 5000 }, () => r.skewed(FAMILY));
  const smith = picks.filter((p) => p === 'Smith').length / picks.length;
  assert.ok(smith > 0.005 && smith < 0.04, `Smith share ${smith}`);
});
