// Text normalization for matching: Unicode cleanup, names, generational suffixes, USPS-style
// address canonicalization, phones, e-mails, SSNs and birth-date digit strings. Every function
// accepts anything (garbage included) and returns '' / null / [] rather than throwing.

/** Longest input we look at: bounds the work on hostile input (a 10k-character "name"). */
const MAX_INPUT = 512;

// Control, format (zero-width, bidi marks), surrogate, private-use and unassigned code points.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/gu;
const MARKS = /\p{M}/gu;
// Letters NFKD does not decompose to ASCII.
const FOLD: Readonly<Record<string, string>> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i', ħ: 'h' };
const FOLD_RE = /[ßæœøłđðþıħ]/g;

/** NFKC, accents stripped, invisible characters removed, lower case, whitespace collapsed. */
export function cleanText(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return '';
  return String(value)
    .slice(0, MAX_INPUT)
    .normalize('NFKC')
    .normalize('NFKD')
    .replace(MARKS, '')
    .replace(INVISIBLE, ' ')
    .toLowerCase()
    .replace(FOLD_RE, (c) => FOLD[c] ?? c)
    .replace(/\s+/g, ' ')
    .trim();
}

/** Name tokens: letters only, split on spaces, hyphens and other separators ("O'Brien-Núñez" -> obrien, nunez). */
export function nameTokens(value: unknown): string[] {
  return cleanText(value)
    .replace(/['’`.]/g, '')
    .split(/[^\p{L}]+/u)
    .filter((t) => t.length > 0)
    .map((t) => t.slice(0, 64));
}

/** Generational suffixes in canonical form. */
const SUFFIXES: Readonly<Record<string, string>> = {
  jr: 'jr',
  junior: 'jr',
  jnr: 'jr',
  ii: 'ii',
  '2nd': 'ii',
  second: 'ii',
  sr: 'sr',
  senior: 'sr',
  snr: 'sr',
  iii: 'iii',
  '3rd': 'iii',
  third: 'iii',
  iv: 'iv',
  '4th': 'iv',
  v: 'v',
};

/** Canonical generational suffix of one token ('Jr.' -> 'jr', 'III' -> 'iii'), or null. */
export function generationalSuffix(value: unknown): string | null {
  const t = cleanText(value).replace(/[^a-z0-9]/g, '');
  return SUFFIXES[t] ?? null;
}

/**
 * Split a trailing generational suffix off name tokens ('john jr' -> john + jr). 'v' is left
 * alone here: as a trailing token it is far more often a middle initial.
 */
export function splitSuffix(tokens: readonly string[]): { tokens: string[]; suffix: string | null } {
  const last = tokens.at(-1);
  const suffix = last === undefined || last === 'v' ? null : (SUFFIXES[last] ?? null);
  return suffix && tokens.length > 1 ? { tokens: tokens.slice(0, -1), suffix } : { tokens: [...tokens], suffix: null };
}

// USPS Publication 28 street suffixes (C1), directionals (B) and secondary unit designators (C2),
// plus the Australian suffixes that FEBRL-like data uses. Every spelling maps to one canonical
// abbreviation, so "Street", "St", "Str" and "St." compare equal in either direction.
const STREET_SUFFIX_GROUPS: Readonly<Record<string, readonly string[]>> = {
  aly: ['alley', 'allee', 'ally'],
  anx: ['annex', 'annx', 'anex'],
  arc: ['arcade'],
  ave: ['avenue', 'av', 'aven', 'avenu', 'avn', 'avnue'],
  blvd: ['boulevard', 'boul', 'boulv'],
  br: ['branch', 'brnch'],
  brg: ['bridge', 'brdge'],
  byp: ['bypass', 'bypa', 'bypas', 'byps'],
  cir: ['circle', 'circ', 'circl', 'crcl', 'crcle'],
  cct: ['circuit', 'circt', 'cirt'],
  cl: ['close'],
  con: ['concourse'],
  cres: ['crescent', 'cresent', 'crsent', 'crsnt'],
  ct: ['court', 'crt'],
  cts: ['courts'],
  cv: ['cove'],
  crk: ['creek'],
  ctr: ['center', 'centre', 'cen', 'cent', 'centr', 'cnter', 'cntr'],
  cswy: ['causeway', 'causwa'],
  dr: ['drive', 'driv', 'drv'],
  esp: ['esplanade'],
  est: ['estate'],
  expy: ['expressway', 'exp', 'expr', 'express', 'expw'],
  ext: ['extension', 'extn', 'extnsn'],
  fwy: ['freeway', 'frway', 'frwy'],
  gdns: ['gardens', 'gardn', 'grden', 'grdn'],
  gln: ['glen'],
  gr: ['grove', 'grv'],
  hts: ['heights', 'ht'],
  hwy: ['highway', 'highwy', 'hiway', 'hiwy', 'hway'],
  hl: ['hill'],
  jct: ['junction', 'jction', 'jctn', 'junctn'],
  ln: ['lane'],
  lp: ['loop'],
  mall: [],
  mdws: ['meadows'],
  mtn: ['mountain', 'mntain', 'mntn'],
  mt: ['mount', 'mnt'],
  pde: ['parade'],
  pass: [],
  pkwy: ['parkway', 'parkwy', 'pkway', 'pky'],
  pl: ['place'],
  plz: ['plaza', 'plza'],
  pt: ['point'],
  prom: ['promenade'],
  rd: ['road'],
  rdg: ['ridge'],
  row: [],
  rte: ['route'],
  sq: ['square', 'sqr', 'sqre', 'squ'],
  st: ['street', 'str', 'strt', 'saint'],
  ter: ['terrace', 'terr', 'tce'],
  trl: ['trail', 'trails', 'trls'],
  vw: ['view'],
  via: ['viaduct', 'vdct', 'viadct'],
  vly: ['valley', 'vally', 'vlly'],
  wlk: ['walk'],
  way: ['wy'],
  xing: ['crossing', 'crssng'],
};
const DIRECTIONALS: Readonly<Record<string, string>> = {
  north: 'n',
  south: 's',
  east: 'e',
  west: 'w',
  northeast: 'ne',
  northwest: 'nw',
  southeast: 'se',
  southwest: 'sw',
};
const UNIT_DESIGNATORS: Readonly<Record<string, string>> = {
  apartment: 'apt',
  apt: 'apt',
  unit: 'unit',
  suite: 'ste',
  ste: 'ste',
  floor: 'fl',
  fl: 'fl',
  flat: 'flat',
  building: 'bldg',
  bldg: 'bldg',
  room: 'rm',
  rm: 'rm',
  department: 'dept',
  dept: 'dept',
  basement: 'bsmt',
  bsmt: 'bsmt',
  lot: 'lot',
  trailer: 'trlr',
  trlr: 'trlr',
  space: 'spc',
  spc: 'spc',
  lobby: 'lbby',
  lbby: 'lbby',
  penthouse: 'ph',
  ph: 'ph',
  front: 'frnt',
  rear: 'rear',
  box: 'box',
};

const ADDRESS_WORD: ReadonlyMap<string, string> = new Map([
  ...Object.entries(STREET_SUFFIX_GROUPS).flatMap(([canon, spellings]) => [canon, ...spellings].map((s) => [s, canon] as const)),
  ...Object.entries(DIRECTIONALS),
  ...Object.entries(UNIT_DESIGNATORS),
  ['#', 'apt'],
]);
const UNIT_CANON: ReadonlySet<string> = new Set(Object.values(UNIT_DESIGNATORS));

// Long suffix spellings that typists run into the street name ('fitzalanstreet').
const RUN_IN_SUFFIX = /^(\p{L}{3,}?)(street|avenue|road|drive|place|crescent|circuit|court|lane|boulevard|terrace|parade|close)$/u;

/** One address line in canonical form: 'Apt. #4B, 12 North Main Street' -> 'apt 4b 12 n main st'. */
export function normalizeAddressLine(value: unknown): string {
  const raw = cleanText(value)
    .replace(/\bp\s*\.?\s*o\s*\.?\s*box\b|\bpost office box\b/g, 'po box')
    .replace(/#/g, ' # ')
    .replace(/[^\p{L}\p{N}# ]+/gu, ' ')
    .split(' ')
    .flatMap((t) => {
      const m = RUN_IN_SUFFIX.exec(t);
      return m ? [m[1]!, m[2]!] : t.length > 0 ? [t] : [];
    });
  const tokens = raw.map((t) => ADDRESS_WORD.get(t) ?? t);
  // '#' right after a unit designator is noise: 'unit # 4' = 'unit 4'.
  return tokens
    .filter((_, i) => !(raw[i] === '#' && UNIT_CANON.has(tokens[i - 1] ?? '')))
    .join(' ')
    .slice(0, 128);
}

/** Digits only. */
export const digits = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number' ? String(value).slice(0, MAX_INPUT).replace(/\D/g, '') : '';

/** A phone number as its last 10 digits (drops the US country code and formatting), or null when too short to mean anything. */
export function normalizePhone(value: unknown): string | null {
  const d = digits(value);
  return d.length >= 7 ? d.slice(-10) : null;
}

/** E-mail lower-cased and trimmed, or null when it is not shaped like one. */
export function normalizeEmail(value: unknown): string | null {
  const e = cleanText(value).replace(/\s/g, '');
  return /^[^@]+@[^@]+$/.test(e) ? e.slice(0, 254) : null;
}

/** SSN digits, or null for placeholders (all one digit, 123456789, too short) that unrelated people share. */
export function normalizeSsn(value: unknown): string | null {
  const d = digits(value);
  if (d.length < 4 || d.length > 12) return null;
  if (/^(\d)\1+$/.test(d) || d === '123456789' || d === '987654321') return null;
  return d;
}

/** US ZIP+4 keeps its 5-digit ZIP; other postal codes are kept as letters and digits. */
export function normalizePostalCode(value: unknown): string | null {
  const c = cleanText(value).replace(/[^a-z0-9]/g, '');
  if (!c) return null;
  return /^\d{9}$/.test(c) ? c.slice(0, 5) : c.slice(0, 10);
}

/**
 * The birth date as a digit string 'YYYYMMDD' (or 'YYYY' / 'YYYYMM' for partial dates): from the
 * valid date, else from the raw value the source sent (its typos are what we match on).
 */
export function birthDateDigits(birthDate: unknown, asRecorded: unknown): string | null {
  const valid = typeof birthDate === 'string' ? digits(birthDate) : '';
  if (valid.length === 8 || valid.length === 6 || valid.length === 4) return valid;
  const raw = digits(asRecorded);
  return raw.length >= 4 ? raw.slice(0, 8) : null;
}

/** Days since 1970-01-01 for a valid 'YYYYMMDD', else null. */
export function dayNumber(d: string | null): number | null {
  if (d === null || d.length !== 8) return null;
  const y = Number(d.slice(0, 4));
  const m = Number(d.slice(4, 6));
  const day = Number(d.slice(6, 8));
  const t = Date.UTC(y, m - 1, day);
  const check = new Date(t);
  return check.getUTCFullYear() === y && check.getUTCMonth() === m - 1 && check.getUTCDate() === day ? Math.round(t / 86_400_000) : null;
}
