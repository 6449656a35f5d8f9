// An MPI evaluation population with ground truth, built household-first the way a regional
// hospital's catchment looks (not like synthetic.ts, the speed bench's per-person Zipf draws):
//
//   node bench/mpi/population.ts --out DIR [--seed 13] [--people 20000]
//
// writes DIR/<source>.ndjson (FHIR R4 Patients, one line each, in each source's registration order)
// and DIR/truth.ndjson (record id, source, person, household, trap tags). Never commit the output.
//
// A small region (a dozen cities sharing a few hundred street names) is filled with households:
// single people, couples, families with children (twins at ~3% of births, some with sound-alike
// names), single parents, multi-generation homes, and grown children living near their parents.
// Names follow US frequency heads (Census surnames, SSA given names by birth cohort) over a long
// generated tail, so the same common name in one town happens as it does. Sons named after their
// fathers (with and without Jr/Sr/II), wives who took, kept or hyphenated a surname, moves, one
// household phone for everyone in it. Four sources (a regional hospital, a university hospital, a
// family clinic, an urgent care) see overlapping subsets of people, each with its own coverage,
// SSN capture and error profile: typos, nicknames, swapped given and family names, day/month
// swaps, one-digit birth date typos, dropped suffixes, maiden names, old addresses, mistyped SSNs,
// a parent's or spouse's SSN on a relative's record, an SSN keyed from the previous patient.
//
// Every record carries trap tags, and relationOf classifies a pair of records of two different
// people (twins, junior, parent-child, ...) so false merges can be attributed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rng } from './synthetic.ts';

type Random = () => number;
const int = (r: Random, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const chance = (r: Random, p: number): boolean => r() < p;

// ---------------------------------------------------------------------------------------------
// Weighted vocabularies: a real frequency head (share of people), a generated tail for the rest

type Weighted = { readonly values: readonly string[]; readonly cumulative: readonly number[] };

function weighted(entries: readonly (readonly [string, number])[]): Weighted {
  let total = 0;
  const cumulative = entries.map(([, w]) => (total += w));
  return { values: entries.map(([v]) => v), cumulative: cumulative.map((c) => c / total) };
}

function draw(r: Random, w: Weighted): string {
  const u = r();
  let lo = 0,
    hi = w.cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (w.cumulative[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return w.values[lo]!;
}

/** "Name:weight ..." -> entries. */
const parseHead = (text: string): [string, number][] =>
  text
    .trim()
    .split(/\s+/)
    .map((t) => {
      const [name, w] = t.split(':');
      return [name!, Number(w)];
    });

/**
 * Head names with their share (per `scale`), then `tailSize` generated names sharing the rest with
 * a Zipf-like decay (1 / (rank + 50)): the tail's commonest names are about as common as the head's rarest.
 */
function vocabulary(head: string, scale: number, tailSize: number, seed: number, make: (r: Random) => string): Weighted {
  const entries = parseHead(head).map(([n, w]) => [n, w / scale] as [string, number]);
  const headShare = entries.reduce((s, [, w]) => s + w, 0);
  const seen = new Set(entries.map(([n]) => n.toLowerCase()));
  const tail: string[] = [];
  const r = rng(seed, 0x7a11);
  while (tail.length < tailSize) {
    const name = make(r);
    if (name.length >= 3 && !seen.has(name.toLowerCase())) {
      seen.add(name.toLowerCase());
      tail.push(name);
    }
  }
  const decay = tail.map((_n, i) => 1 / (i + 50));
  const decayTotal = decay.reduce((s, w) => s + w, 0);
  return weighted([...entries, ...tail.map((n, i) => [n, ((1 - headShare) * decay[i]!) / decayTotal] as [string, number])]);
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

// US Census 2010 surnames, occurrences per 100,000 people (rounded).
const SURNAME_HEAD = `Smith:828 Johnson:655 Williams:550 Brown:487 Jones:483 Garcia:394 Miller:393 Davis:380 Rodriguez:353
Martinez:350 Hernandez:343 Lopez:293 Gonzalez:280 Wilson:272 Anderson:262 Thomas:252 Taylor:251 Moore:242 Jackson:240
Martin:239 Lee:233 Perez:230 Thompson:227 White:226 Harris:219 Sanchez:214 Clark:188 Ramirez:187 Lewis:181 Robinson:180
Walker:178 Young:164 Allen:163 King:160 Wright:160 Scott:148 Torres:147 Nguyen:146 Hill:146 Flores:145 Green:143 Adams:142
Nelson:138 Baker:138 Hall:135 Rivera:131 Campbell:128 Mitchell:127 Carter:126 Roberts:125 Gomez:119 Phillips:117 Evans:116
Turner:115 Diaz:114 Parker:113 Cruz:113 Edwards:112 Collins:111 Reyes:111 Stewart:110 Morris:107 Morales:106 Murphy:105
Cook:104 Rogers:103 Gutierrez:102 Ortiz:101 Morgan:100 Cooper:99 Peterson:99 Bailey:98 Reed:97 Kelly:96 Howard:95 Ramos:94
Kim:93 Cox:93 Ward:92 Richardson:91 Watson:90 Brooks:89 Chavez:89 Wood:88 James:88 Bennett:87 Gray:86 Mendoza:86 Ruiz:85
Hughes:84 Price:84 Alvarez:83 Castillo:83 Sanders:82 Patel:82 Myers:81 Long:80 Ross:80 Foster:80 Jimenez:79`;

// SSA given names by birth cohort, per 1,000 people of that sex and cohort (rounded).
const GIVEN_HEADS = {
  old: {
    male: `James:38 Robert:37 John:36 Michael:30 William:26 David:26 Richard:20 Charles:17 Joseph:15 Thomas:15 Ronald:10
Donald:10 Gary:9 George:9 Kenneth:9 Larry:8 Paul:8 Edward:8 Steven:8 Daniel:7 Frank:6 Dennis:6 Raymond:6 Jerry:6 Mark:6
Gerald:5 Walter:5 Harold:5 Roger:5 Carl:5 Henry:4 Arthur:4 Jose:4 Douglas:4 Peter:4 Stephen:4 Timothy:3 Lawrence:3 Albert:3 Jack:3`,
    female: `Mary:45 Patricia:20 Linda:20 Barbara:18 Betty:14 Dorothy:12 Margaret:12 Helen:11 Susan:11 Sandra:10 Nancy:10
Carol:10 Donna:9 Sharon:9 Karen:9 Shirley:8 Deborah:8 Judith:8 Elizabeth:8 Joyce:6 Brenda:6 Ruth:6 Janet:6 Frances:5
Virginia:5 Joan:5 Diane:5 Kathleen:5 Martha:4 Gloria:4 Cheryl:4 Catherine:4 Ann:4 Evelyn:4 Pamela:4 Debra:4 Marie:3 Jean:3 Alice:3 Rose:3`,
  },
  mid: {
    male: `Michael:40 Christopher:28 David:22 James:22 Matthew:20 John:18 Robert:18 Joshua:16 Daniel:16 Jason:15 Joseph:13
William:13 Brian:11 Andrew:11 Ryan:10 Kevin:10 Justin:9 Anthony:9 Eric:8 Steven:8 Jonathan:8 Nicholas:8 Brandon:8 Thomas:7
Timothy:6 Adam:6 Richard:6 Jeffrey:6 Mark:5 Scott:5 Aaron:5 Jose:5 Benjamin:5 Tyler:5 Jacob:5 Zachary:4 Kyle:4 Charles:4 Patrick:4 Sean:4`,
    female: `Jennifer:30 Jessica:24 Amanda:18 Ashley:18 Sarah:16 Melissa:14 Michelle:13 Elizabeth:12 Stephanie:12 Nicole:12
Heather:11 Amy:11 Lisa:10 Kimberly:10 Angela:9 Emily:8 Rebecca:8 Laura:7 Rachel:7 Megan:7 Christina:7 Brittany:7 Lauren:6
Samantha:6 Kelly:6 Mary:6 Erin:5 Danielle:5 Crystal:5 Andrea:5 Katherine:5 Tiffany:4 Christine:4 Amber:4 Julie:4 Shannon:4
Kristen:4 Hannah:4 Kayla:4 Sara:4`,
  },
  young: {
    male: `Jacob:13 Michael:12 Ethan:10 Joshua:10 William:10 Noah:10 Daniel:9 Alexander:9 James:9 Anthony:8 Christopher:8
Matthew:8 Liam:8 Jayden:7 Andrew:7 Joseph:7 David:7 Aiden:7 Benjamin:7 Mason:7 Ryan:6 Logan:6 Nathan:6 Elijah:6 Tyler:6
John:5 Christian:5 Gabriel:5 Jonathan:5 Samuel:5 Nicholas:5 Brandon:5 Caleb:5 Gavin:4 Dylan:4 Jackson:4 Angel:4 Isaac:4
Evan:4 Jack:4 Kevin:4 Lucas:4 Owen:4 Aidan:3 Landon:3`,
    female: `Emily:11 Emma:10 Olivia:10 Madison:10 Isabella:10 Sophia:10 Ava:8 Abigail:8 Hannah:7 Mia:7 Elizabeth:6
Samantha:6 Ashley:6 Addison:5 Alyssa:5 Chloe:5 Natalie:5 Sarah:5 Alexis:5 Grace:5 Ella:5 Kayla:5 Charlotte:5 Brianna:4 Lily:4
Hailey:4 Taylor:4 Anna:4 Lauren:4 Victoria:4 Avery:4 Harper:4 Amelia:4 Lillian:3 Evelyn:3 Riley:3 Zoe:3 Leah:3 Maya:3
Kaylee:3 Eva:2`,
  },
} as const;

const SURNAME_STARTS =
  'Ash Bar Bell Black Brad Brook Burn Cal Carl Chap Clay Cole Crane Dal Dar Dun Ell Fair Farn Fen Gar Gil Glad Gold Hal Ham Hart Hol Kel Ken Lang Lind Lock Mar Mel Mor Nor Oak Pem Pen Rad Ram Red Ros Sal Shel Stan Stock Sum Tal Thorn Wal War Wes Whit Wil Win Yar Hock Dray'.split(
    ' ',
  );
const SURNAME_MIDDLES = ['', '', '', 'a', 'e', 'er', 'in', 'ing', 'el', 'ow'];
const SURNAME_ENDS =
  'by ton ford well man son ley wood field ham stead ick er en more ridge worth den land cott ston ham burn dale sey hurst ard ett ling wick mond'.split(
    ' ',
  );
const GIVEN_STARTS = 'Al Bri Ca Da De El Ja Ka Ke La Le Ma Mi Na No Ra Re Sa Se Ta Te Tri Va Ze Jo Ro Ha Ki Li Ni'.split(' ');
const GIVEN_MIDDLES = ['', 'l', 'r', 'n', 'v', 'd', 'm', 'ss', 'th', 'nd'];
const FEMALE_ENDS = ['a', 'ia', 'elle', 'ine', 'ette', 'ana', 'lyn', 'ie', 'isa', 'ora'];
const MALE_ENDS = ['o', 'us', 'an', 'er', 'el', 'en', 'on', 'ell', 'iel', 'ric'];

const SURNAMES = vocabulary(SURNAME_HEAD, 100_000, 9000, 1, (r) =>
  capitalize(pick(r, SURNAME_STARTS).toLowerCase() + pick(r, SURNAME_MIDDLES) + pick(r, SURNAME_ENDS)),
);
type Cohort = keyof typeof GIVEN_HEADS;
type Sex = 'male' | 'female';
const givenTail = (ends: readonly string[]) => (r: Random) =>
  capitalize(pick(r, GIVEN_STARTS).toLowerCase() + pick(r, GIVEN_MIDDLES) + pick(r, ends));
const GIVEN: Record<Cohort, Record<Sex, Weighted>> = {
  old: {
    male: vocabulary(GIVEN_HEADS.old.male, 1000, 1500, 2, givenTail(MALE_ENDS)),
    female: vocabulary(GIVEN_HEADS.old.female, 1000, 1500, 3, givenTail(FEMALE_ENDS)),
  },
  mid: {
    male: vocabulary(GIVEN_HEADS.mid.male, 1000, 1500, 4, givenTail(MALE_ENDS)),
    female: vocabulary(GIVEN_HEADS.mid.female, 1000, 1500, 5, givenTail(FEMALE_ENDS)),
  },
  young: {
    male: vocabulary(GIVEN_HEADS.young.male, 1000, 1500, 6, givenTail(MALE_ENDS)),
    female: vocabulary(GIVEN_HEADS.young.female, 1000, 1500, 7, givenTail(FEMALE_ENDS)),
  },
};
const cohortOf = (year: number): Cohort => (year < 1965 ? 'old' : year < 1995 ? 'mid' : 'young');

/** Twin name pairs parents choose: sound-alike (Emma / Emily) or loosely alike (Aidan / Jayden). */
const TWIN_NAMES: readonly (readonly [string, Sex, string, Sex])[] = [
  ['Emma', 'female', 'Emily', 'female'],
  ['Aidan', 'male', 'Jayden', 'male'],
  ['Ava', 'female', 'Eva', 'female'],
  ['Mia', 'female', 'Maya', 'female'],
  ['Ethan', 'male', 'Evan', 'male'],
  ['Brandon', 'male', 'Brendan', 'male'],
  ['Kayla', 'female', 'Kaylee', 'female'],
  ['Madison', 'female', 'Mason', 'male'],
  ['Isaac', 'male', 'Isaiah', 'male'],
  ['Hailey', 'female', 'Hannah', 'female'],
  ['Jordan', 'male', 'Justin', 'male'],
  ['Lily', 'female', 'Lila', 'female'],
  ['Chloe', 'female', 'Zoe', 'female'],
  ['Taylor', 'female', 'Tyler', 'male'],
  ['Austin', 'male', 'Dustin', 'male'],
  ['Nathan', 'male', 'Ethan', 'male'],
  ['Addison', 'female', 'Madison', 'female'],
  ['Jaden', 'male', 'Jada', 'female'],
  ['Daniel', 'male', 'David', 'male'],
  ['Ella', 'female', 'Bella', 'female'],
];

/** Nicknames registration clerks hear and type. */
const NICKNAMES: Readonly<Record<string, readonly string[]>> = {
  Robert: ['Bob', 'Rob', 'Bobby'],
  William: ['Bill', 'Will', 'Billy'],
  James: ['Jim', 'Jimmy', 'Jamie'],
  John: ['Jack', 'Johnny'],
  Michael: ['Mike', 'Mikey'],
  Richard: ['Rick', 'Dick', 'Rich'],
  Thomas: ['Tom', 'Tommy'],
  Charles: ['Charlie', 'Chuck'],
  Joseph: ['Joe', 'Joey'],
  Christopher: ['Chris'],
  Daniel: ['Dan', 'Danny'],
  Matthew: ['Matt'],
  Anthony: ['Tony'],
  Edward: ['Ed', 'Eddie'],
  Steven: ['Steve'],
  Stephen: ['Steve'],
  Kenneth: ['Ken', 'Kenny'],
  Joshua: ['Josh'],
  Nicholas: ['Nick'],
  Andrew: ['Andy', 'Drew'],
  Jonathan: ['Jon'],
  Benjamin: ['Ben'],
  Samuel: ['Sam'],
  Alexander: ['Alex'],
  Zachary: ['Zach'],
  Jacob: ['Jake'],
  Timothy: ['Tim'],
  Gregory: ['Greg'],
  Patrick: ['Pat'],
  Ronald: ['Ron'],
  Donald: ['Don'],
  Lawrence: ['Larry'],
  Raymond: ['Ray'],
  Gerald: ['Jerry'],
  Elizabeth: ['Liz', 'Beth', 'Betty'],
  Margaret: ['Peggy', 'Maggie'],
  Patricia: ['Pat', 'Patty', 'Trish'],
  Jennifer: ['Jen', 'Jenny'],
  Katherine: ['Kate', 'Katie', 'Kathy'],
  Catherine: ['Cathy', 'Kate'],
  Kathleen: ['Kathy'],
  Susan: ['Sue', 'Susie'],
  Deborah: ['Debbie', 'Deb'],
  Debra: ['Debbie'],
  Barbara: ['Barb'],
  Rebecca: ['Becky'],
  Samantha: ['Sam'],
  Victoria: ['Vicky', 'Tori'],
  Abigail: ['Abby'],
  Kimberly: ['Kim'],
  Pamela: ['Pam'],
  Dorothy: ['Dot', 'Dottie'],
  Sandra: ['Sandy'],
  Christine: ['Chris'],
  Christina: ['Tina'],
  Stephanie: ['Steph'],
  Jessica: ['Jess'],
  Amanda: ['Mandy'],
  Olivia: ['Liv'],
  Isabella: ['Bella'],
  Madison: ['Maddie'],
  Judith: ['Judy'],
  Frances: ['Fran'],
  Virginia: ['Ginny'],
};

// ---------------------------------------------------------------------------------------------
// The region

const STATE = 'OH';
const CITIES = [
  'Millbrook',
  'Cedar Falls',
  'Riverton',
  'Ashford',
  'Fairview',
  'Lakeside',
  'Greenville',
  'Oakdale',
  'Springfield',
  'Brookhaven',
  'Hamilton',
  'Westport',
];
/** Share of households per city: one county seat, a few towns, villages. */
const CITY_WEIGHTS = [30, 14, 10, 8, 7, 6, 6, 5, 4, 4, 3, 3];
const STREET_NAMES =
  'Main Oak Maple Pine Cedar Elm Washington Park Lake Hill Church Walnut Spring North South Chestnut Lincoln Jackson Jefferson Madison Franklin Ridge Sunset Highland Center Mill River Meadow Forest Willow Cherry Locust Spruce Birch Hickory Poplar Union Market Water Adams Grant Monroe Liberty Prospect Pleasant Valley Summit Green Broad Railroad Depot School College Academy Orchard Woodland Fairway Country Club'.split(
    ' ',
  );
const STREET_TYPES = [
  ['Street', 'St'],
  ['Avenue', 'Ave'],
  ['Road', 'Rd'],
  ['Drive', 'Dr'],
  ['Lane', 'Ln'],
  ['Court', 'Ct'],
] as const;

type Address = {
  readonly number: number;
  readonly street: string;
  readonly type: number;
  readonly unit: string | null;
  readonly city: number;
  readonly postalCode: string;
};
type City = { readonly name: string; readonly postalCodes: readonly string[]; readonly streets: readonly { name: string; type: number }[] };

function buildRegion(seed: number): City[] {
  const r = rng(seed, 0xc17e);
  return CITIES.map((name, i) => {
    const size = CITY_WEIGHTS[i]!;
    const zips = Array.from({ length: size >= 10 ? 3 : size >= 6 ? 2 : 1 }, (_z, k) => String(43000 + i * 20 + k * 3 + int(r, 0, 2)));
    const streetCount = Math.max(18, Math.round(size * 4.5));
    const streets: { name: string; type: number }[] = [];
    const used = new Set<string>();
    while (streets.length < streetCount) {
      const s = { name: pick(r, STREET_NAMES), type: int(r, 0, STREET_TYPES.length - 1) };
      const key = `${s.name} ${s.type}`;
      if (!used.has(key)) {
        used.add(key);
        streets.push(s);
      }
    }
    return { name, postalCodes: zips, streets };
  });
}

// ---------------------------------------------------------------------------------------------
// People and households

export type Person = {
  readonly id: string;
  readonly household: string;
  readonly given: string;
  readonly middle: string | null;
  readonly family: string;
  /** Birth surname of someone who took (or hyphenated) a spouse's name. */
  readonly maiden: string | null;
  /** The generational suffix the person uses (Jr, Sr, II, III). */
  readonly suffix: string | null;
  readonly sex: Sex;
  readonly birthDate: string;
  readonly ssn: string | null;
  readonly cell: string | null;
  readonly parents: readonly string[];
  readonly spouse: string | null;
  readonly twin: string | null;
};

export type Household = {
  readonly id: string;
  readonly kind: string;
  readonly address: Address;
  /** Where the household lived before a move (older records keep it), or null. */
  readonly previous: Address | null;
  readonly phone: string | null;
  readonly previousPhone: string | null;
};

type MutablePerson = { -readonly [K in keyof Person]: Person[K] };

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const isoDate = (y: number, m: number, d: number): string => `${y}-${pad(m, 2)}-${pad(d, 2)}`;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const randomDate = (r: Random, year: number): string => {
  const m = int(r, 1, 12);
  return isoDate(year, m, int(r, 1, DAYS_IN_MONTH[m - 1]!));
};
const yearOf = (date: string): number => Number(date.slice(0, 4));
const phoneNumber = (r: Random): string => `${pick(r, ['330', '440', '419', '234'])}-${int(r, 201, 989)}-${pad(int(r, 0, 9999), 4)}`;

/** Adult birth years: a regional hospital's patients skew older. */
const adultYear = (r: Random): number => {
  const u = r();
  return u < 0.12 ? int(r, 1930, 1944) : u < 0.4 ? int(r, 1945, 1964) : u < 0.75 ? int(r, 1965, 1984) : int(r, 1985, 2004);
};

export type PopulationOptions = { readonly seed: number; readonly people: number };

class Builder {
  readonly people: MutablePerson[] = [];
  readonly households: Household[] = [];
  private readonly ssns = new Set<string>();
  private readonly r: Random;
  readonly region: City[];
  constructor(seed: number) {
    this.r = rng(seed, 0x9e0);
    this.region = buildRegion(seed);
  }

  ssn(): string {
    for (;;) {
      const s = `${pad(int(this.r, 1, 772), 3)}-${pad(int(this.r, 1, 99), 2)}-${pad(int(this.r, 1, 9999), 4)}`;
      if (!this.ssns.has(s)) {
        this.ssns.add(s);
        return s;
      }
    }
  }

  given(sex: Sex, year: number, avoid: readonly string[] = []): string {
    for (;;) {
      const g = draw(this.r, GIVEN[cohortOf(year)][sex]);
      if (!avoid.includes(g)) return g;
    }
  }

  /** A free address in a city (a random one when absent), on a given street or one of the city's. */
  address(cityIndex?: number, on?: { readonly name: string; readonly type: number }): Address {
    const r = this.r;
    const city = cityIndex ?? this.cityIndex();
    const c = this.region[city]!;
    // Streets of a town are not equally busy: the first ones are the long ones.
    const street = on ?? c.streets[Math.floor(c.streets.length * (chance(r, 0.5) ? r() : r() * r()))]!;
    const key = `${city}|${street.name}|${street.type}`;
    const used = this.numbers.get(key) ?? this.numbers.set(key, new Set()).get(key)!;
    let number = 0;
    for (let tries = 0; tries < 50 && (number === 0 || used.has(number)); tries++) number = int(r, 1, r() < 0.7 ? 400 : 4000);
    used.add(number);
    return {
      number,
      street: street.name,
      type: street.type,
      unit: chance(r, 0.15) ? `Apt ${int(r, 1, 24)}${pick(r, ['', 'A', 'B'])}` : null,
      city,
      postalCode: pick(r, c.postalCodes),
    };
  }
  /** House numbers taken per street: two households never share a number on one street. */
  private readonly numbers = new Map<string, Set<number>>();

  cityIndex(): number {
    let u = this.r() * CITY_WEIGHTS.reduce((s, w) => s + w, 0);
    for (let i = 0; i < CITY_WEIGHTS.length; i++) if ((u -= CITY_WEIGHTS[i]!) < 0) return i;
    return 0;
  }

  /** A new household; `from` is the home someone grew up in (older records keep that address and phone). */
  household(kind: string, address: Address, from?: Household): Household {
    const r = this.r;
    const moved = from !== undefined || chance(r, 0.14);
    const h: Household = {
      id: `h${this.households.length + 1}`,
      kind,
      address,
      previous: from ? from.address : moved ? this.address(chance(r, 0.6) ? address.city : undefined) : null,
      phone: chance(r, 0.6) ? phoneNumber(r) : null,
      previousPhone: from ? from.phone : moved && chance(r, 0.5) ? phoneNumber(r) : null,
    };
    this.households.push(h);
    this.byHousehold.set(h.id, h);
    return h;
  }
  readonly byHousehold = new Map<string, Household>();

  person(
    h: Household,
    p: Omit<MutablePerson, 'id' | 'household' | 'ssn' | 'cell' | 'middle' | 'maiden' | 'suffix' | 'spouse' | 'twin' | 'parents'> &
      Partial<MutablePerson>,
  ): MutablePerson {
    const r = this.r;
    const year = yearOf(p.birthDate);
    const person: MutablePerson = {
      id: `p${this.people.length + 1}`,
      household: h.id,
      middle: chance(r, 0.75) ? this.given(p.sex, year, [p.given]) : null,
      maiden: null,
      suffix: null,
      // Children often have no SSN on file yet; a few adults never give one.
      ssn: chance(r, year >= 2015 ? 0.7 : 0.97) ? this.ssn() : null,
      cell: year <= 2010 && chance(r, 0.8) ? phoneNumber(r) : null,
      parents: [],
      spouse: null,
      twin: null,
      ...p,
    };
    this.people.push(person);
    return person;
  }

  adult(h: Household, sex: Sex, year: number, family?: string): MutablePerson {
    return this.person(h, {
      given: this.given(sex, year),
      family: family ?? draw(this.r, SURNAMES),
      sex,
      birthDate: randomDate(this.r, year),
    });
  }

  /** A spouse of `a`: a wife takes, keeps or hyphenates the husband's surname. */
  marry(h: Household, a: MutablePerson): MutablePerson {
    const r = this.r;
    const sex: Sex = chance(r, 0.03) ? a.sex : a.sex === 'male' ? 'female' : 'male';
    const year = Math.min(2004, Math.max(1928, yearOf(a.birthDate) + Math.round((r() + r() + r() - 1.5) * 5)));
    const own = draw(r, SURNAMES);
    const b = this.adult(h, sex, year, own);
    const [husband, wife] = a.sex === 'male' ? [a, b] : [b, a];
    if (husband.sex !== wife.sex) {
      const u = r();
      if (u < 0.72) {
        wife.maiden = wife.family;
        wife.family = husband.family;
      } else if (u < 0.82) {
        wife.maiden = wife.family;
        wife.family = `${wife.family}-${husband.family}`;
      }
    }
    a.spouse = b.id;
    b.spouse = a.id;
    return b;
  }

  /** Children of the given parents born `from` onward: twins at ~3% of births, juniors, sound-alike twin names. */
  children(h: Household, parents: readonly MutablePerson[], count: number): MutablePerson[] {
    const r = this.r;
    const mother = parents.find((p) => p.sex === 'female') ?? parents[0]!;
    const father = parents.find((p) => p.sex === 'male') ?? null;
    const family = father?.family ?? (mother.maiden ? mother.family.replace(/^.*-/, '') : mother.family);
    const kids: MutablePerson[] = [];
    let year = yearOf(mother.birthDate) + int(r, 20, 32);
    while (kids.length < count && year <= 2024) {
      const twins = chance(r, 0.03);
      const names: [string, Sex][] = [];
      if (twins && chance(r, 0.5)) {
        const [g1, s1, g2, s2] = pick(r, TWIN_NAMES);
        names.push([g1, s1], [g2, s2]);
      } else
        for (let k = 0; k < (twins ? 2 : 1); k++) {
          const sex: Sex = chance(r, 0.51) ? 'male' : 'female';
          names.push([this.given(sex, year, [...kids.map((c) => c.given), ...names.map(([g]) => g)]), sex]);
        }
      const birthDate = randomDate(r, year);
      const born = names.map(([given, sex]) => {
        const kid = this.person(h, { given, family, sex, birthDate, parents: parents.map((p) => p.id) });
        // A first son named after his father: usually "Jr" (or "III" after a "Jr"), sometimes no suffix at all.
        if (father && sex === 'male' && !kids.some((c) => c.sex === 'male') && chance(r, twins ? 0.05 : 0.14)) {
          kid.given = father.given;
          kid.middle = chance(r, 0.6) ? father.middle : kid.middle;
          if (father.suffix === 'Jr' || father.suffix === 'II') kid.suffix = 'III';
          else if (chance(r, 0.75)) {
            kid.suffix = chance(r, 0.85) ? 'Jr' : 'II';
            if (chance(r, 0.35)) father.suffix = 'Sr';
          }
        } else if (sex === 'female' && kids.length === 0 && chance(r, 0.03)) kid.given = mother.given;
        return kid;
      });
      if (born.length === 2) {
        born[0]!.twin = born[1]!.id;
        born[1]!.twin = born[0]!.id;
      }
      kids.push(...born);
      year += int(r, 1, 5);
    }
    return kids;
  }

  /** A household at an address; grown children of older families settle nearby. */
  family(kind: string, address: Address): MutablePerson[] {
    const r = this.r;
    const h = this.household(kind, address);
    const members: MutablePerson[] = [];
    const adult = (sex: Sex) => this.adult(h, sex, adultYear(r));
    const headSex = (): Sex => (chance(r, 0.5) ? 'male' : 'female');
    if (kind === 'single') members.push(adult(headSex()));
    else if (kind === 'roommates') for (let k = int(r, 2, 3); k > 0; k--) members.push(this.adult(h, headSex(), int(r, 1975, 2004)));
    else if (kind === 'couple') {
      const a = adult(headSex());
      members.push(a, this.marry(h, a));
    } else if (kind === 'family' || kind === 'single-parent') {
      const a = this.adult(h, kind === 'single-parent' && chance(r, 0.8) ? 'female' : headSex(), int(r, 1950, 1998));
      const parents = kind === 'family' ? [a, this.marry(h, a)] : [a];
      members.push(...parents, ...this.children(h, parents, pick(r, [1, 1, 2, 2, 2, 3, 3, 4])));
    } else if (kind === 'multi-generation') {
      const g = this.adult(h, headSex(), int(r, 1930, 1955));
      const grand = chance(r, 0.6) ? [g, this.marry(h, g)] : [g];
      const [child] = this.children(h, grand, 1);
      if (child) {
        const parents = [child, this.marry(h, child)];
        members.push(...grand, ...parents, ...this.children(h, parents, int(r, 1, 3)));
      } else members.push(...grand);
    }
    return members;
  }

  build(target: number): void {
    const r = this.r;
    const KINDS: readonly (readonly [string, number])[] = [
      ['single', 0.27],
      ['couple', 0.25],
      ['family', 0.29],
      ['single-parent', 0.09],
      ['multi-generation', 0.07],
      ['roommates', 0.03],
    ];
    while (this.people.length < target) {
      let u = r();
      const kind = KINDS.find(([, w]) => (u -= w) < 0)?.[0] ?? 'single';
      const members = this.family(kind, this.address());
      // Grown children of an older family often live in the same town, some on the same street.
      for (const kid of members.filter((m) => m.parents.length > 0 && yearOf(m.birthDate) <= 2000 && !m.twin && !m.spouse)) {
        if (!chance(r, 0.3)) continue;
        const home = this.byHousehold.get(kid.household)!;
        const near = chance(r, 0.25)
          ? this.address(home.address.city, { name: home.address.street, type: home.address.type })
          : this.address(chance(r, 0.7) ? home.address.city : undefined);
        const h = this.household(chance(r, 0.5) ? 'couple' : 'family', near, chance(r, 0.5) ? home : undefined);
        kid.household = h.id;
        if (chance(r, 0.6)) {
          const spouse = this.marry(h, kid);
          if (chance(r, 0.6)) this.children(h, [kid, spouse], int(r, 1, 3));
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sources and their records

export const TRAPS = [
  'twins',
  'parent-child-same-name',
  'parent-child',
  'siblings',
  'spouses',
  'other-household',
  'shared-ssn',
  'common-name-same-town',
  'same-street',
  'other',
] as const;
export type Trap = (typeof TRAPS)[number];

type SourceProfile = {
  readonly name: string;
  /** Probability that a person is a patient of this source. */
  readonly coverage: number;
  /** Probability of a second registration of the same person in this source. */
  readonly duplicate: number;
  readonly ssn: number;
  readonly typo: number;
  readonly nickname: number;
  readonly phone: number;
  /** Probability that no address is sent. */
  readonly noAddress: number;
  /** Probability that a person's suffix is recorded. */
  readonly suffix: number;
  readonly upper: boolean;
  readonly abbreviate: boolean;
  readonly compactSsn: boolean;
};

export const SOURCES: readonly SourceProfile[] = [
  {
    name: 'regional-hospital',
    coverage: 0.6,
    duplicate: 0.02,
    ssn: 0.65,
    typo: 0.03,
    nickname: 0.02,
    phone: 0.9,
    noAddress: 0.01,
    suffix: 0.6,
    upper: false,
    abbreviate: false,
    compactSsn: false,
  },
  {
    name: 'university-hospital',
    coverage: 0.45,
    duplicate: 0.015,
    ssn: 0.55,
    typo: 0.05,
    nickname: 0.03,
    phone: 0.85,
    noAddress: 0.01,
    suffix: 0.5,
    upper: true,
    abbreviate: true,
    compactSsn: true,
  },
  {
    name: 'family-clinic',
    coverage: 0.3,
    duplicate: 0.03,
    ssn: 0.35,
    typo: 0.08,
    nickname: 0.12,
    phone: 0.95,
    noAddress: 0.02,
    suffix: 0.3,
    upper: false,
    abbreviate: true,
    compactSsn: false,
  },
  {
    name: 'urgent-care',
    coverage: 0.25,
    duplicate: 0.03,
    ssn: 0.25,
    typo: 0.1,
    nickname: 0.08,
    phone: 0.75,
    noAddress: 0.05,
    suffix: 0.2,
    upper: false,
    abbreviate: false,
    compactSsn: false,
  },
];

export type PopulationPatient = {
  readonly resourceType: 'Patient';
  readonly id: string;
  readonly identifier?: readonly { system: string; value: string }[];
  readonly name?: readonly { family?: string; given?: string[]; suffix?: string[] }[];
  readonly gender?: string;
  readonly birthDate?: string;
  readonly address?: readonly { line?: string[]; city?: string; state?: string; postalCode?: string; country: string }[];
  readonly telecom?: readonly { system: string; value: string; use: string }[];
};

export type PopulationRecord = {
  readonly id: string;
  readonly source: string;
  readonly person: string;
  readonly household: string;
  /** What makes this record hard: person traps (twin, junior, ...) and the errors its source made. */
  readonly traps: readonly string[];
  /** The SSN as recorded (digits only), or null. */
  readonly ssn: string | null;
  /** Street name and city of the address sent (house number aside), or null when none was sent. */
  readonly street: string | null;
  readonly patient: PopulationPatient;
};

export type Population = {
  readonly seed: number;
  readonly people: readonly Person[];
  readonly households: readonly Household[];
  readonly cities: readonly string[];
  /** Records per source, in registration (file) order. */
  readonly sources: readonly { readonly name: string; readonly records: readonly PopulationRecord[] }[];
};

const KEYBOARD_NEIGHBOURS = 'qwertyuiopasdfghjklzxcvbnm';
function typo(r: Random, s: string): string {
  if (s.length < 3) return s;
  const i = int(r, 1, s.length - 2);
  const u = r();
  if (u < 0.3) return s.slice(0, i) + s.slice(i + 1); // deletion
  if (u < 0.55) return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2); // transposition
  if (u < 0.8) return s.slice(0, i) + pick(r, [...KEYBOARD_NEIGHBOURS]) + s.slice(i + 1); // substitution
  return s.slice(0, i) + s[i] + s.slice(i); // doubled letter
}

function digitTypo(r: Random, digits: string, positions: readonly number[]): string {
  const i = pick(r, positions);
  const d = (Number(digits[i]) + int(r, 1, 9)) % 10;
  return digits.slice(0, i) + d + digits.slice(i + 1);
}

function recordBirthDate(r: Random, date: string, traps: string[]): string | undefined {
  const u = r();
  const [y, m, d] = date.split('-');
  if (u < 0.005) {
    traps.push('birth-date-missing');
    return undefined;
  }
  if (u < 0.02 && Number(d) <= 12 && d !== m) {
    traps.push('day-month-swap');
    return `${y}-${d}-${m}`;
  }
  if (u < 0.045) {
    // One digit off anywhere (a decade too: 1960 for 1990), kept only when the date exists.
    for (let k = 0; k < 5; k++) {
      const t = digitTypo(r, date, [2, 3, 5, 6, 8, 9]);
      const [ty, tm, td] = t.split('-').map(Number) as [number, number, number];
      if (t !== date && tm >= 1 && tm <= 12 && td >= 1 && td <= DAYS_IN_MONTH[tm - 1]! && ty <= 2025) {
        traps.push('birth-date-typo');
        return t;
      }
    }
  }
  return date;
}

type Registration = { readonly person: MutablePerson; readonly duplicate: boolean };

class Recorder {
  private readonly byId: Map<string, Person>;
  private readonly households: Map<string, Household>;
  private readonly people: readonly Person[];
  private readonly region: readonly City[];
  constructor(people: readonly Person[], households: readonly Household[], region: readonly City[]) {
    this.people = people;
    this.region = region;
    this.byId = new Map(people.map((p) => [p.id, p]));
    this.households = new Map(households.map((h) => [h.id, h]));
    // Parents and children who share a given name (Jr and Sr, with or without the suffix).
    for (const p of people)
      for (const id of p.parents)
        if (this.byId.get(id)!.given === p.given) {
          this.namesakes.add(p.id);
          this.namesakes.add(id);
        }
  }
  private readonly namesakes = new Set<string>();

  /** Who is registered where, each source's list shuffled into its registration order. */
  registrations(seed: number): Registration[][] {
    const r = rng(seed, 0x5e1);
    const lists: Registration[][] = SOURCES.map(() => []);
    for (const person of this.people as MutablePerson[]) {
      const inSource = SOURCES.map((s) => chance(r, s.coverage));
      if (!inSource.some(Boolean)) {
        let u = r() * SOURCES.reduce((t, s) => t + s.coverage, 0);
        inSource[SOURCES.findIndex((s) => (u -= s.coverage) < 0)] = true;
      }
      inSource.forEach((yes, i) => {
        if (!yes) return;
        lists[i]!.push({ person, duplicate: false });
        if (chance(r, SOURCES[i]!.duplicate)) lists[i]!.push({ person, duplicate: true });
      });
    }
    for (const list of lists)
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
    return lists;
  }

  private relativeSsn(p: Person, r: Random): string | null {
    // A child registered under a parent's SSN (the guarantor's), a spouse under the other's.
    const parent = p.parents.map((id) => this.byId.get(id)!).find((x) => x.ssn);
    if (parent && yearOf(p.birthDate) >= 2000 && chance(r, 0.06)) return parent.ssn;
    const spouse = p.spouse ? this.byId.get(p.spouse) : undefined;
    if (spouse?.ssn && chance(r, 0.015)) return spouse.ssn;
    return null;
  }

  record(s: SourceProfile, reg: Registration, id: string, r: Random, previousSsn: string | null): PopulationRecord {
    const p = reg.person;
    const h = this.households.get(p.household)!;
    const traps: string[] = [];
    if (p.twin) traps.push('twin');
    if (this.namesakes.has(p.id)) traps.push('junior');
    // Given and family names as this clerk typed them.
    let given = p.given;
    let family = p.family;
    if (p.maiden && chance(r, 0.12)) {
      family = p.maiden;
      traps.push('maiden-name');
    } else if (family.includes('-') && chance(r, 0.35)) {
      family = pick(r, family.split('-'));
      traps.push('hyphen-part');
    }
    const nick = NICKNAMES[given];
    if (nick && chance(r, s.nickname)) {
      given = pick(r, nick);
      traps.push('nickname');
    }
    if (chance(r, s.typo)) {
      given = typo(r, given);
      traps.push('typo-given');
    }
    if (chance(r, s.typo)) {
      family = typo(r, family);
      traps.push('typo-family');
    }
    if (p.middle && chance(r, 0.015)) {
      given = p.middle;
      traps.push('middle-as-given');
    }
    if (chance(r, 0.012)) {
      [given, family] = [family, given];
      traps.push('swapped-names');
    }
    const suffix = p.suffix && chance(r, s.suffix) ? p.suffix : null;
    if (p.suffix && !suffix) traps.push('suffix-dropped');
    const text = (v: string) => (s.upper ? v.toUpperCase() : v);
    const givenList = [text(given), ...(p.middle && chance(r, 0.35) ? [text(chance(r, 0.5) ? p.middle : p.middle[0]!)] : [])];
    // SSN: not captured, a relative's, the previous patient's, mistyped, or right.
    let ssn: string | null = null;
    if (chance(r, s.ssn)) {
      const relative = this.relativeSsn(p, r);
      if (relative) {
        ssn = relative;
        traps.push('ssn-of-relative');
      } else if (previousSsn && chance(r, 0.004)) {
        ssn = previousSsn;
        traps.push('ssn-reused');
      } else ssn = p.ssn;
      if (ssn && chance(r, 0.025)) {
        const digits = ssn.replace(/-/g, '');
        const t = chance(r, 0.5)
          ? digitTypo(r, digits, [0, 1, 2, 3, 4, 5, 6, 7, 8])
          : ((i) => digits.slice(0, i) + digits[i + 1] + digits[i] + digits.slice(i + 2))(int(r, 0, 7));
        if (t !== digits) {
          ssn = `${t.slice(0, 3)}-${t.slice(3, 5)}-${t.slice(5)}`;
          traps.push('ssn-typo');
        }
      }
    }
    if (!ssn) traps.push('ssn-missing');
    const birthDate = recordBirthDate(r, p.birthDate, traps);
    // Address and phone: the old ones on some records after a move.
    const old = h.previous !== null && chance(r, 0.45);
    if (old) traps.push('moved');
    const a = old ? h.previous! : h.address;
    const [long, short] = STREET_TYPES[a.type]!;
    let number = String(a.number);
    if (chance(r, s.typo / 2)) {
      number = digitTypo(
        r,
        number,
        [...number].map((_c, i) => i),
      );
      traps.push('typo-address');
    }
    const line = [
      text(`${number} ${a.street} ${s.abbreviate || chance(r, 0.3) ? short : long}`),
      ...(a.unit && chance(r, 0.7) ? [text(a.unit)] : []),
    ];
    const homePhone = old && h.previousPhone ? h.previousPhone : h.phone;
    const mother = p.parents.map((id) => this.byId.get(id)!).find((x) => x.sex === 'female' && x.cell);
    const candidates = [homePhone, p.cell, yearOf(p.birthDate) >= 2007 ? (mother?.cell ?? null) : null].filter(
      (x): x is string => x !== null,
    );
    const phone = candidates.length > 0 && chance(r, s.phone) ? pick(r, candidates) : null;
    const noAddress = chance(r, s.noAddress);
    if (noAddress) traps.push('address-missing');
    const patient: PopulationPatient = {
      resourceType: 'Patient',
      id,
      ...(ssn ? { identifier: [{ system: 'http://hl7.org/fhir/sid/us-ssn', value: s.compactSsn ? ssn.replace(/-/g, '') : ssn }] } : {}),
      name: [{ family: text(family), given: givenList, ...(suffix ? { suffix: [suffix] } : {}) }],
      ...(chance(r, 0.97) ? { gender: p.sex } : {}),
      ...(birthDate ? { birthDate } : {}),
      ...(noAddress
        ? {}
        : {
            address: [
              {
                line,
                city: text(this.region[a.city]!.name),
                state: STATE,
                ...(chance(r, 0.96) ? { postalCode: a.postalCode } : {}),
                country: 'US',
              },
            ],
          }),
      ...(phone ? { telecom: [{ system: 'phone', value: phone, use: phone === p.cell ? 'mobile' : 'home' }] } : {}),
    };
    if (reg.duplicate) traps.push('duplicate-registration');
    return {
      id,
      source: s.name,
      person: p.id,
      household: p.household,
      traps,
      ssn: ssn?.replace(/-/g, '') ?? null,
      street: noAddress ? null : `${a.street} ${a.type}|${a.city}`,
      patient,
    };
  }
}

/** The population for a seed: same seed, same people, same records, same order. */
export function generatePopulation(options: PopulationOptions): Population {
  const builder = new Builder(options.seed);
  builder.build(options.people);
  const people = builder.people as Person[];
  const recorder = new Recorder(people, builder.households, builder.region);
  const lists = recorder.registrations(options.seed);
  const sources = SOURCES.map((s, i) => {
    const r = rng(options.seed, 0x5ec, i);
    let previousSsn: string | null = null;
    const records = lists[i]!.map((reg, k) => {
      const rec = recorder.record(s, reg, `${s.name}-${pad(k + 1, 6)}`, r, previousSsn);
      previousSsn = rec.ssn ? `${rec.ssn.slice(0, 3)}-${rec.ssn.slice(3, 5)}-${rec.ssn.slice(5)}` : previousSsn;
      return rec;
    });
    return { name: s.name, records };
  });
  return { seed: options.seed, people, households: builder.households, cities: builder.region.map((c) => c.name), sources };
}

// ---------------------------------------------------------------------------------------------
// Attribution: what relates two different people whose records were linked

/** relation(a, b) for two record ids: the first of TRAPS that holds for their two (different) people. */
export function relationOf(population: Population): (a: string, b: string) => Trap {
  const people = new Map(population.people.map((p) => [p.id, p]));
  const households = new Map(population.households.map((h) => [h.id, h]));
  const records = new Map(population.sources.flatMap((s) => s.records.map((r) => [r.id, r] as const)));
  const homeCity = (p: Person) => households.get(p.household)!.address.city;
  return (a, b) => {
    const ra = records.get(a)!,
      rb = records.get(b)!;
    const pa = people.get(ra.person)!,
      pb = people.get(rb.person)!;
    if (pa.twin === pb.id) return 'twins';
    const parentChild = pa.parents.includes(pb.id) || pb.parents.includes(pa.id);
    if (parentChild && pa.given === pb.given) return 'parent-child-same-name';
    if (parentChild) return 'parent-child';
    if (pa.parents.some((x) => pb.parents.includes(x))) return 'siblings';
    if (pa.spouse === pb.id) return 'spouses';
    if (pa.household === pb.household) return 'other-household';
    if (ra.ssn !== null && ra.ssn === rb.ssn) return 'shared-ssn';
    if (pa.given === pb.given && pa.family === pb.family && homeCity(pa) === homeCity(pb)) return 'common-name-same-town';
    if (ra.street !== null && ra.street === rb.street) return 'same-street';
    return 'other';
  };
}

/** The records of every source in file order, as NDJSON lines. */
export const sourceLines = (population: Population): { source: string; lines: string[] }[] =>
  population.sources.map((s) => ({ source: s.name, lines: s.records.map((r) => JSON.stringify(r.patient)) }));

/** Record id -> person id. */
export const truthOf = (population: Population): Map<string, string> =>
  new Map(population.sources.flatMap((s) => s.records.map((r) => [r.id, r.person] as const)));

/** Writes <source>.ndjson per source and truth.ndjson into dir. */
export function writePopulation(population: Population, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = sourceLines(population).map(({ source, lines }) => {
    const file = join(dir, `${source}.ndjson`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  });
  const truth = population.sources.flatMap((s) =>
    s.records.map((r) => JSON.stringify({ record: r.id, source: r.source, person: r.person, household: r.household, traps: r.traps })),
  );
  writeFileSync(join(dir, 'truth.ndjson'), `${truth.join('\n')}\n`);
  return [...files, join(dir, 'truth.ndjson')];
}

export type PopulationStats = {
  readonly people: number;
  readonly households: number;
  readonly records: number;
  readonly recordsBySource: Readonly<Record<string, number>>;
  /** People by how many records they have (1, 2, 3, 4+). */
  readonly peopleByRecords: Readonly<Record<string, number>>;
  readonly truePairs: number;
  readonly twinPairs: number;
  /** People named after a parent (juniors), with or without a suffix. */
  readonly juniors: number;
  /** Records of people who have 2+ records, and the share of them without an SSN. */
  readonly duplicateRecords: number;
  readonly missingSsnAmongDuplicates: number;
  /** Records per trap tag. */
  readonly recordTraps: Readonly<Record<string, number>>;
  /** Pairs of different people with the same given and family name in one city. */
  readonly sameNameSameTownPairs: number;
};

export function populationStats(population: Population): PopulationStats {
  const records = population.sources.flatMap((s) => s.records);
  const perPerson = new Map<string, number>();
  for (const r of records) perPerson.set(r.person, (perPerson.get(r.person) ?? 0) + 1);
  const peopleByRecords: Record<string, number> = {};
  let truePairs = 0;
  for (const n of perPerson.values()) {
    const k = n >= 4 ? '4+' : String(n);
    peopleByRecords[k] = (peopleByRecords[k] ?? 0) + 1;
    truePairs += (n * (n - 1)) / 2;
  }
  const dups = records.filter((r) => perPerson.get(r.person)! > 1);
  const recordTraps: Record<string, number> = {};
  for (const r of records) for (const t of r.traps) recordTraps[t] = (recordTraps[t] ?? 0) + 1;
  const byId = new Map(population.people.map((p) => [p.id, p]));
  const homes = new Map(population.households.map((h) => [h.id, h.address.city]));
  const nameTown = new Map<string, number>();
  for (const p of population.people) {
    const k = `${p.given}|${p.family}|${homes.get(p.household)}`;
    nameTown.set(k, (nameTown.get(k) ?? 0) + 1);
  }
  let sameNameSameTownPairs = 0;
  for (const n of nameTown.values()) sameNameSameTownPairs += (n * (n - 1)) / 2;
  return {
    people: population.people.length,
    households: population.households.length,
    records: records.length,
    recordsBySource: Object.fromEntries(population.sources.map((s) => [s.name, s.records.length])),
    peopleByRecords,
    truePairs,
    twinPairs: population.people.filter((p) => p.twin !== null).length / 2,
    juniors: population.people.filter((p) => p.parents.some((id) => byId.get(id)!.given === p.given)).length,
    duplicateRecords: dups.length,
    missingSsnAmongDuplicates: dups.filter((r) => r.ssn === null).length / dups.length,
    recordTraps,
    sameNameSameTownPairs,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: '13' },
      people: { type: 'string', default: '20000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.out) {
    process.stderr.write('usage: node bench/mpi/population.ts --out DIR [--seed 13] [--people 20000]\n');
    return values.help ? 0 : 2;
  }
  const population = generatePopulation({ seed: Number(values.seed), people: Number(values.people) });
  for (const f of writePopulation(population, values.out)) process.stderr.write(`${f}\n`);
  process.stdout.write(`${JSON.stringify(populationStats(population), null, 2)}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main();
