// Epic's FHIR R4 shape, imitated from Epic's published examples: opaque 'e…' ids, MRN and EPI
// identifiers under Epic OIDs, the legal-sex extension on every patient, Epic category-list codes
// in the US Core race and ethnicity extensions, an invalid capitalised gender ("Female") on about
// 3% of patients, Epic-local codings beside every standard coding (and a second, Epic-local
// observation category; some vital signs with the flowsheet-row coding only, a pain score under a
// local code nobody mapped), clinical date-times at the hospital's zone offset, vital signs and
// medication administrations as wall-clock time without an offset, problem-list onsets as plain
// dates, temperatures in Celsius, glucose in mg/dL, some vital-sign quantities without a unit.
import {
  CARE_PLAN_BY_KEY,
  CONDITION_BY_SNOMED,
  ENCOUNTER_CLASS_DISPLAY,
  ENCOUNTER_TYPES,
  MEDICATION_BY_RXNORM,
  OBSERVATION_BY_LOINC,
} from '../population/catalog.ts';
import { random } from '../population/random.ts';
import type { Appearance, Demographics } from '../population/model.ts';
import type {
  FhirCarePlan,
  FhirCondition,
  FhirEncounter,
  FhirMedicationRequest,
  FhirObservation,
  FhirPatient,
  Identifier,
  Reference,
} from '../fhir-types.ts';
import type { ShapedAppearance, ShaperContext, VendorShaper } from '../site-data.ts';
import { EPIC, STANDARD } from './constants.ts';
import { categoryConcept, planLinks, renderDetail, statusConcept, chartResources } from './common.ts';
import { MARITAL_DISPLAY, dateIn, localTime, narrative, numbers, opaqueIds, touched, utcSeconds, zonedTime } from './format.ts';
import { epicRace } from './race.ts';

const HOUR = 3_600_000;

/** Epic flowsheet rows (vitals) and lab component ids, by LOINC. */
export const EPIC_OBSERVATION_CODES: Readonly<Record<string, { readonly code: string; readonly display: string }>> = {
  '8867-4': { code: '8', display: 'Pulse' },
  '8480-6': { code: '3012601', display: 'BP Systolic' },
  '8462-4': { code: '3012602', display: 'BP Diastolic' },
  '8310-5': { code: '6', display: 'Temp' },
  '29463-7': { code: '14', display: 'Weight' },
  '8302-2': { code: '11', display: 'Height' },
  '2339-0': { code: '1510010', display: 'GLUCOSE' },
  '4548-4': { code: '1558024', display: 'HEMOGLOBIN A1C' },
  '2093-3': { code: '1510003', display: 'CHOLESTEROL' },
  '718-7': { code: '1534435', display: 'HEMOGLOBIN' },
};

/** Epic diagnosis (EDG) ids, by SNOMED CT. */
export const EPIC_CONDITION_CODES: Readonly<Record<string, string>> = {
  '38341003': '1222',
  '44054006': '45636',
  '55822004': '8425',
  '195967001': '5005',
  '35489007': '270006',
  '197480006': '86012',
  '414916001': '210391',
  '235595009': '32181',
  '239873007': '131208',
  '37796009': '93871',
  '49436004': '56813',
  '13645005': '17645',
  '10509002': '3062',
  '68566005': '43817',
};

/** Epic medication (ERX) ids, by RxNorm. */
export const EPIC_MEDICATION_CODES: Readonly<Record<string, string>> = {
  '860975': '27716',
  '314076': '1795',
  '197361': '1431',
  '617312': '12463',
  '745679': '57542',
  '310965': '6183',
  '312938': '28384',
};

const EPIC_ENCOUNTER_TYPES = {
  AMB: { code: '101', display: 'Office Visit' },
  EMER: { code: '3', display: 'Emergency' },
  IMP: { code: '2', display: 'Hospital Encounter' },
} as const;

const EPIC_CATEGORY = { 'vital-signs': { code: '9', text: 'Vital Signs' }, laboratory: { code: 'lab', text: 'Lab' } } as const;

function patient(a: Appearance, id: string, mrn: string, epi: string, invalidGender: boolean): FhirPatient {
  const d: Demographics = a.demographics;
  const sexDisplay = d.sex === 'female' ? 'Female' : 'Male';
  const identifier: Identifier[] = [
    { use: 'usual', type: { text: EPIC.mrnTypeText }, system: EPIC.mrnSystem, value: mrn },
    { use: 'usual', type: { text: EPIC.epiTypeText }, system: EPIC.epiSystem, value: epi },
  ];
  if (d.ssn) identifier.push({ system: STANDARD.ssn, value: d.ssn });
  return {
    resourceType: 'Patient',
    id,
    meta: { lastUpdated: utcSeconds(a.lastUpdated) },
    extension: [
      {
        url: EPIC.legalSexExtension,
        valueCodeableConcept: { coding: [{ system: EPIC.legalSexSystem, code: d.sex, display: sexDisplay }] },
      },
      ...epicRace(a.race, a.ethnicity),
    ],
    identifier,
    active: true,
    name: [
      {
        use: 'official',
        text: [d.given, d.family, d.suffix].filter(Boolean).join(' '),
        family: d.family,
        given: d.middle ? [d.given, d.middle] : [d.given],
        ...(d.suffix ? { suffix: [d.suffix] } : {}),
      },
    ],
    telecom: [
      { system: 'phone', value: d.phone, use: 'home', rank: 1 },
      ...(d.email ? [{ system: 'email' as const, value: d.email, rank: 1 }] : []),
    ],
    gender: invalidGender ? sexDisplay : d.sex,
    birthDate: d.birthDate,
    address: [
      {
        use: 'home',
        line: [...d.address.line],
        city: d.address.city,
        state: d.address.state,
        postalCode: d.address.postalCode,
        country: 'US',
      },
    ],
    maritalStatus: { text: MARITAL_DISPLAY[d.maritalStatus] },
  };
}

export function epicShaper(ctx: ShaperContext): VendorShaper {
  const rng = random(ctx.seed, 'epic', ctx.site.id);
  const nextId = opaqueIds(random(ctx.seed, 'epic-ids', ctx.site.id));
  // MRNs and EPIs are handed out in order with gaps; a site offset keeps two Epic sites apart.
  const nextMrn = numbers(rng, 1_000_000 + (ctx.siteIndex % 8) * 1_000_000, 90);
  const nextEpi = numbers(rng, 1_000_000 + (ctx.siteIndex % 8) * 1_000_000, 90);
  const nextCsn = numbers(rng, 1_000_000_000 + ctx.siteIndex * 100_000_000, 5000);
  // Streams of their own for what was added later, so the ids and choices above stay as they were.
  const nextDetailId = opaqueIds(random(ctx.seed, 'epic-detail-ids', ctx.site.id));
  const quirks = random(ctx.seed, 'epic-quirks', ctx.site.id);
  const time = (ms: number): string => zonedTime(ms, ctx.timeZone);
  const wallClock = (ms: number): string => localTime(ms, ctx.timeZone);
  const medication = (rxnorm: string) => {
    const concept = MEDICATION_BY_RXNORM.get(rxnorm)!;
    return {
      coding: [
        { system: STANDARD.rxnorm, code: concept.rxnorm, display: concept.display },
        { system: EPIC.medicationCodeSystem, code: EPIC_MEDICATION_CODES[concept.rxnorm]!, display: concept.display.toUpperCase() },
      ],
      text: concept.display,
    };
  };

  return {
    shape(a: Appearance): ShapedAppearance {
      const id = nextId();
      const mrn = `E${nextMrn()}`;
      const subject: Reference = { reference: `Patient/${id}`, display: `${a.demographics.family},${a.demographics.given}` };
      const encounterIds = new Map<string, string>();
      const encounterRef = (key: string | null): Reference | undefined => {
        const eid = key ? encounterIds.get(key) : undefined;
        return eid ? { reference: `Encounter/${eid}` } : undefined;
      };

      const Encounter: FhirEncounter[] = a.clinical.encounters.map((e) => {
        const eid = nextId();
        encounterIds.set(e.key, eid);
        const type = ENCOUNTER_TYPES[e.kind];
        return {
          resourceType: 'Encounter',
          id: eid,
          meta: { lastUpdated: utcSeconds(touched(e.end, 4 * HOUR)) },
          identifier: [{ use: 'usual', system: EPIC.encounterCsnSystem, value: String(nextCsn()) }],
          status: 'finished',
          class: { system: STANDARD.actCode, code: e.kind, display: ENCOUNTER_CLASS_DISPLAY[e.kind] },
          type: [
            {
              coding: [
                { system: STANDARD.snomed, code: type.snomed, display: type.display },
                {
                  system: EPIC.encounterTypeSystem,
                  code: EPIC_ENCOUNTER_TYPES[e.kind].code,
                  display: EPIC_ENCOUNTER_TYPES[e.kind].display,
                },
              ],
              text: EPIC_ENCOUNTER_TYPES[e.kind].display,
            },
          ],
          subject,
          period: { start: time(e.start), end: time(e.end) },
        };
      });

      const observationIds = new Map<string, string>();
      const Observation: FhirObservation[] = a.clinical.observations.map((o) => {
        const concept = OBSERVATION_BY_LOINC.get(o.loinc)!;
        const local = EPIC_OBSERVATION_CODES[o.loinc]!;
        const category = EPIC_CATEGORY[concept.category];
        const quantity = (value: number) => ({ value, unit: concept.unit, system: STANDARD.ucum, code: concept.unit });
        const encounter = encounterRef(o.encounterKey);
        const lab = concept.category === 'laboratory';
        const id = nextId();
        observationIds.set(o.key, id);
        // Flowsheet rows: some sent with the row's coding only, some without a unit, all as wall-clock time.
        const localOnly = !lab && quirks.chance(EPIC.localOnlyShare);
        const unitless = !lab && quirks.chance(EPIC.missingUnitShare);
        const coding = [
          { system: STANDARD.loinc, code: concept.loinc, display: concept.display },
          { system: EPIC.observationCodeSystem, code: local.code, display: local.display },
        ];
        return {
          resourceType: 'Observation',
          id,
          meta: { lastUpdated: utcSeconds(touched(o.effective, (lab ? 3 : 1) * HOUR)) },
          status: 'final',
          category: [
            {
              coding: [{ system: STANDARD.observationCategory, code: concept.category, display: lab ? 'Laboratory' : 'Vital Signs' }],
              text: lab ? 'Laboratory' : 'Vital Signs',
            },
            { coding: [{ system: EPIC.observationCategorySystem, code: category.code }], text: category.text },
          ],
          code: { coding: localOnly ? coding.slice(1) : coding, text: local.display },
          subject,
          ...(encounter ? { encounter } : {}),
          effectiveDateTime: lab ? time(o.effective) : wallClock(o.effective),
          issued: utcSeconds(touched(o.effective, (lab ? 3 : 1) * HOUR)),
          valueQuantity: unitless ? { value: o.value } : quantity(o.value),
          ...(concept.range
            ? {
                referenceRange: [
                  {
                    low: quantity(concept.range.low),
                    high: quantity(concept.range.high),
                    text: `${concept.range.low} - ${concept.range.high} ${concept.unit}`,
                  },
                ],
              }
            : {}),
        };
      });

      const conditionIds = new Map<string, string>();
      const Condition: FhirCondition[] = a.clinical.conditions.map((c) => {
        const concept = CONDITION_BY_SNOMED.get(c.snomed)!;
        const cid = nextId();
        conditionIds.set(c.key, cid);
        const encounter = encounterRef(c.encounterKey);
        const problem = concept.chronic || !encounter;
        return {
          resourceType: 'Condition',
          id: cid,
          meta: { lastUpdated: utcSeconds(touched(c.recorded, 2 * HOUR)) },
          clinicalStatus: statusConcept(STANDARD.conditionClinical, c.clinicalStatus),
          verificationStatus: statusConcept(STANDARD.conditionVerification, c.verificationStatus),
          category: [categoryConcept(problem)],
          code: {
            coding: [
              { system: STANDARD.snomed, code: concept.snomed, display: concept.snomedDisplay },
              { system: STANDARD.icd10cm, code: concept.icd10, display: concept.icd10Display },
              { system: EPIC.conditionCodeSystem, code: EPIC_CONDITION_CODES[concept.snomed]!, display: concept.icd10Display },
            ],
            text: concept.icd10Display,
          },
          subject,
          ...(encounter ? { encounter } : {}),
          // Epic's problem list keeps the onset as a date.
          onsetDateTime: dateIn(c.onset, ctx.timeZone),
          recordedDate: time(c.recorded),
        };
      });

      const MedicationRequest: FhirMedicationRequest[] = a.clinical.medications.map((m) => {
        const concept = MEDICATION_BY_RXNORM.get(m.rxnorm)!;
        const encounter = encounterRef(m.encounterKey);
        return {
          resourceType: 'MedicationRequest',
          id: nextId(),
          meta: { lastUpdated: utcSeconds(touched(m.authoredOn, HOUR / 2)) },
          status: m.status,
          intent: 'order',
          medicationCodeableConcept: medication(concept.rxnorm),
          subject,
          ...(encounter ? { encounter } : {}),
          authoredOn: time(m.authoredOn),
          dosageInstruction: [{ text: concept.dosage, patientInstruction: concept.dosage }],
        };
      });

      const detail = renderDetail(a.clinical, {
        subject,
        id: () => nextDetailId(),
        time,
        wallTime: wallClock,
        date: (ms) => dateIn(ms, ctx.timeZone),
        instant: utcSeconds,
        meta: (ms) => ({ lastUpdated: utcSeconds(touched(ms, 0)) }),
        encounter: encounterRef,
        condition: (key) => (conditionIds.has(key) ? { reference: `Condition/${conditionIds.get(key)!}` } : undefined),
        observation: (key) => (observationIds.has(key) ? { reference: `Observation/${observationIds.get(key)!}` } : undefined),
        medication,
        // The instance's build maps its pain-score row to LOINC (the other vendors' do not).
        localObservation: () => [
          { system: STANDARD.loinc, code: EPIC.painScoreLoinc, display: 'Pain severity - 0-10 verbal numeric rating [Score] - Reported' },
          { system: EPIC.observationCodeSystem, code: EPIC.painScoreCode, display: 'Pain Score' },
        ],
        localCategory: (c) => ({
          coding: [{ system: EPIC.observationCategorySystem, code: EPIC_CATEGORY[c].code }],
          text: EPIC_CATEGORY[c].text,
        }),
        narratives: false,
      });

      const CarePlan: FhirCarePlan[] = a.clinical.carePlans.map((p) => {
        const concept = CARE_PLAN_BY_KEY.get(p.plan)!;
        return {
          resourceType: 'CarePlan',
          id: nextId(),
          meta: { lastUpdated: utcSeconds(touched(p.end ?? p.start, HOUR)) },
          text: narrative(concept.title, [['Description', concept.description]]),
          status: p.status,
          intent: 'plan',
          category: [
            {
              coding: [{ system: STANDARD.carePlanCategory, code: 'assess-plan', display: 'Assessment and Plan of Treatment' }],
              text: 'Assessment and Plan of Treatment',
            },
            { coding: [{ system: STANDARD.snomed, code: concept.snomed, display: concept.snomedDisplay }], text: concept.title },
          ],
          title: concept.title,
          description: concept.description,
          subject,
          period: { start: time(p.start), ...(p.end !== null ? { end: time(p.end) } : {}) },
          addresses: p.addresses.flatMap((key) => (conditionIds.has(key) ? [{ reference: `Condition/${conditionIds.get(key)!}` }] : [])),
          ...planLinks(p, detail),
        };
      });

      return {
        patient: patient(a, id, mrn, `Z${nextEpi()}`, rng.chance(EPIC.invalidGenderShare)),
        mrn,
        resources: chartResources({ Observation, Condition, MedicationRequest, CarePlan, Encounter }, detail),
      };
    },
  };
}
