// The canonical clinical store (layer 3). One table for every clinical resource type: the merged
// view and cohorts ask the same questions of all of them (a patient's items by type, code and
// time; a code's items by time and value), so one set of indexes serves them, and a new type is
// a row in translation/fhir-r4/clinical-fields.ts, not a table. The canonical resource stays JSON;
// what is searched is in columns. Superseded versions move to clinical_item_history.
//
// PHI: like the MPI (which encrypts only protected identifier values, config/protected-fields.json),
// clinical values are stored as they are; protected identifiers inside a resource are sealed by
// the writer. No key here is derived from PHI by a plain hash except fact_key and content_digest,
// whose content is stored in clear in the same row anyway.
import type { Migration } from '../../platform/db.ts';

/** The columns a version carries, in the order both tables list them. */
export const ITEM_COLUMNS = [
  'resource_type',
  'source',
  'resource_id',
  'version',
  'version_order',
  'content_digest',
  'subject_id',
  'code_system',
  'code',
  'codes',
  'effective_at',
  'effective_precision',
  'value_num',
  'value_unit',
  'original_value',
  'original_unit',
  'fact_key',
  'resource',
  'flags',
  'lineage',
  'message_id',
  'map_ids',
  'retrieved_at',
  'entered_in_error',
] as const;

export const CLINICAL_STORE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'clinical-001-items',
    sql: `
      CREATE TABLE IF NOT EXISTS clinical_item (
        id bigserial PRIMARY KEY,
        resource_type text NOT NULL,
        source text NOT NULL,
        resource_id text NOT NULL,
        version text NOT NULL,
        version_order text NOT NULL,
        content_digest text NOT NULL,
        subject_id text NOT NULL,
        code_system text,
        code text,
        codes text[] NOT NULL DEFAULT '{}',
        effective_at timestamptz,
        effective_precision text,
        value_num numeric,
        value_unit text,
        original_value text,
        original_unit text,
        fact_key text NOT NULL,
        resource jsonb NOT NULL,
        flags jsonb NOT NULL DEFAULT '[]',
        lineage jsonb NOT NULL,
        message_id text,
        map_ids text[] NOT NULL DEFAULT '{}',
        retrieved_at timestamptz NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (source, resource_type, resource_id)
      );
      CREATE INDEX IF NOT EXISTS clinical_item_subject ON clinical_item (source, subject_id, resource_type, effective_at DESC, fact_key);
      CREATE INDEX IF NOT EXISTS clinical_item_cohort ON clinical_item (code_system, code, effective_at) INCLUDE (value_num, value_unit, source, subject_id);
      CREATE INDEX IF NOT EXISTS clinical_item_codes ON clinical_item USING gin (codes);
      CREATE INDEX IF NOT EXISTS clinical_item_message ON clinical_item (message_id) WHERE message_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS clinical_item_maps ON clinical_item USING gin (map_ids);
      CREATE TABLE IF NOT EXISTS clinical_item_history (
        resource_type text NOT NULL,
        source text NOT NULL,
        resource_id text NOT NULL,
        version text NOT NULL,
        version_order text NOT NULL,
        content_digest text NOT NULL,
        subject_id text NOT NULL,
        code_system text,
        code text,
        codes text[] NOT NULL,
        effective_at timestamptz,
        effective_precision text,
        value_num numeric,
        value_unit text,
        original_value text,
        original_unit text,
        fact_key text NOT NULL,
        resource jsonb NOT NULL,
        flags jsonb NOT NULL,
        lineage jsonb NOT NULL,
        message_id text,
        map_ids text[] NOT NULL,
        retrieved_at timestamptz NOT NULL,
        superseded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, resource_type, resource_id, version)
      );
      CREATE INDEX IF NOT EXISTS clinical_item_history_message ON clinical_item_history (message_id) WHERE message_id IS NOT NULL`,
  },
  {
    // A resource its source withdrew (status entered-in-error) or no longer returns (deleted there)
    // stays stored for lineage and impact, and leaves every clinical view.
    id: 'clinical-002-withdrawn',
    sql: `
      ALTER TABLE clinical_item ADD COLUMN IF NOT EXISTS entered_in_error boolean NOT NULL DEFAULT false;
      ALTER TABLE clinical_item_history ADD COLUMN IF NOT EXISTS entered_in_error boolean NOT NULL DEFAULT false;
      ALTER TABLE clinical_item ADD COLUMN IF NOT EXISTS deleted_at timestamptz`,
  },
  {
    // When a connection's list of one type for one patient was last read from the EHR, and whether
    // that read was complete: the read-through's TTL (orchestration/clinical/read-through.ts) and
    // the stale and truncation warnings beside an answer served from the store.
    id: 'clinical-003-retrievals',
    sql: `
      CREATE TABLE IF NOT EXISTS clinical_retrieval (
        source text NOT NULL,
        patient_id text NOT NULL,
        resource_type text NOT NULL,
        retrieved_at timestamptz NOT NULL,
        complete boolean NOT NULL,
        returned integer,
        total integer,
        max_pages integer,
        stopped_by text,
        PRIMARY KEY (source, resource_type, patient_id)
      )`,
  },
  {
    // Which inbox message (a reconciliation's delete event) marked an item deleted; null when a
    // complete read no longer returned it (retireAbsent) or it is live.
    id: 'clinical-004-deleted-by',
    sql: `ALTER TABLE clinical_item ADD COLUMN IF NOT EXISTS deleted_message_id text`,
  },
  {
    // Every `system|code` token the store holds, once (a few thousand rows however many items): a
    // code prefix (ICD-10-CM E11) becomes the exact tokens under it, which the items' indexes
    // serve, where a prefix over the items' codes no index serves. The writer adds the tokens of
    // what it writes (write.ts); tokens are never removed (one whose items are gone matches none).
    // The C collation makes a prefix a range of the primary key. Backfilled from the live items:
    // an item withdrawn or deleted comes back only through the writer, which adds its tokens then.
    id: 'clinical-005-code-tokens',
    sql: `
      CREATE TABLE IF NOT EXISTS clinical_code_token (token text COLLATE "C" PRIMARY KEY);
      INSERT INTO clinical_code_token (token)
        SELECT DISTINCT t FROM clinical_item, unnest(codes) AS t WHERE NOT entered_in_error AND deleted_at IS NULL
        ON CONFLICT DO NOTHING`,
  },
];
