// The durable inbox (layer 3): every inbound message (HL7 v2 over MLLP, later FHIR sync events)
// is committed here before it is acknowledged, then processed by workers. PostgreSQL is the
// system of record for these messages; Redis is at most a wake-up (PRODUCT.md "Reliability").
//
// PHI: the payload is sealed (field encryption); payload_digest is a keyed digest (never a plain
// hash of PHI) used for the duplicate check. The stored ACK carries no PHI (MSH/MSA/ERR of our own).
// patient_key is the caller's ordering key (a source patient id, as in source_record, in clear).
import type { Migration } from '../../platform/db.ts';

export const INGEST_MIGRATIONS: readonly Migration[] = [
  {
    id: 'ingest-001-inbox',
    sql: `
      CREATE TABLE IF NOT EXISTS inbox_message (
        id bigserial PRIMARY KEY,
        channel text NOT NULL,
        sending_application text NOT NULL,
        sending_facility text NOT NULL,
        control_id text NOT NULL,
        payload jsonb NOT NULL,
        payload_digest text NOT NULL,
        ack bytea NOT NULL,
        patient_key text,
        received_at timestamptz NOT NULL DEFAULT now(),
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'processing', 'done', 'dead')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        claimed_by text,
        last_error text,
        completed_at timestamptz,
        dead_reason text CHECK (dead_reason IN ('permanent', 'max-attempts', 'lease-expired')),
        dead_at timestamptz,
        replays integer NOT NULL DEFAULT 0,
        UNIQUE (channel, sending_application, sending_facility, control_id)
      );
      CREATE INDEX IF NOT EXISTS inbox_message_ready ON inbox_message (id) WHERE state IN ('pending', 'processing');
      CREATE INDEX IF NOT EXISTS inbox_message_patient_open ON inbox_message (patient_key, id)
        WHERE state IN ('pending', 'processing') AND patient_key IS NOT NULL;
      CREATE INDEX IF NOT EXISTS inbox_message_dead ON inbox_message (dead_at) WHERE state = 'dead'`,
  },
];
