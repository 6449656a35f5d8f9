// Indexes behind cohort filters and orders (checked with EXPLAIN in migrations.test.ts): keyset
// orders over active golden records, and live clinical items by standard code and value or by
// type and time, carrying the join keys to the patient's source record. Then saved cohorts:
// immutable versioned definitions, materialized snapshots of their members, and export jobs.
import type { Migration } from '../../platform/db.ts';

import { birthDaySort, birthYear } from './sql.ts';

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
    id: 'cohort-002-saved',
    sql: `
      CREATE TABLE IF NOT EXISTS cohort (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        view text NOT NULL CHECK (view IN ('identified', 'deidentified')),
        current_version integer NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS cohort_version (
        cohort_id uuid NOT NULL REFERENCES cohort (id),
        version integer NOT NULL CHECK (version >= 1),
        filter jsonb NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cohort_id, version)
      );
      CREATE OR REPLACE FUNCTION cohort_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'cohort versions are immutable' USING ERRCODE = 'P0001'; END $$;
      DROP TRIGGER IF EXISTS cohort_version_immutable ON cohort_version;
      CREATE TRIGGER cohort_version_immutable BEFORE UPDATE OR DELETE ON cohort_version FOR EACH ROW EXECUTE FUNCTION cohort_version_immutable();
      CREATE TABLE IF NOT EXISTS cohort_snapshot (
        id uuid PRIMARY KEY,
        cohort_id uuid NOT NULL,
        version integer NOT NULL,
        taken_at timestamptz NOT NULL,
        taken_by text NOT NULL,
        member_count integer NOT NULL,
        FOREIGN KEY (cohort_id, version) REFERENCES cohort_version (cohort_id, version)
      );
      CREATE INDEX IF NOT EXISTS cohort_snapshot_taken ON cohort_snapshot (cohort_id, taken_at DESC);
      CREATE TABLE IF NOT EXISTS cohort_snapshot_member (
        snapshot_id uuid NOT NULL REFERENCES cohort_snapshot (id),
        golden_id uuid NOT NULL,
        PRIMARY KEY (snapshot_id, golden_id)
      );
      CREATE TABLE IF NOT EXISTS cohort_export (
        id uuid PRIMARY KEY,
        cohort_id uuid NOT NULL REFERENCES cohort (id),
        snapshot_id uuid NOT NULL REFERENCES cohort_snapshot (id),
        requester text NOT NULL,
        principal jsonb NOT NULL,
        view text NOT NULL CHECK (view IN ('identified', 'deidentified')),
        types text[] NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'expired')),
        members_total integer NOT NULL,
        members_done integer NOT NULL DEFAULT 0,
        resources_written integer NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        lease_until timestamptz,
        error text,
        files jsonb,
        manifest jsonb,
        requested_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        completed_at timestamptz,
        expires_at timestamptz
      );
      CREATE INDEX IF NOT EXISTS cohort_export_pending ON cohort_export (requested_at) WHERE status IN ('queued', 'running');
      CREATE INDEX IF NOT EXISTS cohort_export_expiring ON cohort_export (expires_at) WHERE status = 'completed'`,
  },
  {
    // A clinical criterion checked patient by patient (the plan for any cohort that is not rare: walk
    // the keyset order, probe each patient's records) read every item of the type from the table, at
    // a million patients mostly from disk. These two make the probe index-only: the patient's live
    // records, then the patient's live items by type and code with what the criteria compare.
    // clinical_item_cohort (code_system, code, effective_at) goes: clinical_item_cohort_value answers
    // the same code-side lookups for live items, and item writes keep their number of indexes.
    id: 'cohort-003-patient-side-probes',
    sql: `
      CREATE INDEX IF NOT EXISTS source_record_cohort_golden ON source_record (golden_id) INCLUDE (source, source_patient_id) WHERE deleted_at IS NULL;
      CREATE INDEX IF NOT EXISTS clinical_item_cohort_subject ON clinical_item (source, subject_id, resource_type, code_system, code, value_num)
        INCLUDE (value_unit, effective_at, codes) WHERE ${LIVE};
      DROP INDEX IF EXISTS clinical_item_cohort`,
  },
  {
    // A criterion checked from the code's side (a rare code, or the count of one) read each item from
    // the table to test its resource type: clinical_item_cohort_value did not carry it. This one
    // does (the same key), so that scan is index-only too; the old one goes (same number of indexes).
    // Built once, at start: memory for the sort of a large store's items (this transaction only).
    id: 'cohort-004-code-side-type',
    sql: `
      SET LOCAL maintenance_work_mem = '256MB';
      CREATE INDEX IF NOT EXISTS clinical_item_cohort_code ON clinical_item (code_system, code, value_num)
        INCLUDE (resource_type, value_unit, effective_at, source, subject_id) WHERE ${LIVE};
      DROP INDEX IF EXISTS clinical_item_cohort_value`,
  },
  {
    // Statistics on the birth year the birth-year criteria compare: without them the planner guessed
    // a range on it selects 1 in 200 patients, and sorted a whole cohort rather than walk the id order.
    id: 'cohort-005-birth-year-statistics',
    sql: `
      CREATE STATISTICS IF NOT EXISTS golden_patient_birth_year ON (${birthYear('birth_date')}) FROM golden_patient;
      ANALYZE golden_patient`,
  },
];
