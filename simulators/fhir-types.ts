// The little of FHIR R4's JSON shape the simulators need.
export type Coding = { system?: string; code?: string; display?: string; userSelected?: boolean };
export type CodeableConcept = { coding?: Coding[]; text?: string };
export type Identifier = { use?: string; type?: CodeableConcept; system?: string; value?: string };
export type Reference = { reference: string; display?: string };
export type FhirResource = { resourceType: string; id: string; meta?: { lastUpdated?: string }; [key: string]: unknown };
export type OperationOutcome = { resourceType: 'OperationOutcome'; issue: { severity: 'error' | 'warning'; code: string; diagnostics: string }[] };
export type Bundle = {
  resourceType: 'Bundle';
  type: 'searchset';
  total: number;
  link: { relation: string; url: string }[];
  entry: { fullUrl: string; resource: FhirResource; search: { mode: 'match' } }[];
};
