// Vendor FHIR R4 clinical resources to canonical types. Pure functions: the vendor profile and
// the connection's context come in, a graded result goes out. A resource without a usable
// standard code or subject is an error (quarantined by the caller), never a silent drop.
import type {
  CodeableConcept,
  Condition,
  Immunization,
  MedicationRequest,
  Observation,
  Provenance,
  ServiceRequest,
} from '../../schema/__generated__/canonical.ts';
import type { VendorProfile } from '../../platform/config.ts';
import { error, result, warning, type TranslationIssue, type Translated } from '../issues.ts';
import { toInstant } from '../time.ts';
import { codeableConcept, hasStandardCoding, quantity } from './codes.ts';

export type SourceContext = {
  readonly source: string;
  readonly profile: VendorProfile;
  readonly timeZone: string;
  readonly retrievedAt: string;
};

type Resource = { resourceType: string; id?: string; [key: string]: unknown };
type Cc = { coding?: { system?: string; code?: string; display?: string }[]; text?: string };

/** The patient id a clinical resource refers to (`subject` or `patient`), or undefined. */
export function subjectPatientId(resource: Resource): string | undefined {
  const ref = (resource.subject ?? resource.patient) as { reference?: string } | undefined;
  const m = /(?:^|\/)Patient\/([^/]+)$/.exec(ref?.reference ?? '');
  return m?.[1];
}

const provenance = (r: Resource, ctx: SourceContext): Provenance => ({
  source: ctx.source,
  resourceType: r.resourceType,
  resourceId: r.id ?? '',
  retrievedAt: ctx.retrievedAt,
});

/** Checks shared by every clinical resource: an id, a subject, and the expected type. */
function common(r: Resource, type: string, issues: TranslationIssue[]): void {
  if (r.resourceType !== type) issues.push(error('resourceType', `expected ${type}`));
  if (!r.id) issues.push(error(`${type}.id`, 'missing id'));
  if (!subjectPatientId(r)) issues.push(error(`${type}.subject`, 'missing or unresolvable patient reference'));
}

function instant(value: unknown, path: string, ctx: SourceContext, issues: TranslationIssue[]): string | null {
  if (value === undefined || value === null) return null;
  const v = typeof value === 'string' ? toInstant(value, ctx.timeZone) : undefined;
  if (v === undefined) issues.push(warning(path, 'unparseable date; kept as null'));
  return v ?? null;
}

/**
 * A resource translated and graded: the shared checks, then its standard coding (a vendor-local
 * code alone is refused: nothing could match it across sources).
 */
function graded<T>(
  r: Resource,
  ctx: SourceContext,
  type: string,
  value: (r: Resource, ctx: SourceContext, issues: TranslationIssue[]) => T,
  code: (v: T) => CodeableConcept,
  element: string,
): Translated<T> {
  const issues: TranslationIssue[] = [];
  common(r, type, issues);
  const v = value(r, ctx, issues);
  if (!hasStandardCoding(code(v), ctx.profile)) issues.push(error(`${type}.${element}`, 'no standard (non vendor-local) coding'));
  return result(v, issues);
}

const statusCode = (cc: unknown): string | null => (cc as Cc | undefined)?.coding?.[0]?.code ?? null;

function observationValue(r: Resource, ctx: SourceContext, issues: TranslationIssue[]): Observation {
  return {
    id: `${ctx.source}:${r.id ?? ''}`,
    status: (r.status as string | undefined) ?? null,
    category: ((r.category as Cc[] | undefined) ?? []).map((c) => codeableConcept(c, ctx.profile)),
    code: codeableConcept(r.code as Cc | undefined, ctx.profile),
    effective: instant(
      r.effectiveDateTime ?? (r.effectivePeriod as { start?: string } | undefined)?.start ?? r.effectiveInstant,
      'Observation.effective',
      ctx,
      issues,
    ),
    valueQuantity: quantity(r.valueQuantity as never, 'Observation.valueQuantity', issues),
    valueString: (r.valueString as string | undefined) ?? null,
    valueCodeableConcept: r.valueCodeableConcept ? codeableConcept(r.valueCodeableConcept as Cc, ctx.profile) : null,
    provenance: provenance(r, ctx),
  };
}

export const observation = (r: Resource, ctx: SourceContext): Translated<Observation> =>
  graded(r, ctx, 'Observation', observationValue, (v) => v.code, 'code');

function conditionValue(r: Resource, ctx: SourceContext, issues: TranslationIssue[]): Condition {
  return {
    id: `${ctx.source}:${r.id ?? ''}`,
    clinicalStatus: statusCode(r.clinicalStatus),
    verificationStatus: statusCode(r.verificationStatus),
    code: codeableConcept(r.code as Cc | undefined, ctx.profile),
    onset: instant(r.onsetDateTime, 'Condition.onset', ctx, issues),
    recordedDate: instant(r.recordedDate, 'Condition.recordedDate', ctx, issues),
    provenance: provenance(r, ctx),
  };
}

export const condition = (r: Resource, ctx: SourceContext): Translated<Condition> =>
  graded(r, ctx, 'Condition', conditionValue, (v) => v.code, 'code');

function medicationRequestValue(r: Resource, ctx: SourceContext, issues: TranslationIssue[]): MedicationRequest {
  const dosage = (r.dosageInstruction as { text?: string }[] | undefined)?.[0];
  return {
    id: `${ctx.source}:${r.id ?? ''}`,
    status: (r.status as string | undefined) ?? null,
    intent: (r.intent as string | undefined) ?? null,
    medication: codeableConcept(r.medicationCodeableConcept as Cc | undefined, ctx.profile),
    authoredOn: instant(r.authoredOn, 'MedicationRequest.authoredOn', ctx, issues),
    dosageText: dosage?.text ?? null,
    provenance: provenance(r, ctx),
  };
}

export const medicationRequest = (r: Resource, ctx: SourceContext): Translated<MedicationRequest> =>
  graded(r, ctx, 'MedicationRequest', medicationRequestValue, (v) => v.medication, 'medication');

/** Placer and filler numbers as `PLAC value` / `FILL value` (v2-0203 type and value; other identifiers are not order numbers). */
function orderNumbers(r: Resource): string[] {
  return ((r.identifier as { value?: string; type?: Cc }[] | undefined) ?? []).flatMap((i) => {
    const type = statusCode(i.type);
    return i.value && (type === 'PLAC' || type === 'FILL') ? [`${type} ${i.value}`] : [];
  });
}

function serviceRequestValue(r: Resource, ctx: SourceContext, issues: TranslationIssue[]): ServiceRequest {
  return {
    id: `${ctx.source}:${r.id ?? ''}`,
    status: (r.status as string | undefined) ?? null,
    intent: (r.intent as string | undefined) ?? null,
    code: codeableConcept(r.code as Cc | undefined, ctx.profile),
    authoredOn: instant(r.authoredOn, 'ServiceRequest.authoredOn', ctx, issues),
    orderNumbers: orderNumbers(r),
    provenance: provenance(r, ctx),
  };
}

export const serviceRequest = (r: Resource, ctx: SourceContext): Translated<ServiceRequest> =>
  graded(r, ctx, 'ServiceRequest', serviceRequestValue, (v) => v.code, 'code');

function immunizationValue(r: Resource, ctx: SourceContext, issues: TranslationIssue[]): Immunization {
  return {
    id: `${ctx.source}:${r.id ?? ''}`,
    status: (r.status as string | undefined) ?? null,
    vaccineCode: codeableConcept(r.vaccineCode as Cc | undefined, ctx.profile),
    occurrence: instant(r.occurrenceDateTime, 'Immunization.occurrence', ctx, issues),
    lotNumber: (r.lotNumber as string | undefined) ?? null,
    doseQuantity: quantity(r.doseQuantity as never, 'Immunization.doseQuantity', issues),
    primarySource: typeof r.primarySource === 'boolean' ? r.primarySource : null,
    provenance: provenance(r, ctx),
  };
}

export const immunization = (r: Resource, ctx: SourceContext): Translated<Immunization> =>
  graded(r, ctx, 'Immunization', immunizationValue, (v) => v.vaccineCode, 'vaccineCode');

/**
 * Canonical types of an item the clinical store holds: it was validated and translated when it was
 * stored (toCanonicalItem; a code no map translates is kept and flagged there, not refused), so
 * this only shapes it. `ctx.retrievedAt` is the stored version's (its lineage).
 */
export const STORED_CLINICAL_VIEWS = {
  Observation: (r: Resource, ctx: SourceContext): Observation => observationValue(r, ctx, []),
  Condition: (r: Resource, ctx: SourceContext): Condition => conditionValue(r, ctx, []),
  MedicationRequest: (r: Resource, ctx: SourceContext): MedicationRequest => medicationRequestValue(r, ctx, []),
  ServiceRequest: (r: Resource, ctx: SourceContext): ServiceRequest => serviceRequestValue(r, ctx, []),
  Immunization: (r: Resource, ctx: SourceContext): Immunization => immunizationValue(r, ctx, []),
} as const;
