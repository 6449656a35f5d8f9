// The clinical vocabulary of the synthetic world: standard codes only (LOINC, UCUM, SNOMED CT,
// ICD-10-CM, RxNorm). Vendor-local codes live in each vendor's module, keyed by these.

export type ObservationConcept = {
  readonly loinc: string;
  readonly display: string;
  readonly category: 'vital-signs' | 'laboratory';
  /** UCUM code of the canonical unit the population stores values in. */
  readonly unit: string;
  readonly digits: number;
  /** Reference range for labs, in the canonical unit. */
  readonly range?: { readonly low: number; readonly high: number };
};

export const OBSERVATIONS: readonly ObservationConcept[] = [
  { loinc: '8867-4', display: 'Heart rate', category: 'vital-signs', unit: '/min', digits: 0 },
  { loinc: '8480-6', display: 'Systolic blood pressure', category: 'vital-signs', unit: 'mm[Hg]', digits: 0 },
  { loinc: '8462-4', display: 'Diastolic blood pressure', category: 'vital-signs', unit: 'mm[Hg]', digits: 0 },
  { loinc: '8310-5', display: 'Body temperature', category: 'vital-signs', unit: 'Cel', digits: 1 },
  { loinc: '29463-7', display: 'Body weight', category: 'vital-signs', unit: 'kg', digits: 1 },
  { loinc: '8302-2', display: 'Body height', category: 'vital-signs', unit: 'cm', digits: 1 },
  {
    loinc: '2339-0',
    display: 'Glucose [Mass/volume] in Blood',
    category: 'laboratory',
    unit: 'mg/dL',
    digits: 0,
    range: { low: 70, high: 99 },
  },
  {
    loinc: '4548-4',
    display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
    category: 'laboratory',
    unit: '%',
    digits: 1,
    range: { low: 4, high: 5.6 },
  },
  {
    loinc: '2093-3',
    display: 'Cholesterol [Mass/volume] in Serum or Plasma',
    category: 'laboratory',
    unit: 'mg/dL',
    digits: 0,
    range: { low: 0, high: 199 },
  },
  {
    loinc: '718-7',
    display: 'Hemoglobin [Mass/volume] in Blood',
    category: 'laboratory',
    unit: 'g/dL',
    digits: 1,
    range: { low: 12, high: 17.5 },
  },
];

export const OBSERVATION_BY_LOINC: ReadonlyMap<string, ObservationConcept> = new Map(OBSERVATIONS.map((o) => [o.loinc, o]));
export const VITAL_LOINCS: readonly string[] = OBSERVATIONS.filter((o) => o.category === 'vital-signs').map((o) => o.loinc);
export const LAB_LOINCS: readonly string[] = OBSERVATIONS.filter((o) => o.category === 'laboratory').map((o) => o.loinc);

export type ConditionConcept = {
  readonly snomed: string;
  readonly snomedDisplay: string;
  readonly icd10: string;
  readonly icd10Display: string;
  /** Prevalence at a given age (a rough, synthetic curve). */
  readonly prevalence: (age: number) => number;
  /** RxNorm codes a prescriber would pick for it. */
  readonly treatments: readonly string[];
  /** Care-plan template, when one fits. */
  readonly plan?: string;
  /** Labs that follow it (and run abnormal). */
  readonly labs?: readonly string[];
  /** Acute or episodic conditions resolve; chronic ones stay active. */
  readonly chronic: boolean;
};

const rising =
  (from: number, base: number, perYear: number, cap: number) =>
  (age: number): number =>
    age < from ? 0 : Math.min(cap, base + (age - from) * perYear);
const flat =
  (from: number, to: number, p: number) =>
  (age: number): number =>
    age >= from && age <= to ? p : 0;

export const CONDITIONS: readonly ConditionConcept[] = [
  {
    snomed: '38341003',
    snomedDisplay: 'Hypertensive disorder, systemic arterial (disorder)',
    icd10: 'I10',
    icd10Display: 'Essential (primary) hypertension',
    prevalence: rising(30, 0.08, 0.009, 0.6),
    treatments: ['314076', '197361'],
    plan: 'hypertension',
    chronic: true,
  },
  {
    snomed: '44054006',
    snomedDisplay: 'Diabetes mellitus type 2 (disorder)',
    icd10: 'E11.9',
    icd10Display: 'Type 2 diabetes mellitus without complications',
    prevalence: rising(30, 0.04, 0.004, 0.25),
    treatments: ['860975'],
    plan: 'diabetes',
    labs: ['2339-0', '4548-4'],
    chronic: true,
  },
  {
    snomed: '55822004',
    snomedDisplay: 'Hyperlipidemia (disorder)',
    icd10: 'E78.5',
    icd10Display: 'Hyperlipidemia, unspecified',
    prevalence: rising(35, 0.06, 0.006, 0.4),
    treatments: ['617312'],
    labs: ['2093-3'],
    chronic: true,
  },
  {
    snomed: '195967001',
    snomedDisplay: 'Asthma (disorder)',
    icd10: 'J45.909',
    icd10Display: 'Unspecified asthma, uncomplicated',
    prevalence: flat(3, 120, 0.08),
    treatments: ['745679'],
    plan: 'asthma',
    chronic: true,
  },
  {
    snomed: '35489007',
    snomedDisplay: 'Depressive disorder (disorder)',
    icd10: 'F32.9',
    icd10Display: 'Major depressive disorder, single episode, unspecified',
    prevalence: flat(13, 120, 0.08),
    treatments: ['312938'],
    plan: 'depression',
    chronic: false,
  },
  {
    snomed: '197480006',
    snomedDisplay: 'Anxiety disorder (disorder)',
    icd10: 'F41.9',
    icd10Display: 'Anxiety disorder, unspecified',
    prevalence: flat(13, 120, 0.07),
    treatments: ['312938'],
    chronic: false,
  },
  {
    snomed: '414916001',
    snomedDisplay: 'Obesity (disorder)',
    icd10: 'E66.9',
    icd10Display: 'Obesity, unspecified',
    prevalence: flat(18, 120, 0.12),
    treatments: [],
    plan: 'weight',
    chronic: true,
  },
  {
    snomed: '235595009',
    snomedDisplay: 'Gastroesophageal reflux disease (disorder)',
    icd10: 'K21.9',
    icd10Display: 'Gastro-esophageal reflux disease without esophagitis',
    prevalence: flat(20, 120, 0.06),
    treatments: [],
    chronic: true,
  },
  {
    snomed: '239873007',
    snomedDisplay: 'Osteoarthritis of knee (disorder)',
    icd10: 'M17.9',
    icd10Display: 'Osteoarthritis of knee, unspecified',
    prevalence: rising(45, 0.06, 0.004, 0.3),
    treatments: ['310965'],
    chronic: true,
  },
  {
    snomed: '37796009',
    snomedDisplay: 'Migraine (disorder)',
    icd10: 'G43.909',
    icd10Display: 'Migraine, unspecified, not intractable, without status migrainosus',
    prevalence: flat(12, 70, 0.05),
    treatments: ['310965'],
    chronic: false,
  },
  {
    snomed: '49436004',
    snomedDisplay: 'Atrial fibrillation (disorder)',
    icd10: 'I48.91',
    icd10Display: 'Unspecified atrial fibrillation',
    prevalence: rising(60, 0.04, 0.004, 0.15),
    treatments: [],
    chronic: true,
  },
  {
    snomed: '13645005',
    snomedDisplay: 'Chronic obstructive lung disease (disorder)',
    icd10: 'J44.9',
    icd10Display: 'Chronic obstructive pulmonary disease, unspecified',
    prevalence: rising(45, 0.03, 0.002, 0.12),
    treatments: ['745679'],
    plan: 'copd',
    chronic: true,
  },
  {
    snomed: '10509002',
    snomedDisplay: 'Acute bronchitis (disorder)',
    icd10: 'J20.9',
    icd10Display: 'Acute bronchitis, unspecified',
    prevalence: flat(0, 120, 0.06),
    treatments: [],
    chronic: false,
  },
  {
    snomed: '68566005',
    snomedDisplay: 'Urinary tract infectious disease (disorder)',
    icd10: 'N39.0',
    icd10Display: 'Urinary tract infection, site not specified',
    prevalence: flat(5, 120, 0.05),
    treatments: [],
    chronic: false,
  },
];

export const CONDITION_BY_SNOMED: ReadonlyMap<string, ConditionConcept> = new Map(CONDITIONS.map((c) => [c.snomed, c]));

export type MedicationConcept = {
  readonly rxnorm: string;
  readonly display: string;
  readonly dosage: string;
  /** One administered dose (UCUM). */
  readonly dose: { readonly value: number; readonly unit: string };
};

export const MEDICATIONS: readonly MedicationConcept[] = [
  {
    rxnorm: '860975',
    dose: { value: 500, unit: 'mg' },
    display: '24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet',
    dosage: 'Take 1 tablet (500 mg total) by mouth daily with evening meal.',
  },
  {
    rxnorm: '314076',
    dose: { value: 10, unit: 'mg' },
    display: 'lisinopril 10 MG Oral Tablet',
    dosage: 'Take 1 tablet (10 mg total) by mouth daily.',
  },
  {
    rxnorm: '197361',
    dose: { value: 5, unit: 'mg' },
    display: 'amlodipine 5 MG Oral Tablet',
    dosage: 'Take 1 tablet (5 mg total) by mouth daily.',
  },
  {
    rxnorm: '617312',
    dose: { value: 10, unit: 'mg' },
    display: 'atorvastatin 10 MG Oral Tablet',
    dosage: 'Take 1 tablet (10 mg total) by mouth nightly.',
  },
  {
    rxnorm: '745679',
    dose: { value: 2, unit: '{puff}' },
    display: '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler',
    dosage: 'Inhale 2 puffs every 4 hours as needed for wheezing or shortness of breath.',
  },
  {
    rxnorm: '310965',
    dose: { value: 400, unit: 'mg' },
    display: 'ibuprofen 200 MG Oral Tablet',
    dosage: 'Take 2 tablets (400 mg total) by mouth every 6 hours as needed for pain.',
  },
  {
    rxnorm: '312938',
    dose: { value: 100, unit: 'mg' },
    display: 'sertraline 100 MG Oral Tablet',
    dosage: 'Take 1 tablet (100 mg total) by mouth daily.',
  },
];

export const MEDICATION_BY_RXNORM: ReadonlyMap<string, MedicationConcept> = new Map(MEDICATIONS.map((m) => [m.rxnorm, m]));

export type CarePlanConcept = {
  readonly key: string;
  readonly title: string;
  readonly description: string;
  /** SNOMED CT care-plan concept (a CarePlan category beside US Core's generic assess-plan). */
  readonly snomed: string;
  readonly snomedDisplay: string;
};

export const CARE_PLANS: readonly CarePlanConcept[] = [
  {
    key: 'hypertension',
    snomed: '443402002',
    snomedDisplay: 'Lifestyle education regarding hypertension (procedure)',
    title: 'Hypertension care plan',
    description: 'Home blood pressure log, low-sodium diet, recheck in 3 months.',
  },
  {
    key: 'diabetes',
    snomed: '698360004',
    snomedDisplay: 'Diabetes self management plan (record artifact)',
    title: 'Diabetes self-management plan',
    description: 'HbA1c every 3 months, foot and eye exams yearly, diabetes education referral.',
  },
  {
    key: 'asthma',
    snomed: '699728000',
    snomedDisplay: 'Asthma self management (procedure)',
    title: 'Asthma action plan',
    description: 'Rescue inhaler as needed; step up therapy if symptoms more than twice a week.',
  },
  {
    key: 'depression',
    snomed: '736376001',
    snomedDisplay: 'Psychiatry care plan (record artifact)',
    title: 'Depression care plan',
    description: 'PHQ-9 follow-up in 4 weeks, behavioral health referral.',
  },
  {
    key: 'weight',
    snomed: '718361005',
    snomedDisplay: 'Weight reduction regime (regime/therapy)',
    title: 'Weight management plan',
    description: 'Nutrition counselling and 150 minutes of activity a week.',
  },
  {
    key: 'copd',
    snomed: '412776001',
    snomedDisplay: 'Chronic obstructive pulmonary disease clinical management plan (record artifact)',
    title: 'COPD management plan',
    description: 'Pulmonary rehabilitation referral, smoking cessation support, vaccinations.',
  },
];

export const CARE_PLAN_BY_KEY: ReadonlyMap<string, CarePlanConcept> = new Map(CARE_PLANS.map((p) => [p.key, p]));

export const ENCOUNTER_TYPES = {
  AMB: { snomed: '185349003', display: 'Encounter for check up (procedure)', text: 'Office Visit' },
  EMER: { snomed: '50849002', display: 'Emergency room admission (procedure)', text: 'Emergency' },
  IMP: { snomed: '32485007', display: 'Hospital admission (procedure)', text: 'Hospital Encounter' },
} as const;

export const ENCOUNTER_CLASS_DISPLAY = { AMB: 'ambulatory', EMER: 'emergency', IMP: 'inpatient encounter' } as const;

export type ProcedureConcept = { readonly snomed: string; readonly display: string };

/** Procedures: what a care plan's activities and some visits produce (SNOMED CT). */
export const PROCEDURES: readonly ProcedureConcept[] = [
  { snomed: '46973005', display: 'Blood pressure taking (procedure)' },
  { snomed: '401191002', display: 'Foot examination (procedure)' },
  { snomed: '127783003', display: 'Spirometry (procedure)' },
  { snomed: '715252007', display: 'Scoring of Patient Health Questionnaire Nine Item score (procedure)' },
  { snomed: '410177006', display: 'Special diet education (procedure)' },
  { snomed: '29303009', display: 'Electrocardiographic procedure (procedure)' },
  { snomed: '399208008', display: 'Plain chest X-ray (procedure)' },
  { snomed: '430193006', display: 'Medication reconciliation (procedure)' },
];

export const PROCEDURE_BY_SNOMED: ReadonlyMap<string, ProcedureConcept> = new Map(PROCEDURES.map((p) => [p.snomed, p]));

/** The procedure each care plan's activity produces. */
export const PLAN_PROCEDURE: Readonly<Record<string, string>> = {
  hypertension: '46973005',
  diabetes: '401191002',
  asthma: '127783003',
  depression: '715252007',
  weight: '410177006',
  copd: '127783003',
};

/** Procedures done at an emergency or inpatient visit. */
export const VISIT_PROCEDURES = { EMER: '29303009', IMP: '399208008' } as const;

export type GoalConcept = {
  readonly key: string;
  readonly plan: string;
  readonly text: string;
  /** SNOMED CT code of the goal, when one fits. */
  readonly snomed?: string;
  /** A measurable target: the LOINC code and a bound in the catalog's canonical unit. */
  readonly target?: { readonly loinc: string; readonly high?: number; readonly low?: number; readonly unit: string };
};

export const GOALS: readonly GoalConcept[] = [
  {
    key: 'bp',
    plan: 'hypertension',
    text: 'Systolic blood pressure below 130 mm[Hg]',
    target: { loinc: '8480-6', high: 130, unit: 'mm[Hg]' },
  },
  { key: 'a1c', plan: 'diabetes', text: 'Hemoglobin A1c below 7 %', target: { loinc: '4548-4', high: 7, unit: '%' } },
  { key: 'asthma-control', plan: 'asthma', text: 'Rescue inhaler no more than twice a week' },
  { key: 'phq9', plan: 'depression', text: 'PHQ-9 score below 5', target: { loinc: '44261-6', high: 5, unit: '{score}' } },
  { key: 'weight-loss', plan: 'weight', text: 'Lose 5% of body weight', snomed: '289169006' },
  { key: 'copd-exercise', plan: 'copd', text: 'Walk 30 minutes five days a week' },
];

export const GOALS_BY_PLAN: ReadonlyMap<string, readonly GoalConcept[]> = Map.groupBy(GOALS, (g) => g.plan);
export const GOAL_BY_KEY: ReadonlyMap<string, GoalConcept> = new Map(GOALS.map((g) => [g.key, g]));

/** The LOINC code of the lab reports (a generic laboratory report: panels vary by draw). */
export const LAB_REPORT = { loinc: '11502-2', display: 'Laboratory report' } as const;

export type LocalObservationConcept = { readonly key: string; readonly display: string; readonly min: number; readonly max: number };

/**
 * Observations EHRs chart under their own codes only (flowsheet rows nobody mapped to LOINC): each
 * vendor's local code for them is in no concept map, so translation keeps them and flags them
 * unmapped. A score has no unit: the quantity is sent without one.
 */
export const LOCAL_OBSERVATIONS: readonly LocalObservationConcept[] = [{ key: 'pain', display: 'Pain score (0-10)', min: 0, max: 10 }];
