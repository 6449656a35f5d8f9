// Codings and quantities from vendor FHIR into canonical form: standard terminologies first,
// vendor-local codings kept after them (they are lineage, and some consumers need them).
import type { CodeableConcept, Coding, Quantity } from '../../schema/__generated__/canonical.ts';
import type { VendorProfile } from '../../platform/config.ts';
import { warning, type TranslationIssue } from '../issues.ts';
import { defaultTerminology, translateConcept, type Terminology } from '../terminology/translate.ts';

type FhirCoding = { system?: string; code?: string; display?: string };
type FhirCodeableConcept = { coding?: FhirCoding[]; text?: string };
type FhirQuantity = { value?: number | string; unit?: string; system?: string; code?: string };

export { STANDARD_SYSTEMS } from './standard-systems.ts';
import { STANDARD_SYSTEMS } from './standard-systems.ts';

const STANDARD_RANK: Readonly<Record<string, number>> = {
  [STANDARD_SYSTEMS.loinc]: 0,
  [STANDARD_SYSTEMS.snomed]: 0,
  [STANDARD_SYSTEMS.rxnorm]: 0,
  [STANDARD_SYSTEMS.icd10cm]: 1,
};

const isLocal = (system: string | undefined, profile: VendorProfile): boolean =>
  system !== undefined && profile.localCodingSystemPrefixes.some((p) => system.startsWith(p));

const rank = (c: FhirCoding, profile: VendorProfile): number =>
  c.system !== undefined && c.system in STANDARD_RANK ? (STANDARD_RANK[c.system] ?? 2) : isLocal(c.system, profile) ? 4 : 3;

/**
 * A CodeableConcept with the standard codings the concept maps give for its vendor codes added
 * (a local-only code that a map covers is not refused for lacking a standard one), standard first.
 */
export function codeableConcept(
  cc: FhirCodeableConcept | undefined,
  profile: VendorProfile,
  terminology: Terminology = defaultTerminology(),
): CodeableConcept {
  const translated = cc?.coding?.length ? (translateConcept(cc, { terminology }).coding as FhirCoding[]) : [];
  const coding: Coding[] = [...translated]
    .filter((c) => c.code !== undefined || c.display !== undefined)
    .sort((a, b) => rank(a, profile) - rank(b, profile))
    .map((c) => ({ system: c.system ?? null, code: c.code ?? null, display: c.display ?? null }));
  return { coding, text: cc?.text ?? coding[0]?.display ?? null };
}

/** True when the concept carries at least one coding that is not vendor-local. */
export const hasStandardCoding = (cc: CodeableConcept, profile: VendorProfile): boolean =>
  cc.coding.some((c) => c.system !== null && c.code !== null && !isLocal(c.system, profile));

/** A Quantity; a number sent as a string is coerced (with a warning), an unparseable one kept as null with a warning. */
export function quantity(q: FhirQuantity | undefined, path: string, issues: TranslationIssue[]): Quantity | null {
  if (!q) return null;
  let value: number | null = null;
  if (typeof q.value === 'number') value = q.value;
  else if (typeof q.value === 'string') {
    const n = Number(q.value.trim());
    if (q.value.trim() !== '' && Number.isFinite(n)) {
      value = n;
      issues.push(warning(`${path}.value`, 'number sent as a string; coerced'));
    } else issues.push(warning(`${path}.value`, 'value is not a number; kept as null'));
  }
  return { value, unit: q.unit ?? q.code ?? null, system: q.system ?? null, code: q.code ?? null };
}
