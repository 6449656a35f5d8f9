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
