// What one simulated EHR holds, already in its vendor's FHIR shape, and the interface a vendor
// module implements to produce it. Shared by the population generator, the vendor modules and the
// FHIR server.
import type {
  FhirCarePlan,
  FhirCondition,
  FhirDiagnosticReport,
  FhirEncounter,
  FhirGoal,
  FhirMedicationAdministration,
  FhirMedicationRequest,
  FhirMedicationStatement,
  FhirObservation,
  FhirPatient,
  FhirProcedure,
} from './fhir-types.ts';
import type { Appearance, Discrepancy, SiteSpec, Vendor } from './population/model.ts';

export const CLINICAL_TYPES = [
  'Observation',
  'Condition',
  'MedicationRequest',
  'CarePlan',
  'Encounter',
  'MedicationAdministration',
  'MedicationStatement',
  'Goal',
  'Procedure',
  'DiagnosticReport',
] as const;
export type ClinicalType = (typeof CLINICAL_TYPES)[number];

export type ClinicalResources = {
  readonly Observation: readonly FhirObservation[];
  readonly Condition: readonly FhirCondition[];
  readonly MedicationRequest: readonly FhirMedicationRequest[];
  readonly CarePlan: readonly FhirCarePlan[];
  readonly Encounter: readonly FhirEncounter[];
  readonly MedicationAdministration: readonly FhirMedicationAdministration[];
  readonly MedicationStatement: readonly FhirMedicationStatement[];
  readonly Goal: readonly FhirGoal[];
  readonly Procedure: readonly FhirProcedure[];
  readonly DiagnosticReport: readonly FhirDiagnosticReport[];
};

export type SiteData = {
  readonly vendor: Vendor;
  readonly patients: readonly FhirPatient[];
  /** Every clinical resource references `Patient/<id>` of one of `patients`. */
  readonly resources: ClinicalResources;
};

/** One source record of the ground truth: which person a site's patient is. */
export type TruthRow = {
  readonly personId: string;
  readonly siteId: string;
  readonly patientId: string;
  readonly mrn: string;
  /** The name/birth-date discrepancy this record carries against the person's other records, if any. */
  readonly discrepancy: Discrepancy | null;
};

export type ShapedAppearance = {
  readonly patient: FhirPatient;
  readonly mrn: string;
  readonly resources: ClinicalResources;
};

/** A vendor's shaper for one site. Stateful (id counters, its own random stream): call in a stable order. */
export type VendorShaper = { shape(appearance: Appearance): ShapedAppearance };

export type ShaperContext = {
  readonly seed: number;
  readonly site: SiteSpec;
  readonly siteIndex: number;
  /** The hospital's IANA zone: the site's, else the vendor's default. */
  readonly timeZone: string;
};
