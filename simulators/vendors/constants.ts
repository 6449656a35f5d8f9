// The exact identifier systems, extension URLs, code systems and paths each simulated vendor uses.
// config/vendor-profiles/*.json names the same values, and the translation layer is written
// against them: change one only together with the profiles.

export const STANDARD = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  ucum: 'http://unitsofmeasure.org',
  ssn: 'http://hl7.org/fhir/sid/us-ssn',
  v20203: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  carePlanCategory: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  maritalStatus: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
  smartOauthUris: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
  restfulSecurityService: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
  v20074: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  goalAchievement: 'http://terminology.hl7.org/CodeSystem/goal-achievement',
  usCoreRace: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
  usCoreEthnicity: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity',
  cdcRace: 'urn:oid:2.16.840.1.113883.6.238',
  nullFlavor: 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor',
} as const;

export const EPIC = {
  /** FHIR base path (a real Epic: https://<host>/interconnect-fhir-oauth/api/FHIR/R4). */
  fhirPath: '/api/FHIR/R4',
  tokenPath: '/oauth2/token',
  mrnSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14',
  mrnTypeText: 'MRN',
  epiSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0',
  epiTypeText: 'EPI',
  legalSexExtension: 'http://open.epic.com/FHIR/StructureDefinition/extension/legal-sex',
  legalSexSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.130.657370.19999000',
  /** Epic-local observation codes (flowsheet rows and lab components), beside LOINC. */
  observationCodeSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282',
  /** Epic-local observation category, a second category beside the standard one. */
  observationCategorySystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.798268.30',
  /** Epic-local diagnosis (EDG) ids, beside SNOMED CT and ICD-10-CM. */
  conditionCodeSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.728286',
  /** Epic-local medication (ERX) ids, beside RxNorm. */
  medicationCodeSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.698288',
  encounterTypeSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.10110',
  /** Contact serial numbers (CSN) identify encounters. */
  encounterCsnSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.3.698084.8',
  /** Share of patients sent with the invalid capitalised gender "Female"/"Male". */
  invalidGenderShare: 0.03,
  /** The hospital's zone when the site names none: clinical date-times carry its offset, vital signs none. */
  timeZone: 'America/Chicago',
  /** Race and ethnic-group category lists of the instance, sent inside the US Core extensions. */
  raceSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.145',
  ethnicitySystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.125',
  /** Share of vital signs sent with the Epic flowsheet-row coding only (no LOINC beside it). */
  localOnlyShare: 0.1,
  /** Share of vital signs whose quantity comes without unit, code and system (the value alone). */
  missingUnitShare: 0.05,
  /** The flowsheet row of the pain score, sent beside the LOINC code the instance's build maps it to. */
  painScoreCode: '1570000056',
  painScoreLoinc: '72514-3',
} as const;

const CERNER_TENANT = 'ec2458f2-1e24-41c8-b71b-0e701af7583d';

/** Millennium code sets used beside standard codings (userSelected: true on these). */
export const CERNER_CODE_SETS = {
  /** Event codes: observation results. */
  observation: 72,
  /** Nomenclature: diagnoses and problems (ICD-10-CM via Cerner nomenclature). */
  condition: 400,
  /** Person alias types (identifier types); not used on the fixed identifier shapes. */
  aliasType: 4,
  /** Encounter types. */
  encounterType: 71,
  /** Marital status. */
  maritalStatus: 38,
  /** Race. */
  race: 282,
  /** Ethnic group. */
  ethnicity: 27,
} as const;

export const CERNER = {
  tenant: CERNER_TENANT,
  /** FHIR base path (a real Oracle Health: https://fhir-ehr.cerner.com/r4/<tenant>). */
  fhirPath: `/r4/${CERNER_TENANT}`,
  /** The token endpoint path (a real one is on authorization.cerner.com). */
  tokenPath: `/tenants/${CERNER_TENANT}/protocols/oauth2/profiles/smart-v1/token`,
  mrnSystem: 'urn:oid:2.16.840.1.113883.6.1000',
  mrnTypeText: 'MRN',
  federatedPersonSystem: 'urn:oid:2.16.840.1.113883.3.13.6',
  federatedPersonTypeText: 'Federated Person Principal',
  codeSetPrefix: `https://fhir.cerner.com/${CERNER_TENANT}/codeSet/`,
  /** Millennium order-catalog synonyms: the proprietary coding beside RxNorm. */
  medicationSynonymSystem: `https://fhir.cerner.com/${CERNER_TENANT}/synonym`,
  /** Share of Observation valueQuantity.value sent as a JSON string ("98.6"). */
  numbersAsStringsShare: 0.3,
  /** Observation id prefixes: lab results and vital signs. Every other id is all digits. */
  labIdPrefix: 'L-',
  vitalIdPrefix: 'VS-',
  /** The hospital's zone when the site names none (Millennium sends UTC, so it shows only in narratives). */
  timeZone: 'America/New_York',
  /** Share of conditions sent with the Millennium nomenclature coding only (no SNOMED CT or ICD-10-CM). */
  localOnlyShare: 0.1,
  /** Glucose is resulted in SI units (mmol/L, two decimals) on this tenant; the other vendors send mg/dL. */
  glucoseUnit: 'mmol/L',
  /** Event code of the pain score, sent before its LOINC code: in no concept map (kept, flagged unmapped). */
  painScoreCode: '2700721',
  painScoreLoinc: '72514-3',
} as const;

/** `https://fhir.cerner.com/<tenant>/codeSet/<n>` */
export const cernerCodeSet = (set: number): string => `${CERNER.codeSetPrefix}${set}`;

/**
 * athenahealth (athenaOne FHIR R4), imitated: practice-scoped ids (`a-<practice>.E-<n>` for
 * patients, `a-<practice>.<kind>-<n>` for the rest), identifiers under athenahealth's OID root
 * scoped by practice, its own lab analyte codes beside LOINC, clinical date-times as wall-clock
 * of the practice without an offset, lab results with one. See simulators/README.md.
 */
export const ATHENA = {
  fhirPath: '/fhir/r4',
  tokenPath: '/oauth2/v1/token',
  /** athenahealth's OID root (2.16.840.1.113883.3.564); the practice id follows. */
  oidRoot: 'urn:oid:2.16.840.1.113883.3.564',
  /** The simulated practice (athenaOne sandbox practices have small numeric ids). */
  practiceId: '195900',
  mrnTypeText: 'MRN',
  enterpriseTypeText: 'Enterprise ID',
  timeZone: 'America/New_York',
  /** Share of lab results sent with the analyte code only (no LOINC). */
  localOnlyShare: 0.15,
  painScoreCode: 'PAINSCORE',
} as const;

/** `urn:oid:2.16.840.1.113883.3.564.<practice>.<n>`: a practice's own code system or identifier system. */
export const athenaSystem = (n: number, practice: string = ATHENA.practiceId): string => `${ATHENA.oidRoot}.${practice}.${n}`;

export const ATHENA_SYSTEMS = {
  /** The chart number (MRN) a practice assigns. */
  mrn: athenaSystem(1),
  /** The enterprise patient id (the number in `a-<practice>.E-<n>`). */
  enterprise: athenaSystem(2),
  /** Lab analyte (result) codes of the practice's lab interface. */
  analyte: athenaSystem(10),
  /** Vital-sign keys of athenaOne's vitals flowsheet. */
  vital: athenaSystem(11),
  /** Medication ids of athenaOne's medication database. */
  medication: athenaSystem(12),
} as const;
