// One page of a cohort: keyset pagination over active golden records in a stable order (the sort
// key, then the id), and the cohort's size, exact up to COUNT_BOUND and estimated above it.
// A page starts strictly after the last patient the previous page showed, so patients inserted
// meanwhile appear once if they sort after it, and a patient is never shown twice or skipped for
// an insertion; a merged-away patient leaves the cohort (its survivor is an active member and is
// shown once, where it sorts).
import type { Queryable } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { goldenColumns, toGolden, type GoldenPatient, type GoldenRow } from '../mpi/store.ts';
import type { Criterion } from './criteria.ts';
import type { CursorPosition } from './cursor.ts';
import { birthDaySort, compile, params, type CohortCoarsening, type Params } from './sql.ts';

export const COHORT_ORDER = { id: 'ID', birthDate: 'BIRTH_DATE', updatedAt: 'UPDATED_AT' } as const;
export type CohortOrder = (typeof COHORT_ORDER)[keyof typeof COHORT_ORDER];

/** Counted exactly up to this many members; above it the count is the planner's estimate (flagged). */
export const COUNT_BOUND = 10_000;

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
export function cohortWhere(r: Pick<CohortPageRequest, 'criteria' | 'coarsening' | 'onlyId'>, p: Params): string {
  const launch = r.onlyId === null ? '' : ` AND g.id = ${p.add(r.onlyId, '::uuid')}`;
  return `g.status = 'ACTIVE'${launch} AND ${compile(r.criteria, p, r.coarsening)}`;
}

/** The bounded count's statement (exported for EXPLAIN in the benchmark): members up to the bound + 1. */
export function countStatement(r: CohortPageRequest, bound: number): { readonly text: string; readonly values: unknown[] } {
  const p = params();
  return {
    text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM golden_patient g WHERE ${cohortWhere(r, p)} LIMIT ${bound + 1}) x`,
    values: p.values,
  };
}

/** Exact up to the bound; above, the planner's row estimate (at least the bound + 1), or the bound + 1 for a floor. */
async function cohortSize(db: Queryable, r: CohortPageRequest): Promise<{ count: number; estimate: boolean }> {
  const bound = r.countBound ?? COUNT_BOUND;
  const counted = countStatement(r, bound);
  const exact = await db.query<{ n: number }>(counted.text, counted.values);
  const n = exact.rows[0]?.n ?? 0;
  if (n <= bound) return { count: n, estimate: false };
  if (r.countFloorOnly) return { count: bound + 1, estimate: true };
  const p = params();
  const where = cohortWhere(r, p);
  const plan = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM golden_patient g WHERE ${where}`, p.values);
  const raw = plan.rows[0]?.['QUERY PLAN'];
  const json = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan?: { 'Plan Rows'?: number } }[];
  return { count: Math.max(bound + 1, Math.round(json[0]?.Plan?.['Plan Rows'] ?? 0)), estimate: true };
}

/** The page's statement (exported for EXPLAIN in tests): members after the cursor, one more than asked (hasNextPage). */
export function pageStatement(r: CohortPageRequest): { readonly text: string; readonly values: unknown[] } {
  const p = params();
  const sort = sortOf(r.order, r.deidentified, p, r.coarsening);
  const where = cohortWhere(r, p);
  let after = '';
  if (r.after)
    after = sort
      ? ` AND (${sort.expr}, g.id) > (${p.add(r.after.key)}${sort.cast}, ${p.add(r.after.id, '::uuid')})`
      : ` AND g.id > ${p.add(r.after.id, '::uuid')}`;
  const orderBy = sort ? `${sort.expr}, g.id` : 'g.id';
  return {
    text: `SELECT ${goldenColumns('g')}, ${sort ? sort.key : 'NULL::text'} AS sort_key FROM golden_patient g
       WHERE ${where}${after} ORDER BY ${orderBy} LIMIT ${p.add(r.first + 1, '::int')}`,
    values: p.values,
  };
}

export async function cohortPage(db: Queryable, protection: IdentifierProtection, r: CohortPageRequest): Promise<CohortPage> {
  const statement = pageStatement(r);
  const pageRows = () => db.query<GoldenRow & { sort_key: string | null }>(statement.text, statement.values);
  const floorShown = (rows: number) => r.countFloorOnly === true && rows > (r.countBound ?? COUNT_BOUND);
  let page: Awaited<ReturnType<typeof pageRows>>;
  let size: { count: number; estimate: boolean };
  if (r.count === false) [page, size] = [await pageRows(), { count: 0, estimate: false }];
  // A floor: a page of more members than the bound shows it (the page's members are all in the cohort).
  else if (r.countFloorOnly) {
    page = await pageRows();
    size = floorShown(page.rows.length) ? { count: (r.countBound ?? COUNT_BOUND) + 1, estimate: true } : await cohortSize(db, r);
  } else [page, size] = await Promise.all([pageRows(), cohortSize(db, r)]);
  return {
    members: page.rows
      .slice(0, r.first)
      .map((row) => ({ patient: toGolden(row, protection), position: { key: row.sort_key, id: row.id } })),
    hasNextPage: page.rows.length > r.first,
    totalCount: size.count,
    totalCountIsEstimate: size.estimate,
  };
}
