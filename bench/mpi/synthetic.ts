// A synthetic population for the MPI speed benchmark, deterministic per (seed, person index) so
// that person i can be regenerated without generating the i - 1 before it (a million people are
// streamed, never held) and a later run (--reuse) can make new duplicates of the same people.
//
// Realism where it matters for an MPI: names follow a Zipf-like law over a few thousand values
// (common names make big blocks and same-name-same-birth-date strangers), birth dates 1920-2020,
// addresses whose city, state and postal code agree, phones, an SSN on ~70% of people, and a second
// source record for ~10% of people carrying the errors registration clerks make (typos, nicknames,
// swapped day and month, impossible dates, a move, a married name, a missing SSN).

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** murmur3's finalizer: a good 32-bit mix. */
const fmix = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

/**
 * A generator of floats in [0, 1) seeded by a tuple of integers: sfc32 (128-bit state). A 32-bit
 * counter generator (mulberry32) is not enough here: among a million people, streams one step apart
 * resynchronise after an optional draw and make hundreds of "different people" who share a birth
 * date, an address, a phone and an SSN.
 */
export function rng(...keys: readonly number[]): () => number {
  const h = (salt: number) => keys.reduce((acc, k) => fmix(acc ^ fmix(k + 0x9e3779b9 + salt)), fmix(0x2545f491 + salt));
  let a = h(0x1b873593),
    b = h(0xcc9e2d51),
    c = h(0x85ebca6b),
    d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // sfc32's recommended warm-up
  return next;
}

type Random = () => number;
const int = (r: Random, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

/** Zipf-Mandelbrot sampler over ranks 1..n: weight 1 / (rank + q)^s. q flattens the head (real top names hold ~1-3%, not 10%). */
export function zipf<T>(items: readonly T[], s: number, q: number): (r: Random) => T {
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < items.length; i++) cumulative.push((total += 1 / (i + 1 + q) ** s));
  return (r) => {
    const u = r() * total;
    let lo = 0,
      hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return items[lo]!;
  };
}

// ---------------------------------------------------------------------------------------------
// Vocabularies: real common names first (the head of the distribution), generated ones after

const REAL_FEMALE =
  'Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia Maria Ana Sofia Olivia Emma Ava Isabella Mia Abigail Madison Chloe Grace Zoe Hannah Natalie Lily Aaliyah Camila Valentina Ximena Nguyet Mei Priya Fatima Aisha Renée Zoë'.split(
    ' ',
  );
const REAL_MALE =
  'James Robert John Michael David William Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jose Juan Luis Carlos Jacob Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Minh Wei Arjun Mohammed Omar José André'.split(
    ' ',
  );
const REAL_FAMILY =
  "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster O'Brien McDonald Van der Berg Müller Núñez Saint-Pierre".split(
    ' ',
  );

const ONSETS = [
  'b',
  'br',
  'c',
  'ch',
  'd',
  'dr',
  'f',
  'g',
  'gr',
  'h',
  'j',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  'sh',
  'st',
  't',
  'th',
  'v',
  'w',
  'z',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ie', 'ou', 'y'];
const CODAS = ['', '', 'n', 'l', 'r', 's', 'th', 'm', 'nd', 'rt', 'ck'];
const FEMALE_ENDINGS = ['a', 'ia', 'elle', 'ine', 'ette', 'ara', 'lyn'];
const MALE_ENDINGS = ['o', 'us', 'an', 'er', 'el', 'en', 'im'];
const FAMILY_ENDINGS = ['son', 'ton', 'berg', 'ez', 'ski', 'ley', 'man', 'ford', 'well', 'ard', 'ini', 'ova', 'sen', 'wood'];

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const syllable = (r: Random): string => pick(r, ONSETS) + pick(r, VOWELS) + pick(r, CODAS);

function vocabulary(real: readonly string[], size: number, seed: number, make: (r: Random) => string): string[] {
  const r = rng(seed);
  const seen = new Set(real.map((n) => n.toLowerCase()));
  const out = [...real];
  while (out.length < size) {
    const name = capitalize(make(r));
    if (name.length >= 3 && !seen.has(name.toLowerCase())) {
      seen.add(name.toLowerCase());
      out.push(name);
    }
  }
  return out;
}

export const FEMALE_NAMES = vocabulary(REAL_FEMALE, 1500, 1, (r) => syllable(r) + pick(r, FEMALE_ENDINGS));
export const MALE_NAMES = vocabulary(REAL_MALE, 1500, 2, (r) => syllable(r) + pick(r, MALE_ENDINGS));
export const FAMILY_NAMES = vocabulary(REAL_FAMILY, 5000, 3, (r) => syllable(r) + (r() < 0.4 ? syllable(r) : '') + pick(r, FAMILY_ENDINGS));
const STREETS = vocabulary(
  ['Main', 'Oak', 'Pine', 'Maple', 'Cedar', 'Elm', 'Washington', 'Lake', 'Hill', 'Park'],
  1500,
  4,
  (r) => syllable(r) + pick(r, ['', 'wood', 'field', 'view', 'dale', 'brook']),
);
const STREET_TYPES = [
  ['Street', 'St'],
  ['Avenue', 'Ave'],
  ['Road', 'Rd'],
  ['Drive', 'Dr'],
  ['Lane', 'Ln'],
  ['Court', 'Ct'],
  ['Boulevard', 'Blvd'],
] as const;
const STATES = [
  'CA',
  'TX',
  'FL',
  'NY',
  'PA',
  'IL',
  'OH',
  'GA',
  'NC',
  'MI',
  'NJ',
  'VA',
  'WA',
  'AZ',
  'MA',
  'TN',
  'IN',
  'MO',
  'MD',
  'WI',
  'CO',
  'MN',
];
/** Cities with a state and a 3-digit postal prefix of their own, so address parts agree. */
const CITIES = vocabulary(
  ['Springfield', 'Franklin', 'Greenville', 'Bristol', 'Clinton', 'Fairview', 'Salem', 'Madison'],
  600,
  5,
  (r) => syllable(r) + pick(r, ['ville', 'ton', ' City', 'burg', 'field', 'port', ' Falls', '']),
).map((name, i) => {
  const r = rng(6, i);
  return { name, state: pick(r, STATES), zip3: String(int(r, 10, 998)).padStart(3, '0') };
});

const sampleFemale = zipf(FEMALE_NAMES, 1, 5);
const sampleMale = zipf(MALE_NAMES, 1, 5);
const sampleFamily = zipf(FAMILY_NAMES, 1, 20);
const sampleCity = zipf(CITIES, 1, 10);
const sampleStreet = zipf(STREETS, 0.8, 10);

// ---------------------------------------------------------------------------------------------
// People

export type Address = { readonly line: string; readonly city: string; readonly state: string; readonly postalCode: string };
export type Person = {
  readonly index: number;
  readonly gender: 'female' | 'male' | 'other' | 'unknown';
  readonly given: string;
  readonly middle: string | null;
  readonly family: string;
  readonly birthDate: string;
  readonly address: Address;
  readonly phone: string | null;
  readonly ssn: string | null;
};

const SALT = { person: 1, duplicate: 2, second: 3, stream: 4 } as const;

function address(r: Random): Address {
  const city = sampleCity(r);
  const [type] = pick(r, STREET_TYPES);
  return {
    line: `${int(r, 1, 9999)} ${sampleStreet(r)} ${type}`,
    city: city.name,
    state: city.state,
    postalCode: `${city.zip3}${String(int(r, 0, 99)).padStart(2, '0')}`,
  };
}

/** SSN-shaped: area 001-899 without 666, group and serial not zero. */
function ssn(r: Random): string {
  let area = int(r, 1, 898);
  if (area === 666) area = 667;
  return `${String(area).padStart(3, '0')}-${String(int(r, 1, 99)).padStart(2, '0')}-${String(int(r, 1, 9999)).padStart(4, '0')}`;
}

function birthDate(r: Random): string {
  const start = Date.UTC(1920, 0, 1),
    end = Date.UTC(2020, 11, 31);
  return new Date(start + Math.floor(r() * ((end - start) / 86_400_000 + 1)) * 86_400_000).toISOString().slice(0, 10);
}

export function person(seed: number, index: number): Person {
  const r = rng(seed, SALT.person, index);
  const g = r();
  const gender = g < 0.495 ? 'female' : g < 0.99 ? 'male' : g < 0.995 ? 'other' : 'unknown';
  const sampleGiven = gender === 'female' ? sampleFemale : gender === 'male' ? sampleMale : r() < 0.5 ? sampleFemale : sampleMale;
  return {
    index,
    gender,
    given: sampleGiven(r),
    middle: r() < 0.4 ? sampleGiven(r) : null,
    family: sampleFamily(r),
    birthDate: birthDate(r),
    address: address(r),
    phone: r() < 0.85 ? `${int(r, 201, 989)}-${int(r, 200, 999)}-${String(int(r, 0, 9999)).padStart(4, '0')}` : null,
    ssn: r() < 0.7 ? ssn(r) : null,
  };
}

/** Whether person i also has a record in the second source (~10%). */
export const hasSecondRecord = (seed: number, index: number, share = 0.1): boolean => rng(seed, SALT.second, index)() < share;

// ---------------------------------------------------------------------------------------------
// Registration errors

const NICKNAMES: Readonly<Record<string, string>> = {
  William: 'Bill',
  Robert: 'Bob',
  Elizabeth: 'Liz',
  Margaret: 'Peggy',
  James: 'Jim',
  Michael: 'Mike',
  Richard: 'Rick',
  Joseph: 'Joe',
  Thomas: 'Tom',
  Charles: 'Chuck',
  Christopher: 'Chris',
  Daniel: 'Dan',
  Matthew: 'Matt',
  Anthony: 'Tony',
  Jennifer: 'Jen',
  Patricia: 'Pat',
  Jessica: 'Jess',
  Katherine: 'Kate',
  Rebecca: 'Becky',
  Deborah: 'Debbie',
  Stephanie: 'Steph',
  Kimberly: 'Kim',
  Nicholas: 'Nick',
  Alexander: 'Alex',
  Benjamin: 'Ben',
  Samuel: 'Sam',
  Jonathan: 'Jon',
  Stephen: 'Steve',
  Steven: 'Steve',
  Timothy: 'Tim',
  Edward: 'Ed',
  Andrew: 'Andy',
  Susan: 'Sue',
};

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** One keying error: substitution, deletion, insertion or transposition. */
export function typo(r: Random, value: string): string {
  if (value.length < 2) return value + pick(r, [...LETTERS]);
  const i = int(r, 0, value.length - 1);
  const c = pick(r, [...LETTERS]);
  switch (int(r, 0, 3)) {
    case 0:
      return value.slice(0, i) + c + value.slice(i + 1);
    case 1:
      return value.slice(0, i) + value.slice(i + 1);
    case 2:
      return value.slice(0, i) + c + value.slice(i);
    default: {
      const j = Math.min(i, value.length - 2);
      return value.slice(0, j) + value.charAt(j + 1) + value.charAt(j) + value.slice(j + 2);
    }
  }
}

/** A clerk's error in a date: day and month swapped, a digit mistyped (sometimes an impossible date), or the year off by one. */
function dateError(r: Random, date: string): string {
  const [y, m, d] = date.split('-') as [string, string, string];
  const kind = r();
  if (kind < 0.35 && Number(d) <= 12 && d !== m) return `${y}-${d}-${m}`;
  if (kind < 0.75) {
    const digits = [...date];
    const positions = [2, 3, 5, 6, 8, 9];
    const p = pick(r, positions);
    digits[p] = String(int(r, 0, 9));
    return digits.join('');
  }
  return `${Number(y) + (r() < 0.5 ? -1 : 1)}-${m}-${d}`;
}

const ERRORS = [
  { weight: 25, apply: (p: Person, r: Random): Person => ({ ...p, family: typo(r, p.family) }) },
  { weight: 20, apply: (p: Person, r: Random): Person => ({ ...p, given: typo(r, p.given) }) },
  {
    weight: 12,
    apply: (p: Person): Person => ({ ...p, given: NICKNAMES[p.given] ?? (p.given.length >= 6 ? p.given.slice(0, 4) : p.given) }),
  },
  {
    weight: 5,
    apply: (p: Person, r: Random): Person =>
      p.gender === 'female' ? { ...p, family: sampleFamily(r) } : { ...p, family: typo(r, p.family) },
  },
  { weight: 15, apply: (p: Person, r: Random): Person => ({ ...p, birthDate: dateError(r, p.birthDate) }) },
  { weight: 15, apply: (p: Person, r: Random): Person => ({ ...p, address: address(r) }) },
  {
    weight: 10,
    apply: (p: Person, r: Random): Person => ({
      ...p,
      phone: r() < 0.5 ? null : `${int(r, 201, 989)}-${int(r, 200, 999)}-${String(int(r, 0, 9999)).padStart(4, '0')}`,
    }),
  },
  { weight: 10, apply: (p: Person): Person => ({ ...p, ssn: null }) },
  {
    weight: 3,
    apply: (p: Person, r: Random): Person => ({
      ...p,
      ssn: p.ssn ? typo(r, p.ssn.replace(/\D/g, '')).replace(/[a-z]/g, String(int(r, 0, 9))) : null,
    }),
  },
] as const;
const ERROR_WEIGHT = ERRORS.reduce((n, e) => n + e.weight, 0);

/** The same person as another registration desk recorded them: 0 to 3 errors (20% none beyond formatting). */
export function withErrors(p: Person, r: Random): Person {
  const u = r();
  const count = u < 0.2 ? 0 : u < 0.65 ? 1 : u < 0.9 ? 2 : 3;
  let out = p;
  for (let k = 0; k < count; k++) {
    let w = r() * ERROR_WEIGHT;
    const error = ERRORS.find((e) => (w -= e.weight) < 0) ?? ERRORS[0];
    out = error.apply(out, r);
  }
  return out;
}

/** The errors of person i's record in the second source (built population). */
export const secondRecord = (seed: number, index: number): Person => withErrors(person(seed, index), rng(seed, SALT.duplicate, index));
/** A duplicate of person i arriving in the online stream (its own errors, distinct from the second record's). */
export const streamDuplicate = (seed: number, index: number, run: number): Person =>
  withErrors(person(seed, index), rng(seed, SALT.stream, index, run));

// ---------------------------------------------------------------------------------------------
// As FHIR R4

export const MRN_SYSTEM = 'http://hospital.smarthealthit.org';

/**
 * A FHIR R4 Patient. `style` varies formatting the way EHRs differ (upper-case names, SSN without
 * dashes, abbreviated street types), which a matcher must see through.
 */
export function toPatient(
  p: Person,
  id: string,
  mrn: string,
  style: { upper?: boolean; compactSsn?: boolean; abbreviate?: boolean } = {},
): Record<string, unknown> {
  const text = (s: string) => (style.upper ? s.toUpperCase() : s);
  let line = p.address.line;
  if (style.abbreviate) for (const [long, short] of STREET_TYPES) line = line.replace(new RegExp(`\\b${long}$`), short);
  return {
    resourceType: 'Patient',
    id,
    meta: { lastUpdated: '2025-01-01T00:00:00Z' },
    identifier: [
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: MRN_SYSTEM, value: mrn },
      ...(p.ssn
        ? [
            {
              type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'SS' }] },
              system: 'http://hl7.org/fhir/sid/us-ssn',
              value: style.compactSsn ? p.ssn.replace(/-/g, '') : p.ssn,
            },
          ]
        : []),
    ],
    name: [{ use: 'official', family: text(p.family), given: [text(p.given), ...(p.middle ? [text(p.middle)] : [])] }],
    gender: p.gender,
    birthDate: p.birthDate,
    address: [
      {
        use: 'home',
        line: [text(line)],
        city: text(p.address.city),
        state: p.address.state,
        postalCode: p.address.postalCode,
        country: 'US',
      },
    ],
    ...(p.phone ? { telecom: [{ system: 'phone', value: p.phone, use: 'home' }] } : {}),
  };
}
