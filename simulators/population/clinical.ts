// Clinical data, vendor-neutral. A person has one health profile (conditions with onsets, baseline
// vitals and labs); each site records its own encounters and its own subset of that truth, so the
// same diagnosis shows up at two EHRs with different onset dates and the same outside lab result
// is filed at both (a de-duplication case).
import {
  CONDITION_BY_SNOMED,
  CONDITIONS,
  GOALS_BY_PLAN,
  LAB_LOINCS,
  LOCAL_OBSERVATIONS,
  OBSERVATION_BY_LOINC,
  PLAN_PROCEDURE,
  VISIT_PROCEDURES,
  VITAL_LOINCS,
} from './catalog.ts';
import { ageAt } from './persons.ts';
import type { Random } from './random.ts';
import {
  DAY_MS,
  REFERENCE_TIME,
  type CarePlanRecord,
  type ConditionRecord,
  type DiagnosticReportRecord,
  type EncounterClass,
  type GoalRecord,
  type LocalObservationRecord,
  type MedicationAdministrationRecord,
  type MedicationStatementRecord,
  type ProcedureRecord,
  type EncounterRecord,
  type MedicationRecord,
  type ObservationRecord,
  type Person,
  type SiteClinical,
} from './model.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const YEAR = 365.25 * DAY_MS;

export type ProfileCondition = { readonly snomed: string; readonly onset: number; readonly active: boolean };

export type HealthProfile = {
  readonly born: number;
  readonly conditions: readonly ProfileCondition[];
  /** Per-person means, by LOINC, in the catalog's canonical units. */
  readonly baseline: Readonly<Record<string, number>>;
  /** Results recorded at every site the person visits (only for persons at several sites). */
  readonly shared: readonly Omit<ObservationRecord, 'key'>[];
};

const birthTime = (p: Person): number => Date.parse(p.truth.birthDate);

/** A whole minute between two instants: EHR timestamps rarely carry seconds. */
const instant = (rng: Random, from: number, to: number): number =>
  Math.floor((from + rng.next() * Math.max(0, to - from)) / MINUTE) * MINUTE;

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

function baseline(rng: Random, p: Person, has: (snomed: string) => boolean): Record<string, number> {
  const age = ageAt(p.truth.birthDate);
  const female = p.truth.sex === 'female';
  const adultHeight = rng.normal(female ? 162 : 176, female ? 6.5 : 7);
  const height = age >= 18 ? adultHeight : age < 1 ? 50 + 25 * age : Math.min(adultHeight, 75 + 6.2 * (age - 1));
  const bmi = has('414916001') ? rng.normal(34, 3) : age >= 18 ? rng.normal(26, 3.5) : rng.normal(17.5, 2);
  const adult = age >= 18;
  return {
    '8302-2': height,
    '29463-7': Math.max(3, bmi * (height / 100) ** 2),
    '8867-4': adult ? rng.normal(74, 8) : rng.normal(95, 10),
    '8480-6': (adult ? rng.normal(114 + Math.max(0, age - 30) * 0.4, 9) : rng.normal(104, 7)) + (has('38341003') ? 20 : 0),
    '8462-4': (adult ? rng.normal(74, 6) : rng.normal(64, 5)) + (has('38341003') ? 9 : 0),
    '8310-5': rng.normal(36.8, 0.15),
    '2339-0': has('44054006') ? rng.normal(165, 30) : rng.normal(89, 7),
    '4548-4': has('44054006') ? rng.normal(7.6, 0.8) : rng.normal(5.3, 0.25),
    '2093-3': has('55822004') ? rng.normal(245, 22) : rng.normal(182, 22),
    '718-7': female ? rng.normal(13.5, 0.9) : rng.normal(15.1, 1),
  };
}

/** One reading around the person's mean, clamped to what a chart would accept. */
function reading(rng: Random, loinc: string, mean: number): number {
  const concept = OBSERVATION_BY_LOINC.get(loinc)!;
  const spread: Readonly<Record<string, number>> = {
    '8302-2': 0.4,
    '29463-7': 1.2,
    '8867-4': 7,
    '8480-6': 8,
    '8462-4': 5,
    '8310-5': 0.25,
    '2339-0': 12,
    '4548-4': 0.2,
    '2093-3': 12,
    '718-7': 0.5,
  };
  const limits: Readonly<Record<string, readonly [number, number]>> = {
    '8302-2': [40, 215],
    '29463-7': [2, 250],
    '8867-4': [40, 180],
    '8480-6': [80, 220],
    '8462-4': [40, 130],
    '8310-5': [35.5, 40.5],
    '2339-0': [50, 450],
    '4548-4': [4, 14],
    '2093-3': [100, 350],
    '718-7': [7, 20],
  };
  const [lo, hi] = limits[loinc] ?? [0, Number.MAX_VALUE];
  return round(Math.min(hi, Math.max(lo, rng.normal(mean, spread[loinc] ?? 0))), concept.digits);
}

export function healthProfile(rng: Random, p: Person, multiSite: boolean): HealthProfile {
  const age = ageAt(p.truth.birthDate);
  const born = birthTime(p);
  const conditions: ProfileCondition[] = [];
  for (const c of CONDITIONS) {
    if (!rng.chance(c.prevalence(age))) continue;
    const onset = instant(rng, Math.max(born + 2 * YEAR, REFERENCE_TIME - 25 * YEAR), REFERENCE_TIME - 21 * DAY_MS);
    conditions.push({ snomed: c.snomed, onset, active: c.chronic ? rng.chance(0.95) : rng.chance(0.35) });
  }
  const has = (snomed: string): boolean => conditions.some((c) => c.snomed === snomed);
  const means = baseline(rng, p, has);
  const shared: Omit<ObservationRecord, 'key'>[] = [];
  if (multiSite && rng.chance(0.5)) {
    // An outside lab panel both EHRs filed: same code, value and time.
    const effective = instant(rng, Math.max(born + DAY_MS, REFERENCE_TIME - 3 * YEAR), REFERENCE_TIME - 7 * DAY_MS);
    for (const loinc of rng.shuffle(LAB_LOINCS).slice(0, rng.int(1, 3))) {
      shared.push({ loinc, value: reading(rng, loinc, means[loinc]!), effective, encounterKey: null, shared: true });
    }
  }
  return { born, conditions, baseline: means, shared };
}

const ENCOUNTER_KINDS: readonly EncounterClass[] = ['AMB', 'EMER', 'IMP'];

function encounters(rng: Random, p: Person, prefix: string): EncounterRecord[] {
  const count = 1 + rng.weighted([50, 30, 20]);
  const from = Math.max(birthTime(p) + DAY_MS, REFERENCE_TIME - 5 * YEAR);
  const starts = Array.from({ length: count }, () => instant(rng, from, REFERENCE_TIME - 2 * DAY_MS)).sort((a, b) => a - b);
  return starts.map((start, i) => {
    const kind = ENCOUNTER_KINDS[rng.weighted([75, 15, 10])]!;
    const length =
      kind === 'AMB' ? rng.int(15, 60) * MINUTE : kind === 'EMER' ? rng.int(2, 9) * HOUR : rng.int(1, 6) * DAY_MS + rng.int(0, 20) * HOUR;
    return { key: `${prefix}:enc:${i}`, kind, start, end: Math.min(start + length, REFERENCE_TIME - MINUTE) };
  });
}

function observations(rng: Random, profile: HealthProfile, visits: readonly EncounterRecord[], prefix: string): ObservationRecord[] {
  const total = rng.int(4, 15);
  const out: ObservationRecord[] = profile.shared.map((o, i) => ({ ...o, key: `${prefix}:obs:shared:${i}` }));
  const conditionLabs = profile.conditions.flatMap((c) => CONDITION_BY_SNOMED.get(c.snomed)?.labs ?? []);
  for (let i = out.length; i < total; i++) {
    const visit = rng.pick(visits);
    const lab = rng.chance(0.35);
    const loinc = lab
      ? conditionLabs.length > 0 && rng.chance(0.6)
        ? rng.pick(conditionLabs)
        : rng.pick(LAB_LOINCS)
      : rng.pick(VITAL_LOINCS);
    const latest = Math.min(visit.end, visit.start + (lab ? 4 * HOUR : HOUR));
    const effective = instant(rng, visit.start + (lab ? 20 : 3) * MINUTE, Math.max(visit.start + (lab ? 21 : 4) * MINUTE, latest));
    // A fever now and then, mostly in the emergency department.
    const mean = loinc === '8310-5' && visit.kind !== 'AMB' && rng.chance(0.3) ? 38.6 : profile.baseline[loinc]!;
    out.push({ key: `${prefix}:obs:${i}`, loinc, value: reading(rng, loinc, mean), effective, encounterKey: visit.key, shared: false });
  }
  return out.sort((a, b) => a.effective - b.effective);
}

/** The visit at or after `time`, else the last one: where a diagnosis or order was entered. */
const visitFrom = (visits: readonly EncounterRecord[], time: number): EncounterRecord | undefined =>
  visits.find((v) => v.start >= time) ?? visits.at(-1);

function conditions(rng: Random, profile: HealthProfile, visits: readonly EncounterRecord[], prefix: string): ConditionRecord[] {
  const recorded = profile.conditions.filter(() => rng.chance(0.75));
  // At most four, chronic ones first (a problem list keeps them; episodes drop off).
  const chosen = [...recorded]
    .sort((a, b) => Number(CONDITION_BY_SNOMED.get(b.snomed)!.chronic) - Number(CONDITION_BY_SNOMED.get(a.snomed)!.chronic))
    .slice(0, 4);
  return chosen.map((c, i) => {
    // Another site often dates the onset differently (history taken again, or when first seen there).
    const onset = rng.chance(0.6)
      ? c.onset
      : Math.max(profile.born + DAY_MS, Math.min(REFERENCE_TIME - 14 * DAY_MS, c.onset + rng.int(-400, 400) * DAY_MS));
    const visit = visitFrom(visits, onset);
    const recordedAt = visit && visit.start >= onset ? visit.start + rng.int(5, 40) * MINUTE : onset + rng.int(0, 30) * DAY_MS;
    const status = c.active ? (rng.chance(0.05) ? 'inactive' : 'active') : 'resolved';
    return {
      key: `${prefix}:cond:${i}`,
      snomed: c.snomed,
      clinicalStatus: status,
      verificationStatus: (['confirmed', 'provisional', 'unconfirmed'] as const)[rng.weighted([88, 8, 4])]!,
      onset,
      recorded: Math.min(recordedAt, REFERENCE_TIME - HOUR),
      encounterKey: visit && visit.start >= onset ? visit.key : null,
    };
  });
}

function medications(
  rng: Random,
  recorded: readonly ConditionRecord[],
  visits: readonly EncounterRecord[],
  prefix: string,
): MedicationRecord[] {
  const orders: { rxnorm: string; condition: ConditionRecord | null }[] = [];
  for (const c of recorded) {
    const treatments = CONDITION_BY_SNOMED.get(c.snomed)!.treatments;
    if (treatments.length === 0 || !rng.chance(0.8)) continue;
    const rxnorm = treatments[rng.weighted(treatments.map((_, i) => (i === 0 ? 3 : 1)))]!;
    if (!orders.some((o) => o.rxnorm === rxnorm)) orders.push({ rxnorm, condition: c });
  }
  if (!orders.some((o) => o.rxnorm === '310965') && rng.chance(0.08)) orders.push({ rxnorm: '310965', condition: null });
  return orders.slice(0, 3).map((o, i) => {
    const after = o.condition ? o.condition.recorded : visits[0]!.start;
    const visit = visitFrom(visits, after);
    const authoredOn =
      visit && visit.start >= after
        ? visit.start + rng.int(10, 50) * MINUTE
        : Math.min(REFERENCE_TIME - HOUR, after + rng.int(0, 20) * MINUTE);
    const ongoing = o.condition ? o.condition.clinicalStatus === 'active' : rng.chance(0.3);
    return {
      key: `${prefix}:med:${i}`,
      rxnorm: o.rxnorm,
      status: ongoing && rng.chance(0.9) ? 'active' : rng.chance(0.7) ? 'completed' : 'stopped',
      authoredOn,
      encounterKey: visit && visit.start >= after ? visit.key : null,
    };
  });
}

function carePlans(rng: Random, recorded: readonly ConditionRecord[], prefix: string): CarePlanRecord[] {
  const candidates = recorded.filter((c) => c.clinicalStatus === 'active' && CONDITION_BY_SNOMED.get(c.snomed)!.plan !== undefined);
  if (candidates.length === 0 || !rng.chance(0.45)) return [];
  const c = rng.pick(candidates);
  const start = Math.min(REFERENCE_TIME - HOUR, c.recorded + rng.int(0, 30) * DAY_MS);
  const done = rng.chance(0.2);
  return [
    {
      key: `${prefix}:plan:0`,
      plan: CONDITION_BY_SNOMED.get(c.snomed)!.plan!,
      status: done ? 'completed' : 'active',
      start,
      end: done ? Math.min(REFERENCE_TIME - HOUR, start + rng.int(60, 365) * DAY_MS) : null,
      addresses: [c.key],
      goals: [],
      procedures: [],
    },
  ];
}

type BaseClinical = Pick<SiteClinical, 'encounters' | 'observations' | 'conditions' | 'medications' | 'carePlans'>;

/** Medications reconciled at a later visit: what the patient says they take. */
function medicationStatements(rng: Random, base: BaseClinical, prefix: string): MedicationStatementRecord[] {
  return base.medications.flatMap((m, i) => {
    if (!rng.chance(0.7)) return [];
    const visit = base.encounters.find((v) => v.start > m.authoredOn);
    const asserted = visit
      ? visit.start + rng.int(5, 30) * MINUTE
      : Math.min(REFERENCE_TIME - HOUR, m.authoredOn + rng.int(1, 60) * MINUTE);
    return [
      {
        key: `${prefix}:stmt:${i}`,
        rxnorm: m.rxnorm,
        status: m.status,
        asserted: Math.min(asserted, REFERENCE_TIME - HOUR),
        since: m.authoredOn,
        encounterKey: visit?.key ?? null,
      },
    ];
  });
}

/** Doses given at emergency and inpatient visits: one of the patient's own drugs, else an analgesic. */
function medicationAdministrations(rng: Random, base: BaseClinical, prefix: string): MedicationAdministrationRecord[] {
  const own = base.medications.map((m) => m.rxnorm);
  return base.encounters
    .filter((v) => v.kind !== 'AMB')
    .flatMap((v, i) => {
      const doses = v.kind === 'IMP' ? rng.int(1, 3) : 1;
      return Array.from({ length: doses }, (_, d) => ({
        key: `${prefix}:admin:${i}:${d}`,
        rxnorm: own.length > 0 && rng.chance(0.6) ? rng.pick(own) : '310965',
        at: instant(rng, v.start + 15 * MINUTE, Math.max(v.start + 16 * MINUTE, v.end - MINUTE)),
        encounterKey: v.key,
      }));
    });
}

/**
 * Lab results of one visit are one draw, reported together: a DiagnosticReport per visit with labs
 * (and one for the outside panel), effective at the first result, issued after the last.
 */
function diagnosticReports(rng: Random, base: BaseClinical, prefix: string): DiagnosticReportRecord[] {
  const labs = base.observations.filter((o) => OBSERVATION_BY_LOINC.get(o.loinc)?.category === 'laboratory');
  const groups = Map.groupBy(labs, (o) => (o.shared ? 'shared' : (o.encounterKey ?? 'none')));
  return [...groups.entries()].map(([group, results], i) => {
    const effective = Math.min(...results.map((o) => o.effective));
    const last = Math.max(...results.map((o) => o.effective));
    return {
      key: `${prefix}:report:${i}`,
      effective,
      issued: Math.min(REFERENCE_TIME - MINUTE, last + rng.int(30, 240) * MINUTE),
      observationKeys: results.map((o) => o.key),
      encounterKey: group === 'shared' || group === 'none' ? null : group,
    };
  });
}

/** A pain score at some visits: charted under a local code only, without a unit. */
function localObservations(rng: Random, base: BaseClinical, prefix: string): LocalObservationRecord[] {
  return base.encounters.flatMap((v, i) => {
    if (!rng.chance(v.kind === 'AMB' ? 0.3 : 0.8)) return [];
    const concept = LOCAL_OBSERVATIONS[0]!;
    return [
      {
        key: `${prefix}:local:${i}`,
        concept: concept.key,
        value: rng.int(concept.min, v.kind === 'AMB' ? 4 : concept.max),
        effective: instant(rng, v.start + 2 * MINUTE, Math.max(v.start + 3 * MINUTE, Math.min(v.end, v.start + HOUR))),
        encounterKey: v.key,
      },
    ];
  });
}

/**
 * A care plan's goals (from its template) and the procedure its activity produced; visit
 * procedures (an ECG in the emergency department, a chest X-ray on admission).
 */
function plansGoalsProcedures(rng: Random, base: BaseClinical, prefix: string): Pick<SiteClinical, 'carePlans' | 'goals' | 'procedures'> {
  const goals: GoalRecord[] = [];
  const procedures: ProcedureRecord[] = [];
  for (const v of base.encounters) {
    if (v.kind === 'AMB') continue;
    procedures.push({
      key: `${prefix}:proc:visit:${procedures.length}`,
      snomed: VISIT_PROCEDURES[v.kind],
      at: instant(rng, v.start + 10 * MINUTE, Math.max(v.start + 11 * MINUTE, v.end - MINUTE)),
      encounterKey: v.key,
    });
  }
  const carePlans = base.carePlans.map((plan, pi) => {
    const mine = (GOALS_BY_PLAN.get(plan.plan) ?? []).map((g, gi): GoalRecord => {
      const done = plan.status === 'completed' && rng.chance(0.6);
      return {
        key: `${prefix}:goal:${pi}:${gi}`,
        goal: g.key,
        lifecycle: done ? 'completed' : 'active',
        start: plan.start,
        due: plan.start + rng.int(90, 365) * DAY_MS,
        addresses: plan.addresses[0]!,
      };
    });
    goals.push(...mine);
    const snomed = PLAN_PROCEDURE[plan.plan];
    const visit = base.encounters.find((v) => v.start >= plan.start);
    const done: ProcedureRecord[] = snomed
      ? [
          {
            key: `${prefix}:proc:plan:${pi}`,
            snomed,
            at: visit ? visit.start + rng.int(10, 40) * MINUTE : Math.min(REFERENCE_TIME - HOUR, plan.start + rng.int(1, 30) * MINUTE),
            encounterKey: visit?.key ?? null,
          },
        ]
      : [];
    procedures.push(...done);
    return { ...plan, goals: mine.map((g) => g.key), procedures: done.map((p) => p.key) };
  });
  return { carePlans, goals, procedures: procedures.sort((a, b) => a.at - b.at) };
}

/**
 * What one site recorded about a person; `prefix` makes the record keys unique per site. `detail`
 * draws everything added after the first five types (statements, administrations, procedures,
 * goals, reports, local-only results): a stream of its own, so the records drawn from `rng` stay
 * what they were.
 */
export function siteClinical(rng: Random, p: Person, profile: HealthProfile, prefix: string, detail: Random): SiteClinical {
  const visits = encounters(rng, p, prefix);
  const recorded = conditions(rng, profile, visits, prefix);
  const base: BaseClinical = {
    encounters: visits,
    observations: observations(rng, profile, visits, prefix),
    conditions: recorded,
    medications: medications(rng, recorded, visits, prefix),
    carePlans: carePlans(rng, recorded, prefix),
  };
  return {
    ...base,
    ...plansGoalsProcedures(detail, base, prefix),
    medicationStatements: medicationStatements(detail, base, prefix),
    medicationAdministrations: medicationAdministrations(detail, base, prefix),
    diagnosticReports: diagnosticReports(detail, base, prefix),
    localObservations: localObservations(detail, base, prefix),
  };
}

/** The latest moment anything in the chart changed: drives Patient.meta.lastUpdated. */
export function latestActivity(c: SiteClinical): number {
  let t = 0;
  for (const e of c.encounters) t = Math.max(t, e.end);
  for (const o of c.observations) t = Math.max(t, o.effective);
  for (const x of c.conditions) t = Math.max(t, x.recorded);
  for (const m of c.medications) t = Math.max(t, m.authoredOn);
  for (const p of c.carePlans) t = Math.max(t, p.end ?? p.start);
  return t;
}
