// A deterministic synthetic population. Each person has true demographics and a clinical
// profile; each appearance at a site (an EHR) may carry the realistic discrepancies registrars
// produce (nicknames, typos, married names, swapped fields, moved address, missing SSN). The
// ground truth says which source records are one person. Everything is synthetic: SSNs are in
// the never-issued 9xx area, phones in 555-01xx, emails at example.org.
import { CITIES, FAMILY, FEMALE_GIVEN, MALE_GIVEN, NICKNAMES, STREETS } from './names.ts';
import { seededRandom, type Random } from './random.ts';
import { shapeForVendor, type Vendor } from '../vendors/shape.ts';
import type { FhirResource } from '../fhir-types.ts';

export type Sex = 'female' | 'male';

export type Address = { readonly line: string; readonly city: string; readonly state: string; readonly postalCode: string };

export type Demographics = {
  readonly given: string;
  readonly middle: string | null;
  readonly family: string;
  readonly suffix: string | null;
  readonly birthDate: string;
  readonly sex: Sex;
  readonly address: Address;
  readonly phone: string;
  readonly email: string | null;
  readonly ssn: string | null;
};

export type Measurement = { readonly category: 'vital-signs' | 'laboratory'; readonly loinc: string; readonly display: string; readonly unit: string; readonly value: number; readonly effective: string };
export type Problem = { readonly snomed: string; readonly icd10: string; readonly display: string; readonly onset: string; readonly status: 'active' | 'resolved' };
export type Prescription = { readonly rxnorm: string; readonly display: string; readonly authoredOn: string; readonly status: 'active' | 'completed'; readonly dosage: string };
export type Visit = { readonly start: string; readonly end: string; readonly type: 'AMB' | 'EMER' | 'IMP' };

export type Appearance = {
  readonly personId: string;
  readonly siteId: string;
  readonly demographics: Demographics;
  readonly discrepancy: Discrepancy | null;
  readonly visits: readonly Visit[];
  readonly measurements: readonly Measurement[];
  readonly problems: readonly Problem[];
  readonly prescriptions: readonly Prescription[];
  readonly carePlan: boolean;
};

export const DISCREPANCIES = ['nickname', 'typo-family', 'married-name', 'swap', 'dob-typo'] as const;
export type Discrepancy = (typeof DISCREPANCIES)[number];

export const CLINICAL_TYPES = ['Observation', 'Condition', 'MedicationRequest', 'CarePlan', 'Encounter'] as const;
export type ClinicalType = (typeof CLINICAL_TYPES)[number];

export type SiteData = {
  readonly vendor: Vendor;
  readonly patients: readonly FhirResource[];
  readonly resources: Readonly<Record<ClinicalType, readonly FhirResource[]>>;
};

export type TruthRow = { readonly personId: string; readonly siteId: string; readonly patientId: string; readonly mrn: string; readonly discrepancy: Discrepancy | null };

export type Population = { readonly sites: Readonly<Record<string, SiteData>>; readonly truth: readonly TruthRow[] };

export type PopulationOptions = {
  readonly seed: number;
  readonly size: number;
  /** Share of persons who appear at every site (default 0.4); the others appear at one. */
  readonly overlapShare?: number;
  /** Share of multi-site persons whose name or birth date differs between sites (default 0.4). */
  readonly discrepancyShare?: number;
  readonly sites: readonly { readonly id: string; readonly vendor: Vendor }[];
};

const VITALS = [
  { loinc: '8867-4', display: 'Heart rate', unit: '/min', min: 55, max: 105, digits: 0 },
  { loinc: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', min: 100, max: 165, digits: 0 },
  { loinc: '8462-4', display: 'Diastolic blood pressure', unit: 'mm[Hg]', min: 60, max: 100, digits: 0 },
  { loinc: '8310-5', display: 'Body temperature', unit: 'Cel', min: 36.1, max: 38.4, digits: 1 },
  { loinc: '29463-7', display: 'Body weight', unit: 'kg', min: 45, max: 130, digits: 1 },
  { loinc: '8302-2', display: 'Body height', unit: 'cm', min: 150, max: 195, digits: 0 },
] as const;

const LABS = [
  { loinc: '2339-0', display: 'Glucose [Mass/volume] in Blood', unit: 'mg/dL', min: 70, max: 220, digits: 0 },
  { loinc: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', unit: '%', min: 4.8, max: 10.5, digits: 1 },
  { loinc: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', unit: 'mg/dL', min: 140, max: 290, digits: 0 },
  { loinc: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/dL', min: 10.5, max: 17.5, digits: 1 },
] as const;

const PROBLEMS = [
  { snomed: '44054006', icd10: 'E11.9', display: 'Type 2 diabetes mellitus' },
  { snomed: '38341003', icd10: 'I10', display: 'Essential hypertension' },
  { snomed: '195967001', icd10: 'J45.909', display: 'Asthma' },
  { snomed: '55822004', icd10: 'E78.5', display: 'Hyperlipidemia' },
  { snomed: '35489007', icd10: 'F32.9', display: 'Depressive disorder' },
  { snomed: '40055000', icd10: 'N18.9', display: 'Chronic kidney disease' },
  { snomed: '13645005', icd10: 'J44.9', display: 'Chronic obstructive lung disease' },
] as const;

/** Which prescriptions follow which problems (RxNorm). */
const TREATMENT: Readonly<Record<string, { rxnorm: string; display: string; dosage: string }>> = {
  '44054006': { rxnorm: '860975', display: 'metformin hydrochloride 500 MG Oral Tablet', dosage: '500 mg by mouth twice daily' },
  '38341003': { rxnorm: '314076', display: 'lisinopril 10 MG Oral Tablet', dosage: '10 mg by mouth once daily' },
  '55822004': { rxnorm: '617312', display: 'atorvastatin 10 MG Oral Tablet', dosage: '10 mg by mouth at bedtime' },
  '195967001': { rxnorm: '745679', display: 'albuterol 0.09 MG/ACTUAT Metered Dose Inhaler', dosage: '2 puffs every 4 hours as needed' },
  '13645005': { rxnorm: '745679', display: 'albuterol 0.09 MG/ACTUAT Metered Dose Inhaler', dosage: '2 puffs every 4 hours as needed' },
};

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

function birthDate(rng: Random): string {
  return `${rng.int(1930, 2020)}-${pad(rng.int(1, 12))}-${pad(rng.int(1, 28))}`;
}

function newAddress(rng: Random): Address {
  const c = rng.pick(CITIES);
  return { line: `${rng.int(10, 9899)} ${rng.pick(STREETS)}`, city: c.city, state: c.state, postalCode: `${c.zip}${rng.digits(2)}` };
}

function truePerson(rng: Random, index: number, twinOf?: Demographics): Demographics {
  const sex: Sex = rng.chance(0.5) ? 'female' : 'male';
  const given = rng.skewed(sex === 'female' ? FEMALE_GIVEN : MALE_GIVEN);
  const family = twinOf?.family ?? rng.skewed(FAMILY);
  return {
    given,
    middle: rng.chance(0.6) ? rng.pick(sex === 'female' ? FEMALE_GIVEN : MALE_GIVEN) : null,
    family,
    suffix: null,
    birthDate: twinOf?.birthDate ?? birthDate(rng),
    sex,
    address: twinOf?.address ?? newAddress(rng),
    phone: `555-01${pad(rng.int(0, 99))}`,
    email: rng.chance(0.5) ? `patient${index}@example.org` : null,
    ssn: rng.chance(0.85) ? `9${rng.digits(2)}-${rng.digits(2)}-${rng.digits(4)}` : null,
  };
}

/** A one-character typo: substitution, deletion, transposition or duplication. */
function typo(rng: Random, s: string): string {
  if (s.length < 3) return `${s}${s.at(-1) ?? 'x'}`;
  const i = rng.int(1, s.length - 2);
  switch (rng.int(0, 3)) {
    case 0: return `${s.slice(0, i)}${rng.pick([...'aeiourstln'])}${s.slice(i + 1)}`;
    case 1: return `${s.slice(0, i)}${s.slice(i + 1)}`;
    case 2: return `${s.slice(0, i)}${s[i + 1]}${s[i]}${s.slice(i + 2)}`;
    default: return `${s.slice(0, i)}${s[i]}${s.slice(i)}`;
  }
}

function dobTypo(rng: Random, date: string): string {
  const [y, m, d] = date.split('-') as [string, string, string];
  if (Number(d) <= 12 && d !== m && rng.chance(0.5)) return `${y}-${d}-${m}`; // day/month swap
  const digits = [...`${y}${m}${d}`];
  for (let attempt = 0; attempt < 10; attempt++) {
    const i = rng.int(2, 7);
    const copy = [...digits];
    copy[i] = String(rng.int(0, 9));
    const candidate = `${copy.slice(0, 4).join('')}-${copy.slice(4, 6).join('')}-${copy.slice(6).join('')}`;
    if (candidate !== date && !Number.isNaN(Date.parse(candidate)) && Number(copy.slice(4, 6).join('')) <= 12 && Number(copy.slice(6).join('')) <= 28 && Number(copy.slice(6).join('')) >= 1) return candidate;
  }
  return `${y}-${m}-${pad(((Number(d) % 28) + 1))}`;
}

function applyDiscrepancy(rng: Random, d: Demographics, kind: Discrepancy): Demographics {
  switch (kind) {
    case 'nickname': return { ...d, given: rng.pick(NICKNAMES[d.given]!) };
    case 'typo-family': return { ...d, family: typo(rng, d.family) };
    case 'married-name': return { ...d, family: rng.chance(0.5) ? `${d.family}-${rng.pick(FAMILY)}` : rng.pick(FAMILY.filter((f) => f !== d.family)) };
    case 'swap': return { ...d, given: d.family, family: d.given };
    case 'dob-typo': return { ...d, birthDate: dobTypo(rng, d.birthDate) };
  }
}

/** Discrepancies that fit this person (a nickname needs a formal name that has one, etc.). */
function possibleDiscrepancies(d: Demographics): Discrepancy[] {
  return DISCREPANCIES.filter((k) => (k === 'nickname' ? d.given in NICKNAMES : k === 'married-name' ? d.sex === 'female' : true));
}

/** Non-identity differences every site pair shows now and then: moved, new phone, no SSN, no middle name. */
function siteNoise(rng: Random, d: Demographics): Demographics {
  return {
    ...d,
    address: rng.chance(0.2) ? newAddress(rng) : d.address,
    phone: rng.chance(0.2) ? `555-01${pad(rng.int(0, 99))}` : d.phone,
    ssn: rng.chance(0.25) ? null : d.ssn,
    middle: rng.chance(0.3) ? null : d.middle,
    email: rng.chance(0.3) ? null : d.email,
  };
}

function clinicalProfile(rng: Random) {
  const problems = PROBLEMS.filter(() => rng.chance(0.22)).slice(0, 4);
  return problems.map((p) => ({ ...p, onset: `${rng.int(2005, 2024)}-${pad(rng.int(1, 12))}-${pad(rng.int(1, 28))}T${pad(rng.int(8, 17))}:${pad(rng.int(0, 59))}:00Z`, status: rng.chance(0.85) ? ('active' as const) : ('resolved' as const) }));
}

function measurement(rng: Random, when: string, shared: boolean): Measurement {
  const m = shared || rng.chance(0.6) ? rng.pick(VITALS) : rng.pick(LABS);
  return { category: (VITALS as readonly { loinc: string }[]).includes(m) ? 'vital-signs' : 'laboratory', loinc: m.loinc, display: m.display, unit: m.unit, value: round(m.min + rng.next() * (m.max - m.min), m.digits), effective: when };
}

function visitAt(rng: Random): Visit {
  const start = new Date(Date.UTC(rng.int(2019, 2025), rng.int(0, 11), rng.int(1, 28), rng.int(7, 18), rng.pick([0, 15, 30, 45])));
  const type = rng.pick(['AMB', 'AMB', 'AMB', 'EMER', 'IMP'] as const);
  const end = new Date(start.getTime() + (type === 'IMP' ? rng.int(1, 5) * 86_400_000 : rng.int(20, 180) * 60_000));
  return { start: start.toISOString(), end: end.toISOString(), type };
}

function appearance(rng: Random, personId: string, siteId: string, d: Demographics, discrepancy: Discrepancy | null, profile: Problem[], sharedMeasurements: Measurement[]): Appearance {
  const visits = Array.from({ length: rng.int(1, 3) }, () => visitAt(rng)).sort((a, b) => a.start.localeCompare(b.start));
  const own = Array.from({ length: rng.int(4, 15) - sharedMeasurements.length }, () => measurement(rng, rng.pick(visits).start, false));
  const problems = profile.filter(() => rng.chance(0.8));
  const prescriptions = problems.flatMap((p) => {
    const t = TREATMENT[p.snomed];
    return t && rng.chance(0.8) ? [{ ...t, authoredOn: p.onset.slice(0, 10), status: p.status === 'active' ? ('active' as const) : ('completed' as const) }] : [];
  }).slice(0, 3);
  return { personId, siteId, demographics: d, discrepancy, visits, measurements: [...sharedMeasurements, ...own], problems, prescriptions, carePlan: problems.length > 0 && rng.chance(0.5) };
}

/** Every appearance of every person, in a stable order (persons, then sites). */
export function generateAppearances(options: PopulationOptions): Appearance[] {
  const rng = seededRandom(options.seed);
  const overlap = options.overlapShare ?? 0.4;
  const discrepancyShare = options.discrepancyShare ?? 0.4;
  const out: Appearance[] = [];
  let previous: Demographics | undefined;
  for (let i = 0; i < options.size; i++) {
    const personId = `P${String(i + 1).padStart(6, '0')}`;
    // About 1% are twins of the previous person; 1% share a name with them as Jr/Sr.
    const kindOfRelative = previous ? rng.next() : 1;
    let person = truePerson(rng, i, kindOfRelative < 0.01 ? previous : undefined);
    if (previous && kindOfRelative >= 0.01 && kindOfRelative < 0.02 && previous.sex === 'male') {
      person = { ...person, given: previous.given, family: previous.family, sex: 'male', address: previous.address, suffix: 'Jr' };
    }
    previous = person;
    const atAll = options.sites.length > 1 && rng.chance(overlap);
    const sites = atAll ? options.sites : [options.sites[rng.int(0, options.sites.length - 1)]!];
    const profile = clinicalProfile(rng);
    const sharedWhen = visitAt(rng).start;
    const shared = atAll ? Array.from({ length: rng.int(0, 2) }, () => measurement(rng, sharedWhen, true)) : [];
    const disturbedSite = atAll && rng.chance(discrepancyShare) ? rng.int(1, sites.length - 1) : -1;
    sites.forEach((site, s) => {
      const possible = possibleDiscrepancies(person);
      const discrepancy = s === disturbedSite ? rng.pick(possible) : null;
      let d = sites.length > 1 ? siteNoise(rng, person) : person;
      if (discrepancy) d = applyDiscrepancy(rng, d, discrepancy);
      out.push(appearance(rng, personId, site.id, d, discrepancy, profile, shared));
    });
  }
  return out;
}

export function generatePopulation(options: PopulationOptions): Population {
  const appearances = generateAppearances(options);
  const sites: Record<string, SiteData> = {};
  const truth: TruthRow[] = [];
  options.sites.forEach((site, index) => {
    const shaped = shapeForVendor(site.vendor, site.id, appearances.filter((a) => a.siteId === site.id), seededRandom(options.seed * 31 + index + 1));
    sites[site.id] = shaped.site;
    truth.push(...shaped.truth);
  });
  return { sites, truth: truth.sort((a, b) => a.personId.localeCompare(b.personId) || a.siteId.localeCompare(b.siteId)) };
}

export function truthToCsv(truth: readonly TruthRow[]): string {
  return ['person_id,site_id,patient_id,mrn,discrepancy', ...truth.map((t) => [t.personId, t.siteId, t.patientId, t.mrn, t.discrepancy ?? ''].join(','))].join('\n') + '\n';
}

