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
  /** Clinical date-times carry the hospital's offset (US Eastern/Central standard time style). */
  utcOffset: '-05:00',
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
} as const;

/** `https://fhir.cerner.com/<tenant>/codeSet/<n>` */
export const cernerCodeSet = (set: number): string => `${CERNER.codeSetPrefix}${set}`;
