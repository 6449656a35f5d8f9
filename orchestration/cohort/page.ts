// One page of a cohort: keyset pagination over active golden records in a stable order (the sort
// key, then the id), and the cohort's size: exact up to COUNT_BOUND when that is cheap, estimated
// (and flagged) otherwise. A page never waits long for its count and never fails for it: the count
// runs beside the page on its own connection, with its own short time budget.
// A page starts strictly after the last patient the previous page showed, so patients inserted
// meanwhile appear once if they sort after it, and a patient is never shown twice or skipped for
// an insertion; a merged-away patient leaves the cohort (its survivor is an active member and is
// shown once, where it sorts).
import type { Database, Queryable } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { goldenColumns, toGolden, type GoldenPatient, type GoldenRow } from '../mpi/store.ts';
import type { Criterion } from './criteria.ts';
import type { CursorPosition } from './cursor.ts';
import { birthDaySort, compile, params, type CohortCoarsening, type Form, type Params } from './sql.ts';

export const COHORT_ORDER = { id: 'ID', birthDate: 'BIRTH_DATE', updatedAt: 'UPDATED_AT' } as const;
export type CohortOrder = (typeof COHORT_ORDER)[keyof typeof COHORT_ORDER];

/** Counted exactly up to this many members; above it the count is an estimate (flagged). */
export const COUNT_BOUND = 10_000;
/** The time the exact count may take (it runs beside the page); past it the count is estimated. */
export const COUNT_BUDGET_MS = 50;
/**
 * Patients in the estimate's sample: the active patients with the lowest ids. Golden ids are random
 * (UUID v4), so they are a uniform random sample, the same one every time (its index pages stay
 * cached, and the first page of the ID order reads the same patients).
 */
export const COUNT_SAMPLE = 1000;
/**
 * A page is found by walking the patients in its order and probing each (the plan for any cohort
 * that is not rare) when the sample says that takes at most this many patients; otherwise the
 * planner chooses (a rare criterion is found from the code's items). The planner's own choice is
 * not enough: it underestimates how dense a cohort is over the patients' records, and above a
 * few hundred rows a page it sorts the whole cohort instead of walking (a page of 1,000 took
 * seconds where the walk takes milliseconds).
 */
export const WALK_LIMIT = 50_000;
const SAMPLE_TTL_MS = 60_000;
const SAMPLE_CACHE = 500;

export type CohortPageRequest = {
  readonly criteria: Criterion;
  readonly order: CohortOrder;
  /** De-identified callers are ordered by what they see (the shown birth year, not the birth date). */
  readonly deidentified: boolean;
  readonly coarsening: CohortCoarsening;
  /** A launch-bound token's one patient. */
  readonly onlyId: string | null;
  readonly first: number;
  readonly after: CursorPosition | null;
  /** COUNT_BOUND unless given. */
  readonly countBound?: number;
  /**
   * Only whether the cohort reaches countBound + 1 matters (a small-cell check nobody reads the
   * count of): no estimate above the bound, and no count at all when the page itself shows that many.
   */
  readonly countFloorOnly?: boolean;
  /** False when nobody reads the count (a clinician's page without totalCount): it is then not computed (0). */
  readonly count?: boolean;
  /** COUNT_BUDGET_MS unless given. */
  readonly countBudgetMs?: number;
  /** COUNT_SAMPLE unless given. */
  readonly countSample?: number;
  /**
   * A small-cell floor (de-identified callers): an estimated count must still say exactly whether
   * the cohort has more than this many members. When the page or the sample does not show that
   * many, the members are counted exactly up to floor + 1 (as a floor-only count does).
   */
  readonly smallCellFloor?: number;
};

export type CohortMember = { readonly patient: GoldenPatient; readonly position: CursorPosition };
export type CohortPage = {
  readonly members: readonly CohortMember[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
  readonly totalCountIsEstimate: boolean;
};

// Sort key: the SQL ordered by (with the id after it), the text a cursor keeps, and how that text is read back.
type Sort = { readonly expr: string; readonly key: string; readonly cast: string };
const BIRTH_DAY_SORT = birthDaySort();
function sortOf(order: CohortOrder, deidentified: boolean, p: Params, c: CohortCoarsening): Sort | null {
  if (order === COHORT_ORDER.updatedAt) return { expr: 'g.updated_at', key: 'g.updated_at::text', cast: '::timestamptz' };
  if (order !== COHORT_ORDER.birthDate) return null;
  if (!deidentified) return { expr: BIRTH_DAY_SORT, key: BIRTH_DAY_SORT, cast: '' };
  // The "90 or older" category (no shown year) and unknown years sort first and last as the shown value would.
  const year = `(CASE WHEN g.birth_date !~ '^[0-9]{4}' THEN 99999 WHEN substring(g.birth_date from 1 for 4)::int <= ${p.add(
    c.oldestCategoryBirthYear,
    '::int',
  )} THEN 0 ELSE substring(g.birth_date from 1 for 4)::int END)`;
  return { expr: year, key: `${year}::text`, cast: '::int' };
}

/** The cohort's condition over `golden_patient g` (active records only). */
export function cohortWhere(r: Pick<CohortPageRequest, 'criteria' | 'coarsening' | 'onlyId'>, p: Params, form: Form = 'semi'): string {
  const launch = r.onlyId === null ? '' : ` AND g.id = ${p.add(r.onlyId, '::uuid')}`;
  return `g.status = 'ACTIVE'${launch} AND ${compile(r.criteria, p, r.coarsening, form)}`;
}

/** The bounded count's statement (exported for EXPLAIN in the benchmark): members up to the bound + 1. */
export function countStatement(r: CohortPageRequest, bound: number): { readonly text: string; readonly values: unknown[] } {
  const p = params();
  return {
    text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM golden_patient g WHERE ${cohortWhere(r, p)} LIMIT ${bound + 1}) x`,
    values: p.values,
  };
}

type Size = { readonly count: number; readonly estimate: boolean; readonly atLeast: number };

/** The exact count, up to the bound + 1 (a floor: nothing else is needed above it). */
async function boundedCount(db: Queryable, r: CohortPageRequest, bound: number): Promise<number> {
  const counted = countStatement(r, bound);
  return (await db.query<{ n: number }>(counted.text, counted.values)).rows[0]?.n ?? 0;
}

const isStatementTimeout = (e: unknown): boolean =>
  e instanceof ProductError && e.code === 'DATABASE_UNAVAILABLE' && (e.cause as { code?: unknown } | undefined)?.code === '57014';

/**
 * The bounded count within `budgetMs` (statement_timeout of its own transaction), or null when it
 * needs longer. The cancelled statement is caught inside the transaction, so the connection goes
 * back to the pool whole (its COMMIT answers ROLLBACK).
 */
export async function budgetedCount(db: Queryable, r: CohortPageRequest, bound: number, budgetMs: number): Promise<number | null> {
  if (!isDatabase(db)) return boundedCount(db, r, bound);
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(budgetMs))}`);
    return boundedCount(tx, r, bound).catch((e: unknown) => {
      if (isStatementTimeout(e)) return null;
      throw e;
    });
  });
}

const isDatabase = (db: Queryable): db is Database => typeof (db as Database).transaction === 'function';

/** The sample's statement (exported for EXPLAIN in the benchmark): members among the first `size` active patients by id. */
export function sampleStatement(r: CohortPageRequest, size: number): { readonly text: string; readonly values: unknown[] } {
  const p = params();
  // Per-patient probes whatever the criteria: a thousand patients, never every item of a code.
  const where = cohortWhere(r, p, 'probe');
  return {
    text: `WITH sample AS MATERIALIZED (SELECT * FROM golden_patient g WHERE g.status = 'ACTIVE' ORDER BY g.id LIMIT ${p.add(size, '::int')})
      SELECT (SELECT count(*) FROM sample)::int AS sampled, (SELECT count(*) FROM sample g WHERE ${where})::int AS matched`,
    values: p.values,
  };
}

export type SampleEstimate = {
  /** Members found in the sample: a proven lower bound of the cohort's size. */
  readonly matched: number;
  readonly sampled: number;
  /** The sample is every active patient: `matched` is the exact count. */
  readonly whole: boolean;
  readonly estimate: number;
};

/** The cohort's size scaled from a fixed random sample of active patients (the planner estimates how many are active). */
export async function sampleEstimate(db: Queryable, r: CohortPageRequest, size = COUNT_SAMPLE): Promise<SampleEstimate> {
  const s = sampleStatement(r, size);
  const { matched, sampled } = (await db.query<{ matched: number; sampled: number }>(s.text, s.values)).rows[0] ?? {
    matched: 0,
    sampled: 0,
  };
  if (sampled < size) return { matched, sampled, whole: true, estimate: matched };
  const active = await plannedRows(db, `SELECT 1 FROM golden_patient g WHERE g.status = 'ACTIVE'`, []);
  return { matched, sampled, whole: false, estimate: Math.max(matched, Math.round((matched / sampled) * Math.max(active, sampled))) };
}

async function plannedRows(db: Queryable, text: string, values: unknown[]): Promise<number> {
  const plan = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, values);
  const raw = plan.rows[0]?.['QUERY PLAN'];
  const json = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan?: { 'Plan Rows'?: number } }[];
  return Math.round(json[0]?.Plan?.['Plan Rows'] ?? 0);
}

/**
 * The cohort's size: the sample first (a few milliseconds: the same patients every time); when it
 * says the cohort is far above the bound, that estimate; otherwise the exact count within the
 * budget, the sample's estimate when the budget runs out. A launch-bound token's cohort (one
 * patient at most) is counted exactly.
 */
async function cohortSize(db: Queryable, r: CohortPageRequest, fresh: Promise<SampleEstimate> | null): Promise<Size> {
  const bound = r.countBound ?? COUNT_BOUND;
  if (r.onlyId !== null) {
    const n = await boundedCount(db, r, bound);
    return { count: n, estimate: false, atLeast: n };
  }
  const sample = await (fresh ?? sampleEstimate(db, r, r.countSample ?? COUNT_SAMPLE));
  if (sample.whole) return { count: sample.matched, estimate: false, atLeast: sample.matched };
  const estimated = { count: Math.max(sample.estimate, sample.matched), estimate: true, atLeast: sample.matched };
  // Far above the bound (twice it: well beyond the sample's error there), the exact count would end at the bound anyway.
  if (sample.estimate > 2 * bound) return estimated;
  const n = await budgetedCount(db, r, bound, r.countBudgetMs ?? COUNT_BUDGET_MS);
  if (n === null) return estimated;
  if (n <= bound) return { count: n, estimate: false, atLeast: n };
  return { count: Math.max(bound + 1, sample.estimate), estimate: true, atLeast: bound + 1 };
}

const readsRecords = (c: Criterion): boolean =>
  c.kind === 'clinical' ||
  c.kind === 'source' ||
  (c.kind === 'not' && readsRecords(c.of)) ||
  ((c.kind === 'all' || c.kind === 'any') && c.of.some(readsRecords));

/** The filter as an OR over the patients' records AND the rest, or null when it has none at its top. */
function topOr(c: Criterion): { readonly rest: readonly Criterion[]; readonly branches: readonly Criterion[] } | null {
  const top = c.kind === 'all' ? c.of : [c];
  const i = top.findIndex((x) => x.kind === 'any' && x.of.some(readsRecords));
  const or = top[i];
  return or?.kind === 'any' ? { rest: top.filter((_, j) => j !== i), branches: or.of } : null;
}

/**
 * The page's statement (exported for EXPLAIN in tests): members after the cursor, one more than
 * asked (hasNextPage). An OR over the patients' records at the top of the filter is paged branch
 * by branch: each branch's own keyset page (its criterion an EXISTS at the top, which the planner
 * drives from the patients or from the code's items, whichever is cheaper for that branch), then
 * the union's first members. One rare branch no longer makes the page walk every patient, and a
 * common one is not collected whole for each page.
 */
export function pageStatement(r: CohortPageRequest, form: Form = 'semi'): { readonly text: string; readonly values: unknown[] } {
  const p = params();
  const sort = sortOf(r.order, r.deidentified, p, r.coarsening);
  let after = '';
  if (r.after)
    after = sort
      ? ` AND (${sort.expr}, g.id) > (${p.add(r.after.key)}${sort.cast}, ${p.add(r.after.id, '::uuid')})`
      : ` AND g.id > ${p.add(r.after.id, '::uuid')}`;
  const orderBy = sort ? `${sort.expr}, g.id` : 'g.id';
  const limit = p.add(r.first + 1, '::int');
  const columns = `${goldenColumns('g')}, ${sort ? sort.key : 'NULL::text'} AS sort_key`;
  const split = form === 'semi' ? topOr(r.criteria) : null;
  if (split) {
    const pages = split.branches.map(
      (
        b,
      ) => `(SELECT g.id FROM golden_patient g WHERE ${cohortWhere({ ...r, criteria: { kind: 'all', of: [...split.rest, b] } }, p)}${after}
        ORDER BY ${orderBy} LIMIT ${limit})`,
    );
    return {
      text: `SELECT ${columns} FROM (${pages.join(' UNION ')}) u JOIN golden_patient g ON g.id = u.id ORDER BY ${orderBy} LIMIT ${limit}`,
      values: p.values,
    };
  }
  return {
    text: `SELECT ${columns} FROM golden_patient g WHERE ${cohortWhere(r, p, form)}${after} ORDER BY ${orderBy} LIMIT ${limit}`,
    values: p.values,
  };
}

// Recent samples by statement: how dense a cohort is decides how its pages are found (never what they hold).
const samples = new Map<string, { readonly at: number; readonly sample: Promise<SampleEstimate> }>();

/** The sample of this cohort from the last minute, or a fresh one (then also returned as `fresh`, for the count). */
function recentSample(db: Queryable, r: CohortPageRequest): { sample: Promise<SampleEstimate>; fresh: Promise<SampleEstimate> | null } {
  const size = r.countSample ?? COUNT_SAMPLE;
  const s = sampleStatement(r, size);
  const key = `${s.text}\u0000${JSON.stringify(s.values)}`;
  const now = Date.now();
  const known = samples.get(key);
  if (known && now - known.at < SAMPLE_TTL_MS) return { sample: known.sample, fresh: null };
  const sample = sampleEstimate(db, r, size);
  samples.delete(key);
  samples.set(key, { at: now, sample });
  sample.catch(() => samples.delete(key));
  if (samples.size > SAMPLE_CACHE) samples.delete(samples.keys().next().value!);
  return { sample, fresh: sample };
}

/** Walk the patients (per-patient probes) or let the planner choose: see WALK_LIMIT. */
export async function pageForm(db: Queryable, r: CohortPageRequest): Promise<{ form: Form; fresh: Promise<SampleEstimate> | null }> {
  if (r.onlyId !== null || !readsRecords(r.criteria)) return { form: 'semi', fresh: null };
  const { sample, fresh } = recentSample(db, r);
  const { matched, sampled } = await sample;
  const density = sampled > 0 ? matched / sampled : 0;
  return { form: density > 0 && (r.first + 1) / density <= WALK_LIMIT ? 'probe' : 'semi', fresh };
}

export async function cohortPage(db: Queryable, protection: IdentifierProtection, r: CohortPageRequest): Promise<CohortPage> {
  const { form, fresh } = await pageForm(db, r);
  const statement = pageStatement(r, form);
  const pageRows = () => db.query<GoldenRow & { sort_key: string | null }>(statement.text, statement.values);
  const bound = r.countBound ?? COUNT_BOUND;
  let page: Awaited<ReturnType<typeof pageRows>>;
  let size: { count: number; estimate: boolean };
  if (r.count === false) [page, size] = [await pageRows(), { count: 0, estimate: false }];
  // A floor: a page of more members than the bound shows it (the page's members are all in the cohort).
  else if (r.countFloorOnly) {
    page = await pageRows();
    size =
      page.rows.length > bound
        ? { count: bound + 1, estimate: true }
        : (wholeCohort(r, page.rows.length) ?? (await floorCount(db, r, bound)));
  } else {
    let counted: Awaited<ReturnType<typeof cohortSize>>;
    [page, counted] = await Promise.all([pageRows(), cohortSize(db, r, fresh)]);
    // The page's members are members too: an estimate is never below what the page shows.
    const atLeast = Math.max(counted.atLeast, page.rows.length);
    size = wholeCohort(r, page.rows.length) ?? (counted.estimate ? { count: Math.max(counted.count, atLeast), estimate: true } : counted);
    // Small cells are decided on proof, never on an estimate.
    const floor = r.smallCellFloor;
    if (size.estimate && floor !== undefined && atLeast <= floor) {
      const exact = await floorCount(db, r, floor);
      if (!exact.estimate) size = exact;
      else size = { count: Math.max(size.count, floor + 1), estimate: true };
    }
  }
  return {
    members: page.rows
      .slice(0, r.first)
      .map((row) => ({ patient: toGolden(row, protection), position: { key: row.sort_key, id: row.id } })),
    hasNextPage: page.rows.length > r.first,
    totalCount: size.count,
    totalCountIsEstimate: size.estimate,
  };
}

/** A first page that is not full is the whole cohort: its count. */
const wholeCohort = (r: CohortPageRequest, rows: number): { count: number; estimate: boolean } | null =>
  r.after === null && rows <= r.first ? { count: rows, estimate: false } : null;

/** Exact up to `bound`; bound + 1 (flagged) above it. */
async function floorCount(db: Queryable, r: CohortPageRequest, bound: number): Promise<{ count: number; estimate: boolean }> {
  const n = await boundedCount(db, r, bound);
  return n <= bound ? { count: n, estimate: false } : { count: bound + 1, estimate: true };
}
