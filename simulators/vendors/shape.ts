// Turns neutral appearances into one vendor's FHIR R4 resources. The FHIR structure is shared;
// each vendor's quirks (ids, identifier systems, extra codings, date formats, numbers written as
// strings, invalid codes) come from its VendorStyle.
import type { Appearance, ClinicalType, SiteData, TruthRow } from '../population/generate.ts';
import type { Random } from '../population/random.ts';
import type { Coding, FhirResource, Identifier } from '../fhir-types.ts';
import { STANDARD } from './constants.ts';
import { cernerStyle } from './cerner.ts';
import { epicStyle } from './epic.ts';

export type Vendor = 'epic' | 'cerner';

export type VendorStyle = {
  patientId(rng: Random): string;
  resourceId(rng: Random, type: ClinicalType, category?: string): string;
  mrn(rng: Random): string;
  identifiers(rng: Random, a: Appearance, mrn: string): Identifier[];
  /** Gender element and extensions, where vendor quirks live. */
  sex(rng: Random, a: Appearance): { gender?: string; extension?: unknown[] };
  /** The codings of a concept: the standard ones plus vendor-local codes beside them. */
  codings(rng: Random, kind: 'observation' | 'category' | 'condition' | 'medication', standard: Coding[]): Coding[];
  dateTime(iso: string): string;
  quantity(rng: Random, value: number, unit: string): { value: number | string; unit: string; system: string; code: string };
};

const STYLES: Readonly<Record<Vendor, VendorStyle>> = { epic: epicStyle, cerner: cernerStyle };

/** A deterministic lastUpdated per resource, spread over 2025. */
const lastUpdated = (rng: Random): string => new Date(Date.UTC(2025, 0, 1) + rng.int(0, 364 * 86_400) * 1000).toISOString();

function patientResource(style: VendorStyle, rng: Random, a: Appearance, id: string, mrn: string): FhirResource {
  const d = a.demographics;
  const sex = style.sex(rng, a);
  return {
    resourceType: 'Patient',
    id,
    meta: { lastUpdated: lastUpdated(rng) },
    ...(sex.extension ? { extension: sex.extension } : {}),
    identifier: style.identifiers(rng, a, mrn),
    active: true,
    name: [{ use: 'official', text: `${d.given} ${d.family}${d.suffix ? ` ${d.suffix}` : ''}`, family: d.family, given: d.middle ? [d.given, d.middle] : [d.given], ...(d.suffix ? { suffix: [d.suffix] } : {}) }],
    telecom: [{ system: 'phone', value: d.phone, use: 'home' }, ...(d.email ? [{ system: 'email', value: d.email }] : [])],
    ...(sex.gender !== undefined ? { gender: sex.gender } : {}),
    birthDate: d.birthDate,
    address: [{ use: 'home', line: [d.address.line], city: d.address.city, state: d.address.state, postalCode: d.address.postalCode, country: 'US' }],
  };
}

function clinicalResources(style: VendorStyle, rng: Random, a: Appearance, patientId: string, vendor: Vendor): Record<ClinicalType, FhirResource[]> {
  const subject = { reference: `Patient/${patientId}` };
  const encounters = a.visits.map((v) => ({
    resourceType: 'Encounter',
    id: style.resourceId(rng, 'Encounter'),
    meta: { lastUpdated: lastUpdated(rng) },
    status: 'finished',
    class: { system: STANDARD.actCode, code: v.type },
    subject,
    period: { start: style.dateTime(v.start), end: style.dateTime(v.end) },
  }));
  const observations = a.measurements.map((m) => {
    // Cerner charts temperature in Fahrenheit; the UCUM code says so.
    const fahrenheit = vendor === 'cerner' && m.unit === 'Cel';
    const value = fahrenheit ? Math.round((m.value * 9) / 5 * 10 + 320) / 10 : m.value;
    return {
      resourceType: 'Observation',
      id: style.resourceId(rng, 'Observation', m.category),
      meta: { lastUpdated: lastUpdated(rng) },
      status: 'final',
      category: [{ coding: style.codings(rng, 'category', [{ system: STANDARD.observationCategory, code: m.category, display: m.category === 'laboratory' ? 'Laboratory' : 'Vital Signs' }]), text: m.category === 'laboratory' ? 'Laboratory' : 'Vital Signs' }],
      code: { coding: style.codings(rng, 'observation', [{ system: STANDARD.loinc, code: m.loinc, display: m.display }]), text: m.display },
      subject,
      effectiveDateTime: style.dateTime(m.effective),
      valueQuantity: style.quantity(rng, value, fahrenheit ? '[degF]' : m.unit),
    };
  });
  const conditions = a.problems.map((p) => ({
    resourceType: 'Condition',
    id: style.resourceId(rng, 'Condition'),
    meta: { lastUpdated: lastUpdated(rng) },
    clinicalStatus: { coding: [{ system: STANDARD.conditionClinical, code: p.status }] },
    verificationStatus: { coding: [{ system: STANDARD.conditionVerification, code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
    code: { coding: style.codings(rng, 'condition', [{ system: STANDARD.snomed, code: p.snomed, display: p.display }, { system: STANDARD.icd10cm, code: p.icd10, display: p.display }]), text: p.display },
    subject,
    onsetDateTime: style.dateTime(p.onset),
    recordedDate: style.dateTime(p.onset),
  }));
  const medications = a.prescriptions.map((r) => ({
    resourceType: 'MedicationRequest',
    id: style.resourceId(rng, 'MedicationRequest'),
    meta: { lastUpdated: lastUpdated(rng) },
    status: r.status,
    intent: 'order',
    medicationCodeableConcept: { coding: style.codings(rng, 'medication', [{ system: STANDARD.rxnorm, code: r.rxnorm, display: r.display }]), text: r.display },
    subject,
    authoredOn: r.authoredOn,
    dosageInstruction: [{ text: r.dosage }],
  }));
  const carePlans = a.carePlan
    ? [{
        resourceType: 'CarePlan',
        id: style.resourceId(rng, 'CarePlan'),
        meta: { lastUpdated: lastUpdated(rng) },
        status: 'active',
        intent: 'plan',
        category: [{ coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category', code: 'assess-plan' }] }],
        subject,
        addresses: [],
        description: `Care plan for ${a.problems.map((p) => p.display.toLowerCase()).join(', ')}`,
      }]
    : [];
  return { Encounter: encounters, Observation: observations, Condition: conditions, MedicationRequest: medications, CarePlan: carePlans };
}

export function shapeForVendor(vendor: Vendor, siteId: string, appearances: readonly Appearance[], rng: Random): { site: SiteData; truth: TruthRow[] } {
  const style = STYLES[vendor];
  const patients: FhirResource[] = [];
  const resources: Record<ClinicalType, FhirResource[]> = { Observation: [], Condition: [], MedicationRequest: [], CarePlan: [], Encounter: [] };
  const truth: TruthRow[] = [];
  const usedIds = new Set<string>();
  const usedMrns = new Set<string>();
  const unique = (make: () => string, used: Set<string>): string => {
    let v = make();
    while (used.has(v)) v = make();
    used.add(v);
    return v;
  };
  for (const a of appearances) {
    const id = unique(() => style.patientId(rng), usedIds);
    const mrn = unique(() => style.mrn(rng), usedMrns);
    patients.push(patientResource(style, rng, a, id, mrn));
    const clinical = clinicalResources(style, rng, a, id, vendor);
    for (const type of Object.keys(resources) as ClinicalType[]) resources[type].push(...clinical[type]);
    truth.push({ personId: a.personId, siteId, patientId: id, mrn, discrepancy: a.discrepancy });
  }
  return { site: { vendor, patients, resources }, truth };
}
