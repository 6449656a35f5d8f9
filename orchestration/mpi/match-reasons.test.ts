// The reason codes read off the matcher's decisions: each guard named, the bands of the
// thresholds, and never a reason that contradicts the decision `decide` took.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareFeatures, decide, matchFeatures, type MatchingConfig } from './matching/index.ts';
import { bare, config, person } from './matching/test-helpers.ts';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import { capReason, decisionOf, describeReason, linkReason, MATCH_REASONS, matchReason, reasonCode } from './match-reasons.ts';

const judge = (a: SourceDemographics, b: SourceDemographics, cfg: MatchingConfig = config) => {
  const [fa, fb] = [matchFeatures(a, cfg), matchFeatures(b, cfg)];
  const c = compareFeatures(fa, fb, cfg);
  return { decision: decide(c, fa, fb, cfg), reason: matchReason(c, fa, fb, cfg), probability: c.probability };
};

const anonymous = bare({ ssn: '900112233', line: ['12 Main St'], postalCode: '62701', phone: '2175550142', email: 'pat@example.org' });
/** Pairs of every kind the matcher decides, with the reason each must get under the shipped configuration. */
const CASES: [string, SourceDemographics, SourceDemographics, keyof typeof MATCH_REASONS][] = [
  ['identical records', person(), person(), 'ABOVE_AUTO_LINK'],
  [
    'only the SSN and birth date agree (SSN_DECISIVE)',
    bare({ ssn: '900112233', birthDate: '1980-02-01', family: 'Smith' }),
    bare({ ssn: '900112233', birthDate: '1980-02-01', family: 'Jones' }),
    'SSN_ONLY',
  ],
  ['Jr and Sr, otherwise identical', person({ suffix: ['Jr'] }), person({ suffix: ['Sr'] }), 'SUFFIX_GUARD'],
  ['neither a name nor a birth date', anonymous, anonymous, 'INSUFFICIENT_DATA'],
  [
    'a shared home with a gender conflict: would auto-link with the home counted',
    person({ ssn: null, phone: null, gender: 'female', given: ['William'], birthDate: '1979-02-01' }),
    person({ ssn: null, phone: null, given: ['William'] }),
    'HOUSEHOLD_GUARD',
  ],
  [
    'twins (different given names, consecutive SSNs): below review',
    person({ given: ['John'], ssn: '900112233' }),
    person({ given: ['Michael'], ssn: '900112234' }),
    'BELOW_REVIEW',
  ],
  [
    'father and son, same name and home, 30 years apart',
    person({ birthDate: '1955-03-02', ssn: null }),
    person({ birthDate: '1985-09-14', ssn: null }),
    'BELOW_REVIEW',
  ],
  [
    'twins sharing home, phone and email, no SSNs: the twin guard, not the household, is named',
    person({ given: ['John'], ssn: null, email: 'family@example.org' }),
    person({ given: ['Michael'], ssn: null, email: 'family@example.org' }),
    'TWIN_GUARD',
  ],
  [
    'a sound-alike family name, no birth date, another street',
    person({ family: 'Smyth', ssn: null, birthDate: null, line: ['9 Elm St'], phone: null }),
    person({ ssn: null, birthDate: null }),
    'BELOW_AUTO_LINK',
  ],
];

test('each kind of pair gets the reason of the rule that decided it, and the reason agrees with the decision', () => {
  for (const [label, a, b, expected] of CASES) {
    const { decision, reason } = judge(a, b);
    assert.equal(reason, expected, label);
    assert.equal(decisionOf(reason), decision, `${label}: ${reason} stands for ${decision}`);
  }
});

test('suspected twins at an auto-link score are held by the twin guard', () => {
  // Without the household and twin weights the pair scores as one person: the cap names the guard.
  const lenient: MatchingConfig = {
    ...config,
    fields: {
      ...config.fields,
      household: { ...config.fields.household!, levels: { conflict: { m: 1, u: 1 }, conflict_ssn_agrees: { m: 1, u: 1 } } },
      twin: { ...config.fields.twin!, levels: { suspected: { m: 1, u: 1 }, refuted_by_ssn: { m: 1, u: 1 } } },
    },
  };
  const twin = (given: string) => person({ given: [given], ssn: null, email: 'family@example.org' });
  const twins = judge(twin('John'), twin('Michael'), lenient);
  assert.ok(twins.probability >= lenient.thresholds.autoLink, `${twins.probability}`);
  assert.deepEqual([twins.decision, twins.reason], ['POSSIBLE_MATCH', 'TWIN_GUARD']);
});

test('a review level set in the configuration is named: SSN_CONFLICT for different SSNs, REVIEW_LEVEL for any other', () => {
  const ssnHeld: MatchingConfig = { ...config, fields: { ...config.fields, ssn: { ...config.fields.ssn!, reviewLevels: ['different'] } } };
  const pair = judge(person({ ssn: '900112233' }), person({ ssn: '811223344' }), ssnHeld);
  assert.deepEqual([pair.decision, pair.reason], ['POSSIBLE_MATCH', 'SSN_CONFLICT']);
  assert.equal(
    judge(person({ ssn: '900112233' }), person({ ssn: '811223344' })).reason,
    'ABOVE_AUTO_LINK',
    'not with the shipped configuration',
  );
  const genderHeld: MatchingConfig = {
    ...config,
    fields: { ...config.fields, gender: { ...config.fields.gender!, reviewLevels: ['different'] } },
  };
  assert.equal(judge(person({ gender: 'female' }), person(), genderHeld).reason, 'REVIEW_LEVEL');
  assert.equal(capReason('TWIN_SUSPECTED'), 'TWIN_GUARD');
  assert.equal(capReason('HOUSEHOLD_CONFLICT'), 'HOUSEHOLD_GUARD');
  assert.equal(capReason('SUFFIX_DIFFERENT'), 'SUFFIX_GUARD');
  assert.equal(capReason('SOMETHING_NEW'), 'REVIEW_LEVEL');
});

test('thresholds in force decide the band: the same pair is reviewed under stricter ones', () => {
  const strict: MatchingConfig = { ...config, thresholds: { autoLink: 1.01, review: 0 } };
  const { decision, reason } = judge(person(), person(), strict);
  assert.deepEqual([decision, reason], ['POSSIBLE_MATCH', 'BELOW_AUTO_LINK']);
});

test("a link's reason: the candidate's, no candidate, or a MATCH that could not join", () => {
  assert.equal(linkReason('NO_MATCH', undefined), 'NO_CANDIDATE');
  assert.equal(linkReason('MATCH', { decision: 'MATCH', reason: 'ABOVE_AUTO_LINK' }), 'ABOVE_AUTO_LINK');
  assert.equal(linkReason('POSSIBLE_MATCH', { decision: 'POSSIBLE_MATCH', reason: 'SSN_ONLY' }), 'SSN_ONLY');
  assert.equal(linkReason('POSSIBLE_MATCH', { decision: 'MATCH', reason: 'ABOVE_AUTO_LINK' }), 'CANDIDATE_UNAVAILABLE');
});

test('stored codes read back as codes; unknown or missing ones as UNKNOWN; every code has a description without data', () => {
  assert.equal(reasonCode('SSN_ONLY'), 'SSN_ONLY');
  assert.equal(reasonCode(null), 'UNKNOWN');
  assert.equal(reasonCode('toString'), 'UNKNOWN');
  assert.equal(reasonCode('RETIRED_CODE'), 'UNKNOWN');
  for (const [code, description] of Object.entries(MATCH_REASONS)) {
    assert.match(code, /^[A-Z_]+$/);
    assert.ok(description.length > 20, code);
    assert.deepEqual(describeReason(code as keyof typeof MATCH_REASONS), { code, description });
  }
});

test('over a grid of variations (names, birth dates, SSNs, homes, suffixes, gender), no reason contradicts the decision', () => {
  const axes: Partial<Parameters<typeof person>[0]>[][] = [
    [{}, { family: 'Smyth' }, { family: 'Okafor' }],
    [{}, { given: ['Jon'] }, { given: ['Michael'] }],
    [{}, { birthDate: '1980-02-07' }, { birthDate: '1950-11-30' }, { birthDate: null }],
    [{}, { ssn: '900112234' }, { ssn: '811223344' }, { ssn: null }],
    [{}, { line: ['9 Elm St'], phone: null }, { line: [], phone: null, postalCode: null }],
    [{}, { suffix: ['Jr'] }],
    [{}, { gender: 'female' }],
  ];
  let pairs = 0;
  const walk = (i: number, acc: Partial<Parameters<typeof person>[0]>): void => {
    if (i === axes.length) {
      const { decision, reason } = judge(person({ suffix: ['Sr'], email: 'x@example.org' }), person({ email: 'x@example.org', ...acc }));
      assert.equal(decisionOf(reason), decision, `${JSON.stringify(acc)}: ${reason}`);
      pairs++;
      return;
    }
    for (const v of axes[i]!) walk(i + 1, { ...acc, ...v });
  };
  walk(0, {});
  assert.ok(pairs > 1000);
});
