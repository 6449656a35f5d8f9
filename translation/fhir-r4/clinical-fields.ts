// Where each clinical resource type keeps what the store indexes: its main code (and the standard
// systems it is mapped into), the time it is about, and its subject. One table, so HL7 v2 and
// Bulk ingestion, which produce the same FHIR shapes, index the same fields.
import { SYSTEMS } from '../terminology/code-syntax.ts';

export type FhirJson = { readonly resourceType: string; readonly id?: string; readonly [key: string]: unknown };

type Fields = {
  /** The element holding the main CodeableConcept (a first array entry when it is a list). */
  readonly code: string;
  /** Standard systems the code is mapped into, the preferred one first; empty = any. */
  readonly targets: readonly string[];
  /** Time elements tried in order; `a.b` reads a nested element (a Period's start). */
  readonly time: readonly string[];
};

const MEDICATION: Fields = {
  code: 'medicationCodeableConcept',
  targets: [SYSTEMS.rxnorm],
  time: ['effectiveDateTime', 'effectivePeriod.start', 'authoredOn', 'dateAsserted'],
};

export const CLINICAL_FIELDS = {
  Observation: {
    code: 'code',
    targets: [SYSTEMS.loinc],
    time: ['effectiveDateTime', 'effectiveInstant', 'effectivePeriod.start', 'issued'],
  },
  Condition: {
    code: 'code',
    targets: [SYSTEMS.snomed, SYSTEMS.icd10cm],
    time: ['onsetDateTime', 'onsetPeriod.start', 'recordedDate'],
  },
  MedicationRequest: MEDICATION,
  MedicationAdministration: MEDICATION,
  MedicationStatement: MEDICATION,
  CarePlan: { code: 'category', targets: [SYSTEMS.snomed], time: ['period.start', 'created'] },
  Goal: { code: 'description', targets: [SYSTEMS.snomed, SYSTEMS.loinc], time: ['startDate', 'statusDate'] },
  Procedure: { code: 'code', targets: [SYSTEMS.snomed], time: ['performedDateTime', 'performedPeriod.start'] },
  DiagnosticReport: { code: 'code', targets: [SYSTEMS.loinc], time: ['effectiveDateTime', 'effectivePeriod.start', 'issued'] },
  Encounter: { code: 'type', targets: [SYSTEMS.snomed], time: ['period.start'] },
  // An order is about when it was placed; one without authoredOn, when it is to happen.
  ServiceRequest: {
    code: 'code',
    targets: [SYSTEMS.loinc, SYSTEMS.cpt, SYSTEMS.snomed],
    time: ['authoredOn', 'occurrenceDateTime', 'occurrencePeriod.start'],
  },
  Immunization: { code: 'vaccineCode', targets: [SYSTEMS.cvx], time: ['occurrenceDateTime'] },
} as const satisfies Record<string, Fields>;

export type ClinicalResourceType = keyof typeof CLINICAL_FIELDS;

export const isClinicalType = (t: string): t is ClinicalResourceType => Object.hasOwn(CLINICAL_FIELDS, t);

const get = (r: FhirJson, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), r);

const hasSystem = (cc: unknown, systems: readonly string[]): boolean =>
  Array.isArray((cc as { coding?: unknown } | null)?.coding) &&
  (cc as { coding: { system?: unknown }[] }).coding.some((c) => systems.includes(c?.system as string));

/**
 * The main CodeableConcept and where it is (FHIRPath-like). Of a list, the first entry with a coding
 * in a target system: a CarePlan's first category is often US Core's generic `assess-plan`, which
 * would make every plan of a day look like the same fact.
 */
export function mainConcept(r: FhirJson, type: ClinicalResourceType): { readonly path: string; readonly value: unknown } | undefined {
  const { code: element, targets } = CLINICAL_FIELDS[type];
  const v = r[element];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return { path: `${type}.${element}`, value: v };
  const i = Math.max(
    0,
    v.findIndex((cc) => hasSystem(cc, targets)),
  );
  return { path: `${type}.${element}[${i}]`, value: v[i] };
}

/** The first time element present, with its path. */
export function mainTime(r: FhirJson, type: ClinicalResourceType): { readonly path: string; readonly value: string } | undefined {
  for (const path of CLINICAL_FIELDS[type].time) {
    const v = get(r, path);
    if (typeof v === 'string' && v !== '') return { path: `${type}.${path}`, value: v };
  }
  return undefined;
}

/**
 * The element saying the source withdrew the resource as a mistake: Condition's verificationStatus,
 * Goal's lifecycleStatus, every other type's status.
 */
const RETRACTION: Partial<Record<ClinicalResourceType, string>> = { Condition: 'verificationStatus', Goal: 'lifecycleStatus' };

/** The source marked the resource entered-in-error: it stays stored (lineage) and leaves every clinical view. */
export function enteredInError(r: FhirJson, type: ClinicalResourceType): boolean {
  const v = r[RETRACTION[type] ?? 'status'];
  if (v === 'entered-in-error') return true;
  const coding = (v as { coding?: unknown } | null)?.coding;
  return Array.isArray(coding) && coding.some((c) => (c as { code?: unknown } | null)?.code === 'entered-in-error');
}

/** The source patient id of `subject` (or `patient`), when it is a Patient reference (a versioned one included). */
export function subjectId(r: FhirJson): string | undefined {
  const ref = (r.subject ?? r.patient) as { reference?: unknown } | undefined;
  const m = /(?:^|\/)Patient\/([^/]+)(?:\/_history\/[^/]+)?$/.exec(typeof ref?.reference === 'string' ? ref.reference : '');
  return m?.[1];
}
