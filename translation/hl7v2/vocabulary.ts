// The HL7 v2-to-FHIR IG's concept maps this translation needs, copied from its mapping tables
// (v2-to-fhir mappings/codesystems, "HL7 Concept Map_ <name>"). Small and stable: kept in code
// so translation has no file to read; codes the IG leaves unmapped are absent (the caller decides).

/** v2-0001 AdministrativeSex -> FHIR AdministrativeGender (A and N are `other` per the IG). */
export const ADMINISTRATIVE_SEX: Readonly<Record<string, string>> = {
  F: 'female',
  M: 'male',
  O: 'other',
  U: 'unknown',
  A: 'other',
  N: 'other',
};

/** v2-0200 NameType -> FHIR name-use. */
export const NAME_USE: Readonly<Record<string, string>> = {
  BAD: 'old',
  D: 'usual',
  L: 'official',
  M: 'maiden',
  MSK: 'anonymous',
  N: 'nickname',
  NAV: 'temp',
  R: 'official',
  TEMP: 'temp',
};

/** v2-0201 TelecommunicationUseCode -> FHIR contact-point-use. */
export const TELECOM_USE: Readonly<Record<string, string>> = { PRN: 'home', WPN: 'work', PRS: 'mobile' };

/** v2-0202 TelecommunicationEquipmentType -> FHIR contact-point-system (CP is a phone whose use is mobile). */
export const TELECOM_EQUIPMENT: Readonly<Record<string, string>> = {
  PH: 'phone',
  FX: 'fax',
  MD: 'other',
  CP: 'phone',
  SAT: 'other',
  BP: 'pager',
  Internet: 'email',
  'X.400': 'email',
  TDD: 'other',
  TTY: 'other',
};

/** v2-0190 AddressType -> FHIR address-use; M and SH go to Address.type (postal). */
export const ADDRESS_USE: Readonly<Record<string, string>> = { BA: 'old', BI: 'billing', C: 'temp', B: 'work', H: 'home', O: 'work' };
export const ADDRESS_TYPE: Readonly<Record<string, string>> = { M: 'postal', SH: 'postal' };

/** v2-0002 MaritalStatus -> v3 MaritalStatus (or v3 NullFlavor for U, O, T). */
const V3_MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';
const V3_NULL = 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor';
export const MARITAL_STATUS: Readonly<Record<string, { readonly code: string; readonly system: string }>> = {
  ...Object.fromEntries(
    Object.entries({ A: 'L', D: 'D', M: 'M', S: 'S', W: 'W', C: 'C', G: 'T', P: 'T', R: 'T', E: 'L', N: 'A', I: 'I', B: 'U' }).map(
      ([v2, code]) => [v2, { code, system: V3_MARITAL }],
    ),
  ),
  U: { code: 'UNK', system: V3_NULL },
  O: { code: 'OTH', system: V3_NULL },
  T: { code: 'NAVU', system: V3_NULL },
};

/**
 * v2-0085 ObservationResultStatus -> FHIR observation-status. X (cannot be obtained) is
 * `cancelled`; D and W (deleted, wrong patient) are `entered-in-error`. Unmapped codes (I, N, O, R, S, U, V, B) are absent.
 */
export const OBSERVATION_STATUS: Readonly<Record<string, string>> = {
  A: 'amended',
  C: 'corrected',
  D: 'entered-in-error',
  F: 'final',
  P: 'preliminary',
  X: 'cancelled',
  W: 'entered-in-error',
};

/** v2-0123 ResultStatus (OBR-25) -> FHIR diagnostic-report-status. */
export const REPORT_STATUS: Readonly<Record<string, string>> = {
  O: 'registered',
  I: 'registered',
  S: 'registered',
  A: 'partial',
  P: 'preliminary',
  C: 'corrected',
  R: 'partial',
  F: 'final',
  X: 'cancelled',
};

/** v2-0004 PatientClass -> Encounter.class (v3 ActCode where the IG maps one, else v2-0004 itself). */
export const PATIENT_CLASS: Readonly<Record<string, { readonly code: string; readonly system: string; readonly display: string }>> = {
  E: { code: 'EMER', system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', display: 'emergency' },
  I: { code: 'IMP', system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', display: 'inpatient encounter' },
  O: { code: 'AMB', system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', display: 'ambulatory' },
  P: { code: 'PRENC', system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', display: 'pre-admission' },
};

/** v2-0078 interpretation codes keep their code in the v2 table's FHIR system (the IG maps 0078 to v3 ObservationInterpretation). */
export const INTERPRETATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

/**
 * Coding system names of CWE.3 (v2-0396) -> FHIR system URIs; an HL7nnnn table is
 * http://terminology.hl7.org/CodeSystem/v2-nnnn. Names not listed keep a urn of their own (codingSystem()).
 */
export const CODING_SYSTEMS: Readonly<Record<string, string>> = {
  LN: 'http://loinc.org',
  LOINC: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  SNM: 'http://snomed.info/sct',
  SNOMED: 'http://snomed.info/sct',
  'SNOMED-CT': 'http://snomed.info/sct',
  SNOMEDCT: 'http://snomed.info/sct',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  I10C: 'http://hl7.org/fhir/sid/icd-10-cm',
  'ICD-10-CM': 'http://hl7.org/fhir/sid/icd-10-cm',
  ICD10CM: 'http://hl7.org/fhir/sid/icd-10-cm',
  I9C: 'http://hl7.org/fhir/sid/icd-9-cm',
  I9CDX: 'http://hl7.org/fhir/sid/icd-9-cm',
  RXNORM: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  RXN: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  CVX: 'http://hl7.org/fhir/sid/cvx',
  MVX: 'http://terminology.hl7.org/CodeSystem/MVX',
  NDC: 'http://hl7.org/fhir/sid/ndc',
  CPT: 'http://www.ama-assn.org/go/cpt',
  C4: 'http://www.ama-assn.org/go/cpt',
  UCUM: 'http://unitsofmeasure.org',
  NUCC: 'http://nucc.org/provider-taxonomy',
  CDCREC: 'urn:oid:2.16.840.1.113883.6.238',
  ISO3166_1: 'urn:iso:std:iso:3166',
  ISO3166_2: 'urn:iso:std:iso:3166:-2',
  ISO639: 'urn:ietf:bcp:47',
  'ISO+': 'http://unitsofmeasure.org',
};

/** Identifier types (v2-0203) whose values have a well-known FHIR system when no authority is sent. */
export const WELL_KNOWN_IDENTIFIER_SYSTEMS: Readonly<Record<string, string>> = {
  SS: 'http://hl7.org/fhir/sid/us-ssn',
};

export const V2_TABLE = (table: string): string => `http://terminology.hl7.org/CodeSystem/v2-${table}`;

/** v2-0038 OrderStatus (ORC-5) -> FHIR request-status (the IG's OrderStatus map); it wins over ORC-1 when sent. */
export const ORDER_STATUS: Readonly<Record<string, string>> = {
  A: 'active',
  CA: 'revoked',
  CM: 'completed',
  DC: 'revoked',
  ER: 'entered-in-error',
  HD: 'on-hold',
  IP: 'active',
  RP: 'revoked',
  SC: 'active',
};

/**
 * v2-0119 OrderControl (ORC-1) -> FHIR request-status (the IG's OrderControlCode map): a new or
 * accepted order is active, a cancel or discontinue revokes it, a hold holds it. Others are absent (unknown).
 */
export const ORDER_CONTROL_STATUS: Readonly<Record<string, string>> = {
  NW: 'active',
  OK: 'active',
  SC: 'active',
  XO: 'active',
  XX: 'active',
  RL: 'active',
  RE: 'active',
  PA: 'active',
  CH: 'active',
  CA: 'revoked',
  CR: 'revoked',
  OC: 'revoked',
  DC: 'revoked',
  DR: 'revoked',
  OD: 'revoked',
  HD: 'on-hold',
  HR: 'on-hold',
  OH: 'on-hold',
};

/** NIP001 RXA-20 CompletionStatus -> Immunization.status: refused and not administered are `not-done`. */
export const COMPLETION_STATUS: Readonly<Record<string, string>> = { CP: 'completed', PA: 'completed', RE: 'not-done', NA: 'not-done' };

/** CDC's IIS guide: an administered amount of 999 means the amount is unknown (no dose is stated). */
export const UNKNOWN_AMOUNT = '999';
