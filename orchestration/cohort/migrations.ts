// Indexes behind cohort filters and orders (checked with EXPLAIN in migrations.test.ts): keyset
// orders over active golden records, and live clinical items by standard code and value or by
// type and time, carrying the join keys to the patient's source record.
import type { Migration } from '../../platform/db.ts';

import { birthDaySort } from './sql.ts';

// The same expression the birth-date order sorts by, for the planner to use the index.
const BIRTH_DAY_SORT = birthDaySort('birth_date');
const LIVE = 'NOT entered_in_error AND deleted_at IS NULL';

export const COHORT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'cohort-001-indexes',
    sql: `
      CREATE INDEX IF NOT EXISTS golden_patient_cohort_birth ON golden_patient ((${BIRTH_DAY_SORT}), id) WHERE status = 'ACTIVE';
      CREATE INDEX IF NOT EXISTS golden_patient_cohort_updated ON golden_patient (updated_at, id) WHERE status = 'ACTIVE';
      CREATE INDEX IF NOT EXISTS golden_patient_cohort_gender ON golden_patient (gender, id) WHERE status = 'ACTIVE';
      CREATE INDEX IF NOT EXISTS source_record_cohort_source ON source_record (source, golden_id) WHERE deleted_at IS NULL;
      CREATE INDEX IF NOT EXISTS clinical_item_cohort_value ON clinical_item (code_system, code, value_num) INCLUDE (value_unit, effective_at, source, subject_id) WHERE ${LIVE};
      CREATE INDEX IF NOT EXISTS clinical_item_cohort_time ON clinical_item (resource_type, effective_at) INCLUDE (source, subject_id) WHERE ${LIVE}`,
  },
  {
    // A clinical criterion checked patient by patient (the plan for any cohort that is not rare: walk
    // the keyset order, probe each patient's records) read every item of the type from the table, at
    // a million patients mostly from disk. These two make the probe index-only: the patient's live
    // records, then the patient's live items by type and code with what the criteria compare.
    // clinical_item_cohort (code_system, code, effective_at) goes: clinical_item_cohort_value answers
    // the same code-side lookups for live items, and item writes keep their number of indexes.
    id: 'cohort-002-patient-side-probes',
    sql: `
      CREATE INDEX IF NOT EXISTS source_record_cohort_golden ON source_record (golden_id) INCLUDE (source, source_patient_id) WHERE deleted_at IS NULL;
      CREATE INDEX IF NOT EXISTS clinical_item_cohort_subject ON clinical_item (source, subject_id, resource_type, code_system, code, value_num)
        INCLUDE (value_unit, effective_at, codes) WHERE ${LIVE};
      DROP INDEX IF EXISTS clinical_item_cohort`,
  },
];
