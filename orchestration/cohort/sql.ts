// A cohort's criterion tree (criteria.ts) as one SQL condition over `golden_patient g`, with its
// parameters. Demographic criteria compare the values the de-identified view shows (shown birth
// year, three-digit ZIP), as they always have; clinical criteria read the canonical clinical store
// merged per golden patient through its live source records, withdrawn and retired items left out.
import type { Criterion } from './criteria.ts';

/** How the de-identified view coarsens (policies/safe-harbor.ts decides; the cohort query applies it). */
export type CohortCoarsening = {
  readonly oldestCategoryBirthYear: number;
  readonly restrictedZip3: readonly string[];
};

/** Collects parameters; each call returns the placeholder of the value given. */
export type Params = { readonly values: unknown[]; add(value: unknown, cast?: string): string };
export function params(start: readonly unknown[] = []): Params {
  const values = [...start];
  return {
    values,
    add(value, cast = '') {
      values.push(value);
      return `$${values.length}${cast}`;
    },
  };
}

/** The birth year; migrations.ts keeps statistics on it (without the table alias) for the planner. */
export const birthYear = (column = 'g.birth_date'): string =>
  `(CASE WHEN ${column} ~ '^[0-9]{4}' THEN substring(${column} from 1 for 4)::int END)`;
const BIRTH_YEAR = birthYear();
/** A birth date as a day (a partial date read as its first day), in the C collation the index uses. */
const birthDay = (column: string): string =>
  `((CASE length(${column}) WHEN 4 THEN ${column} || '-01-01' WHEN 7 THEN ${column} || '-01' ELSE ${column} END) COLLATE "C")`;
export const BIRTH_DAY = birthDay('g.birth_date');
/** The birth-date order's key (unknown dates last); migrations.ts indexes it without the table alias. */
export const birthDaySort = (column = 'g.birth_date'): string => `coalesce(${birthDay(column)}, '9999-12-31' COLLATE "C")`;
const POSTAL_CODE = `btrim(g.addresses->0->>'postalCode')`;

const shownZip3 = (p: Params, c: CohortCoarsening): string => `(CASE WHEN ${POSTAL_CODE} !~ '^[0-9]{5}(-?[0-9]{4})?$' THEN NULL
  WHEN left(${POSTAL_CODE}, 3) = ANY(${p.add(c.restrictedZip3, '::text[]')}) THEN '000' ELSE left(${POSTAL_CODE}, 3) END)`;

const bounded = (expr: string, from: string | null, to: string | null): string =>
  [from === null ? null : `${expr} >= ${from}`, to === null ? null : `${expr} <= ${to}`].filter((x) => x !== null).join(' AND ') || 'TRUE';

const likeEscaped = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

/**
 * How a criterion over the patient's records is asked. `semi`: an EXISTS the planner turns into a
 * semi join (AND at the top: it chooses per patient or from the code's side, the LIMIT of a page
 * in view). `probe`: under OR and NOT an EXISTS becomes a subplan the planner may hash, collecting
 * every matching item for each statement (a page of 100 paid for all of a common code's items);
 * a scalar subquery is never hashed, so it stays a per-patient index probe that stops at the
 * first match.
 */
export type Form = 'semi' | 'probe';
const exists = (from: string, where: string, form: Form): string =>
  form === 'semi' ? `EXISTS (SELECT 1 FROM ${from} WHERE ${where})` : `coalesce((SELECT true FROM ${from} WHERE ${where} LIMIT 1), false)`;

// Items of the patient's live source records, index-driven from either side (the patient's records
// through clinical_item_cohort_subject, or the code's items through clinical_item_cohort_code).
function clinical(x: Extract<Criterion, { kind: 'clinical' }>, p: Params, form: Form): string {
  const where = [
    `s.golden_id = g.id`,
    `s.deleted_at IS NULL`,
    `NOT i.entered_in_error`,
    `i.deleted_at IS NULL`,
    x.types.length === 1 ? `i.resource_type = ${p.add(x.types[0])}` : `i.resource_type = ANY(${p.add(x.types, '::text[]')})`,
  ];
  if (x.tokens.length > 0) where.push(`i.codes && ${p.add(x.tokens, '::text[]')}`);
  // A prefix is the stored tokens under it (clinical_code_token, a range of its key each): exact tokens the indexes serve.
  if (x.prefixes.length > 0)
    where.push(
      `i.codes && (SELECT coalesce(array_agg(k.token), '{}') FROM clinical_code_token k WHERE ${x.prefixes
        .map((t) => `k.token LIKE ${p.add(likeEscaped(t))}`)
        .join(' OR ')})`,
    );
  if (x.code) where.push(`i.code_system = ${p.add(x.code.system)}`, `i.code = ${p.add(x.code.code)}`);
  if (x.value) {
    where.push(`i.value_unit = ${p.add(x.value.unit)}`);
    if (x.value.from !== null) where.push(`i.value_num >= ${p.add(x.value.from, '::numeric')}`);
    if (x.value.to !== null) where.push(`i.value_num <= ${p.add(x.value.to, '::numeric')}`);
  }
  if (x.window.from !== null) where.push(`i.effective_at >= ${p.add(x.window.from, '::timestamptz')}`);
  if (x.window.to !== null) where.push(`i.effective_at < ${p.add(x.window.to, '::timestamptz')}`);
  return exists(
    `source_record s JOIN clinical_item i ON i.source = s.source AND i.subject_id = s.source_patient_id`,
    where.join(' AND '),
    form,
  );
}

/** The SQL condition of a criterion; every leaf is true or false (NOT of an unknown value is true: the patient does not match it). */
export function compile(x: Criterion, p: Params, c: CohortCoarsening, form: Form = 'semi'): string {
  switch (x.kind) {
    case 'all':
      return x.of.length === 0 ? 'TRUE' : `(${x.of.map((y) => compile(y, p, c, form)).join(' AND ')})`;
    case 'any':
      return `(${x.of.map((y) => compile(y, p, c, 'probe')).join(' OR ')})`;
    case 'not':
      return `NOT coalesce(${compile(x.of, p, c, 'probe')}, false)`;
    case 'gender':
      return `g.gender = ${p.add(x.value)}`;
    case 'shownBirthYear': {
      // The shown year is the birth year above the "90 or older" category (none below): bounds on the
      // birth year itself, which the planner has statistics for.
      const from = Math.max(x.from ?? -Infinity, c.oldestCategoryBirthYear + 1);
      return bounded(BIRTH_YEAR, p.add(from, '::int'), x.to === null ? null : p.add(x.to, '::int'));
    }
    case 'ageOver89':
      return `(${BIRTH_YEAR} <= ${p.add(c.oldestCategoryBirthYear, '::int')}) = ${p.add(x.value, '::boolean')}`;
    case 'zip3':
      return `${shownZip3(p, c)} = ${p.add(x.value)}`;
    case 'source':
      return exists('source_record s', `s.golden_id = g.id AND s.source = ${p.add(x.value)} AND s.deleted_at IS NULL`, form);
    case 'birthDay':
      return `g.birth_date IS NOT NULL AND ${bounded(BIRTH_DAY, x.from === null ? null : p.add(x.from), x.to === null ? null : p.add(x.to))}`;
    case 'updatedSince':
      return `g.updated_at >= ${p.add(x.at, '::timestamptz')}`;
    case 'clinical':
      return clinical(x, p, form);
  }
}
