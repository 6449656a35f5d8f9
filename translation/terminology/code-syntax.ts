// The form of codes in the standard systems a concept map may target. A map is written by hand;
// a typo in a target code would silently attach a wrong or meaningless standard code to every
// datum it maps, so the syntax (and the check digit where the system has one) is checked at load.
// Membership cannot be checked: no npm package ships LOINC, SNOMED CT, ICD-10-CM or RxNorm.
import { STANDARD_SYSTEMS } from '../fhir-r4/standard-systems.ts';
import { sctidShape } from '../fhir-r4/validation/sctid.ts';

export const SYSTEMS = {
  ...STANDARD_SYSTEMS,
  /** CDC Race & Ethnicity code set (OMB categories and detailed codes), as US Core names it. */
  cdcRace: 'urn:oid:2.16.840.1.113883.6.238',
  administrativeGender: 'http://hl7.org/fhir/administrative-gender',
  nullFlavor: 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor',
} as const;

/** The mod-10 (Luhn) check digit LOINC and the CDC race and ethnicity codes carry after the hyphen. */
export function mod10CheckDigit(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    const d = payload.charCodeAt(payload.length - 1 - i) - 48;
    const v = i % 2 === 0 ? d * 2 : d;
    sum += v > 9 ? v - 9 : v;
  }
  return (10 - (sum % 10)) % 10;
}

const checked = (code: string): string | undefined => {
  const [payload = '', check = ''] = code.split('-');
  return mod10CheckDigit(payload) === Number(check) ? undefined : 'check digit does not match';
};

const GENDER = new Set(['male', 'female', 'other', 'unknown']);
const NULL_FLAVORS = new Set([
  'NI',
  'INV',
  'DER',
  'OTH',
  'PINF',
  'NINF',
  'UNC',
  'MSK',
  'NA',
  'UNK',
  'ASKU',
  'NAV',
  'NASK',
  'NAVU',
  'QS',
  'TRC',
  'NP',
]);

/** Why `code` cannot be a code of `system`, or undefined when its form is right (or the system is not one we know). */
export function codeSyntaxProblem(system: string, code: string): string | undefined {
  switch (system) {
    case SYSTEMS.loinc:
      // Answer (LA) and part (LP) codes have another check scheme: only their form is checked.
      if (/^L[APG]\d{1,8}-\d$/.test(code)) return undefined;
      return /^\d{1,7}-\d$/.test(code) ? checked(code) : 'not a LOINC code (digits, hyphen, check digit)';
    case SYSTEMS.snomed: {
      const shape = sctidShape(code);
      if (!shape.valid) return `not a SNOMED CT identifier (${shape.reason})`;
      return shape.kind === '0' ? undefined : 'not a SNOMED CT concept id';
    }
    case SYSTEMS.icd10cm:
      return /^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$/.test(code)
        ? undefined
        : 'not an ICD-10-CM code (letter, two characters, dot, up to four)';
    case SYSTEMS.rxnorm:
      return /^[1-9]\d{0,8}$/.test(code) ? undefined : 'not an RxNorm concept id (RXCUI digits)';
    case SYSTEMS.cvx:
      return /^\d{1,3}$/.test(code) ? undefined : 'not a CVX code (one to three digits)';
    case SYSTEMS.cpt:
      return /^\d{4}[\dFTU]$/.test(code) ? undefined : 'not a CPT code (four digits and a digit, F, T or U)';
    case SYSTEMS.cdcRace:
      return /^\d{4}-\d$/.test(code) ? checked(code) : 'not a CDC race and ethnicity code (nnnn-n)';
    case SYSTEMS.administrativeGender:
      return GENDER.has(code) ? undefined : 'not an administrative-gender code';
    case SYSTEMS.nullFlavor:
      return NULL_FLAVORS.has(code) ? undefined : 'not a v3 NullFlavor code';
    default:
      return undefined;
  }
}
