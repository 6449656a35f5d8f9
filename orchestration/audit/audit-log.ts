// The audit log: one row per patient touched per request (and one per denial), written in one
// statement before the response is released. Rows carry who, which patient, which fields (schema
// coordinates), when, why (purpose of use) and the operation; never argument or field values.
import type { Database, Migration, Queryable } from '../../platform/db.ts';
import type { Principal } from '../../security/principal.ts';
import type { AuditAccess } from './collector.ts';

export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'audit-001-audit-event',
    sql: `
      CREATE TABLE IF NOT EXISTS audit_event (
        id bigserial PRIMARY KEY,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        request_id text NOT NULL,
        subgraph text NOT NULL,
        actor_sub text NOT NULL,
        actor_roles text[] NOT NULL,
        client_id text,
        purpose_of_use text,
        patient_ref text NOT NULL,
        fields text[] NOT NULL,
        decision text NOT NULL CHECK (decision IN ('permit', 'deny')),
        operation_name text
      );
      CREATE INDEX IF NOT EXISTS audit_event_patient ON audit_event (patient_ref, recorded_at);
      CREATE INDEX IF NOT EXISTS audit_event_request ON audit_event (request_id)`,
  },
];

export type AuditContext = { readonly principal: Principal; readonly subgraph: string; readonly operationName: string | null };

export async function writeAuditEvents(db: Queryable, ctx: AuditContext, accesses: readonly AuditAccess[], denials: readonly AuditAccess[]): Promise<number> {
  const rows = [...accesses.map((a) => ({ ...a, decision: 'permit' })), ...denials.map((d) => ({ ...d, decision: 'deny' }))];
  if (rows.length === 0) return 0;
  const p = ctx.principal;
  await db.query(
    `INSERT INTO audit_event (request_id, subgraph, actor_sub, actor_roles, client_id, purpose_of_use, patient_ref, fields, decision, operation_name)
     SELECT $1, $2, $3, $4::text[], $5, $6, r.patient_ref, ARRAY(SELECT jsonb_array_elements_text(r.fields)), r.decision, $7
     FROM jsonb_to_recordset($8::jsonb) AS r(patient_ref text, fields jsonb, decision text)`,
    [p.requestId, ctx.subgraph, p.sub, p.roles, p.clientId, p.purposeOfUse, ctx.operationName, JSON.stringify(rows.map((r) => ({ patient_ref: r.patientRef, fields: r.fields, decision: r.decision })))],
  );
  return rows.length;
}

export type AuditRow = { patient_ref: string; fields: string[]; decision: string; actor_sub: string; subgraph: string; request_id: string; purpose_of_use: string | null };

export async function auditEventsForRequest(db: Database, requestId: string): Promise<AuditRow[]> {
  const { rows } = await db.query<AuditRow>('SELECT patient_ref, fields, decision, actor_sub, subgraph, request_id, purpose_of_use FROM audit_event WHERE request_id = $1 ORDER BY id', [requestId]);
  return rows;
}
