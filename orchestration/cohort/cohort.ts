// The cohort module's entry point: filters checked into criteria, keyset pages with signed cursors.
export { cohortCriteria, GENDERS, type Criterion, type CriteriaContext, type PatientFilterInput } from './criteria.ts';
export { cohortCursors, cursorScope, type CohortCursors, type CursorPosition } from './cursor.ts';
export { snomedDescendants } from './descendants.ts';
export { COHORT_MIGRATIONS } from './migrations.ts';
export { COHORT_ORDER, COUNT_BOUND, cohortPage, type CohortOrder, type CohortPage, type CohortPageRequest } from './page.ts';
export type { CohortCoarsening } from './sql.ts';
