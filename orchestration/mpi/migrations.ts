// The MPI's tables. Golden records, the source records linked to them (one link each, with its
// state, origin, score and evidence), blocking keys, name frequencies, the review queue, merges
// and the append-only history of every link change. Blocking keys are 64-bit prefixes of an HMAC
// (no PHI, and a narrow index: at a million records the index is what must stay in memory).
import type { Migration } from '../../platform/db.ts';

export const MPI_MIGRATIONS: readonly Migration[] = [
  {
    id: 'mpi-001-golden-and-links',
    sql: `
      CREATE TABLE IF NOT EXISTS golden_patient (
        id uuid PRIMARY KEY,
        name jsonb,
        birth_date text,
        gender text,
        identifiers jsonb NOT NULL DEFAULT '[]',
        addresses jsonb NOT NULL DEFAULT '[]',
        telecom jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS source_record (
        source text NOT NULL,
        source_patient_id text NOT NULL,
        golden_id uuid NOT NULL REFERENCES golden_patient (id),
        mrn text,
        match_key text,
        demographics jsonb NOT NULL,
        source_updated_at text,
        linked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, source_patient_id)
      );
      CREATE INDEX IF NOT EXISTS source_record_golden ON source_record (golden_id);
      CREATE INDEX IF NOT EXISTS source_record_match_key ON source_record (match_key);
      CREATE TABLE IF NOT EXISTS patient_identifier (
        system text NOT NULL,
        value text NOT NULL,
        source text NOT NULL,
        source_patient_id text NOT NULL,
        PRIMARY KEY (system, value, source, source_patient_id),
        FOREIGN KEY (source, source_patient_id) REFERENCES source_record (source, source_patient_id) ON DELETE CASCADE
      )`,
  },
  {
    id: 'mpi-002-probabilistic-links',
    sql: `
      ALTER TABLE golden_patient
        ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'MERGED')),
        ADD COLUMN IF NOT EXISTS merged_into uuid REFERENCES golden_patient (id),
        ADD COLUMN IF NOT EXISTS provisional boolean NOT NULL DEFAULT true,
        ADD COLUMN IF NOT EXISTS data_quality jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN IF NOT EXISTS provenance jsonb NOT NULL DEFAULT '{}',
        ADD COLUMN IF NOT EXISTS manual_values jsonb NOT NULL DEFAULT '{}';
      ALTER TABLE source_record
        ADD COLUMN IF NOT EXISTS link_state text NOT NULL DEFAULT 'MATCH' CHECK (link_state IN ('MATCH', 'POSSIBLE_MATCH', 'NO_MATCH')),
        ADD COLUMN IF NOT EXISTS link_origin text NOT NULL DEFAULT 'AUTO' CHECK (link_origin IN ('AUTO', 'MANUAL')),
        ADD COLUMN IF NOT EXISTS link_score double precision,
        ADD COLUMN IF NOT EXISTS link_evidence jsonb,
        ADD COLUMN IF NOT EXISTS matched_via text,
        ADD COLUMN IF NOT EXISTS features jsonb,
        ADD COLUMN IF NOT EXISTS data_quality jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
      ALTER TABLE source_record ADD COLUMN IF NOT EXISTS rid bigserial;
      CREATE UNIQUE INDEX IF NOT EXISTS source_record_rid ON source_record (rid);
      CREATE TABLE IF NOT EXISTS match_block (
        key bigint NOT NULL,
        rid bigint NOT NULL REFERENCES source_record (rid) ON DELETE CASCADE,
        PRIMARY KEY (key, rid)
      );
      CREATE INDEX IF NOT EXISTS match_block_rid ON match_block (rid);
      CREATE TABLE IF NOT EXISTS name_frequency (
        term text PRIMARY KEY,
        count bigint NOT NULL
      );
      CREATE TABLE IF NOT EXISTS review_item (
        id uuid PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        kind text NOT NULL CHECK (kind IN ('POSSIBLE_MATCH', 'POSSIBLE_DUPLICATE')),
        record_source text,
        record_id text,
        golden_id uuid NOT NULL REFERENCES golden_patient (id),
        candidate_id uuid NOT NULL REFERENCES golden_patient (id),
        score double precision NOT NULL,
        evidence jsonb NOT NULL DEFAULT '[]',
        status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'RESOLVED', 'OBSOLETE')),
        decision text CHECK (decision IN ('MATCH', 'NO_MATCH')),
        reason text,
        resolved_by text,
        resolved_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX IF NOT EXISTS review_item_open_pair ON review_item (least(golden_id, candidate_id), greatest(golden_id, candidate_id)) WHERE status = 'OPEN';
      CREATE INDEX IF NOT EXISTS review_item_queue ON review_item (seq) WHERE status = 'OPEN';
      CREATE TABLE IF NOT EXISTS not_duplicate (
        low uuid NOT NULL REFERENCES golden_patient (id),
        high uuid NOT NULL REFERENCES golden_patient (id),
        reason text NOT NULL,
        actor text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (low, high),
        CHECK (low < high)
      );
      CREATE TABLE IF NOT EXISTS merge_event (
        id uuid PRIMARY KEY,
        survivor_id uuid NOT NULL REFERENCES golden_patient (id),
        merged_id uuid NOT NULL REFERENCES golden_patient (id),
        moved jsonb NOT NULL,
        reason text NOT NULL,
        actor text NOT NULL,
        request_id text,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        undone_at timestamptz,
        undone_by text,
        undo_reason text
      );
      CREATE INDEX IF NOT EXISTS merge_event_merged ON merge_event (merged_id, at DESC);
      CREATE TABLE IF NOT EXISTS link_event (
        seq bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        source text NOT NULL,
        source_patient_id text NOT NULL,
        golden_id uuid NOT NULL,
        previous_golden_id uuid,
        state text NOT NULL,
        origin text NOT NULL,
        score double precision,
        evidence jsonb,
        action text NOT NULL,
        reason text,
        actor text NOT NULL,
        request_id text,
        merge_id uuid
      );
      CREATE INDEX IF NOT EXISTS link_event_record ON link_event (source, source_patient_id, seq);
      CREATE INDEX IF NOT EXISTS link_event_golden ON link_event (golden_id, seq);
      CREATE INDEX IF NOT EXISTS link_event_previous ON link_event (previous_golden_id, seq) WHERE previous_golden_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS golden_patient_merged_into ON golden_patient (merged_into) WHERE merged_into IS NOT NULL`,
  },
  {
    // Batch linking at a million records spent its time maintaining indexes. A record's blocking
    // keys now live on the record (block_keys), so its match_block rows are found through the
    // (key, rid) primary key: the secondary index on rid, and the foreign key whose check probed
    // source_record once per block row, go. Records are never hard-deleted (deleted_at), and block
    // rows are written and removed in the record's own transaction. match_key (the deterministic
    // rule's key) has been unused since mpi-002.
    id: 'mpi-003-block-keys-on-record',
    sql: `
      ALTER TABLE source_record ADD COLUMN IF NOT EXISTS block_keys bigint[] NOT NULL DEFAULT '{}';
      UPDATE source_record s SET block_keys = b.keys FROM (SELECT rid, array_agg(key) AS keys FROM match_block GROUP BY rid) AS b WHERE b.rid = s.rid;
      ALTER TABLE match_block DROP CONSTRAINT IF EXISTS match_block_rid_fkey;
      DROP INDEX IF EXISTS match_block_rid;
      DROP INDEX IF EXISTS source_record_match_key;
      ALTER TABLE source_record DROP COLUMN IF EXISTS match_key`,
  },
  {
    // A steward's manual values (golden_patient.manual_values holds the current ones) and their
    // append-only history: set, cleared, carried to the survivor by a merge, taken back by its undo.
    id: 'mpi-004-manual-value-history',
    sql: `
      CREATE TABLE IF NOT EXISTS manual_value_event (
        seq bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        golden_id uuid NOT NULL REFERENCES golden_patient (id),
        field text NOT NULL,
        action text NOT NULL CHECK (action IN ('SET', 'CLEARED', 'MERGED', 'UNMERGED')),
        value jsonb,
        reason text NOT NULL,
        actor text NOT NULL,
        request_id text,
        merge_id uuid
      );
      CREATE INDEX IF NOT EXISTS manual_value_event_golden ON manual_value_event (golden_id, field, seq)`,
  },
  {
    // Why each link and review item is what it is (a code of match-reasons.ts, written where the
    // decision is made; rows from before read UNKNOWN), the thresholds a review item was queued
    // under, and what a merge closed in the review queue so that its undo reopens exactly that:
    // review_item.closed_by_merge names the merge, a reopened item names the one it reopens
    // (reopens), and merge_event.review_outcome keeps, per closed item, whether the undo reopened it
    // or why not. Nullable columns without defaults: no table rewrite at a million records.
    id: 'mpi-005-match-reasons-and-reopened-reviews',
    sql: `
      ALTER TABLE source_record ADD COLUMN IF NOT EXISTS match_reason text;
      ALTER TABLE link_event ADD COLUMN IF NOT EXISTS match_reason text;
      ALTER TABLE review_item
        ADD COLUMN IF NOT EXISTS match_reason text,
        ADD COLUMN IF NOT EXISTS thresholds jsonb,
        ADD COLUMN IF NOT EXISTS closed_by_merge uuid REFERENCES merge_event (id),
        ADD COLUMN IF NOT EXISTS reopens uuid REFERENCES review_item (id);
      CREATE INDEX IF NOT EXISTS review_item_closed_by_merge ON review_item (closed_by_merge) WHERE closed_by_merge IS NOT NULL;
      CREATE INDEX IF NOT EXISTS review_item_reopens ON review_item (reopens) WHERE reopens IS NOT NULL;
      ALTER TABLE merge_event ADD COLUMN IF NOT EXISTS review_outcome jsonb`,
  },
  {
    // Table upkeep analyzes these tables again and again while a large load grows them (upkeep.ts).
    // ANALYZE spent most of its time on the wide JSON columns, which no query filters or joins on
    // (BENCHMARKS.md, issue 13): they get no statistics. A catalog change only: no rewrite.
    id: 'mpi-006-no-statistics-on-payload-columns',
    sql: `
      ALTER TABLE golden_patient
        ALTER COLUMN name SET STATISTICS 0,
        ALTER COLUMN identifiers SET STATISTICS 0,
        ALTER COLUMN addresses SET STATISTICS 0,
        ALTER COLUMN telecom SET STATISTICS 0,
        ALTER COLUMN data_quality SET STATISTICS 0,
        ALTER COLUMN provenance SET STATISTICS 0,
        ALTER COLUMN manual_values SET STATISTICS 0;
      ALTER TABLE source_record
        ALTER COLUMN demographics SET STATISTICS 0,
        ALTER COLUMN features SET STATISTICS 0,
        ALTER COLUMN link_evidence SET STATISTICS 0,
        ALTER COLUMN data_quality SET STATISTICS 0,
        ALTER COLUMN block_keys SET STATISTICS 0`,
  },
  {
    // Stewards find a patient by the first letters of the family name (findPatients): a prefix
    // match on this index, never a scan of every golden record.
    id: 'mpi-007-family-name-search',
    sql: `CREATE INDEX IF NOT EXISTS golden_patient_family_search ON golden_patient (lower(name->>'family') text_pattern_ops, id) WHERE status = 'ACTIVE'`,
  },
];
