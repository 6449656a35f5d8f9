// Oracle Health (Cerner Millennium) FHIR R4 shape, imitated from its public sandbox: numeric ids
// ('L-'/'VS-' prefixed for lab and vital-sign observations), an MRN typed MR under a Cerner OID,
// the Federated Person Principal identifier, a proprietary Millennium coding before every
// standard coding (userSelected: true on it, false on the standard one), about 30% of observation
// values sent as JSON strings ("98.6"), temperatures in Fahrenheit, every date-time in UTC with
// milliseconds, narratives on resources, phone numbers as bare digits, country "USA"; glucose in
// mmol/L (the other vendors send mg/dL); some conditions with the Millennium nomenclature coding
// only; a pain score under an event code nobody mapped, without a unit; race and ethnicity as
// Millennium code values first in the US Core extensions.
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
  Quantity,
  Reference,
} from '../fhir-types.ts';
import type { ShapedAppearance, ShaperContext, VendorShaper } from '../site-data.ts';
import { categoryConcept, planLinks, renderDetail, statusConcept, chartResources } from './common.ts';
import { CERNER, CERNER_CODE_SETS, STANDARD, cernerCodeSet } from './constants.ts';
import { MARITAL_DISPLAY, dateIn, narrative, numbers, touched, utcMillis, uuidLike } from './format.ts';
import { cernerRace } from './race.ts';

const HOUR = 3_600_000;

/** Millennium event codes (code set 72), by LOINC. */
export const CERNER_OBSERVATION_CODES: Readonly<Record<string, { readonly code: string; readonly display: string }>> = {
  '8867-4': { code: '703511', display: 'Peripheral Pulse Rate' },
  '8480-6': { code: '703501', display: 'Systolic Blood Pressure' },
  '8462-4': { code: '703516', display: 'Diastolic Blood Pressure' },
  '8310-5': { code: '703558', display: 'Temperature Oral' },
  '29463-7': { code: '4154125', display: 'Weight Measured' },
  '8302-2': { code: '4154126', display: 'Height/Length Measured' },
  '2339-0': { code: '2700653', display: 'Glucose Level' },
  '4548-4': { code: '2700655', display: 'Hemoglobin A1c' },
  '2093-3': { code: '2700656', display: 'Cholesterol' },
  '718-7': { code: '2700654', display: 'Hemoglobin' },
};

/** Millennium nomenclature ids (code set 400), by SNOMED CT. */
export const CERNER_CONDITION_CODES: Readonly<Record<string, string>> = {
  '38341003': '8835017',
  '44054006': '8836023',
  '55822004': '8851297',
  '195967001': '8840150',
  '35489007': '8843364',
  '197480006': '8843502',
  '414916001': '8851719',
  '235595009': '8855006',
  '239873007': '8858401',
  '37796009': '8847731',
  '49436004': '8833946',
  '13645005': '8840412',
  '10509002': '8839901',
  '68566005': '8861318',
};

/** Millennium order-catalog synonym ids, by RxNorm. */
export const CERNER_MEDICATION_CODES: Readonly<Record<string, string>> = {
  '860975': '2760247',
  '314076': '2760612',
  '197361': '2759906',
  '617312': '2759992',
  '745679': '2761011',
  '310965': '2760436',
  '312938': '2761283',
};

const CERNER_ENCOUNTER_TYPES = {
  AMB: { code: '309309', display: 'Outpatient' },
  EMER: { code: '309310', display: 'Emergency' },
  IMP: { code: '309308', display: 'Inpatient' },
} as const;

const CERNER_MARITAL_CODES = { S: '309242', M: '309239', D: '309240', W: '309241' } as const;

/** UCUM codes stay in `code`; `unit` is the human label Millennium shows. */
const UNIT_LABEL: Readonly<Record<string, string>> = { '[degF]': 'degF', 'mm[Hg]': 'mmHg' };

const toFahrenheit = (celsius: number): number => Math.round(((celsius * 9) / 5) * 10 + 320) / 10;

/** Glucose in mg/dL to mmol/L (molecular weight 180.156 g/mol), two decimals: fine enough to give the mg/dL back. */
const GLUCOSE_LOINC = '2339-0';
const toMmolPerLitre = (mgPerDl: number): number => Math.round((mgPerDl * 1000) / 180.156) / 100;

function patient(a: Appearance, id: string, mrn: string, fpp: string, versionId: number): FhirPatient {
  return { ...patientWithoutExtensions(a, id, mrn, fpp, versionId), extension: cernerRace(a.race, a.ethnicity) };
}

function patientWithoutExtensions(a: Appearance, id: string, mrn: string, fpp: string, versionId: number): FhirPatient {
  const d: Demographics = a.demographics;
  const identifier: Identifier[] = [
    {
      use: 'usual',
      type: { coding: [{ system: STANDARD.v20203, code: 'MR' }], text: CERNER.mrnTypeText },
      system: CERNER.mrnSystem,
      value: mrn,
    },
    { use: 'usual', type: { text: CERNER.federatedPersonTypeText }, system: CERNER.federatedPersonSystem, value: fpp },
  ];
  if (d.ssn) identifier.push({ system: STANDARD.ssn, value: d.ssn });
  const nameText = `${d.family}${d.suffix ? ` ${d.suffix}` : ''}, ${[d.given, d.middle].filter(Boolean).join(' ')}`;
  const marital = MARITAL_DISPLAY[d.maritalStatus];
  return {
    resourceType: 'Patient',
    id,
    meta: { versionId: String(versionId), lastUpdated: utcMillis(a.lastUpdated) },
    text: narrative('Patient', [
      ['Name', nameText],
      ['Status', 'Active'],
      ['DOB', d.birthDate],
      ['Administrative Gender', d.sex === 'female' ? 'Female' : 'Male'],
    ]),
    identifier,
    active: true,
    name: [
      {
        use: 'official',
        text: nameText,
        family: d.family,
        given: d.middle ? [d.given, d.middle] : [d.given],
        ...(d.suffix ? { suffix: [d.suffix] } : {}),
      },
    ],
    // Millennium stores phone numbers as digits only.
    telecom: [
      { system: 'phone', value: d.phone.replaceAll('-', ''), use: 'home', rank: 1 },
      ...(d.email ? [{ system: 'email' as const, value: d.email, use: 'home' as const }] : []),
    ],
    gender: d.sex,
    birthDate: d.birthDate,
    address: [
      {
        use: 'home',
        text: `${d.address.line.join(' ')}\n${d.address.city}, ${d.address.state} ${d.address.postalCode}\nUSA`,
        line: [...d.address.line],
        city: d.address.city,
        state: d.address.state,
        postalCode: d.address.postalCode,
        country: 'USA',
      },
    ],
    maritalStatus: {
      coding: [
        {
          system: cernerCodeSet(CERNER_CODE_SETS.maritalStatus),
          code: CERNER_MARITAL_CODES[d.maritalStatus],
          display: marital,
          userSelected: true,
        },
        { system: STANDARD.maritalStatus, code: d.maritalStatus, display: marital, userSelected: false },
      ],
      text: marital,
    },
  };
}

export function cernerShaper(ctx: ShaperContext): VendorShaper {
  const rng = random(ctx.seed, 'cerner', ctx.site.id);
  const nextPatientId = numbers(rng, 12_700_000 + ctx.siteIndex * 3_000_000, 1500);
  const nextMrn = numbers(rng, 1_000_000 + (ctx.siteIndex % 8) * 1_000_000, 90);
  // One sequence for every clinical resource of the site (Millennium ids are unique across types).
  const nextResourceId = numbers(rng, 190_000_000 + ctx.siteIndex * 20_000_000, 60);
  // Streams of their own for what was added later, so the ids and choices above stay as they were.
  const nextDetailId = numbers(random(ctx.seed, 'cerner-detail-ids', ctx.site.id), 500_000_000 + ctx.siteIndex * 20_000_000, 60);
  const quirks = random(ctx.seed, 'cerner-quirks', ctx.site.id);
  const medication = (rxnorm: string) => {
    const concept = MEDICATION_BY_RXNORM.get(rxnorm)!;
    return {
      coding: [
        {
          system: CERNER.medicationSynonymSystem,
          code: CERNER_MEDICATION_CODES[concept.rxnorm]!,
          display: concept.display,
          userSelected: true,
        },
        { system: STANDARD.rxnorm, code: concept.rxnorm, display: concept.display, userSelected: false },
      ],
      text: concept.display,
    };
  };

  return {
    shape(a: Appearance): ShapedAppearance {
      const id = String(nextPatientId());
      const mrn = String(nextMrn());
      const subject: Reference = { reference: `Patient/${id}` };
      const encounterIds = new Map<string, string>();
      const encounterRef = (key: string | null): Reference | undefined => {
        const eid = key ? encounterIds.get(key) : undefined;
        return eid ? { reference: `Encounter/${eid}` } : undefined;
      };

      const Encounter: FhirEncounter[] = a.clinical.encounters.map((e) => {
        const eid = String(nextResourceId());
        encounterIds.set(e.key, eid);
        const type = ENCOUNTER_TYPES[e.kind];
        const local = CERNER_ENCOUNTER_TYPES[e.kind];
        return {
          resourceType: 'Encounter',
          id: eid,
          meta: { versionId: '1', lastUpdated: utcMillis(touched(e.end, 6 * HOUR)) },
          status: 'finished',
          class: { system: STANDARD.actCode, code: e.kind, display: ENCOUNTER_CLASS_DISPLAY[e.kind] },
          type: [
            {
              coding: [
                { system: cernerCodeSet(CERNER_CODE_SETS.encounterType), code: local.code, display: local.display, userSelected: true },
                { system: STANDARD.snomed, code: type.snomed, display: type.display, userSelected: false },
              ],
              text: local.display,
            },
          ],
          subject,
          period: { start: utcMillis(e.start), end: utcMillis(e.end) },
        };
      });

      const observationIds = new Map<string, string>();
      const Observation: FhirObservation[] = a.clinical.observations.map((o) => {
        const concept = OBSERVATION_BY_LOINC.get(o.loinc)!;
        const local = CERNER_OBSERVATION_CODES[o.loinc]!;
        const lab = concept.category === 'laboratory';
        // Millennium charts temperature in Fahrenheit; this tenant results glucose in SI units.
        const fahrenheit = concept.unit === 'Cel';
        const molar = o.loinc === GLUCOSE_LOINC;
        const unit = fahrenheit ? '[degF]' : molar ? CERNER.glucoseUnit : concept.unit;
        const convert = (v: number): number => (fahrenheit ? toFahrenheit(v) : molar ? toMmolPerLitre(v) : v);
        const quantity = (v: number, asString: boolean): Quantity => ({
          value: asString ? String(convert(v)) : convert(v),
          unit: UNIT_LABEL[unit] ?? unit,
          system: STANDARD.ucum,
          code: unit,
        });
        const value = quantity(o.value, rng.chance(CERNER.numbersAsStringsShare));
        const encounter = encounterRef(o.encounterKey);
        const display = lab ? 'Laboratory' : 'Vital Signs';
        const id = `${lab ? CERNER.labIdPrefix : CERNER.vitalIdPrefix}${nextResourceId()}`;
        observationIds.set(o.key, id);
        return {
          resourceType: 'Observation',
          id,
          meta: { versionId: '1', lastUpdated: utcMillis(touched(o.effective, (lab ? 2 : 1) * HOUR)) },
          text: narrative(local.display, [['Result', `${String(value.value)} ${value.unit ?? ''}`.trim()]]),
          status: 'final',
          category: [{ coding: [{ system: STANDARD.observationCategory, code: concept.category, display }], text: display }],
          code: {
            coding: [
              { system: cernerCodeSet(CERNER_CODE_SETS.observation), code: local.code, display: local.display, userSelected: true },
              { system: STANDARD.loinc, code: concept.loinc, display: concept.display, userSelected: false },
            ],
            text: local.display,
          },
          subject,
          ...(encounter ? { encounter } : {}),
          effectiveDateTime: utcMillis(o.effective),
          issued: utcMillis(touched(o.effective, (lab ? 2 : 1) * HOUR)),
          valueQuantity: value,
          ...(concept.range
            ? { referenceRange: [{ low: quantity(concept.range.low, false), high: quantity(concept.range.high, false) }] }
            : {}),
        };
      });

      const conditionIds = new Map<string, string>();
      const Condition: FhirCondition[] = a.clinical.conditions.map((c) => {
        const concept = CONDITION_BY_SNOMED.get(c.snomed)!;
        const cid = String(nextResourceId());
        conditionIds.set(c.key, cid);
        const encounter = encounterRef(c.encounterKey);
        const localOnly = quirks.chance(CERNER.localOnlyShare);
        const standard = [
          { system: STANDARD.snomed, code: concept.snomed, display: concept.snomedDisplay, userSelected: false },
          { system: STANDARD.icd10cm, code: concept.icd10, display: concept.icd10Display, userSelected: false },
        ];
        return {
          resourceType: 'Condition',
          id: cid,
          meta: { versionId: '1', lastUpdated: utcMillis(touched(c.recorded, HOUR)) },
          text: narrative('Condition', [
            ['Problem', concept.icd10Display],
            ['Status', c.clinicalStatus],
          ]),
          clinicalStatus: statusConcept(STANDARD.conditionClinical, c.clinicalStatus),
          verificationStatus: statusConcept(STANDARD.conditionVerification, c.verificationStatus),
          category: [categoryConcept(concept.chronic || !encounter)],
          code: {
            coding: [
              {
                system: cernerCodeSet(CERNER_CODE_SETS.condition),
                code: CERNER_CONDITION_CODES[concept.snomed]!,
                display: concept.icd10Display,
                userSelected: true,
              },
              ...(localOnly ? [] : standard),
            ],
            text: concept.icd10Display,
          },
          subject,
          ...(encounter ? { encounter } : {}),
          onsetDateTime: utcMillis(c.onset),
          recordedDate: utcMillis(c.recorded),
        };
      });

      const MedicationRequest: FhirMedicationRequest[] = a.clinical.medications.map((m) => {
        const concept = MEDICATION_BY_RXNORM.get(m.rxnorm)!;
        const encounter = encounterRef(m.encounterKey);
        return {
          resourceType: 'MedicationRequest',
          id: String(nextResourceId()),
          meta: { versionId: '1', lastUpdated: utcMillis(touched(m.authoredOn, HOUR / 4)) },
          status: m.status,
          intent: 'order',
          medicationCodeableConcept: medication(concept.rxnorm),
          subject,
          ...(encounter ? { encounter } : {}),
          authoredOn: utcMillis(m.authoredOn),
          dosageInstruction: [{ text: concept.dosage }],
        };
      });

      const detail = renderDetail(a.clinical, {
        subject,
        id: (type) => `${type === 'Observation' ? CERNER.vitalIdPrefix : ''}${nextDetailId()}`,
        time: utcMillis,
        wallTime: utcMillis,
        date: (ms) => dateIn(ms, ctx.timeZone),
        instant: utcMillis,
        meta: (ms) => ({ versionId: '1', lastUpdated: utcMillis(touched(ms, 0)) }),
        encounter: encounterRef,
        condition: (key) => (conditionIds.has(key) ? { reference: `Condition/${conditionIds.get(key)!}` } : undefined),
        observation: (key) => (observationIds.has(key) ? { reference: `Observation/${observationIds.get(key)!}` } : undefined),
        medication,
        // The pain-score event code is in no concept map: flagged unmapped, beside the LOINC code.
        localObservation: () => [
          { system: cernerCodeSet(CERNER_CODE_SETS.observation), code: CERNER.painScoreCode, display: 'Pain Score', userSelected: true },
          {
            system: STANDARD.loinc,
            code: CERNER.painScoreLoinc,
            display: 'Pain severity - 0-10 verbal numeric rating [Score] - Reported',
            userSelected: false,
          },
        ],
        narratives: true,
      });

      const CarePlan: FhirCarePlan[] = a.clinical.carePlans.map((p) => {
        const concept = CARE_PLAN_BY_KEY.get(p.plan)!;
        return {
          resourceType: 'CarePlan',
          id: String(nextResourceId()),
          meta: { versionId: '1', lastUpdated: utcMillis(touched(p.end ?? p.start, HOUR)) },
          text: narrative(concept.title, [
            ['Description', concept.description],
            ['Status', p.status],
          ]),
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
          period: { start: utcMillis(p.start), ...(p.end !== null ? { end: utcMillis(p.end) } : {}) },
          addresses: p.addresses.flatMap((key) => (conditionIds.has(key) ? [{ reference: `Condition/${conditionIds.get(key)!}` }] : [])),
          ...planLinks(p, detail),
        };
      });

      return {
        patient: patient(a, id, mrn, uuidLike(rng), rng.int(1, 9)),
        mrn,
        resources: chartResources({ Observation, Condition, MedicationRequest, CarePlan, Encounter }, detail),
      };
    },
  };
}
