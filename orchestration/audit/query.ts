// Reading the audit log: filtered, keyset-paginated (newest first), and the same rows as FHIR R4
// AuditEvent resources shaped after IHE Basic Audit Log Patterns (BALP) "Query"/"Read" events, for
// export to a SIEM or an auditor as NDJSON.
import type { Queryable } from '../../platform/db.ts';

export type AuditFilter = {
  /** Golden patient id: its own rows and the rows of its linked source records. */
  readonly patientId?: string | null;
  readonly actor?: string | null;
  /** ISO 8601 instants, inclusive lower and exclusive upper bound. */
  readonly from?: string | null;
  readonly to?: string | null;
};

export type AuditEventRecord = {
  readonly seq: string;
  readonly recordedAt: string;
  readonly requestId: string;
  readonly traceparent: string | null;
  readonly subgraph: string;
  readonly subgraphVersion: string | null;
  readonly actorSub: string;
  readonly actorRoles: readonly string[];
  readonly clientId: string | null;
  readonly clientIp: string | null;
  readonly purposeOfUse: string | null;
  readonly breakGlassReason: string | null;
  readonly patientRef: string | null;
  readonly fields: readonly string[];
  readonly operationName: string | null;
  readonly documentHash: string | null;
  readonly decision: string;
  readonly outcome: string | null;
};

type Row = {
  seq: string;
  recorded_at: Date | string;
  request_id: string;
  traceparent: string | null;
  subgraph: string;
  subgraph_version: string | null;
  actor_sub: string;
  actor_roles: string[];
  client_id: string | null;
  client_ip: string | null;
  purpose_of_use: string | null;
  break_glass_reason: string | null;
  patient_ref: string | null;
  fields: string[];
  operation_name: string | null;
  document_hash: string | null;
  decision: string;
  outcome: string | null;
};

const toRecord = (r: Row): AuditEventRecord => ({
  seq: r.seq,
  recordedAt: new Date(r.recorded_at).toISOString(),
  requestId: r.request_id,
  traceparent: r.traceparent,
  subgraph: r.subgraph,
  subgraphVersion: r.subgraph_version,
  actorSub: r.actor_sub,
  actorRoles: r.actor_roles,
  clientId: r.client_id,
  clientIp: r.client_ip,
  purposeOfUse: r.purpose_of_use,
  breakGlassReason: r.break_glass_reason,
  patientRef: r.patient_ref,
  fields: r.fields,
  operationName: r.operation_name,
  documentHash: r.document_hash,
  decision: r.decision,
  outcome: r.outcome,
});

// Rows about a golden patient are `Patient/<id>` (MPI) or `SourceRecord/<connection>:<id>` of its linked records.
const WHERE = `($1::text IS NULL OR e.patient_ref = 'Patient/' || $1 OR e.patient_ref IN (
                 SELECT 'SourceRecord/' || s.source || ':' || s.source_patient_id FROM source_record s WHERE s.golden_id::text = $1))
  AND ($2::text IS NULL OR e.actor_sub = $2)
  AND ($3::timestamptz IS NULL OR e.recorded_at >= $3::timestamptz)
  AND ($4::timestamptz IS NULL OR e.recorded_at < $4::timestamptz)`;

export async function auditEventPage(
  db: Queryable,
  filter: AuditFilter,
  first: number,
  beforeSeq: string | null,
): Promise<{ events: AuditEventRecord[]; hasNextPage: boolean; totalCount: number }> {
  const params = [filter.patientId ?? null, filter.actor ?? null, filter.from ?? null, filter.to ?? null];
  const { rows } = await db.query<Row>(
    `SELECT e.seq::text AS seq, e.recorded_at, e.request_id, e.traceparent, e.subgraph, e.subgraph_version, e.actor_sub, e.actor_roles, e.client_id, e.client_ip,
            e.purpose_of_use, e.break_glass_reason, e.patient_ref, e.fields, e.operation_name, e.document_hash, e.decision, e.outcome
     FROM audit_event e WHERE ${WHERE} AND ($5::bigint IS NULL OR e.seq < $5::bigint) ORDER BY e.seq DESC LIMIT $6`,
    [...params, beforeSeq, first + 1],
  );
  const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event e WHERE ${WHERE}`, params);
  return { events: rows.slice(0, first).map(toRecord), hasNextPage: rows.length > first, totalCount: total.rows[0]?.n ?? 0 };
}

const PURPOSE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const OUTCOME_CODE: Readonly<Record<string, string>> = {
  success: '0',
  'minor-failure': '4',
  'serious-failure': '8',
  'major-failure': '12',
};

/** One audit row as a FHIR R4 AuditEvent (IHE BALP: a RESTful query/read by a user, on a patient). */
export function toFhirAuditEvent(e: AuditEventRecord): Record<string, unknown> {
  const patient = e.patientRef?.startsWith('Patient/') ? e.patientRef : null;
  return {
    resourceType: 'AuditEvent',
    id: `audit-${e.seq}`,
    meta: { profile: ['https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Query'] },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type', display: 'search' }],
    action: 'E',
    recorded: e.recordedAt,
    outcome: e.decision === 'deny' ? '4' : (OUTCOME_CODE[e.outcome ?? 'success'] ?? '0'),
    ...(e.decision === 'deny' ? { outcomeDesc: `denied: ${e.fields.join(', ')}` } : {}),
    ...(e.purposeOfUse
      ? {
          purposeOfEvent: [
            { coding: [{ system: PURPOSE_SYSTEM, code: e.purposeOfUse }], ...(e.breakGlassReason ? { text: e.breakGlassReason } : {}) },
          ],
        }
      : {}),
    agent: [
      {
        type: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' },
          ],
        },
        who: { identifier: { value: e.actorSub } },
        ...(e.clientId ? { altId: e.clientId } : {}),
        requestor: true,
        role: e.actorRoles.map((r) => ({ text: r })),
        ...(e.clientIp ? { network: { address: e.clientIp, type: '2' } } : {}),
      },
      {
        type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153', display: 'Source Role ID' }] },
        who: { display: `subgraph ${e.subgraph}` },
        requestor: false,
      },
    ],
    source: {
      observer: { display: `patient-federation-gateway/${e.subgraph}${e.subgraphVersion ? `@${e.subgraphVersion}` : ''}` },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: [
      ...(patient
        ? [
            {
              what: { reference: patient },
              type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
              role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
            },
          ]
        : []),
      ...(e.patientRef && !patient
        ? [
            {
              what: { identifier: { value: e.patientRef } },
              type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
            },
          ]
        : []),
      {
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
        // The document's hash and the fields returned; never its text or variables.
        name: e.operationName ?? undefined,
        detail: [
          ...(e.documentHash ? [{ type: 'document-sha256', valueString: e.documentHash }] : []),
          { type: 'fields', valueString: e.fields.join(' ') },
          { type: 'request-id', valueString: e.requestId },
          ...(e.traceparent ? [{ type: 'traceparent', valueString: e.traceparent }] : []),
        ],
      },
    ],
  };
}
