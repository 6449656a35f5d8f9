// A cohort filter as callers send it (PatientFilter), checked and turned into a criterion tree the
// SQL compiler (sql.ts) reads. Every refusal is BAD_USER_INPUT naming the argument path
// (`filter.or[1].observation.valueTo`): a filter that cannot mean what it says is never answered
// with an empty cohort. De-identified callers filter on what they are shown (policies/safe-harbor.ts):
// birth years rather than birth dates, dates to the year.
import { badUserInput } from '../../platform/errors.ts';
import { SYSTEMS, codeSyntaxProblem } from '../../translation/terminology/code-syntax.ts';
import { readUnit, type UnitRules } from '../../translation/units.ts';

export type DateWindowInput = { readonly from?: string | null; readonly to?: string | null };
export type ConditionInput = DateWindowInput & { readonly system: string; readonly codes: readonly string[] };
export type ObservationInput = DateWindowInput & {
  readonly code: string;
  readonly valueFrom?: number | null;
  readonly valueTo?: number | null;
  readonly unit?: string | null;
};
export type MedicationInput = DateWindowInput & { readonly codes: readonly string[] };

/** PatientFilter (subgraphs/mpi/schema.graphql): the fields set in one object hold together (AND). */
export type PatientFilterInput = {
  readonly gender?: string | null;
  readonly birthYearFrom?: number | null;
  readonly birthYearTo?: number | null;
  readonly postalCodePrefix?: string | null;
  readonly source?: string | null;
  readonly ageOver89?: boolean | null;
  readonly ageFrom?: number | null;
  readonly ageTo?: number | null;
  readonly birthDateFrom?: string | null;
  readonly birthDateTo?: string | null;
  readonly updatedSince?: string | null;
  readonly condition?: ConditionInput | null;
  readonly observation?: ObservationInput | null;
  readonly medication?: MedicationInput | null;
  readonly encounter?: DateWindowInput | null;
  readonly and?: readonly PatientFilterInput[] | null;
  readonly or?: readonly PatientFilterInput[] | null;
  readonly not?: PatientFilterInput | null;
};

/** Instants as ISO strings; `from` inclusive, `to` exclusive. */
export type Window = { readonly from: string | null; readonly to: string | null };

export type Criterion =
  | { readonly kind: 'all' | 'any'; readonly of: readonly Criterion[] }
  | { readonly kind: 'not'; readonly of: Criterion }
  | { readonly kind: 'gender'; readonly value: string }
  | { readonly kind: 'shownBirthYear'; readonly from: number | null; readonly to: number | null }
  | { readonly kind: 'ageOver89'; readonly value: boolean }
  | { readonly kind: 'zip3'; readonly value: string }
  | { readonly kind: 'source'; readonly value: string }
  /** Full birth dates (YYYY-MM-DD, partial dates read as their first day); identified callers only. */
  | { readonly kind: 'birthDay'; readonly from: string | null; readonly to: string | null }
  | { readonly kind: 'updatedSince'; readonly at: string }
  | {
      readonly kind: 'clinical';
      readonly types: readonly string[];
      /** `system|code` tokens: an item with any of them matches. */
      readonly tokens: readonly string[];
      /** `system|prefix` tokens matched as prefixes (ICD-10-CM). */
      readonly prefixes: readonly string[];
      /** The standard code column (Observation: LOINC), for the value index. */
      readonly code: { readonly system: string; readonly code: string } | null;
      readonly value: { readonly from: number | null; readonly to: number | null; readonly unit: string | null } | null;
      readonly window: Window;
    };

export type CriteriaContext = {
  /** Callers who see de-identified data only (analysts). */
  readonly deidentified: boolean;
  readonly sources: ReadonlySet<string>;
  readonly units: UnitRules;
  /** SNOMED CT code -> the codes (`system|code`) the concept maps place under it, itself included. */
  readonly descendants: (snomedCode: string) => readonly string[];
  /** Today (UTC, YYYY-MM-DD): ages are counted to it. */
  readonly today: string;
};

export const GENDERS: ReadonlySet<string> = new Set(['male', 'female', 'other', 'unknown']);
const MEDICATION_TYPES = ['MedicationRequest', 'MedicationAdministration', 'MedicationStatement'] as const;
const ICD10CM_PREFIX = /^[A-Z](\d([0-9A-Z](\.[0-9A-Z]{0,4})?)?)?$/;
const DATE = /^(\d{4})(-(\d{2})(-(\d{2}))?)?$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_AGE = 150;

const fail = (path: string, message: string): never => {
  throw badUserInput(`\`${path}\` ${message}`, path);
};

/**
 * The period a date names, as instants [start, end): `2025` is the whole year, `2025-03` the month,
 * `2025-03-14` the day (UTC), an instant itself. De-identified callers may name years only.
 */
export function period(value: string, path: string, yearsOnly: boolean): { readonly start: string; readonly end: string } {
  if (INSTANT.test(value) && !Number.isNaN(Date.parse(value)) && !yearsOnly) {
    const at = new Date(value).toISOString();
    return { start: at, end: at };
  }
  const m = DATE.exec(value);
  if (!m || (yearsOnly && m[2] !== undefined))
    return fail(
      path,
      yearsOnly
        ? 'must be a year (YYYY): de-identified data is dated to the year'
        : 'must be a date (YYYY, YYYY-MM, YYYY-MM-DD) or an instant',
    );
  const [y, mo, d] = [Number(m[1]), m[3] ? Number(m[3]) : undefined, m[5] ? Number(m[5]) : undefined];
  const start = new Date(Date.UTC(y, (mo ?? 1) - 1, d ?? 1));
  if (start.getUTCFullYear() !== y || start.getUTCMonth() !== (mo ?? 1) - 1 || start.getUTCDate() !== (d ?? 1))
    return fail(path, 'is not a calendar date');
  const end = new Date(Date.UTC(d ? y : mo ? y : y + 1, d ? mo! - 1 : mo ? mo : 0, d ? d + 1 : 1));
  return { start: start.toISOString(), end: end.toISOString() };
}

/** A window from `from` (the start of the period it names) to `to` (the end of its period). */
function windowOf(w: DateWindowInput, path: string, yearsOnly: boolean): Window {
  const from = w.from == null ? null : period(w.from, `${path}.from`, yearsOnly).start;
  const to = w.to == null ? null : period(w.to, `${path}.to`, yearsOnly).end;
  if (from !== null && to !== null && from >= to) fail(`${path}.to`, 'is before `from`');
  return { from, to };
}

function range<T extends number | string>(from: T | null | undefined, to: T | null | undefined, toPath: string): void {
  if (from != null && to != null && from > to) fail(toPath, 'is below the lower bound: the range is inverted');
}

function wholeNumber(value: number | null | undefined, path: string, min: number, max: number): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < min || value > max) fail(path, `must be a whole number from ${min} to ${max}`);
  return value;
}

const minusYears = (day: string, years: number): string => `${String(Number(day.slice(0, 4)) - years).padStart(4, '0')}${day.slice(4)}`;
const nextDay = (day: string): string => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

function ageCriterion(f: PatientFilterInput, path: string, c: CriteriaContext): Criterion | null {
  const from = wholeNumber(f.ageFrom, `${path}.ageFrom`, 0, MAX_AGE);
  const to = wholeNumber(f.ageTo, `${path}.ageTo`, 0, MAX_AGE);
  if (from === null && to === null) return null;
  range(from, to, `${path}.ageTo`);
  const year = Number(c.today.slice(0, 4));
  // Shown birth years: an age is the years since the birth year (the "90 or older" category has none).
  if (c.deidentified) return { kind: 'shownBirthYear', from: to === null ? null : year - to, to: from === null ? null : year - from };
  // At least `from` years old: born on or before today `from` years ago; at most `to`: born after today `to + 1` years ago.
  return {
    kind: 'birthDay',
    from: to === null ? null : nextDay(minusYears(c.today, to + 1)),
    to: from === null ? null : minusYears(c.today, from),
  };
}

function birthDateCriterion(f: PatientFilterInput, path: string, c: CriteriaContext): Criterion | null {
  if (f.birthDateFrom == null && f.birthDateTo == null) return null;
  if (c.deidentified)
    fail(
      `${path}.${f.birthDateFrom != null ? 'birthDateFrom' : 'birthDateTo'}`,
      'is finer than the de-identified view: use birthYearFrom/birthYearTo',
    );
  const day = (v: string | null | undefined, p: string, end: boolean): string | null => {
    if (v == null) return null;
    if (!DATE.test(v)) fail(p, 'must be a date (YYYY, YYYY-MM or YYYY-MM-DD)');
    const x = period(v, p, false);
    // Inclusive bounds on days: the last day of the period `to` names.
    return (end ? new Date(Date.parse(x.end) - 86_400_000).toISOString() : x.start).slice(0, 10);
  };
  const from = day(f.birthDateFrom, `${path}.birthDateFrom`, false);
  const to = day(f.birthDateTo, `${path}.birthDateTo`, true);
  range(from, to, `${path}.birthDateTo`);
  return { kind: 'birthDay', from, to };
}

function codesOf(codes: readonly string[], path: string, check: (code: string, p: string) => void): readonly string[] {
  if (codes.length === 0) fail(path, 'must name at least one code');
  codes.forEach((code, i) => check(code, `${path}[${i}]`));
  return [...new Set(codes)];
}

function conditionCriterion(x: ConditionInput, path: string, c: CriteriaContext): Criterion {
  const window = windowOf(x, path, c.deidentified);
  const base = { kind: 'clinical', types: ['Condition'], code: null, value: null, window } as const;
  if (x.system === SYSTEMS.icd10cm) {
    const codes = codesOf(x.codes, `${path}.codes`, (code, p) => {
      if (!ICD10CM_PREFIX.test(code)) fail(p, 'is not an ICD-10-CM code or code prefix (a letter, digits, e.g. E11 or E11.6)');
    });
    return { ...base, tokens: [], prefixes: codes.map((code) => `${SYSTEMS.icd10cm}|${code}`) };
  }
  if (x.system === SYSTEMS.snomed) {
    const codes = codesOf(x.codes, `${path}.codes`, (code, p) => {
      const problem = codeSyntaxProblem(SYSTEMS.snomed, code);
      if (problem) fail(p, `is not valid: ${problem}`);
    });
    return { ...base, tokens: [...new Set(codes.flatMap((code) => c.descendants(code)))].sort(), prefixes: [] };
  }
  return fail(`${path}.system`, `must be ${SYSTEMS.icd10cm} (code prefixes) or ${SYSTEMS.snomed} (codes and their descendants)`);
}

function observationCriterion(x: ObservationInput, path: string, c: CriteriaContext): Criterion {
  const problem = codeSyntaxProblem(SYSTEMS.loinc, x.code);
  if (problem) fail(`${path}.code`, `is not valid: ${problem}`);
  for (const k of ['valueFrom', 'valueTo'] as const)
    if (x[k] != null && !Number.isFinite(x[k])) fail(`${path}.${k}`, 'must be a finite number');
  range(x.valueFrom, x.valueTo, `${path}.valueTo`);
  const preferred = c.units.preferred.get(x.code)?.unit ?? null;
  let unit = preferred;
  if (x.unit != null) {
    const ucum = readUnit(x.unit, c.units)?.ucum ?? x.unit;
    // Values are stored in the code's preferred unit (config/units.json); a range in another unit would compare apples with pears.
    if (preferred !== null && ucum !== preferred) fail(`${path}.unit`, `must be ${preferred}: the store keeps ${x.code} in that unit`);
    unit = ucum;
  }
  const ranged = x.valueFrom != null || x.valueTo != null;
  if (ranged && unit === null) fail(`${path}.unit`, `is required: ${x.code} has no preferred unit in config/units.json`);
  return {
    kind: 'clinical',
    types: ['Observation'],
    tokens: [],
    prefixes: [],
    code: { system: SYSTEMS.loinc, code: x.code },
    value: ranged ? { from: x.valueFrom ?? null, to: x.valueTo ?? null, unit } : null,
    window: windowOf(x, path, c.deidentified),
  };
}

function medicationCriterion(x: MedicationInput, path: string, c: CriteriaContext): Criterion {
  const codes = codesOf(x.codes, `${path}.codes`, (code, p) => {
    const problem = codeSyntaxProblem(SYSTEMS.rxnorm, code);
    if (problem) fail(p, `is not valid: ${problem}`);
  });
  return {
    kind: 'clinical',
    types: [...MEDICATION_TYPES],
    tokens: codes.map((code) => `${SYSTEMS.rxnorm}|${code}`),
    prefixes: [],
    code: null,
    value: null,
    window: windowOf(x, path, c.deidentified),
  };
}

function demographics(f: PatientFilterInput, path: string, c: CriteriaContext): Criterion[] {
  const out: Criterion[] = [];
  if (f.gender != null) {
    if (!GENDERS.has(f.gender)) fail(`${path}.gender`, 'must be male, female, other or unknown');
    out.push({ kind: 'gender', value: f.gender });
  }
  const yearFrom = wholeNumber(f.birthYearFrom, `${path}.birthYearFrom`, 0, 9999);
  const yearTo = wholeNumber(f.birthYearTo, `${path}.birthYearTo`, 0, 9999);
  range(yearFrom, yearTo, `${path}.birthYearTo`);
  if (yearFrom !== null || yearTo !== null) out.push({ kind: 'shownBirthYear', from: yearFrom, to: yearTo });
  if (f.ageOver89 != null) out.push({ kind: 'ageOver89', value: f.ageOver89 });
  const age = ageCriterion(f, path, c);
  if (age) out.push(age);
  const born = birthDateCriterion(f, path, c);
  if (born) out.push(born);
  if (f.postalCodePrefix != null) {
    if (!/^\d{3}$/.test(f.postalCodePrefix)) fail(`${path}.postalCodePrefix`, 'must be three digits');
    out.push({ kind: 'zip3', value: f.postalCodePrefix });
  }
  if (f.source != null) {
    if (!c.sources.has(f.source)) fail(`${path}.source`, 'is not a configured source connection');
    out.push({ kind: 'source', value: f.source });
  }
  if (f.updatedSince != null) out.push({ kind: 'updatedSince', at: period(f.updatedSince, `${path}.updatedSince`, c.deidentified).start });
  return out;
}

function nested(list: readonly PatientFilterInput[] | null | undefined, path: string, c: CriteriaContext): Criterion[] | null {
  if (list == null) return null;
  if (list.length === 0) fail(path, 'must not be empty');
  return list.map((f, i) => criteriaAt(f, `${path}[${i}]`, c));
}

function criteriaAt(f: PatientFilterInput, path: string, c: CriteriaContext): Criterion {
  const all: Criterion[] = demographics(f, path, c);
  if (f.condition != null) all.push(conditionCriterion(f.condition, `${path}.condition`, c));
  if (f.observation != null) all.push(observationCriterion(f.observation, `${path}.observation`, c));
  if (f.medication != null) all.push(medicationCriterion(f.medication, `${path}.medication`, c));
  if (f.encounter != null)
    all.push({
      kind: 'clinical',
      types: ['Encounter'],
      tokens: [],
      prefixes: [],
      code: null,
      value: null,
      window: windowOf(f.encounter, `${path}.encounter`, c.deidentified),
    });
  const and = nested(f.and, `${path}.and`, c);
  if (and) all.push(...and);
  const or = nested(f.or, `${path}.or`, c);
  if (or) all.push({ kind: 'any', of: or });
  if (f.not != null) all.push({ kind: 'not', of: criteriaAt(f.not, `${path}.not`, c) });
  return all.length === 1 ? all[0]! : { kind: 'all', of: all };
}

/** The checked criterion tree of a filter (an empty filter: every patient); throws BAD_USER_INPUT naming the argument. */
export const cohortCriteria = (filter: PatientFilterInput | null | undefined, c: CriteriaContext): Criterion =>
  filter == null ? { kind: 'all', of: [] } : criteriaAt(filter, 'filter', c);
