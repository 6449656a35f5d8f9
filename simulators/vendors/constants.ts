// Identifier systems and extension URLs each simulated vendor uses. config/vendor-profiles/*.json
// names the same values: the translation layer knows vendors only through those profiles.
export const EPIC = {
  mrnSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14',
  epiSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0',
  legalSexExtension: 'http://open.epic.com/FHIR/StructureDefinition/extension/legal-sex',
  legalSexSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.130.657370.19999000',
  observationCodeSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282',
  observationCategorySystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.798268.30',
  fhirPath: '/api/FHIR/R4',
  /** Share of patients with the invalid capitalized gender Epic sends in some records. */
  invalidGenderShare: 0.03,
} as const;

export const CERNER = {
  tenant: 'ec2458f2-1e24-41c8-b71b-0e701af7583d',
  mrnSystem: 'urn:oid:2.16.840.1.113883.6.1000',
  federatedPersonSystem: 'urn:oid:2.16.840.1.113883.3.13.6',
  codeSet: (set: number) => `https://fhir.cerner.com/${CERNER.tenant}/codeSet/${set}`,
  fhirPath: `/r4/ec2458f2-1e24-41c8-b71b-0e701af7583d`,
  /** Share of Observation values written as JSON strings. */
  numbersAsStringsShare: 0.3,
} as const;

export const STANDARD = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  ucum: 'http://unitsofmeasure.org',
  ssn: 'http://hl7.org/fhir/sid/us-ssn',
  v20203: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
} as const;
