// Fellegi–Sunter comparison of two records' match features: one level per field, weight
// log2(m/u) per level (term-frequency adjusted for exact names, bounded where configured), summed
// with the population prior's log-odds into a match probability; then the decision.
import jaroWinkler from 'talisman/metrics/jaro-winkler.js';
import { distance as levenshtein } from 'fastest-levenshtein';
import type { MatchingConfig } from './config.ts';
import { streetName, type MatchFeatures } from './features.ts';
import { NEUTRAL_LEVELS } from './fields.ts';

/** The population's counts of a field's normalized values (names, cities, postal codes, street lines), as the store keeps them. */
export type NameFrequencies = { readonly total: number; count(field: string, value: string): number | null };
export type FieldEvidence = { readonly field: string; readonly level: string; readonly weight: number };
export type Comparison = { readonly probability: number; readonly weight: number; readonly evidence: readonly FieldEvidence[] };

export const DECISIONS = { MATCH: 'MATCH', POSSIBLE_MATCH: 'POSSIBLE_MATCH', NO_MATCH: 'NO_MATCH' } as const;
export type Decision = (typeof DECISIONS)[keyof typeof DECISIONS];

const JW_HIGH = 0.92;
/** Birth years this far apart are two people (parent and child, siblings far apart), whatever the digits. */
const GENERATION_YEARS = 10;
const JW_MID = 0.8;
const CITY_CLOSE = 0.88;

const jw = (a: string, b: string): number => (a === b ? 1 : jaroWinkler(a, b));
const intersects = (a: readonly string[], b: readonly string[]): boolean => a.some((x) => b.includes(x));

/** One substitution or one adjacent transposition between equal-length strings (typing errors in digits). */
export function oneDigitEdit(a: string, b: string): boolean {
  if (a.length !== b.length || a === b) return false;
  let first = -1;
  let diffs = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (++diffs > 2) return false;
    if (first < 0) first = i;
  }
  if (diffs === 1) return true;
  const j = first + 1;
  return a[first] === b[j] && a[j] === b[first];
}

/**
 * One typing error after the first letter (a letter dropped, doubled, swapped with the next or
 * mistyped: 'jamls' / 'james', 'tda' / 'tada'): short names fall below Jaro–Winkler's bar on a
 * single error, and read as another name they hold one person's records apart as twins or siblings.
 */
export function typingError(a: string, b: string): boolean {
  if (a[0] !== b[0] || Math.min(a.length, b.length) < 3 || Math.abs(a.length - b.length) > 1) return false;
  // Names differing in their ending are variants parents choose (Lily / Lila, Jada / Jaden), not a slip of the keyboard.
  if (a[a.length - 1] !== b[b.length - 1]) return false;
  return a.length === b.length ? oneDigitEdit(a, b) : levenshtein(a, b) === 1;
}

// ---- comparators: each returns the first level that holds ----
// Names: exact; (given) nickname; Jaro–Winkler >= 0.92; phonetic (a Double Metaphone code or the
// Soundex code agrees); Jaro–Winkler >= 0.8; (given) an initial; different.

export function compareFamily(a: MatchFeatures, b: MatchFeatures): string {
  if (!a.family || !b.family) return 'missing';
  if (a.family === b.family) return 'exact';
  const straight = jw(a.family, b.family);
  if (a.given && b.given && a.given !== b.given) {
    // Given and family entered the wrong way round: the crossed pair agrees better than the straight one.
    const crossed = Math.min(jw(a.family, b.given), jw(a.given, b.family));
    if (crossed >= JW_HIGH && crossed > Math.min(straight, jw(a.given, b.given))) return 'swapped';
  }
  if ((a.familyTokens.length > 0 || b.familyTokens.length > 0) && sharesToken(a, b)) return 'token';
  if (straight >= JW_HIGH) return 'jw_high';
  if (intersects(a.familyDm, b.familyDm) || (a.familySdx !== null && a.familySdx === b.familySdx)) return 'phonetic';
  if (straight >= JW_MID) return 'jw_mid';
  return 'different';
}

/** Hyphenated / double-barrelled / married names: one of the family-name tokens is the other's family name or token. */
function sharesToken(a: MatchFeatures, b: MatchFeatures): boolean {
  const ta = a.familyTokens.length > 0 ? a.familyTokens : [a.family ?? ''];
  const tb = b.familyTokens.length > 0 ? b.familyTokens : [b.family ?? ''];
  return ta.some((t) => t.length >= 2 && tb.includes(t));
}

export function compareGiven(a: MatchFeatures, b: MatchFeatures, familyLevel: string): string {
  if (familyLevel === 'swapped') return 'swapped';
  if (!a.given || !b.given) return 'missing';
  if (a.given === b.given) return 'exact';
  return givenAlike(a, b, a.given, b.given) ?? givenApart(a, b, a.given, b.given);
}

/** The level of two given names that are one name's forms (nickname, middle name, typo), or null. */
function givenAlike(a: MatchFeatures, b: MatchFeatures, x: string, y: string): string | null {
  // A short form and its formal name (Bill / William); two short forms of one name (Ella / Bella, both Isabella's)
  // are what siblings are given more often than what one person is registered under.
  if (a.givenNick.includes(y) || b.givenNick.includes(x)) return 'nickname';
  // The middle name registered as the given name ('Paul' / 'John Paul').
  if ((a.givenTokens?.length ?? 0) + (b.givenTokens?.length ?? 0) > 2 && (a.givenTokens?.includes(y) || b.givenTokens?.includes(x)))
    return 'middle';
  // Another first letter is rarely a typo (Ella / Bella, Aidan / Jayden are names): sound-alike at best.
  return (jw(x, y) >= JW_HIGH && x[0] === y[0]) || typingError(x, y) ? 'jw_high' : null;
}

/** Given names that are not one name's forms: sound-alike, loosely alike, an initial, different. */
function givenApart(a: MatchFeatures, b: MatchFeatures, x: string, y: string): string {
  if (intersects(a.givenDm, b.givenDm) || (a.givenSdx !== null && a.givenSdx === b.givenSdx)) return 'phonetic';
  if (jw(x, y) >= JW_MID) return 'jw_mid';
  if ((x.length === 1 || y.length === 1) && x[0] === y[0]) return 'initial';
  return 'different';
}

export function compareBirthDate(a: MatchFeatures, b: MatchFeatures): string {
  const x = a.dob;
  const y = b.dob;
  if (!x || !y) return 'missing';
  if (x === y) return 'exact';
  if (x.length < 8 || y.length < 8) {
    const n = Math.min(x.length, y.length);
    return x.slice(0, n) === y.slice(0, n) ? 'partial' : 'different';
  }
  const [yx, mx, dx] = [x.slice(0, 4), x.slice(4, 6), x.slice(6, 8)];
  const [yy, my, dy] = [y.slice(0, 4), y.slice(4, 6), y.slice(6, 8)];
  // A one-digit change in the century or decade (1960 / 1990, 1968 / 1986) is another generation, not a typo,
  // unless only the decade digit differs and the month and day agree (1962-05-14 / 1992-05-14): a parent and
  // child sharing the birthday and the year's last digit is about 1 in 3,650, a mistyped decade far likelier.
  if (oneDigitEdit(x, y) && (Math.abs(Number(yx) - Number(yy)) < GENERATION_YEARS || decadeTypo(x, y))) return 'one_digit';
  if (yx === yy && mx === dy && dx === my) return 'day_month_swap';
  if (a.dobDay !== null && b.dobDay !== null && Math.abs(a.dobDay - b.dobDay) === 1) return 'day_off_one';
  if (mx === my && dx === dy && Math.abs(Number(yx) - Number(yy)) === 1) return 'year_off_one';
  return 'different';
}

/** 'YYYYMMDD' dates that differ only in the decade digit. */
const decadeTypo = (x: string, y: string): boolean => x[2] !== y[2] && x.slice(0, 2) === y.slice(0, 2) && x.slice(3) === y.slice(3);

/** Edit distance relative to the longer string. */
const relativeDistance = (x: string, y: string): number => levenshtein(x, y) / Math.max(x.length, y.length, 1);

/**
 * Addresses: exact; the same street address with other parts differing or missing (same first
 * line, or one address's words all found in the other: '123 main st' / 'apt 4 123 main st');
 * then Levenshtein bands over the full text or its sorted words (lines or words in another order).
 */
export function compareAddress(a: MatchFeatures, b: MatchFeatures): string {
  if (a.addresses.length === 0 || b.addresses.length === 0) return 'missing';
  let level = 3;
  for (const x of a.addresses) {
    for (const y of b.addresses) {
      if (typeof x?.full !== 'string' || typeof y?.full !== 'string') continue; // stale (v1) features: recompute them
      if (x.full === y.full) return 'exact';
      if (x.street === y.street || wordsWithin(x.sorted, y.sorted)) level = 0;
      else if (levenshtein(x.full, y.full) <= 2 || levenshtein(x.sorted, y.sorted) <= 2) level = Math.min(level, 1);
      else if (Math.min(relativeDistance(x.full, y.full), relativeDistance(x.sorted, y.sorted)) <= ADDRESS_NEAR) level = Math.min(level, 2);
    }
  }
  return ADDRESS_LEVELS[level]!;
}

/** Every word of the shorter address is in the longer one (at least two words, one not a number). */
function wordsWithin(x: string, y: string): boolean {
  const [short, long] = x.length <= y.length ? [x, y] : [y, x];
  const words = short.split(' ');
  if (words.length < 2 || !/[a-z]/.test(short)) return false;
  const other = new Set(long.split(' '));
  return words.every((w) => other.has(w));
}
const ADDRESS_LEVELS = ['street', 'close', 'near', 'different'] as const;
const ADDRESS_NEAR = 0.3;

export function compareCity(a: MatchFeatures, b: MatchFeatures): string {
  if (a.cities.length === 0 || b.cities.length === 0) return 'missing';
  if (intersects(a.cities, b.cities)) return 'exact';
  for (const x of a.cities) {
    for (const y of b.cities) {
      // Spaces dropped: 'ingl ewood' is 'inglewood'.
      const [p, q] = [x.replace(/ /g, ''), y.replace(/ /g, '')];
      if (p === q || jw(p, q) >= CITY_CLOSE || levenshtein(p, q) <= 1) return 'close';
    }
  }
  return 'different';
}

export function comparePostalCode(a: MatchFeatures, b: MatchFeatures): string {
  if (a.postalCodes.length === 0 || b.postalCodes.length === 0) return 'missing';
  if (intersects(a.postalCodes, b.postalCodes)) return 'exact';
  for (const x of a.postalCodes) for (const y of b.postalCodes) if (oneDigitEdit(x, y)) return 'one_digit';
  return 'different';
}

const compareSets = (x: readonly string[], y: readonly string[]): string =>
  x.length === 0 || y.length === 0 ? 'missing' : intersects(x, y) ? 'exact' : 'different';

export function compareSsn(a: MatchFeatures, b: MatchFeatures): string {
  if (!a.ssn || !b.ssn) return 'missing';
  if (a.ssn === b.ssn) return 'exact';
  return oneDigitEdit(a.ssn, b.ssn) ? 'one_digit' : 'different';
}

const compareValue = (x: string | null, y: string | null): string => (!x || !y ? 'missing' : x === y ? 'exact' : 'different');

/** Address or phone agree: the pair may share a home rather than be one person. */
const sameHome = (levels: Readonly<Record<string, string>>): boolean =>
  levels.address === 'exact' || levels.address === 'street' || levels.address === 'close' || levels.phone === 'exact';

/**
 * Twins never share an SSN, nor do relatives: an equal SSN (or a typo of it, but not the next number, as twins often get) refutes a
 * household reading.
 */
const ssnAgrees = (levels: Readonly<Record<string, string>>, a: MatchFeatures, b: MatchFeatures): boolean =>
  levels.ssn === 'exact' || (levels.ssn === 'one_digit' && !consecutive(a.ssn ?? '', b.ssn ?? ''));

/** Given names that are clearly different (not a nickname, typo, sound-alike or initial). */
const differentGiven = (levels: Readonly<Record<string, string>>): boolean => levels.given === 'different' || levels.given === 'jw_mid';

/** Both SSNs known and not one person's: neither equal nor a typo of each other (the next number is a twin's, not a typo). */
const ssnDiffers = (levels: Readonly<Record<string, string>>, a: MatchFeatures, b: MatchFeatures): boolean =>
  levels.ssn === 'different' || (levels.ssn === 'one_digit' && consecutive(a.ssn ?? '', b.ssn ?? ''));

/**
 * Twins: same family name and birth date (or one typo of it) in the same area (home, street, postal code or city:
 * twins move out), given names that differ. Clearly different, only sounding alike ('Aidan' /
 * 'Jayden'), or alike but of another gender: suspected twins unless an equal SSN refutes it.
 * Names of one nickname group ('Emma' / 'Emily'): possible twins unless the SSNs agree. A
 * spelling typo ('Jonathon') of the same gender is one person's.
 */
function twinLevel(levels: Readonly<Record<string, string>>, a: MatchFeatures, b: MatchFeatures): string {
  const sameFamily = levels.family === 'exact' || levels.family === 'token' || levels.family === 'jw_high';
  if (!(sameFamily && TWIN_BIRTH.has(levels.birth_date!) && (sameArea(levels) || noPlace(a) || noPlace(b)))) return 'none';
  const otherGender = levels.gender === 'different' && levels.given !== 'exact' && levels.given !== 'missing';
  // Children share a parent's (the guarantor's) SSN: an equal SSN refutes no twins who are dependants.
  if (differentGiven(levels) || levels.given === 'phonetic' || otherGender)
    return ssnAgrees(levels, a, b) && !dependent(a, b) ? 'refuted_by_ssn' : 'suspected';
  const sameBirth = levels.birth_date === 'exact';
  if (sameBirth && (levels.given === 'nickname' || levels.given === 'middle') && ssnDiffers(levels, a, b)) return 'possible';
  return 'none';
}

/**
 * Birth dates that disagree beyond a typo in another year: two people. In the same year the month
 * and day are more likely mistyped than a sibling born the same year.
 */
const otherBirthYear = (levels: Readonly<Record<string, string>>, a: MatchFeatures, b: MatchFeatures): boolean =>
  levels.birth_date === 'different' && a.dob?.slice(0, 4) !== b.dob?.slice(0, 4);

/** A record without an address, city, postal code or phone: twins are suspected wherever they live. */
const noPlace = (f: MatchFeatures): boolean => f.addresses.length === 0 && f.cities.length === 0 && f.postalCodes.length === 0;

/** One birth date, or one typo apart: a twin's record may carry a birth-date typo too. */
const TWIN_BIRTH: ReadonlySet<string> = new Set(['exact', 'one_digit', 'day_month_swap', 'day_off_one']);

/** Any agreement on where the records live: the same home, street, neighbourhood, postal code or city. */
const sameArea = (levels: Readonly<Record<string, string>>): boolean =>
  sameHome(levels) ||
  levels.address === 'near' ||
  levels.postal_code === 'exact' ||
  levels.postal_code === 'one_digit' ||
  levels.city === 'exact' ||
  levels.city === 'close' ||
  levels.city === 'implied';

/**
 * Household members (spouses, siblings, parent and child, twins): a shared home with a conflict on
 * what identifies a person (given name, birth date, gender). The home's agreement is then explained by living together and stops
 * counting as evidence of identity (see HOME_FIELDS). Birth dates of another generation withdraw
 * any agreement on place, not only a shared home: neighbours in a town with few streets share a
 * street, postal code and city, and those must never outweigh two different people's birth dates.
 */
function householdLevel(levels: Readonly<Record<string, string>>, a: MatchFeatures, b: MatchFeatures): string {
  const otherBirth = otherBirthYear(levels, a, b);
  if (!(otherBirth ? sameArea(levels) : sameHome(levels))) return 'none';
  if (!(differentGiven(levels) || otherBirth || levels.gender === 'different')) return 'none';
  return ssnAgrees(levels, a, b) && !spouseSsn(levels) ? 'conflict_ssn_agrees' : 'conflict';
}

/** Another given name and another gender: an equal SSN is a spouse's or sibling's on the wrong record, not one person's. */
const spouseSsn = (levels: Readonly<Record<string, string>>): boolean => differentGiven(levels) && levels.gender === 'different';

/**
 * An equal SSN that may be a relative's on the wrong record: birth years apart with the younger a
 * dependant (a parent's SSN given for a child), or another given name and gender (a spouse's). It then
 * refutes no generation guard. Between adults of one gender an equal SSN with the given name and birth
 * date both re-keyed is one person's (FEBRL); a name that disagrees entirely is held anyway (NAMES_DIFFER).
 */
const relativesSsn = (levels: Readonly<Record<string, string>>, a: MatchFeatures, b: MatchFeatures): boolean =>
  (otherBirthYear(levels, a, b) && dependent(a, b)) || spouseSsn(levels);

/**
 * The younger of the two is young enough to be a dependant (under 26 this year, as on a parent's health
 * insurance): a child is registered under the guarantor's SSN, so an equal SSN says nothing about a
 * parent and child of one name, or about twins.
 */
function dependent(a: MatchFeatures, b: MatchFeatures): boolean {
  const years = [a.dob, b.dob].map((d) => Number(d?.slice(0, 4)));
  return years.every(Number.isFinite) && Math.max(...years) >= DEPENDENT_SINCE;
}
const DEPENDENT_SINCE = new Date().getUTCFullYear() - 26;

/**
 * Birth dates that disagree beyond a typo (another generation, or simply another person) and no
 * SSN agreement to say otherwise: never auto-linked, however rare the name and however much of
 * the place agrees (a father and son, two neighbours with a common name).
 */
function generationLevel(levels: Readonly<Record<string, string>>, a: MatchFeatures, b: MatchFeatures): string {
  if (!otherBirthYear(levels, a, b)) return 'none';
  return ssnAgrees(levels, a, b) && !relativesSsn(levels, a, b) ? 'refuted_by_ssn' : 'different';
}

/** Birth-date levels that say one person (equal, or one typing error apart). */
const BIRTH_CONFIRMS: ReadonlySet<string> = new Set(['exact', 'one_digit', 'day_month_swap', 'day_off_one', 'year_off_one']);

/**
 * Both SSNs known and different (not a typo) and no birth date to confirm the pair (missing,
 * partial or different): the names and the place alone never decide against two SSNs.
 */
const ssnConflictLevel = (levels: Readonly<Record<string, string>>, a: MatchFeatures, b: MatchFeatures): string =>
  ssnDiffers(levels, a, b) && !BIRTH_CONFIRMS.has(levels.birth_date!) ? 'unconfirmed' : 'none';

/** Numbers one apart ('123456788' / '123456789'). */
function consecutive(x: string, y: string): boolean {
  const d = Number(x) - Number(y);
  return x.length === y.length && Number.isSafeInteger(Number(x)) && Math.abs(d) === 1;
}

/** The level of every known field for a pair (fields not in the configuration are skipped later). */
export function comparisonLevels(a: MatchFeatures, b: MatchFeatures): Record<string, string> {
  const family = compareFamily(a, b);
  const levels: Record<string, string> = {
    family,
    given: compareGiven(a, b, family),
    birth_date: compareBirthDate(a, b),
    address: compareAddress(a, b),
    city: compareCity(a, b),
    postal_code: comparePostalCode(a, b),
    phone: compareSets(a.phones, b.phones),
    email: compareSets(a.emails, b.emails),
    ssn: compareSsn(a, b),
    gender: compareValue(a.gender, b.gender),
    suffix: compareValue(a.suffix, b.suffix),
  };
  // Equal or neighbouring postal codes imply the city: counting both would count one fact twice
  // (Fellegi-Sunter weights add up only for independent fields).
  if ((levels.postal_code === 'exact' || levels.postal_code === 'one_digit') && (levels.city === 'exact' || levels.city === 'close'))
    levels.city = 'implied';
  levels.twin = twinLevel(levels, a, b);
  levels.household = householdLevel(levels, a, b);
  levels.generation = generationLevel(levels, a, b);
  levels.ssn_conflict = ssnConflictLevel(levels, a, b);
  return levels;
}

// ---- weights ----

/** Fields a household shares: their agreement is no evidence of identity when a household conflict is found. */
const HOME_FIELDS: ReadonlySet<string> = new Set(['address', 'city', 'postal_code', 'phone']);

type CompiledField = {
  readonly name: string;
  readonly weights: ReadonlyMap<string, number>;
  readonly ms: ReadonlyMap<string, number>;
  readonly exactM: number;
  readonly tf: boolean;
  readonly min: number;
  readonly max: number;
};
type Compiled = { readonly fields: readonly CompiledField[]; readonly priorLogOdds: number };
const compiled = new WeakMap<MatchingConfig, Compiled>();

const log2Odds = (p: number): number => Math.log2(p / (1 - p));
const clamp = (w: number, min: number, max: number): number => Math.min(max, Math.max(min, w));

/** Weights per field level, computed once per configuration object. */
function compile(config: MatchingConfig): Compiled {
  let c = compiled.get(config);
  if (c) return c;
  const tfFields = new Set<string>(config.termFrequency.fields);
  c = {
    priorLogOdds: log2Odds(config.prior),
    fields: Object.entries(config.fields).map(([name, f]) => {
      const min = f.minWeight ?? -Infinity;
      const max = f.maxWeight ?? Infinity;
      return {
        name,
        weights: new Map(Object.entries(f.levels).map(([level, p]) => [level, clamp(Math.log2(p.m / p.u), min, max)])),
        ms: new Map(Object.entries(f.levels).map(([level, p]) => [level, p.m])),
        exactM: f.levels.exact?.m ?? 1,
        tf: tfFields.has(name),
        min,
        max,
      };
    }),
  };
  compiled.set(config, c);
  return c;
}

/** log2(m/u) with u the population's frequency of the value ("Smith" weighs less than "Okonkwo"); null when unknown. */
function tfWeight(
  f: CompiledField,
  m: number,
  value: string | null,
  config: MatchingConfig,
  frequencies: NameFrequencies | undefined,
): number | null {
  if (!frequencies || !value || frequencies.total <= 0 || frequencies.total < (config.termFrequency.minTotal ?? 0)) return null;
  const count = frequencies.count(f.name, value);
  if (count === null || !Number.isFinite(count)) return null;
  const u = Math.max(Math.max(count, 1) / frequencies.total, config.termFrequency.minU);
  return clamp(Math.log2(m / Math.min(u, 1)), f.min, f.max);
}

const shared = (x: readonly string[], y: readonly string[]): string | null => x.find((v) => y.includes(v)) ?? null;

/** The street name two records' addresses share (house numbers apart): neighbours, or one person who moved along it. */
function sharedStreet(a: MatchFeatures, b: MatchFeatures): string | null {
  const names = (f: MatchFeatures) => f.addresses.map((x) => (typeof x?.street === 'string' ? streetName(x.street) : '')).filter(Boolean);
  return shared(names(a), names(b));
}

/** Levels whose agreement is worth what the shared place's frequency says: the value they agree on. */
function placeValue(field: string, level: string, a: MatchFeatures, b: MatchFeatures): string | null {
  if (field === 'city' && level === 'exact') return shared(a.cities, b.cities);
  if (field === 'postal_code' && level === 'exact') return shared(a.postalCodes, b.postalCodes);
  if (field === 'address' && (level === 'close' || level === 'near' || level === 'street')) return sharedStreet(a, b);
  return null;
}

/** A field's weight at a level, value-specific where configured: names up or down, places only down. */
function valueWeight(
  f: CompiledField,
  level: string,
  weight: number,
  a: MatchFeatures,
  b: MatchFeatures,
  config: MatchingConfig,
  frequencies: NameFrequencies | undefined,
): number {
  if (!f.tf || !frequencies) return weight;
  if (f.name === 'family' || f.name === 'given')
    return level === 'exact' ? (tfWeight(f, f.exactM, f.name === 'family' ? a.family : a.given, config, frequencies) ?? weight) : weight;
  const value = placeValue(f.name, level, a, b);
  // A street name counts for a same-house level only when the house numbers differ (a shared first line is a home, not a street).
  if (value === null || (level === 'street' && a.addresses.some((x) => b.addresses.some((y) => x?.street === y?.street)))) return weight;
  return Math.min(weight, tfWeight(f, f.ms.get(level) ?? 1, value, config, frequencies) ?? weight);
}

/** Compare two records: per-field evidence and the match probability. */
export function compareFeatures(a: MatchFeatures, b: MatchFeatures, config: MatchingConfig, frequencies?: NameFrequencies): Comparison {
  const c = compile(config);
  const levels = comparisonLevels(a, b);
  let total = c.priorLogOdds;
  let home = 0;
  let householdAt = -1;
  const evidence: FieldEvidence[] = [];
  for (const f of c.fields) {
    const level = levels[f.name] ?? 'missing';
    let weight = NEUTRAL_LEVELS.has(level) ? 0 : (f.weights.get(level) ?? 0); // unconfigured levels (given 'swapped') weigh 0
    if (weight !== 0) weight = valueWeight(f, level, weight, a, b, config, frequencies);
    if (HOME_FIELDS.has(f.name) && weight > 0) home += weight;
    if (f.name === 'household' && level === 'conflict') householdAt = evidence.length;
    total += weight;
    evidence.push({ field: f.name, level, weight });
  }
  // A household conflict withdraws the home's positive evidence: living together explains it.
  const h = evidence[householdAt];
  if (h && home > 0) {
    evidence[householdAt] = { ...h, weight: h.weight - home };
    total -= home;
  }
  return { probability: 1 / (1 + 2 ** -total), weight: total, evidence };
}

/** The level per field of a comparison (the vector EM works on). */
export function levelsOf(c: Comparison): Record<string, string> {
  return Object.fromEntries(c.evidence.map((e) => [e.field, e.level]));
}

/** Neither a usable name nor a birth date (valid or as recorded): never enough to auto-link. */
export const lacksIdentity = (f: MatchFeatures): boolean => !f?.family && !f?.given && !f?.dob;

/**
 * What the fields other than the SSN must add up to (in bits, the prior left out) for an SSN to
 * complete a MATCH, something beyond the name among them (a birth date, the home). Not tied to the review band:
 * that moves with the prior, and a large population's low prior would otherwise ask the rest to
 * link alone (FEBRL: one person's records with the given name and birth date both re-keyed).
 */
const SSN_REST_BITS = 14;
/**
 * The bar when the given name agrees too (or sits in the family field): a relative's SSN comes with another
 * given name (a spouse's, a parent's; a junior's is a dependant's, held by the generation guard), so the SSN and
 * the given name together need less beside them (FEBRL: one person's records with the birth date re-keyed).
 */
const SSN_REST_BITS_GIVEN = 10;
/** Evidence for one person beyond the name, gender and SSN (a birth date, the home, the area). */
const beyondName = (e: FieldEvidence): boolean => e.weight > 0 && !NAME_FIELDS.has(e.field);
const NAME_FIELDS: ReadonlySet<string> = new Set(['family', 'given', 'gender', 'ssn']);

/** Levels of a name that say another name: neither equal nor one name's forms (nickname, typo, middle name, swapped, initial). */
const OTHER_NAME: ReadonlySet<string> = new Set(['different', 'jw_mid', 'phonetic', 'missing']);
/** Neither the given nor the family name agrees: the birth date and the place alone never link two records. */
const namesDisagree = (c: Comparison): boolean => {
  const names = c.evidence.filter((e) => e.field === 'given' || e.field === 'family');
  return names.length > 0 && names.every((e) => OTHER_NAME.has(e.level));
};

/** One record's given name is the other's family name (or a typo of it): a name entered in the other field. */
function namesCrossed(a: MatchFeatures, b: MatchFeatures): boolean {
  const alike = (x: string | null, y: string | null) => !!x && !!y && (x === y || jw(x, y) >= JW_HIGH || typingError(x, y));
  return alike(a.given, b.family) || alike(a.family, b.given);
}

/** Why a MATCH is held back for review, or null. */
export function matchCap(c: Comparison, a: MatchFeatures, b: MatchFeatures, config: MatchingConfig): string | null {
  if (lacksIdentity(a) || lacksIdentity(b)) return 'NO_NAME_NO_BIRTH_DATE';
  for (const e of c.evidence)
    if (config.fields[e.field]?.reviewLevels?.includes(e.level)) return `${e.field.toUpperCase()}_${e.level.toUpperCase()}`;
  const levels = levelsOf(c);
  // No birth date on one side: the name and the home are a father's and his son's (Jr / Sr without the suffix), a
  // mother's and her daughter's of one name; only an SSN that agrees tells which.
  if ((!a.dob || !b.dob) && !ssnAgrees(levels, a, b)) return 'NO_BIRTH_DATE_NO_SSN';
  if (namesDisagree(c) && !namesCrossed(a, b) && (!ssnAgrees(levels, a, b) || !BIRTH_CONFIRMS.has(levels.birth_date!)))
    return 'NAMES_DIFFER';
  // An SSN never decides alone: without it (and without the prior) the other fields must agree by SSN_REST_BITS
  // (SSN_REST_BITS_GIVEN when the given name is among them).
  const ssn = c.evidence.find((e) => e.field === 'ssn')?.weight ?? 0;
  const bits = OTHER_NAME.has(levels.given ?? 'missing') && !namesCrossed(a, b) ? SSN_REST_BITS : SSN_REST_BITS_GIVEN;
  if (ssn > 0 && (c.weight - ssn - log2Odds(config.prior) < bits || !c.evidence.some(beyondName))) return 'SSN_DECISIVE';
  return null;
}

/** Guard levels that say two people whatever the score: twins, Jr / Sr. */
const CONFLICT_LEVELS: Readonly<Record<string, readonly string[]>> = { twin: ['suspected', 'possible'], suffix: ['different'] };
/** Guard levels that say two people when the pair is not even worth a review (one person's records can be far apart). */
const CONFLICT_LEVELS_APART: Readonly<Record<string, readonly string[]>> = { generation: ['different'], ssn_conflict: ['unconfirmed'] };

/** The guard conflict of a pair (`GOLDEN_<FIELD>_<LEVEL>`), or null. */
function pairConflict(c: Comparison, apart: boolean, config: MatchingConfig): string | null {
  for (const e of c.evidence) {
    if (!config.fields[e.field]) continue;
    if (CONFLICT_LEVELS[e.field]?.includes(e.level) || (apart && CONFLICT_LEVELS_APART[e.field]?.includes(e.level)))
      return `GOLDEN_${e.field.toUpperCase()}_${e.level.toUpperCase()}`;
  }
  return null;
}

/**
 * A member of the golden record is held there by a MATCH with another member whose birth dates agree
 * (or differ within a typo): a duplicate with its given name or SSN re-keyed, not a relative attached
 * through a shared SSN alone (a spouse's record carrying the other's SSN, born in another year).
 */
function heldByIdentity(
  member: MatchFeatures,
  members: readonly MatchFeatures[],
  config: MatchingConfig,
  frequencies?: NameFrequencies,
): boolean {
  return members.some((m) => {
    if (m === member) return false;
    const c = compareFeatures(member, m, config, frequencies);
    return (
      decide(c, member, m, config) === DECISIONS.MATCH && !c.evidence.some((e) => e.field === 'generation' && e.level === 'refuted_by_ssn')
    );
  });
}

/**
 * Chains: a record may match one source record of a golden record while conflicting with another
 * (the son's record without a birth date joined the father; the son's next record matches it).
 * Before a MATCH joins a golden record, the record is compared with the golden's other source
 * records: suspected twins or Jr / Sr with any of them, or another generation or two unconfirmed
 * SSNs with one it would not even send to review, hold it for review. Returns the first conflict
 * (`GOLDEN_<FIELD>_<LEVEL>`), or null to let it join.
 *
 * The conflicts are outvoted when the record MATCHes more of the golden's records (`matched`, the one
 * it was scored against, among them) than it conflicts with, and each one it conflicts with is held in
 * the golden record by identity (heldByIdentity): that one is the odd record, one person's duplicate
 * with its given name or birth date re-keyed (FEBRL), not a relative the record would be chained to.
 */
export function conflictsWithGolden(
  record: MatchFeatures,
  others: readonly MatchFeatures[],
  config: MatchingConfig,
  frequencies?: NameFrequencies,
  matched?: MatchFeatures,
): string | null {
  let matches = matched ? 1 : 0;
  const conflicts: { other: MatchFeatures; code: string }[] = [];
  for (const other of others) {
    const c = compareFeatures(record, other, config, frequencies);
    const d = decide(c, record, other, config);
    if (d === DECISIONS.MATCH) matches++;
    const code = pairConflict(c, d === DECISIONS.NO_MATCH, config);
    if (code) conflicts.push({ other, code });
  }
  if (conflicts.length === 0) return null;
  if (matches <= conflicts.length) return conflicts[0]!.code;
  const members = matched ? [matched, ...others] : others;
  return conflicts.find((k) => !heldByIdentity(k.other, members, config, frequencies))?.code ?? null;
}

/** Thresholds, then the caps: identity-less records, review levels (twins, Jr/Sr) and SSN-decided pairs go to review, never auto-link. */
export function decide(c: Comparison, a: MatchFeatures, b: MatchFeatures, config: MatchingConfig): Decision {
  const p = Number.isFinite(c.probability) ? c.probability : 0;
  if (p < config.thresholds.review) return DECISIONS.NO_MATCH;
  if (p < config.thresholds.autoLink) return DECISIONS.POSSIBLE_MATCH;
  return matchCap(c, a, b, config) === null ? DECISIONS.MATCH : DECISIONS.POSSIBLE_MATCH;
}
