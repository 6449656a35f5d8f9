// athenahealth (athenaOne) FHIR R4 shape, kept small and data-driven: the tables below and
// ATHENA in constants.ts are the whole vendor. Practice-scoped ids (`a-<practice>.E-<n>` for
// patients, `a-<practice>.<kind>-<n>` for the rest), chart number and enterprise id under
// athenahealth's OID root scoped by practice, the practice's own lab analyte codes and vitals keys
// beside LOINC (some lab results with the analyte code only; a pain score under a key nobody
// mapped, without a unit), weight in grams and temperature in Fahrenheit as athenaOne's vitals
// store them, clinical date-times as the practice's wall-clock without an offset (lab results
// with the offset), standard US Core race and ethnicity, no narratives.
import {
  CARE_PLAN_BY_KEY,
  CONDITION_BY_SNOMED,
  ENCOUNTER_CLASS_DISPLAY,
  ENCOUNTER_TYPES,
  MEDICATION_BY_RXNORM,
  OBSERVATION_BY_LOINC,
} from '../population/catalog.ts';
import { random } from '../population/random.ts';
import type { Appearance } from '../population/model.ts';
import type { FhirObservation, FhirPatient, Identifier, Reference } from '../fhir-types.ts';
import type { ShapedAppearance, ShaperContext, VendorShaper } from '../site-data.ts';
import { categoryConcept, planLinks, renderDetail, statusConcept, chartResources } from './common.ts';
import { ATHENA, ATHENA_SYSTEMS, STANDARD } from './constants.ts';
import { MARITAL_DISPLAY, dateIn, localTime, numbers, touched, utcSeconds, zonedTime } from './format.ts';
import { standardRace } from './race.ts';

/** Lab analyte codes (labs) and vitals keys (vital signs) of the practice, by LOINC. */
export const ATHENA_OBSERVATION_CODES: Readonly<
  Record<string, { readonly system: string; readonly code: string; readonly display: string }>
> = {
  '8867-4': { system: ATHENA_SYSTEMS.vital, code: 'VITALS.PULSE.RATE', display: 'Pulse rate' },
  '8480-6': { system: ATHENA_SYSTEMS.vital, code: 'VITALS.BLOODPRESSURE.SYSTOLIC', display: 'Blood pressure systolic' },
  '8462-4': { system: ATHENA_SYSTEMS.vital, code: 'VITALS.BLOODPRESSURE.DIASTOLIC', display: 'Blood pressure diastolic' },
  '8310-5': { system: ATHENA_SYSTEMS.vital, code: 'VITALS.TEMPERATURE', display: 'Temperature' },
  '29463-7': { system: ATHENA_SYSTEMS.vital, code: 'VITALS.WEIGHT', display: 'Weight' },
  '8302-2': { system: ATHENA_SYSTEMS.vital, code: 'VITALS.HEIGHT', display: 'Height' },
  '2339-0': { system: ATHENA_SYSTEMS.analyte, code: 'GLU', display: 'GLUCOSE' },
  '4548-4': { system: ATHENA_SYSTEMS.analyte, code: 'HGBA1C', display: 'HEMOGLOBIN A1C' },
  '2093-3': { system: ATHENA_SYSTEMS.analyte, code: 'CHOL', display: 'CHOLESTEROL, TOTAL' },
  '718-7': { system: ATHENA_SYSTEMS.analyte, code: 'HGB', display: 'HEMOGLOBIN' },
};

/** athenaOne's vitals store weight in grams and temperature in Fahrenheit: UCUM code and conversion from the catalog unit. */
const UNITS: Readonly<Record<string, { readonly code: string; readonly from: (v: number) => number }>> = {
  kg: { code: 'g', from: (v) => Math.round(v * 1000) },
  Cel: { code: '[degF]', from: (v) => Math.round(((v * 9) / 5) * 10 + 320) / 10 },
};

const KIND = {
  Encounter: 'encounter',
  Observation: 'observation',
  Condition: 'problem',
  MedicationRequest: 'medication',
  CarePlan: 'careplan',
  MedicationStatement: 'medicationstatement',
  MedicationAdministration: 'medicationadministration',
  Procedure: 'procedure',
  Goal: 'goal',
  DiagnosticReport: 'labresult',
} as const;

function patient(a: Appearance, id: string, mrn: string, enterpriseId: string): FhirPatient {
  const d = a.demographics;
  const identifier: Identifier[] = [
    { use: 'usual', type: { text: ATHENA.mrnTypeText }, system: ATHENA_SYSTEMS.mrn, value: mrn },
    { use: 'official', type: { text: ATHENA.enterpriseTypeText }, system: ATHENA_SYSTEMS.enterprise, value: enterpriseId },
  ];
  if (d.ssn) identifier.push({ system: STANDARD.ssn, value: d.ssn });
  return {
    resourceType: 'Patient',
    id,
    meta: { lastUpdated: utcSeconds(a.lastUpdated) },
    extension: standardRace(a.race, a.ethnicity),
    identifier,
    active: true,
    name: [
      {
        use: 'official',
        family: d.family,
        given: d.middle ? [d.given, d.middle] : [d.given],
        ...(d.suffix ? { suffix: [d.suffix] } : {}),
      },
    ],
    telecom: [
      { system: 'phone', value: `(${d.phone.slice(0, 3)}) ${d.phone.slice(4)}`, use: 'mobile' },
      ...(d.email ? [{ system: 'email' as const, value: d.email }] : []),
    ],
    gender: d.sex,
    birthDate: d.birthDate,
    address: [{ line: [...d.address.line], city: d.address.city, state: d.address.state, postalCode: d.address.postalCode, country: 'US' }],
    maritalStatus: { coding: [{ system: STANDARD.maritalStatus, code: d.maritalStatus, display: MARITAL_DISPLAY[d.maritalStatus] }] },
  };
}

export function athenaShaper(ctx: ShaperContext): VendorShaper {
  const rng = random(ctx.seed, 'athenahealth', ctx.site.id);
  const practice = ATHENA.practiceId;
  const nextEnterprise = numbers(rng, 10_000 + ctx.siteIndex * 1_000_000, 40);
  const nextMrn = numbers(rng, 100_000 + ctx.siteIndex * 1_000_000, 30);
  const nextResource = numbers(rng, 1_000 + ctx.siteIndex * 10_000_000, 20);
  const id = (type: keyof typeof KIND): string => `a-${practice}.${KIND[type]}-${nextResource()}`;
  const time = (ms: number): string => localTime(ms, ctx.timeZone);
  const labTime = (ms: number): string => zonedTime(ms, ctx.timeZone);
  const meta = (ms: number) => ({ lastUpdated: utcSeconds(touched(ms, 0)) });
  const medication = (rxnorm: string) => {
    const m = MEDICATION_BY_RXNORM.get(rxnorm)!;
    return { coding: [{ system: STANDARD.rxnorm, code: m.rxnorm, display: m.display }], text: m.display };
  };

  return {
    shape(a: Appearance): ShapedAppearance {
      const enterprise = String(nextEnterprise());
      const pid = `a-${practice}.E-${enterprise}`;
      const mrn = String(nextMrn());
      const subject: Reference = { reference: `Patient/${pid}` };
      const ids = { Encounter: new Map<string, string>(), Condition: new Map<string, string>(), Observation: new Map<string, string>() };
      const refTo = (type: keyof typeof ids, key: string | null): Reference | undefined =>
        key !== null && ids[type].has(key) ? { reference: `${type}/${ids[type].get(key)!}` } : undefined;

      const Encounter = a.clinical.encounters.map((e) => {
        const eid = id('Encounter');
        ids.Encounter.set(e.key, eid);
        const type = ENCOUNTER_TYPES[e.kind];
        return {
          resourceType: 'Encounter' as const,
          id: eid,
          meta: meta(e.end + 3_600_000),
          status: 'finished' as const,
          class: { system: STANDARD.actCode, code: e.kind, display: ENCOUNTER_CLASS_DISPLAY[e.kind] },
          type: [{ coding: [{ system: STANDARD.snomed, code: type.snomed, display: type.display }], text: type.text }],
          subject,
          period: { start: time(e.start), end: time(e.end) },
        };
      });

      const Observation: FhirObservation[] = a.clinical.observations.map((o) => {
        const concept = OBSERVATION_BY_LOINC.get(o.loinc)!;
        const local = ATHENA_OBSERVATION_CODES[o.loinc]!;
        const lab = concept.category === 'laboratory';
        const unit = UNITS[concept.unit];
        const oid = id('Observation');
        ids.Observation.set(o.key, oid);
        const coding = [
          { system: STANDARD.loinc, code: concept.loinc, display: concept.display },
          { system: local.system, code: local.code, display: local.display },
        ];
        const encounter = refTo('Encounter', o.encounterKey);
        return {
          resourceType: 'Observation',
          id: oid,
          meta: meta(o.effective + 3_600_000),
          status: 'final',
          category: [
            {
              coding: [{ system: STANDARD.observationCategory, code: concept.category, display: lab ? 'Laboratory' : 'Vital Signs' }],
            },
          ],
          code: { coding: lab && rng.chance(ATHENA.localOnlyShare) ? coding.slice(1) : coding, text: local.display },
          subject,
          ...(encounter ? { encounter } : {}),
          effectiveDateTime: lab ? labTime(o.effective) : time(o.effective),
          valueQuantity: {
            value: unit ? unit.from(o.value) : o.value,
            unit: unit?.code ?? concept.unit,
            system: STANDARD.ucum,
            code: unit?.code ?? concept.unit,
          },
        };
      });

      const Condition = a.clinical.conditions.map((c) => {
        const concept = CONDITION_BY_SNOMED.get(c.snomed)!;
        const cid = id('Condition');
        ids.Condition.set(c.key, cid);
        const encounter = refTo('Encounter', c.encounterKey);
        return {
          resourceType: 'Condition' as const,
          id: cid,
          meta: meta(c.recorded + 3_600_000),
          clinicalStatus: statusConcept(STANDARD.conditionClinical, c.clinicalStatus),
          verificationStatus: statusConcept(STANDARD.conditionVerification, c.verificationStatus),
          category: [categoryConcept(concept.chronic || !encounter)],
          code: {
            coding: [
              { system: STANDARD.snomed, code: concept.snomed, display: concept.snomedDisplay },
              { system: STANDARD.icd10cm, code: concept.icd10, display: concept.icd10Display },
            ],
            text: concept.snomedDisplay,
          },
          subject,
          ...(encounter ? { encounter } : {}),
          onsetDateTime: dateIn(c.onset, ctx.timeZone),
          recordedDate: time(c.recorded),
        };
      });

      const MedicationRequest = a.clinical.medications.map((m) => {
        const encounter = refTo('Encounter', m.encounterKey);
        return {
          resourceType: 'MedicationRequest' as const,
          id: id('MedicationRequest'),
          meta: meta(m.authoredOn + 1_800_000),
          status: m.status,
          intent: 'order' as const,
          medicationCodeableConcept: medication(m.rxnorm),
          subject,
          ...(encounter ? { encounter } : {}),
          authoredOn: time(m.authoredOn),
          dosageInstruction: [{ text: MEDICATION_BY_RXNORM.get(m.rxnorm)!.dosage }],
        };
      });

      const detail = renderDetail(a.clinical, {
        subject,
        id: (type) => id(type),
        time,
        wallTime: time,
        date: (ms) => dateIn(ms, ctx.timeZone),
        instant: utcSeconds,
        meta,
        encounter: (key) => refTo('Encounter', key),
        condition: (key) => refTo('Condition', key),
        observation: (key) => refTo('Observation', key),
        medication,
        localObservation: () => [{ system: ATHENA_SYSTEMS.vital, code: ATHENA.painScoreCode, display: 'Pain scale' }],
        narratives: false,
      });

      const CarePlan = a.clinical.carePlans.map((p) => {
        const concept = CARE_PLAN_BY_KEY.get(p.plan)!;
        return {
          resourceType: 'CarePlan' as const,
          id: id('CarePlan'),
          meta: meta((p.end ?? p.start) + 3_600_000),
          text: { status: 'generated' as const, div: `<div xmlns="http://www.w3.org/1999/xhtml">${concept.title}</div>` },
          status: p.status,
          intent: 'plan' as const,
          category: [
            { coding: [{ system: STANDARD.carePlanCategory, code: 'assess-plan' }] },
            { coding: [{ system: STANDARD.snomed, code: concept.snomed, display: concept.snomedDisplay }], text: concept.title },
          ],
          title: concept.title,
          description: concept.description,
          subject,
          period: { start: time(p.start), ...(p.end !== null ? { end: time(p.end) } : {}) },
          addresses: p.addresses.flatMap((k) => refTo('Condition', k) ?? []),
          ...planLinks(p, detail),
        };
      });

      return {
        patient: patient(a, pid, mrn, enterprise),
        mrn,
        resources: chartResources({ Observation, Condition, MedicationRequest, CarePlan, Encounter }, detail),
      };
    },
  };
}
