// The vendor-neutral model of the synthetic population: who a person truly is, how each site
// knows them, and what each site recorded about them. Vendors shape this into their FHIR
// (simulators/vendors/); nothing here knows an EHR's quirks. Times are epoch milliseconds.

export const VENDORS = ['epic', 'cerner', 'athenahealth'] as const;
export type Vendor = (typeof VENDORS)[number];

export type SiteSpec = {
  readonly id: string;
  readonly vendor: Vendor;
  /** IANA zone of the hospital (its local times); default the vendor's (vendors/constants.ts). */
  readonly timeZone?: string;
};

export type Sex = 'female' | 'male';
export type MaritalStatus = 'S' | 'M' | 'D' | 'W';

export type PostalAddress = {
  readonly line: readonly string[];
  readonly city: string;
  readonly state: string;
  readonly postalCode: string;
};

export type Demographics = {
  readonly given: string;
  readonly middle: string | null;
  readonly family: string;
  readonly suffix: 'Jr' | 'Sr' | null;
  /** YYYY-MM-DD */
  readonly birthDate: string;
  readonly sex: Sex;
  readonly maritalStatus: MaritalStatus;
  readonly address: PostalAddress;
  /** NNN-555-01NN: the fictional block. */
  readonly phone: string;
  readonly email: string | null;
  /** 9NN-NN-NNNN: never issued. */
  readonly ssn: string | null;
};

/** The kinds of name or birth-date difference between two appearances of one person. */
export const DISCREPANCY = {
  nickname: 'nickname',
  typoFamily: 'typo-family',
  marriedName: 'married-name',
  swap: 'swap',
  dobTypo: 'dob-typo',
  dobSwap: 'dob-swap',
} as const;
export type Discrepancy = (typeof DISCREPANCY)[keyof typeof DISCREPANCY];

/** Relatives generated as separate persons on purpose: the classic false merges. */
export type Relation = { readonly kind: 'twin' | 'junior' | 'senior'; readonly of: string };

export type Person = {
  readonly id: string;
  readonly index: number;
  readonly truth: Demographics;
  readonly relation: Relation | null;
};

export type EncounterClass = 'AMB' | 'EMER' | 'IMP';

export type EncounterRecord = { readonly key: string; readonly kind: EncounterClass; readonly start: number; readonly end: number };

export type ObservationRecord = {
  readonly key: string;
  /** LOINC code; the catalog says unit, category and display. */
  readonly loinc: string;
  /** In the catalog's canonical unit (temperature in Cel; vendors convert). */
  readonly value: number;
  readonly effective: number;
  readonly encounterKey: string | null;
  /** Recorded at more than one site (an outside result both EHRs filed): a de-duplication case. */
  readonly shared: boolean;
};

export type ConditionRecord = {
  readonly key: string;
  /** SNOMED CT code; the catalog has the ICD-10-CM code and displays. */
  readonly snomed: string;
  readonly clinicalStatus: 'active' | 'resolved' | 'inactive';
  readonly verificationStatus: 'confirmed' | 'provisional' | 'unconfirmed';
  readonly onset: number;
  readonly recorded: number;
  readonly encounterKey: string | null;
};

export type MedicationRecord = {
  readonly key: string;
  readonly rxnorm: string;
  readonly status: 'active' | 'completed' | 'stopped';
  readonly authoredOn: number;
  readonly encounterKey: string | null;
};

export type CarePlanRecord = {
  readonly key: string;
  /** Key into the care-plan catalog. */
  readonly plan: string;
  readonly status: 'active' | 'completed';
  readonly start: number;
  readonly end: number | null;
  /** Keys of the ConditionRecords the plan addresses. */
  readonly addresses: readonly string[];
  /** Keys of the GoalRecords and ProcedureRecords (its activities' outcomes) of the plan. */
  readonly goals: readonly string[];
  readonly procedures: readonly string[];
};

/** A medication the patient reports taking (reconciled at a visit): MedicationStatement. */
export type MedicationStatementRecord = {
  readonly key: string;
  readonly rxnorm: string;
  readonly status: 'active' | 'completed' | 'stopped';
  /** When the statement was taken (a visit after the order). */
  readonly asserted: number;
  /** Since when the patient takes it (the order's date). */
  readonly since: number;
  readonly encounterKey: string | null;
};

/** A dose given during an emergency or inpatient visit: MedicationAdministration. */
export type MedicationAdministrationRecord = {
  readonly key: string;
  readonly rxnorm: string;
  readonly at: number;
  readonly encounterKey: string;
};

export type ProcedureRecord = {
  readonly key: string;
  /** SNOMED CT code; the catalog has the display. */
  readonly snomed: string;
  readonly at: number;
  readonly encounterKey: string | null;
};

export type GoalRecord = {
  readonly key: string;
  /** Key into the goal catalog. */
  readonly goal: string;
  readonly lifecycle: 'active' | 'completed';
  readonly start: number;
  readonly due: number;
  /** The condition the goal addresses. */
  readonly addresses: string;
};

/** A lab report grouping the results of one draw: DiagnosticReport with result references. */
export type DiagnosticReportRecord = {
  readonly key: string;
  readonly effective: number;
  readonly issued: number;
  readonly observationKeys: readonly string[];
  readonly encounterKey: string | null;
};

/** Observations a vendor charts with its own code only (no standard code anywhere). */
export type LocalObservationRecord = {
  readonly key: string;
  /** Key into the local-observation catalog. */
  readonly concept: string;
  readonly value: number;
  readonly effective: number;
  readonly encounterKey: string;
};

export type SiteClinical = {
  readonly encounters: readonly EncounterRecord[];
  readonly observations: readonly ObservationRecord[];
  readonly conditions: readonly ConditionRecord[];
  readonly medications: readonly MedicationRecord[];
  readonly carePlans: readonly CarePlanRecord[];
  readonly medicationStatements: readonly MedicationStatementRecord[];
  readonly medicationAdministrations: readonly MedicationAdministrationRecord[];
  readonly procedures: readonly ProcedureRecord[];
  readonly goals: readonly GoalRecord[];
  readonly diagnosticReports: readonly DiagnosticReportRecord[];
  readonly localObservations: readonly LocalObservationRecord[];
};

/** Race as a registrar records it (each vendor codes it its own way). */
export const RACES = [
  'white',
  'black',
  'aian',
  'asian',
  'nhpi',
  'other',
  'chinese',
  'asian-indian',
  'multiple',
  'declined',
  'unknown',
] as const;
export type Race = (typeof RACES)[number];
export const ETHNICITIES = ['hispanic', 'not-hispanic', 'mexican', 'declined', 'unknown'] as const;
export type Ethnicity = (typeof ETHNICITIES)[number];

/** One person as one site knows them. */
export type Appearance = {
  readonly personId: string;
  readonly site: SiteSpec;
  readonly siteIndex: number;
  readonly demographics: Demographics;
  readonly race: Race;
  readonly ethnicity: Ethnicity;
  readonly discrepancy: Discrepancy | null;
  readonly clinical: SiteClinical;
  /** When the site last touched the chart (drives Patient.meta.lastUpdated). */
  readonly lastUpdated: number;
};

/** "Now" for the synthetic world: every date is before it, so output never depends on the clock. */
export const REFERENCE_TIME = Date.UTC(2026, 9, 1);
export const DAY_MS = 86_400_000;
