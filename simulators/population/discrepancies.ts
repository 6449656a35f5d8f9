// How one person ends up looking different in two EHRs. Two layers: "noise" that any registration
// produces (moved, new phone, SSN not collected, middle name left out) and leaves name and birth
// date alone; and one identity discrepancy (nickname, family-name typo, married name, swapped
// given/family, birth-date typo or day/month swap) that a strict matcher will miss.
import { FAMILY, NICKNAMES } from './names.ts';
import { ageAt, daysInMonth, fold, newAddress, newPhone, pad } from './persons.ts';
import type { Random } from './random.ts';
import { DISCREPANCY, REFERENCE_TIME, type Demographics, type Discrepancy } from './model.ts';

/**
 * Draw weights among the kinds that fit a person. A nickname fits only names that have one and a
 * married name only adult women (each about a third of persons), so their weights are inflated to
 * land near the intended overall mix: nickname ~30%, family-name typo ~33%, married name ~20%,
 * and the rare ones: birth-date typo ~8%, given/family swap ~5%, day/month swap ~4%.
 */
export const DISCREPANCY_WEIGHTS: Readonly<Record<Discrepancy, number>> = {
  [DISCREPANCY.nickname]: 150,
  [DISCREPANCY.typoFamily]: 24,
  [DISCREPANCY.marriedName]: 50,
  [DISCREPANCY.dobTypo]: 5,
  [DISCREPANCY.swap]: 3,
  [DISCREPANCY.dobSwap]: 9,
};

const KINDS = Object.keys(DISCREPANCY_WEIGHTS) as Discrepancy[];

/** QWERTY neighbours: a slipped finger, which is what most single-letter typos are. */
const NEIGHBOURS: Readonly<Record<string, string>> = {
  a: 'qwsz',
  b: 'vghn',
  c: 'xdfv',
  d: 'serfcx',
  e: 'wsdr',
  f: 'drtgvc',
  g: 'ftyhbv',
  h: 'gyujnb',
  i: 'ujko',
  j: 'huikmn',
  k: 'jiolm',
  l: 'kop',
  m: 'njk',
  n: 'bhjm',
  o: 'iklp',
  p: 'ol',
  q: 'wa',
  r: 'edft',
  s: 'awedxz',
  t: 'rfgy',
  u: 'yhji',
  v: 'cfgb',
  w: 'qase',
  x: 'zsdc',
  y: 'tghu',
  z: 'asx',
};

/**
 * One edit to a family name: substitution by a neighbouring key, deletion, insertion (a doubled
 * letter) or transposition of two adjacent letters. The first letter is kept (registrars rarely
 * get it wrong, and blocking on it is common); the result always differs from the input.
 */
export function typo(rng: Random, name: string): string {
  const letters = [...name].flatMap((ch, i) => (i > 0 && /\p{Ll}/u.test(ch) ? [i] : []));
  if (letters.length === 0) return `${name}${name.at(-1)?.toLowerCase() ?? 'e'}`;
  const chars = [...name];
  const i = rng.pick(letters);
  const ch = chars[i]!;
  const next = chars[i + 1];
  switch (rng.weighted([45, 20, 15, 20])) {
    case 0: {
      const options = NEIGHBOURS[ch] ?? 'aeiou';
      chars[i] = options[rng.int(0, options.length - 1)]!;
      break;
    }
    case 1:
      if (chars.length > 3) chars.splice(i, 1);
      else chars.splice(i, 0, ch);
      break;
    case 2:
      chars.splice(i, 0, ch);
      break;
    default:
      if (next !== undefined && next !== ch && /\p{Ll}/u.test(next)) [chars[i], chars[i + 1]] = [next, ch];
      else chars.splice(i, 0, ch);
  }
  const out = chars.join('');
  return out === name ? `${name}${ch}` : out;
}

export function marriedName(rng: Random, family: string): string {
  let spouse = rng.skewed(FAMILY);
  while (spouse === family || spouse.includes(' ')) spouse = rng.skewed(FAMILY);
  return rng.chance(0.45) && !family.includes('-') ? `${family}-${spouse}` : spouse;
}

/** A birth date with one digit changed (day, month or the last year digit), still a valid past date. */
export function dobTypo(rng: Random, birthDate: string): string {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  for (let attempt = 0; attempt < 50; attempt++) {
    let [ny, nm, nd] = [y, m, d];
    const digit = rng.int(0, 9);
    switch (rng.weighted([45, 25, 30])) {
      case 0:
        nd = rng.chance(0.5) ? Math.floor(d / 10) * 10 + digit : digit * 10 + (d % 10);
        break;
      case 1:
        nm = rng.chance(0.5) ? Math.floor(m / 10) * 10 + digit : digit * 10 + (m % 10);
        break;
      default:
        ny = Math.floor(y / 10) * 10 + digit;
    }
    const valid = nm >= 1 && nm <= 12 && nd >= 1 && nd <= daysInMonth(ny, nm);
    const candidate = `${ny}-${pad(nm)}-${pad(nd)}`;
    if (valid && candidate !== birthDate && Date.parse(candidate) < REFERENCE_TIME) return candidate;
  }
  return `${y}-${pad(m)}-${pad(d === 1 ? 2 : d - 1)}`;
}

/** Day and month exchanged (a US/European entry mix-up); only possible when the day is a month number. */
export const dobSwap = (birthDate: string): string | null => {
  const [y, m, d] = birthDate.split('-') as [string, string, string];
  return Number(d) <= 12 && d !== m ? `${y}-${d}-${m}` : null;
};

export function applicable(d: Demographics, kind: Discrepancy): boolean {
  switch (kind) {
    case DISCREPANCY.nickname:
      return (NICKNAMES[d.given]?.length ?? 0) > 0;
    case DISCREPANCY.marriedName:
      return d.sex === 'female' && ageAt(d.birthDate) >= 20;
    case DISCREPANCY.swap:
      return fold(d.given) !== fold(d.family) && !d.family.includes(' ');
    case DISCREPANCY.dobSwap:
      return dobSwap(d.birthDate) !== null;
    default:
      return true;
  }
}

export function applyDiscrepancy(rng: Random, d: Demographics, kind: Discrepancy): Demographics {
  switch (kind) {
    case DISCREPANCY.nickname:
      return { ...d, given: rng.pick(NICKNAMES[d.given] ?? [d.given]) };
    case DISCREPANCY.typoFamily:
      return { ...d, family: typo(rng, d.family) };
    case DISCREPANCY.marriedName:
      return { ...d, family: marriedName(rng, d.family), maritalStatus: 'M' };
    case DISCREPANCY.swap:
      return { ...d, given: d.family, family: d.given };
    case DISCREPANCY.dobTypo:
      return { ...d, birthDate: dobTypo(rng, d.birthDate) };
    case DISCREPANCY.dobSwap:
      return { ...d, birthDate: dobSwap(d.birthDate) ?? d.birthDate };
  }
}

/** Kinds in the order to try them: one drawn by weight among those that fit, then the rest as fallbacks. */
export function discrepancyOrder(rng: Random, d: Demographics): Discrepancy[] {
  const fitting = KINDS.filter((k) => applicable(d, k));
  if (fitting.length === 0) return [];
  const first = fitting[rng.weighted(fitting.map((k) => DISCREPANCY_WEIGHTS[k]))]!;
  return [first, ...fitting.filter((k) => k !== first)];
}

/**
 * The differences registration itself makes between two sites: name and birth date untouched.
 * Applied to every appearance but the person's first site.
 */
export function siteNoise(rng: Random, d: Demographics): Demographics {
  const moved = rng.chance(0.25);
  const address = moved ? newAddress(rng) : d.address;
  return {
    ...d,
    address,
    phone: moved || rng.chance(0.2) ? newPhone(rng, moved ? undefined : d.phone.slice(0, 3)) : d.phone,
    ssn: rng.chance(0.2) ? null : d.ssn,
    middle: rng.chance(0.35) ? null : d.middle,
    email: rng.chance(0.3) ? null : d.email,
  };
}
