// Shapes every vendor shares: the standard status and category concepts, and the resource types
// that vendors render alike apart from ids, codings and times (renderDetail).
import { GOAL_BY_KEY, LAB_REPORT, LOCAL_OBSERVATIONS, MEDICATION_BY_RXNORM, PROCEDURE_BY_SNOMED } from '../population/catalog.ts';
import type { CarePlanRecord, SiteClinical } from '../population/model.ts';
import type {
  CodeableConcept,
  Coding,
  FhirCarePlan,
  FhirDiagnosticReport,
  FhirGoal,
  FhirMedicationAdministration,
  FhirMedicationStatement,
  FhirObservation,
  FhirProcedure,
  Meta,
  Reference,
} from '../fhir-types.ts';
import type { ClinicalResources } from '../site-data.ts';
import { STANDARD } from './constants.ts';
import { narrative } from './format.ts';

const STATUS_DISPLAY: Readonly<Record<string, string>> = {
  active: 'Active',
  resolved: 'Resolved',
  inactive: 'Inactive',
  confirmed: 'Confirmed',
  provisional: 'Provisional',
  unconfirmed: 'Unconfirmed',
};

export const statusConcept = (system: string, code: string): CodeableConcept => ({
  coding: [{ system, code, display: STATUS_DISPLAY[code] ?? code }],
  text: STATUS_DISPLAY[code] ?? code,
});

export const categoryConcept = (problem: boolean): CodeableConcept =>
  problem
    ? {
        coding: [{ system: STANDARD.conditionCategory, code: 'problem-list-item', display: 'Problem List Item' }],
        text: 'Problem List Item',
      }
    : {
        coding: [{ system: STANDARD.conditionCategory, code: 'encounter-diagnosis', display: 'Encounter Diagnosis' }],
        text: 'Encounter Diagnosis',
      };

/** How a vendor writes the resource types every vendor renders alike, apart from ids, codings and times. */
export type DetailRendering = {
  readonly subject: Reference;
  /** A fresh id for a resource of this type. */
  id(type: 'MedicationStatement' | 'MedicationAdministration' | 'Procedure' | 'Goal' | 'DiagnosticReport' | 'Observation'): string;
  /** A clinical date-time in this vendor's style. */
  time(ms: number): string;
  /** A time that vendor sends as bare wall-clock (no offset), when it does; else its usual style. */
  wallTime(ms: number): string;
  /** An instant (DiagnosticReport.issued): FHIR requires the offset. */
  instant(ms: number): string;
  /** A calendar date (Goal.startDate, target.dueDate). */
  date(ms: number): string;
  meta(ms: number): Meta;
  encounter(key: string | null): Reference | undefined;
  condition(key: string): Reference | undefined;
  observation(key: string): Reference | undefined;
  /** The medication concept with this vendor's codings. */
  medication(rxnorm: string): CodeableConcept;
  /**
   * The codings of a result most EHRs chart under a local code only (the pain score): the vendor's
   * code alone, or with the LOINC code its build maps it to.
   */
  localObservation(concept: string): Coding[];
  /** The vendor-local observation category coding beside the standard one, if it sends one. */
  localCategory?: (category: 'vital-signs' | 'laboratory') => CodeableConcept;
  readonly narratives: boolean;
};

const ref = (type: string, id: string): Reference => ({ reference: `${type}/${id}` });
const HOUR = 3_600_000;

export type DetailResources = Pick<
  ClinicalResources,
  'MedicationStatement' | 'MedicationAdministration' | 'Procedure' | 'Goal' | 'DiagnosticReport'
> & {
  /** Results charted under a local code only (appended to the vendor's Observations). */
  readonly localObservations: readonly FhirObservation[];
  readonly goalIds: ReadonlyMap<string, string>;
  readonly procedureIds: ReadonlyMap<string, string>;
};

/** A patient's whole chart: the five types each vendor renders its own way, and the detail types rendered alike. */
export const chartResources = (
  own: Pick<ClinicalResources, 'Observation' | 'Condition' | 'MedicationRequest' | 'CarePlan' | 'Encounter'>,
  detail: DetailResources,
): ClinicalResources => ({
  ...own,
  Observation: [...own.Observation, ...detail.localObservations],
  MedicationAdministration: detail.MedicationAdministration,
  MedicationStatement: detail.MedicationStatement,
  Goal: detail.Goal,
  Procedure: detail.Procedure,
  DiagnosticReport: detail.DiagnosticReport,
});

/** The resource types added after the first five, rendered the same way by every vendor. */
export function renderDetail(c: SiteClinical, r: DetailRendering): DetailResources {
  const MedicationStatement = c.medicationStatements.map((s): FhirMedicationStatement => {
    const context = r.encounter(s.encounterKey);
    const concept = MEDICATION_BY_RXNORM.get(s.rxnorm)!;
    return {
      resourceType: 'MedicationStatement',
      id: r.id('MedicationStatement'),
      meta: r.meta(s.asserted + HOUR / 4),
      status: s.status,
      medicationCodeableConcept: r.medication(s.rxnorm),
      subject: r.subject,
      ...(context ? { context } : {}),
      effectivePeriod: { start: r.time(s.since) },
      dateAsserted: r.time(s.asserted),
      informationSource: { reference: r.subject.reference!, display: 'Patient' },
      dosage: [{ text: concept.dosage }],
    };
  });
  const MedicationAdministration = c.medicationAdministrations.map((m): FhirMedicationAdministration => ({
    resourceType: 'MedicationAdministration',
    id: r.id('MedicationAdministration'),
    meta: r.meta(m.at + HOUR / 2),
    status: 'completed',
    medicationCodeableConcept: r.medication(m.rxnorm),
    subject: r.subject,
    ...(r.encounter(m.encounterKey) ? { context: r.encounter(m.encounterKey)! } : {}),
    // Medication administration records are charted at the bedside in wall-clock time.
    effectiveDateTime: r.wallTime(m.at),
    dosage: {
      text: MEDICATION_BY_RXNORM.get(m.rxnorm)!.dosage.replace(/^Take|^Inhale/, 'Given:'),
      dose: { ...MEDICATION_BY_RXNORM.get(m.rxnorm)!.dose, system: STANDARD.ucum, code: MEDICATION_BY_RXNORM.get(m.rxnorm)!.dose.unit },
    },
  }));
  const procedureIds = new Map<string, string>();
  const Procedure = c.procedures.map((p): FhirProcedure => {
    const concept = PROCEDURE_BY_SNOMED.get(p.snomed)!;
    const id = r.id('Procedure');
    procedureIds.set(p.key, id);
    const encounter = r.encounter(p.encounterKey);
    return {
      resourceType: 'Procedure',
      id,
      meta: r.meta(p.at + HOUR),
      status: 'completed',
      code: { coding: [{ system: STANDARD.snomed, code: concept.snomed, display: concept.display }], text: concept.display },
      subject: r.subject,
      ...(encounter ? { encounter } : {}),
      performedDateTime: r.time(p.at),
    };
  });
  const goalIds = new Map<string, string>();
  const Goal = c.goals.map((g): FhirGoal => {
    const concept = GOAL_BY_KEY.get(g.goal)!;
    const id = r.id('Goal');
    goalIds.set(g.key, id);
    const addresses = r.condition(g.addresses);
    const target = concept.target;
    return {
      resourceType: 'Goal',
      id,
      meta: r.meta(g.start + HOUR),
      lifecycleStatus: g.lifecycle,
      achievementStatus: {
        coding: [
          {
            system: STANDARD.goalAchievement,
            code: g.lifecycle === 'completed' ? 'achieved' : 'in-progress',
            display: g.lifecycle === 'completed' ? 'Achieved' : 'In Progress',
          },
        ],
      },
      description: concept.snomed
        ? { coding: [{ system: STANDARD.snomed, code: concept.snomed }], text: concept.text }
        : { text: concept.text },
      subject: r.subject,
      startDate: r.date(g.start),
      target: [
        {
          ...(target
            ? {
                measure: { coding: [{ system: STANDARD.loinc, code: target.loinc }] },
                detailQuantity: { value: target.high ?? target.low, unit: target.unit, system: STANDARD.ucum, code: target.unit },
              }
            : {}),
          dueDate: r.date(g.due),
        },
      ],
      ...(addresses ? { addresses: [addresses] } : {}),
    };
  });
  const DiagnosticReport = c.diagnosticReports.map((d): FhirDiagnosticReport => {
    const encounter = r.encounter(d.encounterKey);
    return {
      resourceType: 'DiagnosticReport',
      id: r.id('DiagnosticReport'),
      meta: r.meta(d.issued),
      status: 'final',
      category: [
        { coding: [{ system: STANDARD.v20074, code: 'LAB', display: 'Laboratory' }], text: 'Laboratory' },
        ...(r.localCategory ? [r.localCategory('laboratory')] : []),
      ],
      code: { coding: [{ system: STANDARD.loinc, code: LAB_REPORT.loinc, display: LAB_REPORT.display }], text: LAB_REPORT.display },
      subject: r.subject,
      ...(encounter ? { encounter } : {}),
      effectiveDateTime: r.time(d.effective),
      issued: r.instant(d.issued),
      result: d.observationKeys.flatMap((k) => r.observation(k) ?? []),
    };
  });
  const localObservations = c.localObservations.map((o): FhirObservation => {
    const concept = LOCAL_OBSERVATIONS.find((x) => x.key === o.concept)!;
    const encounter = r.encounter(o.encounterKey);
    const coding = r.localObservation(o.concept);
    const local = coding.find((c) => c.system !== STANDARD.loinc) ?? coding[0]!;
    return {
      resourceType: 'Observation',
      id: r.id('Observation'),
      meta: r.meta(o.effective + HOUR),
      ...(r.narratives ? { text: narrative(concept.display, [['Result', String(o.value)]]) } : {}),
      status: 'final',
      category: [
        {
          coding: [{ system: STANDARD.observationCategory, code: 'vital-signs', display: 'Vital Signs' }],
          text: 'Vital Signs',
        },
        ...(r.localCategory ? [r.localCategory('vital-signs')] : []),
      ],
      code: { coding, text: local.display ?? concept.display },
      subject: r.subject,
      ...(encounter ? { encounter } : {}),
      effectiveDateTime: r.wallTime(o.effective),
      // A score: the flowsheet row has no unit, and none is sent.
      valueQuantity: { value: o.value },
    };
  });
  return { MedicationStatement, MedicationAdministration, Procedure, Goal, DiagnosticReport, localObservations, goalIds, procedureIds };
}

/** A care plan's links to its goals and the procedures its activities produced. */
export function planLinks(
  plan: CarePlanRecord,
  d: Pick<DetailResources, 'goalIds' | 'procedureIds'>,
): Pick<FhirCarePlan, 'goal' | 'activity'> {
  const goal = plan.goals.flatMap((k) => (d.goalIds.has(k) ? [ref('Goal', d.goalIds.get(k)!)] : []));
  const outcomes = plan.procedures.flatMap((k) => (d.procedureIds.has(k) ? [ref('Procedure', d.procedureIds.get(k)!)] : []));
  return {
    ...(goal.length > 0 ? { goal } : {}),
    ...(outcomes.length > 0
      ? { activity: [{ outcomeReference: outcomes, detail: { status: plan.status === 'completed' ? 'completed' : 'in-progress' } }] }
      : {}),
  };
}
