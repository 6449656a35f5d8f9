// The one translation path from a FHIR-shaped clinical resource (read from a FHIR API, converted
// from HL7 v2, or a Bulk NDJSON line) to a canonical item: validated, codes mapped, the value in
// its preferred unit, the time as an instant with its precision, and the lineage of each step.
// Pure: the caller stores the item (orchestration/clinical-store) or quarantines the issues.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../security/identifier-protection.ts';
import { error, result, warning, type TranslationIssue, type Translated } from '../issues.ts';
import { TRANSFORMATION_KIND, type Lineage, type Transformation } from '../lineage.ts';
import { translateConcept, type Coding, type Terminology } from '../terminology/translate.ts';
import { OFFSET_SOURCE, parseFhirDateTime, type Precision } from '../time.ts';
import { comparableValue, normalizeFhirQuantity, type NormalizedQuantity, type UnitRules } from '../units.ts';
import { STANDARD_SYSTEMS } from './codes.ts';
import { validateResource, type ValidationOptions } from './validation/validate.ts';
import {
  CLINICAL_FIELDS,
  enteredInError,
  isClinicalType,
  mainConcept,
  mainTime,
  subjectId,
  type ClinicalResourceType,
  type FhirJson,
} from './clinical-fields.ts';

export type ItemContext = {
  /** The connection id (source_record.source). */
  readonly source: string;
  /** The connection's IANA zone, for local times sent without an offset. */
  readonly timeZone: string;
  readonly retrievedAt: string;
  readonly messageId?: string | null;
  readonly softwareVersion: string;
  readonly terminology: Terminology;
  readonly units?: UnitRules;
  readonly validation?: ValidationOptions;
  /** The vendor profile's numbersAsStrings: a quantity's numeric string is read as a number before validation. */
  readonly numbersAsStrings?: boolean;
};

export type CanonicalItem = {
  readonly resourceType: ClinicalResourceType;
  readonly source: string;
  readonly resourceId: string;
  readonly version: string;
  /** Sorts versions of one resource: later is newer (see versionOrder). */
  readonly versionOrder: string;
  readonly contentDigest: string;
  /** The source's patient id (source_record.source_patient_id). */
  readonly subjectId: string;
  readonly code: { readonly system: string | null; readonly code: string } | null;
  /** Every coding kept, as `system|code`, standard ones first. */
  readonly codes: readonly string[];
  readonly effective: { readonly instant: string; readonly precision: Precision } | null;
  readonly value: {
    readonly value: number | null;
    readonly unit: string | null;
    readonly originalValue: string | null;
    readonly originalUnit: string | null;
  } | null;
  /** Equal for the same fact from two sources: type, standard code, instant and normalized value(s). */
  readonly factKey: string;
  /** The source withdrew it (status entered-in-error): kept for lineage, left out of clinical views. */
  readonly enteredInError: boolean;
  /** The resource in FHIR shape with the translated code and normalized quantity. */
  readonly resource: FhirJson;
  /** Warnings: what was repaired or left as sent. */
  readonly flags: readonly TranslationIssue[];
  readonly lineage: Lineage;
};

const sha = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);
const pad = (n: bigint): string => n.toString().padStart(20, '0');
const NO_INSTANT = '0000-01-01T00:00:00.000Z';

/**
 * A numeric versionId is authoritative (FHIR servers increment it); then meta.lastUpdated; then
 * when it was retrieved. Fixed-width text, so the store compares versions with one `>`.
 */
export function versionOrder(r: FhirJson, retrievedAt: string, timeZone: string): string {
  const meta = (r.meta ?? {}) as { versionId?: unknown; lastUpdated?: unknown };
  const seq = typeof meta.versionId === 'string' && /^\d{1,18}$/.test(meta.versionId) ? BigInt(meta.versionId) + 1n : 0n;
  const updated = typeof meta.lastUpdated === 'string' ? parseFhirDateTime(meta.lastUpdated, timeZone) : undefined;
  return `${pad(seq)}|${updated?.ok ? updated.value.instant : NO_INSTANT}|${new Date(retrievedAt).toISOString()}`;
}

/** The version a resource declares (versionId, else lastUpdated) as the store names it; undefined when it declares none. */
export function declaredVersion(r: unknown): string | undefined {
  const meta = ((r as { meta?: unknown } | null)?.meta ?? {}) as { versionId?: unknown; lastUpdated?: unknown };
  if (typeof meta.versionId === 'string' && meta.versionId !== '') return meta.versionId;
  if (typeof meta.lastUpdated === 'string' && meta.lastUpdated !== '') return `lastUpdated:${meta.lastUpdated}`;
  return undefined;
}

/** versionId, else lastUpdated, else a digest of the content: the same content is the same version. */
const versionOf = (r: FhirJson, digest: string): string => declaredVersion(r) ?? `sha256:${digest}`;

/** The coding that names the item: the first in the type's preferred standard system, else the first standard one, else the first. */
function primaryCoding(codings: readonly Coding[], targets: readonly string[], terminology: Terminology): Coding | undefined {
  for (const system of targets) {
    const c = codings.find((x) => x.system === system && x.code);
    if (c) return c;
  }
  return codings.find((x) => x.code && x.system !== undefined && terminology.standardSystems.has(x.system)) ?? codings.find((x) => x.code);
}

/** A non-quantity value, as text for the fact key. */
function otherValue(r: FhirJson): string | null {
  const cc = r.valueCodeableConcept as { coding?: Coding[] } | undefined;
  if (cc?.coding?.[0]) return `${cc.coding[0].system ?? ''}|${cc.coding[0].code ?? ''}`;
  for (const k of ['valueString', 'valueBoolean', 'valueInteger', 'valueDateTime']) if (r[k] !== undefined) return String(r[k]);
  return null;
}

/** Sets `a` or `a.b` on a shallow copy chain, leaving the input untouched. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) target[head!] = value;
  else {
    const inner = { ...(target[head!] as Record<string, unknown>) };
    setPath(inner, rest.join('.'), value);
    target[head!] = inner;
  }
}

const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/** A quantity whose value came as a numeric string, with the value as a number; undefined when there is nothing to repair. */
function numberFromString(q: unknown): Record<string, unknown> | undefined {
  const v = (q as { value?: unknown } | undefined)?.value;
  return typeof v === 'string' && DECIMAL.test(v.trim()) ? { ...(q as Record<string, unknown>), value: Number(v.trim()) } : undefined;
}

/** A known vendor deviation repaired before validation, so that it is not refused for it (and recorded): the value's and components'. */
function repairNumbers(r: FhirJson, transformations: Transformation[], issues: TranslationIssue[]): FhirJson {
  const repaired = (path: string, q: unknown): unknown => {
    const fixed = numberFromString(q);
    if (!fixed) return q;
    transformations.push({ kind: TRANSFORMATION_KIND.numberFromString, mapId: null, from: 'string', to: 'decimal' });
    issues.push(warning(`${path}.value`, 'number sent as a string; read as a number'));
    return fixed;
  };
  const out: Record<string, unknown> = { ...r };
  if (r.valueQuantity !== undefined) out.valueQuantity = repaired(`${r.resourceType}.valueQuantity`, r.valueQuantity);
  if (Array.isArray(r.component))
    out.component = r.component.map((c: unknown, i: number) =>
      (c as { valueQuantity?: unknown })?.valueQuantity === undefined
        ? c
        : {
            ...(c as object),
            valueQuantity: repaired(`${r.resourceType}.component[${i}].valueQuantity`, (c as { valueQuantity: unknown }).valueQuantity),
          },
    );
  return out as FhirJson;
}

type Component = { readonly code?: { coding?: Coding[] }; readonly valueQuantity?: Record<string, unknown> } & Record<string, unknown>;

/**
 * An Observation's components (a blood pressure's systolic and diastolic) normalized like its value:
 * each quantity in its LOINC code's preferred unit, the original kept in lineage. Returns the
 * components for the canonical resource and, per component, the code and normalized value for the
 * fact key. Component codes are not mapped: they are read as sent (LOINC when they are).
 */
function normalizeComponents(
  r: FhirJson,
  ctx: ItemContext,
  issues: TranslationIssue[],
  transformations: Transformation[],
): { readonly resources: Component[]; readonly keys: readonly (readonly unknown[])[] } | undefined {
  if (!Array.isArray(r.component) || r.component.length === 0) return undefined;
  const resources: Component[] = [];
  const keys: (readonly unknown[])[] = [];
  (r.component as Component[]).forEach((c, i) => {
    const coding = c?.code?.coding?.find((x) => x.code) ?? null;
    const loinc = coding?.system === STANDARD_SYSTEMS.loinc ? (coding.code ?? null) : null;
    if (c?.valueQuantity === undefined) {
      resources.push(c);
      keys.push([coding?.system ?? null, coding?.code ?? null, otherValue(c as FhirJson)]);
      return;
    }
    const q = normalizeFhirQuantity(c.valueQuantity as never, loinc, {
      path: `Observation.component[${i}].valueQuantity`,
      ...(ctx.units ? { rules: ctx.units } : {}),
    });
    issues.push(...q.issues);
    transformations.push(...q.transformations);
    resources.push({ ...c, valueQuantity: quantityResource(c.valueQuantity, q) });
    keys.push([coding?.system ?? null, coding?.code ?? null, comparableValue(q, loinc, ctx.units), q.unit]);
  });
  return { resources, keys };
}

/** The FHIR Quantity after normalization: UCUM-coded when the unit was read, else the value alone. */
const quantityResource = (sent: Record<string, unknown>, q: NormalizedQuantity): Record<string, unknown> =>
  q.unit
    ? { ...sent, value: q.value, unit: q.unit, system: STANDARD_SYSTEMS.ucum, code: q.unit }
    : { ...sent, value: q.value ?? sent.value };

/** The quantity a type's value is (its unit normalized by the unit rules): a result's value, a vaccine's dose. */
const QUANTITY_ELEMENT = { Observation: 'valueQuantity', Immunization: 'doseQuantity' } as const;

export function toCanonicalItem(input: unknown, ctx: ItemContext): Translated<CanonicalItem> {
  const transformations: Transformation[] = [];
  const repairs: TranslationIssue[] = [];
  const sent = input as FhirJson;
  const r = ctx.numbersAsStrings && sent && typeof sent === 'object' ? repairNumbers(sent, transformations, repairs) : sent;
  const issues: TranslationIssue[] = [...validateResource(r, ctx.validation), ...repairs];
  if (!r || typeof r !== 'object' || typeof r.resourceType !== 'string' || !isClinicalType(r.resourceType)) {
    return { ok: false, issues: [...issues, error('resourceType', 'not a clinical resource type the store keeps')] };
  }
  const type = r.resourceType;
  const resourceId = typeof r.id === 'string' ? r.id : '';
  if (!resourceId) issues.push(error(`${type}.id`, 'missing id'));
  const subject = subjectId(r);
  if (!subject) issues.push(error(`${type}.subject`, 'missing or unresolvable patient reference'));

  const resource: Record<string, unknown> = { ...r };
  const fields = CLINICAL_FIELDS[type];
  const concept = mainConcept(r, type);
  let code: CanonicalItem['code'] = null;
  let codes: string[] = [];
  if (concept) {
    const t = translateConcept(concept.value as never, {
      terminology: ctx.terminology,
      path: concept.path,
      ...(fields.targets.length > 0 ? { targetSystems: fields.targets } : {}),
    });
    issues.push(...t.issues);
    transformations.push(...t.transformations);
    const translated = { ...(concept.value as object), coding: t.coding };
    const element = fields.code;
    const at = /\[(\d+)\]$/.exec(concept.path);
    resource[element] = at ? (r[element] as unknown[]).map((cc, i) => (i === Number(at[1]) ? translated : cc)) : translated;
    const p = primaryCoding(t.coding, fields.targets, ctx.terminology);
    code = p?.code ? { system: p.system ?? null, code: p.code } : null;
    codes = t.coding.filter((c) => c.code).map((c) => `${c.system ?? ''}|${c.code}`);
  }
  if (!code) issues.push(warning(concept?.path ?? `${type}.${fields.code}`, 'no code; the item is never merged with another'));

  let effective: CanonicalItem['effective'] = null;
  const time = mainTime(r, type);
  if (time) {
    const t = parseFhirDateTime(time.value, ctx.timeZone, time.path);
    issues.push(...t.issues);
    if (t.ok) {
      effective = { instant: t.value.instant, precision: t.value.precision };
      setPath(resource, time.path.slice(type.length + 1), t.value.value);
      if (t.value.offset === OFFSET_SOURCE.zone)
        transformations.push({ kind: TRANSFORMATION_KIND.timeZone, mapId: ctx.timeZone, from: time.value, to: t.value.instant });
    }
  }

  let value: CanonicalItem['value'] = null;
  let compared: number | null = null;
  const quantityElement = QUANTITY_ELEMENT[type as keyof typeof QUANTITY_ELEMENT] as string | undefined;
  const sentQuantity = quantityElement === undefined ? undefined : r[quantityElement];
  if (quantityElement !== undefined && sentQuantity !== undefined) {
    const q = normalizeFhirQuantity(sentQuantity as never, code?.system === STANDARD_SYSTEMS.loinc ? code.code : null, {
      path: `${type}.${quantityElement}`,
      ...(ctx.units ? { rules: ctx.units } : {}),
    });
    issues.push(...q.issues);
    transformations.push(...q.transformations);
    value = {
      value: q.value,
      unit: q.unit,
      originalValue: q.original.value === null ? null : String(q.original.value),
      originalUnit: q.original.unit,
    };
    compared = comparableValue(q, code?.system === STANDARD_SYSTEMS.loinc ? code.code : null, ctx.units);
    resource[quantityElement] = quantityResource(sentQuantity as Record<string, unknown>, q);
  }

  const components = type === 'Observation' ? normalizeComponents(r, ctx, issues, transformations) : undefined;
  if (components) resource.component = components.resources;

  const { meta: _meta, ...content } = r;
  const contentDigest = sha(canonicalJson(content));
  const version = versionOf(r, contentDigest);
  // Without a code and a time, two items cannot be shown to state the same fact: never merged.
  const factKey =
    code && effective
      ? sha(
          JSON.stringify([
            type,
            code.system,
            code.code,
            effective?.instant ?? null,
            compared,
            value?.unit ?? null,
            otherValue(r),
            // A panel's values are its components' (blood pressure): two readings of one instant differ there.
            ...(components ? [components.keys] : []),
          ]),
        )
      : sha(JSON.stringify([type, ctx.source, resourceId]));
  const item: CanonicalItem = {
    resourceType: type,
    source: ctx.source,
    resourceId,
    version,
    versionOrder: versionOrder(r, ctx.retrievedAt, ctx.timeZone),
    contentDigest,
    subjectId: subject ?? '',
    code,
    codes,
    effective,
    value,
    factKey,
    enteredInError: enteredInError(r, type),
    resource: resource as FhirJson,
    flags: issues.filter((i) => i.severity === 'warning'),
    lineage: {
      source: ctx.source,
      resourceType: type,
      resourceId,
      version,
      retrievedAt: ctx.retrievedAt,
      messageId: ctx.messageId ?? null,
      transformations,
      softwareVersion: ctx.softwareVersion,
    },
  };
  return result(item, issues);
}
