// Garbage in never throws: every entry point takes hostile or malformed demographics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceDemographics } from '../../../translation/fhir-r4/patient.ts';
import { matchFeatures, blockingKeys, frequencyTerms } from './features.ts';
import { dataQualityFlags } from './quality.ts';
import { compareFeatures, decide, DECISIONS } from './compare.ts';
import { seededRandom } from './em.ts';
import { config, person } from './test-helpers.ts';

const LONG = 'x'.repeat(10_000);
const STRINGS: unknown[] = [
  '',
  ' ',
  '😀👨‍👩‍👧',
  LONG,
  `${'9'.repeat(5000)}-`,
  '\u0000\u200B\uFEFF',
  'Ｊｏｈｎ',
  'null',
  '1980-13-45',
  '٣٤٥',
  '李小龙',
  "'; DROP TABLE x;--",
  '\uD800',
  42,
  null,
  undefined,
  {},
  [],
  ['a'],
];
const pick = <T>(xs: readonly T[], next: () => number): T => xs[Math.floor(next() * xs.length)]!;

function garbage(next: () => number): SourceDemographics {
  const s = () => pick(STRINGS, next);
  const maybeArray = (make: () => unknown) =>
    pick([null, undefined, 'not an array', [], [make(), null, make()], Array.from({ length: 50 }, make)], next);
  return {
    source: s(),
    sourcePatientId: s(),
    mrn: s(),
    name: pick(
      [null, undefined, 'Smith', {}, { family: s(), given: maybeArray(s), prefix: maybeArray(s), suffix: maybeArray(s), text: s() }],
      next,
    ),
    birthDate: s(),
    birthDateAsRecorded: s(),
    gender: s(),
    identifiers: maybeArray(() =>
      pick([null, s(), { system: pick([...config.identifierSystems.ssn, s()], next), value: s(), type: s() }], next),
    ),
    addresses: maybeArray(() => pick([null, s(), { line: maybeArray(s), city: s(), state: s(), postalCode: s(), country: s() }], next)),
    telecom: maybeArray(() => pick([null, s(), { system: pick(['phone', 'email', 'sms', null, s()], next), value: s() }], next)),
    lastUpdated: s(),
  } as unknown as SourceDemographics;
}

test('garbage demographics never throw, and comparisons stay finite probabilities', () => {
  const next = seededRandom(2026);
  const records = [...Array.from({ length: 300 }, () => garbage(next)), person(), null, undefined, {}] as SourceDemographics[];
  const features = records.map((d) => {
    dataQualityFlags(d);
    const f = matchFeatures(d, config);
    blockingKeys(f, config);
    frequencyTerms(f);
    assert.doesNotThrow(() => JSON.stringify(f));
    return f;
  });
  const frequencies = { total: 1000, count: () => (next() < 0.5 ? null : Math.floor(next() * 2000) - 500) };
  for (let i = 0; i < features.length; i++) {
    for (const j of [i, (i * 7 + 3) % features.length, features.length - 5]) {
      const c = compareFeatures(features[i]!, features[j]!, config, frequencies);
      assert.ok(c.probability >= 0 && c.probability <= 1 && !Number.isNaN(c.probability), `probability ${c.probability}`);
      assert.ok(Object.values(DECISIONS).includes(decide(c, features[i]!, features[j]!, config)));
    }
  }
});

test('10k-character and emoji-only values are bounded and treated as missing where they mean nothing', () => {
  const f = matchFeatures(person({ family: LONG, given: ['😀😀'], line: [LONG], city: LONG, email: `${LONG}@x.org` }), config);
  assert.ok(f.family!.length <= 64);
  assert.equal(f.given, null);
  assert.ok(f.addresses[0]!.full.length <= 128);
  const started = performance.now();
  compareFeatures(f, matchFeatures(person({ family: `${LONG}y`, line: [`${LONG}y`] }), config), config);
  assert.ok(performance.now() - started < 50, 'a hostile pair stays cheap to compare');
});

test('stale (version 1) stored features compare without throwing or agreeing on addresses', () => {
  const current = matchFeatures(person(), config);
  const stale = { ...current, v: 1, addresses: ['12 main st'] } as unknown as typeof current;
  const c = compareFeatures(stale, { ...stale }, config);
  assert.notEqual(c.evidence.find((e) => e.field === 'address')?.level, 'exact');
});
