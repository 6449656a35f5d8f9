// HIPAA Safe Harbor (45 CFR 164.514(b)(2)) for the de-identified view of a patient, and the
// small-cell rule for the counts analysts receive. Owned with the other policies by the security
// team: every rule is a small pure function of a value (and of the configuration in
// config/safe-harbor.json), used by the MPI resolvers for what they show and, through the
// parameters below, by the cohort query for what a filter matches, so that a filter can never
// select finer than the view shows.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../platform/config.ts';

export type SafeHarborConfig = {
  /** Counts from 1 to minimumCount - 1 are withheld from de-identified callers (with their page). */
  readonly minimumCount: number;
  /** Three-digit ZIP prefixes of areas with 20,000 people or fewer: shown as `000`. */
  readonly restrictedZip3: ReadonlySet<string>;
};

/** Ages over 89 are aggregated into one "90 or older" category. */
export const OLDEST_SHOWN_AGE = 89;
/** What a three-digit ZIP prefix of a small area becomes. */
export const SUPPRESSED_ZIP3 = '000';

/**
 * The latest birth year of the "90 or older" category in `currentYear`: everyone born in or before
 * it is 90 or turns 90 this year. Whole years only, so the category changes once a year: deciding
 * by the exact birthday would move a patient into it on their 90th birthday, and watching the day
 * they move would reveal their birth date.
 */
export const oldestCategoryBirthYear = (currentYear: number): number => currentYear - OLDEST_SHOWN_AGE - 1;

/** The year of a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD), or null. */
export function yearOf(birthDate: string | null | undefined): number | null {
  const m = /^(\d{4})/.exec(birthDate ?? '');
  return m ? Number(m[1]) : null;
}

/** Whether the patient is in the "90 or older" category; null when the birth date is unknown. */
export function ageOver89(birthDate: string | null | undefined, currentYear: number): boolean | null {
  const year = yearOf(birthDate);
  return year === null ? null : year <= oldestCategoryBirthYear(currentYear);
}

/** The birth year the de-identified view shows: null when unknown or when it would reveal an age over 89. */
export function deidentifiedBirthYear(birthDate: string | null | undefined, currentYear: number): number | null {
  const year = yearOf(birthDate);
  return year === null || year <= oldestCategoryBirthYear(currentYear) ? null : year;
}

/** The three-digit ZIP prefix the de-identified view shows: `000` for small areas, null when there is no US ZIP. */
export function deidentifiedZip3(postalCode: string | null | undefined, restricted: ReadonlySet<string>): string | null {
  const m = /^(\d{3})\d{2}(?:-?\d{4})?$/.exec(postalCode?.trim() ?? '');
  if (!m) return null;
  return restricted.has(m[1]!) ? SUPPRESSED_ZIP3 : m[1]!;
}

/** A count as a de-identified caller may see it: null (withheld) from 1 to minimumCount - 1; zero and larger counts as they are. */
export function deidentifiedCount(count: number, minimumCount: number): number | null {
  return count > 0 && count < minimumCount ? null : count;
}

type SafeHarborFile = { minimumCount?: unknown; restrictedZip3?: { prefixes?: unknown } };

/** Checks and loads config/safe-harbor.json (or SAFE_HARBOR_FILE). */
export function loadSafeHarbor(
  file = process.env.SAFE_HARBOR_FILE ?? resolve(PROJECT_ROOT, 'config', 'safe-harbor.json'),
): SafeHarborConfig {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as SafeHarborFile;
  const { minimumCount } = raw;
  if (typeof minimumCount !== 'number' || !Number.isInteger(minimumCount) || minimumCount < 1)
    throw new Error(`${file}: minimumCount must be a positive integer`);
  const prefixes = raw.restrictedZip3?.prefixes;
  if (!Array.isArray(prefixes) || !prefixes.every((p) => typeof p === 'string' && /^\d{3}$/.test(p)))
    throw new Error(`${file}: restrictedZip3.prefixes must be a list of three-digit strings`);
  return { minimumCount, restrictedZip3: new Set(prefixes as string[]) };
}

// FHIR resources for de-identified exports (analysts). Allow-lists, not deny-lists: an element not
// named here (names, identifiers, addresses, free text, notes, performers, references to other
// resources, narrative) never leaves, whatever a source sends. Dates are cut to the year.

type Json = { readonly [key: string]: unknown };
type Resource = Json & { readonly resourceType: string };

/** Where the de-identified view puts the "90 or older" category on a Patient resource. */
export const AGE_OVER_89_EXTENSION = 'urn:patient-gateway:fhir:age-over-89';

/** A de-identified FHIR Patient: the id the de-identified view shows, gender, birth year, three-digit ZIP, the 90+ category. */
export function deidentifiedPatientResource(
  p: { readonly id: string; readonly gender: string | null; readonly birthDate: string | null; readonly postalCode: string | null },
  currentYear: number,
  restricted: ReadonlySet<string>,
): Resource {
  const year = deidentifiedBirthYear(p.birthDate, currentYear);
  const over89 = ageOver89(p.birthDate, currentYear);
  const zip3 = deidentifiedZip3(p.postalCode, restricted);
  return {
    resourceType: 'Patient',
    id: p.id,
    ...(over89 === null ? {} : { extension: [{ url: AGE_OVER_89_EXTENSION, valueBoolean: over89 }] }),
    ...(p.gender ? { gender: p.gender } : {}),
    ...(year === null ? {} : { birthDate: String(year) }),
    ...(zip3 === null ? {} : { address: [{ postalCode: zip3, country: 'US' }] }),
  };
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const defined = (o: Record<string, unknown>): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** A Coding's system, code and display (a code's display is terminology, not the patient's words). */
const coding = (c: unknown): Json | undefined =>
  isObject(c) && text(c.code) ? defined({ system: text(c.system), code: text(c.code), display: text(c.display) }) : undefined;
/** A CodeableConcept's codings only: its `text` is free text. */
function concept(v: unknown): Json | undefined {
  const codings = isObject(v) && Array.isArray(v.coding) ? v.coding.map(coding).filter((c) => c !== undefined) : [];
  return codings.length > 0 ? { coding: codings } : undefined;
}
const concepts = (v: unknown): Json[] | undefined => {
  const list = (Array.isArray(v) ? v : [v]).map(concept).filter((c) => c !== undefined);
  return list.length > 0 ? list : undefined;
};
const quantity = (v: unknown): Json | undefined =>
  isObject(v) && typeof v.value === 'number'
    ? defined({ value: v.value, comparator: text(v.comparator), unit: text(v.unit), system: text(v.system), code: text(v.code) })
    : undefined;
/** The year of a FHIR date, dateTime or instant (a dateTime of precision year). */
const year = (v: unknown): string | undefined => /^(\d{4})/.exec(text(v) ?? '')?.[1];
const period = (v: unknown): Json | undefined => {
  if (!isObject(v)) return undefined;
  const out = defined({ start: year(v.start), end: year(v.end) });
  return Object.keys(out).length > 0 ? out : undefined;
};
const code = (v: unknown): string | undefined => (typeof v === 'string' && /^[^\s]+(\s[^\s]+)*$/.test(v) ? v : undefined);

/** An element withheld (FHIR data-absent-reason `masked`). */
const MASKED = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'masked' }] };

/** Single CodeableConcept elements kept as codings, per resource type (besides `code`, `category`, statuses). */
const SINGLE_CONCEPTS = [
  'code',
  'clinicalStatus',
  'verificationStatus',
  'medicationCodeableConcept',
  'vaccineCode',
  'description',
  'valueCodeableConcept',
  'achievementStatus',
] as const;
/** CodeableConcept elements that are lists on some types and single on others. */
const LIST_CONCEPTS = ['category', 'type', 'interpretation', 'reasonCode'] as const;
const STATUS_CODES = ['status', 'intent', 'lifecycleStatus'] as const;
/** dateTime elements (cut to the year) and Period elements (each end cut to the year). */
const DATES = ['effectiveDateTime', 'onsetDateTime', 'abatementDateTime', 'recordedDate', 'authoredOn', 'dateAsserted', 'created'] as const;
const DATE_ONLY = ['startDate', 'statusDate'] as const;
const PERIODS = ['effectivePeriod', 'onsetPeriod', 'period', 'performedPeriod', 'occurrencePeriod'] as const;
/** Resource types whose subject element is `patient` rather than `subject`. */
const PATIENT_ELEMENT: ReadonlySet<string> = new Set(['Immunization']);

/**
 * A de-identified clinical resource: codes, statuses, values and years, about `Patient/<patientId>`
 * (the de-identified view's id), under the id given (not the source's). Instants (effectiveInstant,
 * performedDateTime, occurrenceDateTime, issued) become years of dateTime elements where R4 allows one.
 */
export function deidentifiedClinicalResource(resource: Resource, id: string, patientId: string): Resource {
  const r = resource as Json;
  const out: Record<string, unknown> = { resourceType: resource.resourceType, id };
  for (const k of STATUS_CODES) out[k] = code(r[k]);
  // A required concept the source gave as free text only (Goal.description, say) is kept as masked, never as its text.
  for (const k of SINGLE_CONCEPTS) out[k] = r[k] === undefined ? undefined : (concept(r[k]) ?? MASKED);
  // Kept with the cardinality the source used (category is a list on most types, one concept on Procedure).
  for (const k of LIST_CONCEPTS) out[k] = Array.isArray(r[k]) ? concepts(r[k]) : concept(r[k]);
  // Encounter.class is a Coding; MedicationRequest.intent etc. are codes (above).
  if (resource.resourceType === 'Encounter') out.class = r.class === undefined ? undefined : (coding(r.class) ?? MASKED);
  out.valueQuantity = quantity(r.valueQuantity);
  if (typeof r.valueBoolean === 'boolean') out.valueBoolean = r.valueBoolean;
  if (typeof r.valueInteger === 'number') out.valueInteger = r.valueInteger;
  for (const k of DATES) out[k] = year(r[k]);
  for (const k of DATE_ONLY) out[k] = year(r[k]);
  for (const k of PERIODS) out[k] = period(r[k]);
  if (r.effectiveInstant !== undefined) out.effectiveDateTime ??= year(r.effectiveInstant);
  if (r.performedDateTime !== undefined) out.performedDateTime = year(r.performedDateTime);
  if (r.occurrenceDateTime !== undefined) out.occurrenceDateTime = year(r.occurrenceDateTime);
  out[PATIENT_ELEMENT.has(resource.resourceType) ? 'patient' : 'subject'] = { reference: `Patient/${patientId}` };
  return defined(out) as Resource;
}
