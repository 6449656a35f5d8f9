// The vendor-neutral model of the synthetic population: who a person truly is, how each site
// knows them, and what each site recorded about them. Vendors shape this into their FHIR
// (simulators/vendors/); nothing here knows an EHR's quirks. Times are epoch milliseconds.

export const VENDORS = ['epic', 'cerner'] as const;
export type Vendor = (typeof VENDORS)[number];

export type SiteSpec = { readonly id: string; readonly vendor: Vendor };

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
};

export type SiteClinical = {
  readonly encounters: readonly EncounterRecord[];
  readonly observations: readonly ObservationRecord[];
  readonly conditions: readonly ConditionRecord[];
  readonly medications: readonly MedicationRecord[];
  readonly carePlans: readonly CarePlanRecord[];
};

/** One person as one site knows them. */
export type Appearance = {
  readonly personId: string;
  readonly site: SiteSpec;
  readonly siteIndex: number;
  readonly demographics: Demographics;
  readonly discrepancy: Discrepancy | null;
  readonly clinical: SiteClinical;
  /** When the site last touched the chart (drives Patient.meta.lastUpdated). */
  readonly lastUpdated: number;
};

/** "Now" for the synthetic world: every date is before it, so output never depends on the clock. */
export const REFERENCE_TIME = Date.UTC(2026, 9, 1);
export const DAY_MS = 86_400_000;
