// True demographics of every synthetic person, including the relatives that fool matchers: twins
// (same family name, birth date and address, different given names) and Jr/Sr pairs (same name
// and address, different birth dates). No two distinct persons share given name, family name and
// birth date, so the ground truth is unambiguous.
import { FAMILY, FEMALE_GIVEN, MALE_GIVEN } from './names.ts';
import { CITIES, EMAIL_DOMAINS, STREET_NAMES, STREET_SUFFIXES } from './places.ts';
import { random, type Random } from './random.ts';
import {
  REFERENCE_TIME,
  type Demographics,
  type MaritalStatus,
  type Person,
  type PostalAddress,
  type Relation,
  type Sex,
} from './model.ts';

const TWIN_SHARE = 0.012;
const JUNIOR_SHARE = 0.01;
const SSN_SHARE = 0.85;
const MIDDLE_SHARE = 0.55;
const EMAIL_SHARE = 0.45;

export const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Lowercase without accents: the identity key ignores what registrars type differently anyway. */
export const fold = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();

export const identityKey = (d: Pick<Demographics, 'given' | 'family' | 'birthDate'>): string =>
  `${fold(d.given)}|${fold(d.family)}|${d.birthDate}`;

export const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

export const ageAt = (birthDate: string, at = REFERENCE_TIME): number => {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  const now = new Date(at);
  const beforeBirthday = now.getUTCMonth() + 1 < m || (now.getUTCMonth() + 1 === m && now.getUTCDate() < d);
  return now.getUTCFullYear() - y - (beforeBirthday ? 1 : 0);
};

function birthDateIn(rng: Random, fromYear: number, toYear: number): string {
  const year = rng.int(fromYear, toYear);
  const month = rng.int(1, 12);
  return `${year}-${pad(month)}-${pad(rng.int(1, daysInMonth(year, month)))}`;
}

export function newAddress(rng: Random): PostalAddress {
  const c = rng.pick(CITIES);
  const street = `${rng.int(1, 9899)} ${rng.pick(STREET_NAMES)} ${rng.pick(STREET_SUFFIXES)}`;
  const unit = rng.chance(0.12)
    ? [rng.chance(0.7) ? `Apt ${rng.int(1, 40)}${rng.pick(['', 'A', 'B', 'C'])}` : `Unit ${rng.int(100, 999)}`]
    : [];
  return { line: [street, ...unit], city: c.city, state: c.state, postalCode: `${c.zip3}${rng.digits(2)}` };
}

/** A number in the 555-0100..0199 block reserved for fiction, with a plausible area code. */
export function newPhone(rng: Random, areaCode?: string): string {
  return `${areaCode ?? rng.pick(CITIES).areaCode}-555-01${rng.digits(2)}`;
}

const ascii = (s: string): string => fold(s).replace(/[^a-z0-9]/g, '');

function email(rng: Random, given: string, family: string): string {
  const local = rng.pick([
    `${ascii(given)}.${ascii(family)}`,
    `${ascii(given)[0] ?? 'x'}${ascii(family)}`,
    `${ascii(given)}${rng.int(1, 99)}`,
  ]);
  return `${local}@${rng.pick(EMAIL_DOMAINS)}`;
}

function maritalStatus(rng: Random, age: number): MaritalStatus {
  if (age < 20) return 'S';
  const weights = age < 30 ? [60, 36, 3, 1] : age < 65 ? [22, 58, 16, 4] : [8, 52, 14, 26];
  return (['S', 'M', 'D', 'W'] as const)[rng.weighted(weights)]!;
}

const givenNames = (sex: Sex): readonly string[] => (sex === 'female' ? FEMALE_GIVEN : MALE_GIVEN);

/** The SSN pool: unique, and only in the never-issued 9xx area. */
function ssnSource(rng: Random): () => string {
  const used = new Set<string>();
  return () => {
    for (;;) {
      const ssn = `9${rng.digits(2)}-${pad(rng.int(1, 99))}-${pad(rng.int(1, 9999), 4)}`;
      if (!used.has(ssn)) {
        used.add(ssn);
        return ssn;
      }
    }
  };
}

type Draft = {
  given: string;
  middle: string | null;
  family: string;
  suffix: 'Jr' | 'Sr' | null;
  birthDate: string;
  sex: Sex;
  address: PostalAddress;
  phone: string;
};

function draft(rng: Random, overrides: Partial<Draft> = {}): Draft {
  const sex = overrides.sex ?? (rng.chance(0.51) ? 'female' : 'male');
  const names = givenNames(sex);
  const given = overrides.given ?? rng.skewed(names, 25);
  const address = overrides.address ?? newAddress(rng);
  return {
    sex,
    given,
    middle:
      overrides.middle !== undefined
        ? overrides.middle
        : rng.chance(MIDDLE_SHARE)
          ? rng.skewed(
              names.filter((n) => n !== given),
              40,
            )
          : null,
    family: overrides.family ?? rng.skewed(FAMILY),
    suffix: overrides.suffix ?? null,
    birthDate: overrides.birthDate ?? birthDateIn(rng, 1930, 2020),
    address,
    phone: overrides.phone ?? newPhone(rng, CITIES.find((c) => c.city === address.city && c.state === address.state)?.areaCode),
  };
}

function finish(rng: Random, d: Draft, nextSsn: () => string): Demographics {
  const age = ageAt(d.birthDate);
  return {
    ...d,
    maritalStatus: maritalStatus(rng, age),
    email: age >= 14 && rng.chance(EMAIL_SHARE) ? email(rng, d.given, d.family) : null,
    ssn: rng.chance(SSN_SHARE) ? nextSsn() : null,
  };
}

/**
 * `size` persons in a stable order. Each person (or relative pair) draws from its own stream, so
 * growing the population appends people rather than reshuffling everyone.
 */
export function generatePersons(seed: number, size: number): Person[] {
  const persons: Person[] = [];
  const keys = new Set<string>();
  const nextSsn = ssnSource(random(seed, 'ssn'));
  const id = (i: number): string => `P${pad(i + 1, 6)}`;

  /** Redraws what `vary` allows (given name first, else birth date) until the identity is new. */
  const unique = (
    rng: Random,
    make: () => Draft,
    vary: 'given' | 'birthDate' | 'either',
    years: readonly [number, number] = [1930, 2020],
  ): Draft => {
    let d = make();
    for (let attempt = 0; keys.has(identityKey(d)); attempt++) {
      const redrawGiven = vary === 'given' || (vary === 'either' && attempt < 20);
      d = redrawGiven ? { ...d, given: rng.pick(givenNames(d.sex)) } : { ...d, birthDate: birthDateIn(rng, years[0], years[1]) };
    }
    keys.add(identityKey(d));
    return d;
  };
  const add = (rng: Random, d: Draft, relation: Relation | null): void => {
    persons.push({ id: id(persons.length), index: persons.length, truth: finish(rng, d, nextSsn), relation });
  };

  while (persons.length < size) {
    const i = persons.length;
    const rng = random(seed, 'person', i);
    const roll = rng.next();
    const room = size - i >= 2;
    if (room && roll < TWIN_SHARE) {
      const first = unique(rng, () => draft(rng, { birthDate: birthDateIn(rng, 1940, 2018) }), 'either', [1940, 2018]);
      const second = unique(
        rng,
        () => draft(rng, { family: first.family, birthDate: first.birthDate, address: first.address, phone: first.phone }),
        'given',
      );
      add(rng, first, { kind: 'twin', of: id(i + 1) });
      add(rng, second, { kind: 'twin', of: id(i) });
    } else if (room && roll < TWIN_SHARE + JUNIOR_SHARE) {
      const senior = unique(
        rng,
        () => draft(rng, { sex: 'male', suffix: 'Sr', birthDate: birthDateIn(rng, 1935, 1975) }),
        'either',
        [1935, 1975],
      );
      const seniorYear = Number(senior.birthDate.slice(0, 4));
      const years = [seniorYear + 20, Math.min(2015, seniorYear + 38)] as const;
      const junior = unique(
        rng,
        () =>
          draft(rng, {
            sex: 'male',
            given: senior.given,
            family: senior.family,
            middle: senior.middle,
            suffix: 'Jr',
            birthDate: birthDateIn(rng, ...years),
            address: senior.address,
            phone: senior.phone,
          }),
        'birthDate',
        years,
      );
      add(rng, senior, { kind: 'senior', of: id(i + 1) });
      add(rng, junior, { kind: 'junior', of: id(i) });
    } else {
      add(
        rng,
        unique(rng, () => draft(rng), 'either'),
        null,
      );
    }
  }
  return persons;
}
