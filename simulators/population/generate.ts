// The deterministic synthetic population: persons, where each appears, how each site knows them,
// what each site recorded, shaped into each vendor's FHIR, plus the ground truth that says which
// source records are one person. Same seed, size and sites give byte-identical output.
import {
  REFERENCE_TIME,
  VENDORS,
  type Appearance,
  type Demographics,
  type Discrepancy,
  type Ethnicity,
  type Person,
  type Race,
  type SiteSpec,
} from './model.ts';
import { generatePersons, identityKey } from './persons.ts';
import { applyDiscrepancy, discrepancyOrder, siteNoise } from './discrepancies.ts';
import { healthProfile, latestActivity, siteClinical } from './clinical.ts';
import { random, type Random } from './random.ts';
import { DEFAULT_TIME_ZONES, SHAPERS } from '../vendors/index.ts';
import type { FhirPatient } from '../fhir-types.ts';
import { CLINICAL_TYPES, type ClinicalResources, type SiteData, type TruthRow } from '../site-data.ts';

export type PopulationOptions = {
  readonly seed: number;
  readonly size: number;
  /** Share of persons who appear at more than one site (default 0.4); the rest at exactly one, split evenly. */
  readonly overlapShare?: number;
  /** Share of multi-site persons whose name or birth date differs between sites (default 0.4). */
  readonly discrepancyShare?: number;
  readonly sites: readonly SiteSpec[];
};

export type Population = {
  readonly sites: Readonly<Record<string, SiteData>>;
  /** One row per source record, ordered by person then site. */
  readonly truth: readonly TruthRow[];
};

const HOUR = 3_600_000;

function validate(options: PopulationOptions): void {
  if (!Number.isSafeInteger(options.seed)) throw new Error('seed must be an integer');
  if (!Number.isSafeInteger(options.size) || options.size < 0) throw new Error('size must be a non-negative integer');
  if (options.sites.length === 0) throw new Error('at least one site is required');
  const ids = new Set(options.sites.map((s) => s.id));
  if (ids.size !== options.sites.length) throw new Error('site ids must be unique');
  for (const s of options.sites) {
    if (!/^[A-Za-z0-9._-]+$/.test(s.id)) throw new Error(`site id "${s.id}" must be [A-Za-z0-9._-]`);
    if (!VENDORS.includes(s.vendor)) throw new Error(`site ${s.id}: unknown vendor ${String(s.vendor)}`);
    if (s.timeZone !== undefined) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: s.timeZone });
      } catch {
        throw new Error(`site ${s.id}: unknown time zone ${s.timeZone}`);
      }
    }
  }
  for (const [name, share] of [
    ['overlapShare', options.overlapShare],
    ['discrepancyShare', options.discrepancyShare],
  ] as const) {
    if (share !== undefined && !(share >= 0 && share <= 1)) throw new Error(`${name} must be between 0 and 1`);
  }
}

/** Relatives (twins, Jr/Sr) are one unit: they are registered together, at the same sites. */
function units(persons: readonly Person[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < persons.length; i++) {
    const next = persons[i + 1];
    if (next && persons[i]!.relation?.of === next.id) out.push([i, ++i]);
    else out.push([i]);
  }
  return out;
}

/**
 * Which sites each person appears at. `round(size × overlapShare)` persons (give or take a
 * relative pair) appear at two or more sites; the others at one site, spread evenly.
 */
function assignSites(rng: Random, persons: readonly Person[], siteCount: number, overlapShare: number): number[][] {
  const assignment: number[][] = persons.map(() => [0]);
  if (siteCount === 1) return assignment;
  const target = Math.round(persons.length * overlapShare);
  const singles = new Array<number>(siteCount).fill(0);
  let multi = 0;
  for (const unit of rng.shuffle(units(persons))) {
    let sites: number[];
    if (multi < target && multi + unit.length <= target + 1) {
      let k = 2;
      while (k < siteCount && rng.chance(0.35)) k++;
      sites = rng
        .shuffle(Array.from({ length: siteCount }, (_, i) => i))
        .slice(0, k)
        .sort((a, b) => a - b);
      multi += unit.length;
    } else {
      const fewest = Math.min(...singles);
      const site = rng.pick(singles.flatMap((n, i) => (n === fewest ? [i] : [])));
      singles[site]! += unit.length;
      sites = [site];
    }
    for (const i of unit) assignment[i] = sites;
  }
  return assignment;
}

type Variant = { readonly demographics: Demographics; readonly discrepancy: Discrepancy | null };

/**
 * How each of a person's sites knows them. The first site has the true demographics; the others
 * get registration noise, and (for `discrepancyShare` of persons) one site gets one identity
 * discrepancy, unless every fitting kind would collide with another person's identity.
 */
function variants(rng: Random, person: Person, siteCount: number, discrepancyShare: number, taken: Map<string, string>): Variant[] {
  const out: Variant[] = [];
  const disturbed = siteCount > 1 && rng.chance(discrepancyShare) ? rng.int(1, siteCount - 1) : -1;
  for (let s = 0; s < siteCount; s++) {
    let d = s === 0 ? person.truth : siteNoise(rng, person.truth);
    // Not every registrar enters the generational suffix.
    if (d.suffix && rng.chance(0.4)) d = { ...d, suffix: null };
    let discrepancy: Discrepancy | null = null;
    if (s === disturbed) {
      for (const kind of discrepancyOrder(rng, d)) {
        const candidate = applyDiscrepancy(rng, d, kind);
        const key = identityKey(candidate);
        const owner = taken.get(key);
        if (owner !== undefined && owner !== person.id) continue;
        if (key === identityKey(person.truth)) continue;
        taken.set(key, person.id);
        d = candidate;
        discrepancy = kind;
        break;
      }
    }
    out.push({ demographics: d, discrepancy });
  }
  return out;
}

const RACE_WEIGHTS: readonly (readonly [Race, number])[] = [
  ['white', 60],
  ['black', 13],
  ['asian', 4],
  ['chinese', 1.5],
  ['asian-indian', 1.5],
  ['aian', 1],
  ['nhpi', 0.5],
  ['other', 6],
  ['multiple', 3],
  ['declined', 6],
  ['unknown', 3.5],
];
const ETHNICITY_WEIGHTS: readonly (readonly [Ethnicity, number])[] = [
  ['not-hispanic', 74],
  ['hispanic', 13],
  ['mexican', 5],
  ['declined', 5],
  ['unknown', 3],
];
const DETAILED_RACE: Readonly<Partial<Record<Race, Race>>> = { chinese: 'asian', 'asian-indian': 'asian' };

/**
 * Race and ethnicity as each site recorded them: the first site as the person reported it, the
 * others sometimes only the category, or declined. A stream of its own (the rest stays as it was).
 */
function raceAndEthnicity(seed: number, person: Person, sites: number): { race: Race; ethnicity: Ethnicity }[] {
  const rng = random(seed, 'race', person.index);
  const race = RACE_WEIGHTS[rng.weighted(RACE_WEIGHTS.map(([, w]) => w))]![0];
  const ethnicity = ETHNICITY_WEIGHTS[rng.weighted(ETHNICITY_WEIGHTS.map(([, w]) => w))]![0];
  return Array.from({ length: sites }, (_, s) => {
    if (s === 0) return { race, ethnicity };
    const declined = rng.chance(0.08);
    return {
      race: declined ? 'declined' : rng.chance(0.4) ? (DETAILED_RACE[race] ?? race) : race,
      ethnicity: declined ? 'declined' : ethnicity === 'mexican' && rng.chance(0.4) ? 'hispanic' : ethnicity,
    };
  });
}

/** Every appearance of every person, in a stable order (persons, then their sites in site order). */
export function generateAppearances(options: PopulationOptions): Appearance[] {
  validate(options);
  const persons = generatePersons(options.seed, options.size);
  const assignment = assignSites(random(options.seed, 'sites'), persons, options.sites.length, options.overlapShare ?? 0.4);
  const taken = new Map(persons.map((p) => [identityKey(p.truth), p.id]));
  const out: Appearance[] = [];
  for (const person of persons) {
    const siteIndexes = assignment[person.index]!;
    const rng = random(options.seed, 'appearance', person.index);
    const looks = variants(rng, person, siteIndexes.length, options.discrepancyShare ?? 0.4, taken);
    const profile = healthProfile(random(options.seed, 'health', person.index), person, siteIndexes.length > 1);
    const recorded = raceAndEthnicity(options.seed, person, siteIndexes.length);
    siteIndexes.forEach((siteIndex, i) => {
      const site = options.sites[siteIndex]!;
      const clinicalRng = random(options.seed, 'clinical', person.index, site.id);
      const detail = random(options.seed, 'clinical-detail', person.index, site.id);
      const clinical = siteClinical(clinicalRng, person, profile, `${person.id}:${site.id}`, detail);
      // The chart was last touched after its latest activity, sometimes much later (an address update).
      const activity = latestActivity(clinical);
      const lastUpdated = Math.min(
        REFERENCE_TIME - HOUR,
        clinicalRng.chance(0.15) ? activity + clinicalRng.int(1, 400) * 24 * HOUR : activity + clinicalRng.int(1, 72) * HOUR,
      );
      out.push({
        personId: person.id,
        site,
        siteIndex,
        demographics: looks[i]!.demographics,
        discrepancy: looks[i]!.discrepancy,
        race: recorded[i]!.race,
        ethnicity: recorded[i]!.ethnicity,
        clinical,
        lastUpdated,
      });
    });
  }
  return out;
}

export function generatePopulation(options: PopulationOptions): Population {
  const appearances = generateAppearances(options);
  const sites: Record<string, SiteData> = {};
  const truthBySite = new Map<string, TruthRow[]>();
  options.sites.forEach((site, siteIndex) => {
    const timeZone = site.timeZone ?? DEFAULT_TIME_ZONES[site.vendor];
    const shaper = SHAPERS[site.vendor]({ seed: options.seed, site, siteIndex, timeZone });
    const patients: FhirPatient[] = [];
    type Lists = { [T in keyof ClinicalResources]: ClinicalResources[T][number][] };
    const resources = Object.fromEntries(CLINICAL_TYPES.map((t) => [t, []])) as unknown as Lists;
    const truth: TruthRow[] = [];
    for (const a of appearances) {
      if (a.siteIndex !== siteIndex) continue;
      const shaped = shaper.shape(a);
      patients.push(shaped.patient);
      for (const type of CLINICAL_TYPES) (resources[type] as unknown[]).push(...shaped.resources[type]);
      truth.push({ personId: a.personId, siteId: site.id, patientId: shaped.patient.id, mrn: shaped.mrn, discrepancy: a.discrepancy });
    }
    sites[site.id] = { vendor: site.vendor, patients, resources };
    truthBySite.set(site.id, truth);
  });
  // Person order, then site order: appearances are already in that order per site; merge them.
  const rank = new Map(appearances.map((a, i) => [`${a.personId}|${a.site.id}`, i]));
  const truth = [...truthBySite.values()]
    .flat()
    .sort((x, y) => rank.get(`${x.personId}|${x.siteId}`)! - rank.get(`${y.personId}|${y.siteId}`)!);
  return { sites, truth };
}

const csvField = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** The ground truth as CSV: `person_id,site_id,patient_id,mrn,discrepancy` (empty discrepancy = none). */
export function truthToCsv(truth: readonly TruthRow[]): string {
  const rows = truth.map((t) => [t.personId, t.siteId, t.patientId, t.mrn, t.discrepancy ?? ''].map(csvField).join(','));
  return `person_id,site_id,patient_id,mrn,discrepancy\n${rows.map((r) => `${r}\n`).join('')}`;
}
