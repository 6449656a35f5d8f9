import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareFeatures, decide, DECISIONS, levelsOf, matchCap, oneDigitEdit, type Comparison, type NameFrequencies } from './compare.ts';
import { matchFeatures } from './features.ts';
import { config, person, bare } from './test-helpers.ts';
import type { SourceDemographics } from '../../../translation/fhir-r4/patient.ts';

const compare = (a: SourceDemographics, b: SourceDemographics, frequencies?: NameFrequencies) =>
  compareFeatures(matchFeatures(a, config), matchFeatures(b, config), config, frequencies);
const levels = (a: SourceDemographics, b: SourceDemographics) => levelsOf(compare(a, b));
const decision = (a: SourceDemographics, b: SourceDemographics) => {
  const [fa, fb] = [matchFeatures(a, config), matchFeatures(b, config)];
  return decide(compareFeatures(fa, fb, config), fa, fb, config);
};
const evidence = (c: Comparison, field: string) => c.evidence.find((e) => e.field === field)!;

test('identical complete records: every configured field is reported, and they MATCH', () => {
  const c = compare(person(), person());
  assert.deepEqual(
    c.evidence.map((e) => e.field),
    Object.keys(config.fields),
  );
  assert.equal(evidence(c, 'family').level, 'exact');
  assert.ok(c.probability > 0.999);
  assert.equal(decision(person(), person()), DECISIONS.MATCH);
});

test('probability is the sigmoid of the prior log-odds plus the field weights (log2)', () => {
  const c = compare(person(), person({ given: ['Jane'] }));
  const sum = c.evidence.reduce((s, e) => s + e.weight, Math.log2(config.prior / (1 - config.prior)));
  assert.ok(Math.abs(c.weight - sum) < 1e-9);
  assert.ok(Math.abs(c.probability - 1 / (1 + 2 ** -sum)) < 1e-12);
});

test('missing values on either side give the missing level with weight 0', () => {
  const c = compare(person({ birthDate: null, ssn: null, phone: null }), person());
  for (const f of ['birth_date', 'ssn', 'phone', 'email', 'suffix'])
    assert.deepEqual(evidence(c, f), { field: f, level: 'missing', weight: 0 }, f);
});

test('given names: exact, nickname (Bill ~ William), Jaro–Winkler, phonetic, initial, different', () => {
  const given = (x: string, y: string) => levels(person({ given: [x] }), person({ given: [y] })).given;
  assert.equal(given('William', 'william'), 'exact');
  assert.equal(given('Bill', 'William'), 'nickname');
  assert.equal(given('Will', 'William'), 'nickname');
  assert.equal(given('Bob', 'Robert'), 'nickname');
  assert.equal(given('Liz', 'Elizabeth'), 'nickname');
  assert.equal(given('Jonathon', 'Jonathan'), 'jw_high');
  assert.equal(given('Katherine', 'Cathryn'), 'phonetic');
  assert.equal(given('J', 'John'), 'initial');
  assert.equal(given('Michael', 'Robert'), 'different');
  assert.ok(evidence(compare(person({ given: ['Bill'] }), person({ given: ['William'] })), 'given').weight > 0);
});

test('family names: exact, hyphenated or double-barrelled (a shared token), typo, phonetic, different', () => {
  const family = (x: string, y: string) => levels(person({ family: x }), person({ family: y })).family;
  assert.equal(family('Garcia-Lopez', 'Garcia Lopez'), 'exact');
  assert.equal(family('Garcia-Lopez', 'Garcia'), 'token');
  assert.equal(family('Lopez', 'Garcia-Lopez'), 'token'); // married name added in front
  assert.equal(family('Johnson', 'Jonhson'), 'jw_high');
  assert.equal(family('Smith', 'Jones'), 'different');
  assert.equal(family('Knight', 'Nite'), 'phonetic');
  assert.equal(family('Schmidt', 'Smith'), 'phonetic'); // Double Metaphone's alternate code
});

test('given and family entered the wrong way round: one swapped level, counted once', () => {
  const c = compare(person({ family: 'Smith', given: ['John'] }), person({ family: 'John', given: ['Smith'] }));
  assert.equal(evidence(c, 'family').level, 'swapped');
  assert.ok(evidence(c, 'family').weight > 5);
  assert.deepEqual(evidence(c, 'given'), { field: 'given', level: 'swapped', weight: 0 });
  assert.equal(decision(person({ family: 'Smith', given: ['John'] }), person({ family: 'John', given: ['Smith'] })), DECISIONS.MATCH);
});

test('birth dates: exact, one digit, day/month swap, ±1 day, year off by one, partial, typos in impossible dates', () => {
  const dob = (x: string | null, y: string | null, rx: string | null = null) =>
    levels(person({ birthDate: x, birthDateAsRecorded: rx }), person({ birthDate: y })).birth_date;
  assert.equal(dob('1980-02-01', '1980-02-01'), 'exact');
  assert.equal(dob('1980-02-01', '1980-02-07'), 'one_digit');
  assert.equal(dob(null, '1980-02-13', '19800231'), 'one_digit'); // 13 <-> 31: adjacent digits swapped, an impossible date
  assert.equal(dob('1980-03-04', '1980-04-03'), 'day_month_swap');
  assert.equal(dob('1980-02-01', '1980-01-31'), 'day_off_one');
  assert.equal(dob('1979-05-06', '1980-05-06'), 'year_off_one');
  assert.equal(dob('1980', '1980-05-06'), 'partial');
  assert.equal(dob('1980-05-06', '1955-11-23'), 'different');
  // The source sent an impossible date (month 13): its digits are one typo away.
  assert.equal(dob(null, '1908-12-09', '1908-13-09'), 'one_digit');
  assert.equal(dob(null, '1908-12-09', '19081209'), 'exact');
  assert.equal(oneDigitEdit('19800201', '19802001'), true);
  assert.equal(oneDigitEdit('19800201', '19800210'), true);
  assert.equal(oneDigitEdit('19800201', '19800312'), false);
  assert.equal(oneDigitEdit('1980', '19800'), false);
});

test('addresses: USPS abbreviations compare equal; other lines missing; Levenshtein bands', () => {
  const address = (x: string[], y: string[]) => levels(person({ line: x }), person({ line: y })).address;
  assert.equal(address(['12 North Main Street'], ['12 N Main St.']), 'exact');
  assert.equal(address(['400 Elm Avenue', 'Apartment 4B'], ['400 elm ave #4b']), 'exact');
  assert.equal(address(['400 Elm Avenue', 'Apt 4B'], ['400 Elm Ave']), 'street');
  assert.equal(address(['Apt 4B', '400 Elm Ave'], ['400 Elm Ave']), 'street'); // lines in another order
  assert.equal(address(['400 Elm Ave'], ['400 Elm Aev']), 'close');
  assert.equal(address(['400 Elmwood Ave'], ['4000 Elmswod Avenue']), 'near');
  assert.equal(address(['400 Elm Ave'], ['9 Oak Road']), 'different');
});

test('postal code, phone (last 10 digits), e-mail (case, spaces), gender', () => {
  assert.equal(levels(person({ postalCode: '62701-1234' }), person({ postalCode: '62701' })).postal_code, 'exact');
  assert.equal(levels(person({ postalCode: '62701' }), person({ postalCode: '62710' })).postal_code, 'one_digit');
  assert.equal(levels(person({ phone: '+1 217 555 0142' }), person({ phone: '(217) 555-0142' })).phone, 'exact');
  assert.equal(levels(person({ email: ' Pat@Example.org' }), person({ email: 'pat@example.org' })).email, 'exact');
  assert.equal(levels(person({ gender: 'male' }), person({ gender: 'female' })).gender, 'different');
  assert.equal(levels(person({ gender: 'unknown' }), person({ gender: 'female' })).gender, 'missing');
});

test('SSN: exact and one-digit levels', () => {
  assert.equal(levels(person({ ssn: '900-11-2233' }), person({ ssn: '900112233' })).ssn, 'exact');
  assert.equal(levels(person({ ssn: '900112233' }), person({ ssn: '900112283' })).ssn, 'one_digit');
  assert.equal(levels(person({ ssn: '900112233' }), person({ ssn: '900121233' })).ssn, 'one_digit'); // transposition
  assert.equal(levels(person({ ssn: '900112233' }), person({ ssn: '811223344' })).ssn, 'different');
});

test('an SSN match alone never auto-links (nothing else known, or only a common name)', () => {
  const onlySsn = bare({ ssn: '900112233' });
  const c = compare(onlySsn, onlySsn);
  assert.ok(c.probability < config.thresholds.autoLink, `SSN alone reached ${c.probability}`);
  assert.notEqual(decision(onlySsn, onlySsn), DECISIONS.MATCH);
  for (const extra of [{ gender: 'male' }, { family: 'Smith', given: ['John'] }, { family: 'Smith', given: ['John'], gender: 'male' }]) {
    const r = bare({ ssn: '900112233', ...extra });
    assert.notEqual(decision(r, r), DECISIONS.MATCH, JSON.stringify(extra));
  }
  // Configured bound, whatever m/u say.
  assert.ok(evidence(c, 'ssn').weight <= (config.fields.ssn!.maxWeight ?? Infinity));
});

test('an SSN completes a MATCH when the other fields agree by 14 bits, a birth date or place among them', () => {
  // One person's two records, the given name re-keyed, no family name on one, another street line: SSN, birth date
  // and postal code agree (without the SSN below the review band at the shipped prior, as FEBRL's re-keyed duplicates).
  const rekeyed = (given: string, family: string | null, birthDate: string | null = '1975-06-30', line = ['1 Elm St']) =>
    bare({ family, given: [given], birthDate, ssn: '900112233', line, postalCode: '62701' });
  assert.equal(decision(rekeyed('Grace', 'Okafor'), rekeyed('Nneka', null, '1975-06-30', ['7 Oak Ave'])), DECISIONS.MATCH);
  // Without the birth date and the home, the postal code is too little beside the SSN.
  assert.notEqual(decision(rekeyed('Grace', 'Okafor', null), rekeyed('Nneka', null, null, ['7 Oak Ave'])), DECISIONS.MATCH);
});

test('an SSN mismatch or absence alone never blocks a link', () => {
  assert.equal(decision(person({ ssn: '900112233' }), person({ ssn: '811223344' })), DECISIONS.MATCH);
  assert.equal(decision(person({ ssn: '900112233' }), person({ ssn: null })), DECISIONS.MATCH);
  // Even with little else: name, birth date and postal code.
  const thin = (ssn: string | null) =>
    bare({ family: 'Okafor', given: ['Grace'], birthDate: '1975-06-30', ssn, line: ['1 Elm St'], postalCode: '62701' });
  assert.equal(decision(thin('900112233'), thin('811223344')), DECISIONS.MATCH);
  assert.ok(evidence(compare(thin('900112233'), thin('811223344')), 'ssn').weight >= (config.fields.ssn!.minWeight ?? -Infinity));
});

test('twins guard: same family, birth date and home, clearly different given names -> never auto-linked', () => {
  const twin = (given: string, ssn: string | null) => person({ given: [given], ssn });
  const c = compare(twin('John', '900112233'), twin('Michael', '900112234'));
  assert.equal(evidence(c, 'twin').level, 'suspected');
  assert.ok(evidence(c, 'twin').weight <= -10);
  for (const [x, y] of [
    ['900112233', '900112234'],
    [null, null],
    ['900112233', '811223344'],
  ] as const) {
    const d = decision(twin('John', x), twin('Michael', y));
    assert.notEqual(d, DECISIONS.MATCH, `${x} ${y}`);
  }
  const [fa, fb] = [matchFeatures(twin('John', null), config), matchFeatures(twin('Michael', null), config)];
  assert.equal(matchCap(compareFeatures(fa, fb, config), fa, fb, config), 'TWIN_SUSPECTED');
  // A given-name typo is not a twin.
  assert.equal(evidence(compare(twin('Jonathan', null), twin('Jonathon', null)), 'twin').level, 'none');
  // Twins never share an SSN: the same SSN refutes the twin reading (weaker penalty, no hold).
  assert.equal(evidence(compare(twin('John', '900112233'), twin('Michael', '900112233')), 'twin').level, 'refuted_by_ssn');
});

test('household members (spouses, siblings, parent and child) sharing an address are not one person', () => {
  const home = { line: ['12 Main Street'], phone: '2175550142', ssn: null };
  const father = person({ ...home, given: ['John'], birthDate: '1955-03-02' });
  const pairs: [string, SourceDemographics, SourceDemographics][] = [
    ['father and son, same name, no suffix', father, person({ ...home, given: ['John'], birthDate: '1985-09-14' })],
    ['spouses', father, person({ ...home, given: ['Mary'], gender: 'female', birthDate: '1957-06-30' })],
    [
      'siblings',
      person({ ...home, given: ['Peter'], birthDate: '1988-01-20' }),
      person({ ...home, given: ['Paul'], birthDate: '1990-11-05' }),
    ],
    [
      'mother and daughter sharing a phone only',
      person({ ...home, line: ['1 Oak Ave'], given: ['Mary'], gender: 'female', birthDate: '1957-06-30' }),
      person({ ...home, line: ['9 Elm St'], given: ['Anna'], gender: 'female', birthDate: '1990-02-11' }),
    ],
  ];
  for (const [label, a, b] of pairs) {
    const c = compare(a, b);
    assert.equal(evidence(c, 'household').level, 'conflict', label);
    const home = ['address', 'city', 'postal_code', 'phone'].reduce((s, f) => s + Math.max(0, evidence(c, f).weight), 0);
    assert.ok(Math.abs(evidence(c, 'household').weight + home) < 1e-9, `${label}: the home's evidence is withdrawn`);
    assert.equal(decision(a, b), DECISIONS.NO_MATCH, label);
  }
  // A birth-date typo at the same address is not a household conflict.
  assert.equal(evidence(compare(person({ birthDate: '1980-02-01' }), person({ birthDate: '1980-02-07' })), 'household').level, 'none');
  // Relatives do not share an SSN: an equal SSN leaves the home's evidence in place.
  const withSsn = compare(person({ birthDate: '1955-03-02' }), person({ birthDate: '1985-09-14' }));
  assert.deepEqual(evidence(withSsn, 'household'), { field: 'household', level: 'conflict_ssn_agrees', weight: 0 });
});

test('Jr vs Sr with otherwise identical data -> strong negative evidence, never auto-linked', () => {
  const c = compare(person({ suffix: ['Jr'] }), person({ suffix: ['Sr.'] }));
  assert.equal(evidence(c, 'suffix').level, 'different');
  assert.ok(evidence(c, 'suffix').weight <= -10);
  assert.notEqual(decision(person({ suffix: ['Jr'] }), person({ suffix: ['Sr'] })), DECISIONS.MATCH);
  // The suffix typed into the given name counts too.
  assert.notEqual(decision(person({ given: ['John Jr'] }), person({ suffix: ['Senior'] })), DECISIONS.MATCH);
  assert.equal(levels(person({ given: ['John Jr'] }), person({ suffix: ['Jr.'] })).suffix, 'exact');
  assert.equal(levels(person({ given: ['John Jr'] }), person({ suffix: ['Jr.'] })).given, 'exact');
});

test('term frequency: a match on a common family name weighs less than on a rare one', () => {
  const counts: Record<string, number> = { smith: 900, okonkwo: 2 };
  const frequencies: NameFrequencies = { total: 100_000, count: (field, value) => (field === 'family' ? (counts[value] ?? null) : null) };
  const smith = evidence(compare(person({ family: 'Smith' }), person({ family: 'Smith' }), frequencies), 'family').weight;
  const okonkwo = evidence(compare(person({ family: 'Okonkwo' }), person({ family: 'Okonkwo' }), frequencies), 'family').weight;
  const untracked = evidence(compare(person({ family: 'Brown' }), person({ family: 'Brown' }), frequencies), 'family').weight;
  const level = Math.log2(config.fields.family!.levels.exact!.m / config.fields.family!.levels.exact!.u);
  assert.ok(smith < level && level < okonkwo, `${smith} < ${level} < ${okonkwo}`);
  assert.ok(Math.abs(smith - Math.log2(config.fields.family!.levels.exact!.m / (900 / 100_000))) < 1e-9);
  assert.equal(untracked, level); // unknown frequency: the level's u
  // minU bounds the weight of a name seen once; a tiny population falls back to the level's u.
  const once = evidence(compare(person({ family: 'Zyx' }), person({ family: 'Zyx' }), { total: 1e9, count: () => 1 }), 'family').weight;
  assert.ok(Math.abs(once - Math.log2(config.fields.family!.levels.exact!.m / config.termFrequency.minU)) < 1e-9);
  assert.equal(evidence(compare(person(), person(), { total: 10, count: () => 5 }), 'family').weight, level);
});

test('decision bands at the thresholds', () => {
  const [fa, fb] = [matchFeatures(person(), config), matchFeatures(person(), config)];
  const at = (probability: number): Comparison => ({ probability, weight: Math.log2(probability / (1 - probability)), evidence: [] });
  assert.equal(decide(at(config.thresholds.autoLink), fa, fb, config), DECISIONS.MATCH);
  assert.equal(decide(at(config.thresholds.autoLink - 1e-9), fa, fb, config), DECISIONS.POSSIBLE_MATCH);
  assert.equal(decide(at(config.thresholds.review), fa, fb, config), DECISIONS.POSSIBLE_MATCH);
  assert.equal(decide(at(config.thresholds.review - 1e-9), fa, fb, config), DECISIONS.NO_MATCH);
  assert.equal(decide(at(Number.NaN), fa, fb, config), DECISIONS.NO_MATCH);
  const strict = { ...config, thresholds: { autoLink: 0.999, review: 0.5 } };
  assert.equal(decide(at(0.99), fa, fb, strict), DECISIONS.POSSIBLE_MATCH);
  assert.equal(decide(at(0.6), fa, fb, strict), DECISIONS.POSSIBLE_MATCH);
});

test('a record with neither a name nor a birth date is never auto-linked, however much else agrees', () => {
  const anonymous = bare({
    ssn: '900112233',
    line: ['12 Main St'],
    postalCode: '62701',
    city: 'Springfield',
    phone: '2175550142',
    email: 'pat@example.org',
  });
  const c = compare(anonymous, anonymous);
  assert.ok(c.probability >= config.thresholds.autoLink, 'the scores alone would auto-link');
  assert.equal(decision(anonymous, anonymous), DECISIONS.POSSIBLE_MATCH);
  assert.notEqual(decision(anonymous, { ...person(), ...anonymous }), DECISIONS.MATCH);
  // A birth date as recorded (invalid) is enough identity to be considered.
  const withRawDate = { ...anonymous, birthDateAsRecorded: '19801302' };
  assert.notEqual(
    matchCap(compare(withRawDate, withRawDate), matchFeatures(withRawDate, config), matchFeatures(withRawDate, config), config),
    'NO_NAME_NO_BIRTH_DATE',
  );
});
