// The standard terminologies' system URIs (a leaf module: terminology and FHIR translation both use it).
export const STANDARD_SYSTEMS = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  ucum: 'http://unitsofmeasure.org',
  /** CDC vaccine codes (Immunization.vaccineCode). */
  cvx: 'http://hl7.org/fhir/sid/cvx',
  /** AMA CPT procedure codes (orders). */
  cpt: 'http://www.ama-assn.org/go/cpt',
} as const;
