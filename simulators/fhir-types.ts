// Minimal FHIR R4 types: only what the simulators produce and serve. The vendor quirks that break
// the standard on purpose are typed as such (a Quantity value sent as a string, a capitalised
// gender), so the type says what goes on the wire.

export type Coding = {
  system?: string;
  version?: string;
  code?: string;
  display?: string;
  userSelected?: boolean;
};

export type CodeableConcept = { coding?: Coding[]; text?: string };

export type Period = { start?: string; end?: string };

export type Reference = { reference?: string; type?: string; display?: string };

export type Identifier = {
  use?: 'usual' | 'official' | 'temp' | 'secondary' | 'old';
  type?: CodeableConcept;
  system?: string;
  value?: string;
  period?: Period;
};

export type Extension = {
  url: string;
  valueCodeableConcept?: CodeableConcept;
  valueCoding?: Coding;
  valueCode?: string;
  valueString?: string;
  valueUri?: string;
  extension?: Extension[];
};

export type HumanName = {
  use?: 'usual' | 'official' | 'temp' | 'nickname' | 'anonymous' | 'old' | 'maiden';
  text?: string;
  family?: string;
  given?: string[];
  prefix?: string[];
  suffix?: string[];
  period?: Period;
};

export type ContactPoint = {
  system?: 'phone' | 'fax' | 'email' | 'pager' | 'url' | 'sms' | 'other';
  value?: string;
  use?: 'home' | 'work' | 'temp' | 'old' | 'mobile';
  rank?: number;
};

export type Address = {
  use?: 'home' | 'work' | 'temp' | 'old' | 'billing';
  type?: 'postal' | 'physical' | 'both';
  text?: string;
  line?: string[];
  city?: string;
  district?: string;
  state?: string;
  postalCode?: string;
  country?: string;
  period?: Period;
};

/** FHIR says `value` is a decimal; Oracle Health sometimes sends it as a JSON string (a quirk we reproduce). */
export type Quantity = { value?: number | string; unit?: string; system?: string; code?: string };

export type Narrative = { status: 'generated' | 'extensions' | 'additional' | 'empty'; div: string };

export type Meta = { versionId?: string; lastUpdated?: string };

export type ResourceBase = {
  id: string;
  meta: Meta;
  text?: Narrative;
  extension?: Extension[];
};

export type FhirPatient = ResourceBase & {
  resourceType: 'Patient';
  identifier: Identifier[];
  active?: boolean;
  name: HumanName[];
  telecom?: ContactPoint[];
  /** Valid codes are lowercase; Epic sometimes sends "Female"/"Male" (reproduced). */
  gender?: 'male' | 'female' | 'other' | 'unknown' | 'Male' | 'Female';
  birthDate?: string;
  address?: Address[];
  maritalStatus?: CodeableConcept;
};

export type FhirObservation = ResourceBase & {
  resourceType: 'Observation';
  status: 'registered' | 'preliminary' | 'final' | 'amended' | 'corrected' | 'cancelled' | 'entered-in-error' | 'unknown';
  category: CodeableConcept[];
  code: CodeableConcept;
  subject: Reference;
  encounter?: Reference;
  effectiveDateTime: string;
  issued?: string;
  valueQuantity?: Quantity;
  referenceRange?: { low?: Quantity; high?: Quantity; text?: string }[];
};

export type FhirMedicationStatement = ResourceBase & {
  resourceType: 'MedicationStatement';
  status: 'active' | 'completed' | 'entered-in-error' | 'intended' | 'stopped' | 'on-hold' | 'unknown' | 'not-taken';
  medicationCodeableConcept: CodeableConcept;
  subject: Reference;
  context?: Reference;
  effectivePeriod?: Period;
  dateAsserted?: string;
  informationSource?: Reference;
  dosage?: { text: string }[];
};

export type FhirMedicationAdministration = ResourceBase & {
  resourceType: 'MedicationAdministration';
  status: 'in-progress' | 'not-done' | 'on-hold' | 'completed' | 'entered-in-error' | 'stopped' | 'unknown';
  medicationCodeableConcept: CodeableConcept;
  subject: Reference;
  context?: Reference;
  effectiveDateTime: string;
  dosage?: { text?: string; route?: CodeableConcept; dose?: Quantity };
};

export type FhirProcedure = ResourceBase & {
  resourceType: 'Procedure';
  status: 'preparation' | 'in-progress' | 'not-done' | 'on-hold' | 'stopped' | 'completed' | 'entered-in-error' | 'unknown';
  code: CodeableConcept;
  subject: Reference;
  encounter?: Reference;
  performedDateTime: string;
  reasonReference?: Reference[];
};

export type FhirGoal = ResourceBase & {
  resourceType: 'Goal';
  lifecycleStatus: 'proposed' | 'planned' | 'accepted' | 'active' | 'on-hold' | 'completed' | 'cancelled' | 'entered-in-error' | 'rejected';
  achievementStatus?: CodeableConcept;
  description: CodeableConcept;
  subject: Reference;
  startDate?: string;
  target?: { measure?: CodeableConcept; detailQuantity?: Quantity; dueDate?: string }[];
  addresses?: Reference[];
};

export type FhirDiagnosticReport = ResourceBase & {
  resourceType: 'DiagnosticReport';
  status:
    | 'registered'
    | 'partial'
    | 'preliminary'
    | 'final'
    | 'amended'
    | 'corrected'
    | 'appended'
    | 'cancelled'
    | 'entered-in-error'
    | 'unknown';
  category: CodeableConcept[];
  code: CodeableConcept;
  subject: Reference;
  encounter?: Reference;
  effectiveDateTime: string;
  issued?: string;
  result: Reference[];
};

export type FhirCondition = ResourceBase & {
  resourceType: 'Condition';
  clinicalStatus: CodeableConcept;
  verificationStatus: CodeableConcept;
  category: CodeableConcept[];
  code: CodeableConcept;
  subject: Reference;
  encounter?: Reference;
  onsetDateTime?: string;
  recordedDate?: string;
};

export type FhirMedicationRequest = ResourceBase & {
  resourceType: 'MedicationRequest';
  status: 'active' | 'on-hold' | 'cancelled' | 'completed' | 'entered-in-error' | 'stopped' | 'draft' | 'unknown';
  intent: 'proposal' | 'plan' | 'order' | 'original-order';
  medicationCodeableConcept: CodeableConcept;
  subject: Reference;
  encounter?: Reference;
  authoredOn: string;
  dosageInstruction: { text: string; patientInstruction?: string }[];
};

export type FhirCarePlan = ResourceBase & {
  resourceType: 'CarePlan';
  text: Narrative;
  status: 'draft' | 'active' | 'on-hold' | 'revoked' | 'completed' | 'entered-in-error' | 'unknown';
  intent: 'proposal' | 'plan' | 'order' | 'option';
  category: CodeableConcept[];
  title?: string;
  description?: string;
  subject: Reference;
  period?: Period;
  addresses?: Reference[];
  goal?: Reference[];
  activity?: { outcomeReference?: Reference[]; detail?: { status: string; code?: CodeableConcept; description?: string } }[];
};

export type FhirEncounter = ResourceBase & {
  resourceType: 'Encounter';
  identifier?: Identifier[];
  status: 'planned' | 'arrived' | 'triaged' | 'in-progress' | 'onleave' | 'finished' | 'cancelled' | 'entered-in-error' | 'unknown';
  class: Coding;
  type?: CodeableConcept[];
  subject: Reference;
  period: Period;
};

export type ClinicalResource =
  | FhirObservation
  | FhirCondition
  | FhirMedicationRequest
  | FhirMedicationAdministration
  | FhirMedicationStatement
  | FhirCarePlan
  | FhirGoal
  | FhirProcedure
  | FhirDiagnosticReport
  | FhirEncounter;
export type FhirResource = FhirPatient | ClinicalResource;

export type OperationOutcome = {
  resourceType: 'OperationOutcome';
  issue: { severity: 'fatal' | 'error' | 'warning' | 'information'; code: string; diagnostics?: string }[];
};

export type BundleLink = { relation: string; url: string };

export type Bundle = {
  resourceType: 'Bundle';
  id: string;
  meta?: Meta;
  type: 'searchset';
  total: number;
  link: BundleLink[];
  entry?: { fullUrl: string; resource: FhirResource; search: { mode: 'match' } }[];
};
