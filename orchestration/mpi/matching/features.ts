// Match features: everything a comparison needs, computed once per record (normalized values,
// phonetic codes, nickname groups, birth-date digits) so that comparing two records is only
// string equality and a few short edit distances. JSON-serializable: the store keeps it as jsonb.
import { doubleMetaphone } from 'double-metaphone';
import { soundex } from 'soundex-code';
import type { SourceDemographics } from '../../../translation/fhir-r4/patient.ts';
import type { MatchingConfig } from './config.ts';
import { nicknameGroups } from './nicknames.ts';
import {
  birthDateDigits,
  cleanText,
  dayNumber,
  generationalSuffix,
  nameTokens,
  normalizeAddressLine,
  normalizeEmail,
  normalizePhone,
  normalizePostalCode,
  normalizeSsn,
  splitSuffix,
} from './normalize.ts';

export const FEATURES_VERSION = 3;
const MAX_VALUES = 4; // addresses, phones, e-mails kept per record: bounds the pairwise work

export type MatchFeatures = {
  /** Bumped when the feature definition changes (the store recomputes older rows). */
  readonly v: number;
  /** Family name letters only, tokens joined ('garcia-lopez' -> 'garcialopez'). */
  readonly family: string | null;
  /** Family tokens when there are several (hyphenated, double-barrelled, 'van der berg'). */
  readonly familyTokens: readonly string[];
  readonly familyDm: readonly string[];
  readonly familySdx: string | null;
  /** First given name, letters only, its tokens joined ('mary-ann' -> 'maryann'). */
  readonly given: string | null;
  readonly givenDm: readonly string[];
  readonly givenSdx: string | null;
  /** Every given-name token (first and middle names): a source may register the middle name as the given name. */
  readonly givenTokens: readonly string[];
  /** Formal names the given name is a nickname of (or is): bill -> ['william']. */
  readonly givenNick: readonly string[];
  /** Generational suffix: jr, sr, ii, iii, iv, v. */
  readonly suffix: string | null;
  /** Birth date digits 'YYYYMMDD' (or 'YYYY'/'YYYYMM' when partial), from the invalid raw value when need be. */
  readonly dob: string | null;
  /** Days since 1970-01-01 when dob is a valid calendar date. */
  readonly dobDay: number | null;
  readonly gender: string | null;
  /** Normalized addresses (USPS abbreviations, unit designators). */
  readonly addresses: readonly AddressFeatures[];
  readonly cities: readonly string[];
  readonly postalCodes: readonly string[];
  readonly phones: readonly string[];
  readonly emails: readonly string[];
  readonly ssn: string | null;
};

const ascii = (s: string): string => s.replace(/[^a-z]/g, '');
const dm = (s: string | null): string[] => {
  const a = s ? ascii(s) : '';
  if (!a) return [];
  const [p, q] = doubleMetaphone(a);
  return [...new Set([p, q].filter((c) => c.length > 0))];
};
const sdx = (s: string | null): string | null => {
  const a = s ? ascii(s) : '';
  return a ? soundex(a) : null;
};
const uniq = (values: readonly (string | null)[]): string[] =>
  [...new Set(values.filter((v): v is string => v !== null && v.length > 0))].slice(0, MAX_VALUES);
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

export type AddressFeatures = {
  /** All lines, normalized, joined. */
  readonly full: string;
  /** The first line (house number and street). */
  readonly street: string;
  /** The tokens sorted: survives lines or words given in another order. */
  readonly sorted: string;
};

/** One address's comparison forms, or null when it has no lines. */
export function addressFeatures(lines: unknown): AddressFeatures | null {
  const normalized = list<unknown>(lines).slice(0, MAX_VALUES).map(normalizeAddressLine).filter(Boolean);
  if (normalized.length === 0) return null;
  const full = normalized.join(' ');
  return { full, street: normalized[0]!, sorted: full.split(' ').sort().join(' ') };
}

type ParsedName = { family: string[]; given: string[]; suffix: string | null };

/** Family and first-given tokens plus a generational suffix, from HumanName (or its text when unstructured). */
export function parseName(name: SourceDemographics['name'] | undefined): ParsedName {
  if (!name || typeof name !== 'object') return { family: [], given: [], suffix: null };
  let family = nameTokens(name.family);
  const givens = list<unknown>(name.given)
    .map(nameTokens)
    .filter((t) => t.length > 0);
  let given = givens[0] ?? [];
  if (family.length === 0 && given.length === 0 && typeof name.text === 'string') {
    // Unstructured name: 'Family, Given' or 'Given ... Family'.
    const [before, after] = name.text.split(',', 2);
    const head = nameTokens(before);
    if (after !== undefined) [family, given] = [head, nameTokens(after).slice(0, 1)];
    else if (head.length > 1) [family, given] = [head.slice(-1), head.slice(0, 1)];
    else family = head;
  }
  let suffix =
    list<unknown>(name.suffix)
      .map(generationalSuffix)
      .find((s) => s !== null) ?? null;
  // A suffix typed into the given or family name ('John Jr', 'Smith III').
  const fromGiven = splitSuffix(givens.length > 1 ? givens.flat() : given);
  if (fromGiven.suffix) {
    suffix ??= fromGiven.suffix;
    if (givens.length <= 1) given = fromGiven.tokens;
  }
  const fromFamily = splitSuffix(family);
  if (fromFamily.suffix) {
    suffix ??= fromFamily.suffix;
    family = fromFamily.tokens;
  }
  return { family, given, suffix };
}

/** Every token of every given name, suffixes left out ('John Paul Jr' -> john, paul). */
const givenTokensOf = (name: SourceDemographics['name'] | undefined, first: readonly string[]): string[] => {
  const all = name && typeof name === 'object' ? list<unknown>(name.given).flatMap(nameTokens) : [];
  return [...new Set([...first, ...all])].filter((t) => generationalSuffix(t) === null).slice(0, MAX_VALUES);
};

const GENDERS: ReadonlySet<string> = new Set(['male', 'female', 'other']);
const SSN_TYPE = 'SS';

function ssnOf(d: SourceDemographics, config: MatchingConfig): string | null {
  for (const i of list<SourceDemographics['identifiers'][number]>(d.identifiers)) {
    if (!i || typeof i !== 'object') continue;
    if (config.identifierSystems.ssn.includes(i.system) || (i.type === SSN_TYPE && !i.system)) {
      const s = normalizeSsn(i.value);
      if (s) return s;
    }
  }
  return null;
}

/** Precompute a record's match features. Never throws, whatever the input. */
export function matchFeatures(d: SourceDemographics, config: MatchingConfig): MatchFeatures {
  const n = parseName(d?.name);
  const family = n.family.join('') || null;
  const given = n.given.join('') || null;
  const dob = birthDateDigits(d?.birthDate, d?.birthDateAsRecorded);
  const addresses = list<SourceDemographics['addresses'][number]>(d?.addresses).filter((a) => a && typeof a === 'object');
  const telecom = list<SourceDemographics['telecom'][number]>(d?.telecom).filter((t) => t && typeof t === 'object');
  const gender = cleanText(d?.gender);
  return {
    v: FEATURES_VERSION,
    family: family?.slice(0, 64) ?? null,
    familyTokens: n.family.length > 1 ? n.family.slice(0, MAX_VALUES) : [],
    familyDm: dm(family),
    familySdx: sdx(family),
    given: given?.slice(0, 64) ?? null,
    givenDm: dm(given),
    givenSdx: sdx(given),
    givenTokens: givenTokensOf(d?.name, n.given),
    givenNick: nicknameGroups(n.given[0] ?? null, given),
    suffix: n.suffix,
    dob,
    dobDay: dayNumber(dob),
    gender: GENDERS.has(gender) ? gender : null,
    addresses: addresses
      .map((a) => addressFeatures(a.line))
      .filter((a) => a !== null)
      .slice(0, MAX_VALUES),
    cities: uniq(addresses.map((a) => cleanText(a.city).replace(/[^a-z0-9 ]/g, '') || null)),
    postalCodes: uniq(addresses.map((a) => normalizePostalCode(a.postalCode))),
    phones: uniq(telecom.filter((t) => t.system === 'phone' || t.system === 'sms' || t.system == null).map((t) => normalizePhone(t.value))),
    emails: uniq(telecom.filter((t) => t.system === 'email').map((t) => normalizeEmail(t.value))),
    ssn: d ? ssnOf(d, config) : null,
  };
}

/** False for features stored by an older definition (or not features at all): recompute them from the demographics. */
export const featuresAreCurrent = (f: unknown): f is MatchFeatures =>
  typeof f === 'object' && f !== null && (f as { v?: unknown }).v === FEATURES_VERSION;

/** Fields whose values the store counts for term frequencies (value-specific weights). */
export const FREQUENCY_FIELDS = ['family', 'given', 'city', 'postal_code', 'address'] as const;
export type FrequencyField = (typeof FREQUENCY_FIELDS)[number];

/** A street line without its house and unit numbers ('412 main st apt 3' -> 'main st apt'): what neighbours share. */
export const streetName = (line: string): string =>
  line
    .split(' ')
    .filter((t) => t.length > 0 && !/\d/.test(t))
    .join(' ');

/**
 * The values the store counts for term frequencies: names, and where people live (city, postal
 * code, street name): a regional population has few of those, and a shared one says little.
 */
export function frequencyTerms(f: MatchFeatures): { field: FrequencyField; value: string }[] {
  const out: { field: FrequencyField; value: string }[] = [];
  if (f.family) out.push({ field: 'family', value: f.family });
  if (f.given) out.push({ field: 'given', value: f.given });
  for (const c of f.cities) out.push({ field: 'city', value: c });
  for (const p of f.postalCodes) out.push({ field: 'postal_code', value: p });
  for (const s of new Set(f.addresses.map((a) => (typeof a?.street === 'string' ? streetName(a.street) : ''))))
    if (s) out.push({ field: 'address', value: s });
  return out;
}

/** Blocking keys ('kind:value') of the kinds the configuration enables. They contain PHI: the store HMACs them. */
export function blockingKeys(f: MatchFeatures, config: MatchingConfig): string[] {
  const kinds = new Set(config.blocking.keys);
  const keys: string[] = [];
  const year = f.dob && f.dob.length >= 4 ? f.dob.slice(0, 4) : null;
  const fullDob = f.dob && f.dob.length === 8 ? f.dob : null;
  if (kinds.has('fdm') && year) for (const c of f.familyDm) keys.push(`fdm:${c}|${year}`);
  if (kinds.has('gsx') && f.givenSdx && fullDob) keys.push(`gsx:${f.givenSdx}|${fullDob}`);
  if (kinds.has('nms') && f.familySdx && f.givenSdx) keys.push(`nms:${[f.familySdx, f.givenSdx].sort().join('|')}`);
  if (kinds.has('ssn') && f.ssn) keys.push(`ssn:${f.ssn}`);
  if (kinds.has('tel')) for (const p of f.phones) keys.push(`tel:${p}`);
  if (kinds.has('eml')) for (const e of f.emails) keys.push(`eml:${e}`);
  if (kinds.has('pcd') && fullDob) for (const p of f.postalCodes) keys.push(`pcd:${p}|${fullDob}`);
  if (kinds.has('adr')) for (const a of f.addresses) for (const p of f.postalCodes) keys.push(`adr:${a.street}|${p}`);
  if (kinds.has('dob') && fullDob && f.family) keys.push(`dob:${fullDob}|${f.family[0]}`);
  if (kinds.has('fpc')) for (const c of f.familyDm) for (const p of f.postalCodes) keys.push(`fpc:${c}|${p}`);
  if (kinds.has('gpc') && f.givenSdx) for (const p of f.postalCodes) keys.push(`gpc:${f.givenSdx}|${p}`);
  if (kinds.has('fhn')) {
    for (const a of f.addresses) {
      const house = /(?:^| )(\d+[a-z]?)(?: |$)/.exec(a.street)?.[1];
      if (house) for (const c of f.familyDm) keys.push(`fhn:${c}|${house}`);
    }
  }
  return [...new Set(keys)];
}
