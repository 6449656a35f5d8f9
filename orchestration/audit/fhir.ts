// One audit row as a FHIR R4 AuditEvent shaped after IHE Basic Audit Log Patterns (BALP 1.1,
// https://profiles.ihe.net/ITI/BALP), for a SIEM or an auditor. The row's kind decides the
// pattern (README.md beside this file, "Exported as FHIR AuditEvent"):
//   a steward's mutation (a `Mutation.*` coordinate)  -> Update: action U, interaction update
//   one patient fetched by id (`Query.patient`)       -> Read:   action R, interaction read
//   anything else (searches, pages, clinical data)    -> Query:  action E, interaction search-type
// with the Patient* variant when the row names a patient. BALP profiles describe successful
// events (outcome 0): a denial or a partial answer keeps the same shape, without the profile
// claim, and a denial says what was refused in outcomeDesc.
import type { AuditEventRecord } from './query.ts';

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const PURPOSE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
/** Where a source record's id lives: the product's own `<connection>:<id>` form. */
export const SOURCE_RECORD_SYSTEM = 'urn:patient-federation-gateway:source-record';

const OUTCOME_CODE: Readonly<Record<string, string>> = {
  success: '0',
  'minor-failure': '4',
  'serious-failure': '8',
  'major-failure': '12',
};

/**
 * What each kind of row is in BALP: the profile (and its Patient* variant), the RESTful interaction,
 * the action, and how the two network agents are typed. BALP types the client as the source
 * (110153) and the server as the destination (110152) of a query or a change, and the other way round
 * for a read, where the data flows to the client.
 */
export const AUDIT_EVENT_KINDS = {
  read: {
    profile: 'Read',
    patientProfile: 'PatientRead',
    interaction: 'read',
    action: 'R',
    client: '110152',
    server: '110153',
    user: 'IRCP',
  },
  update: {
    profile: 'Update',
    patientProfile: 'PatientUpdate',
    interaction: 'update',
    action: 'U',
    client: '110153',
    server: '110152',
    user: 'AUT',
  },
  search: {
    profile: 'Query',
    patientProfile: 'PatientQuery',
    interaction: 'search-type',
    action: 'E',
    client: '110153',
    server: '110152',
    user: 'IRCP',
  },
} as const;
export type AuditEventKind = keyof typeof AUDIT_EVENT_KINDS;

const ROLE_ID: Readonly<Record<string, string>> = { '110152': 'Destination Role ID', '110153': 'Source Role ID' };
const PARTICIPANT: Readonly<Record<string, string>> = { IRCP: 'information recipient', AUT: 'author (originator)' };

/** Root fields that fetch one patient by its id: a FHIR read. */
const READ_ROOTS: ReadonlySet<string> = new Set(['Query.patient']);

/** The kind of a row, from the schema coordinates it names (writes name their mutation, reads their root field). */
export function auditEventKind(fields: readonly string[]): AuditEventKind {
  if (fields.some((f) => f.startsWith('Mutation.'))) return 'update';
  if (fields.some((f) => READ_ROOTS.has(f))) return 'read';
  return 'search';
}

/** The patient a row is about, as a FHIR reference: a golden record, or a source record by its identifier. */
function patientReference(ref: string | null): Record<string, unknown> | null {
  if (ref?.startsWith('Patient/')) return { reference: ref };
  if (ref?.startsWith('SourceRecord/'))
    return { type: 'Patient', identifier: { system: SOURCE_RECORD_SYSTEM, value: ref.slice('SourceRecord/'.length) } };
  return null;
}

export function toFhirAuditEvent(e: AuditEventRecord): Record<string, unknown> {
  const kind = AUDIT_EVENT_KINDS[auditEventKind(e.fields)];
  const patient = patientReference(e.patientRef);
  const denied = e.decision === 'deny';
  const outcome = denied ? '4' : (OUTCOME_CODE[e.outcome ?? 'success'] ?? '0');
  const purpose = e.purposeOfUse ? [{ coding: [{ system: PURPOSE_SYSTEM, code: e.purposeOfUse }] }] : null;
  const server = `patient-federation-gateway/${e.subgraph}${e.subgraphVersion ? `@${e.subgraphVersion}` : ''}`;
  const what = patient ?? { identifier: { value: e.patientRef ?? 'AuditLog' } };
  // The GraphQL document itself is never stored (it may hold patient values): its SHA-256 stands for it.
  const detail = [
    ...(e.documentHash ? [{ type: 'document-sha256', valueString: e.documentHash }] : []),
    { type: 'fields', valueString: e.fields.join(' ') },
  ];
  return {
    resourceType: 'AuditEvent',
    id: `audit-${e.seq}`,
    // BALP's profiles describe successful events; a refusal or a partial answer only follows their shape.
    ...(outcome === '0' ? { meta: { profile: [`${BALP}${patient ? kind.patientProfile : kind.profile}`] } } : {}),
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: kind.interaction, display: kind.interaction }],
    action: kind.action,
    recorded: e.recordedAt,
    outcome,
    ...(denied ? { outcomeDesc: `denied: ${e.fields.join(', ')}` } : {}),
    ...(purpose ? { purposeOfEvent: purpose.map((p) => (e.breakGlassReason ? { ...p, text: e.breakGlassReason } : p)) } : {}),
    agent: [
      {
        type: { coding: [{ system: PARTICIPATION, code: kind.user, display: PARTICIPANT[kind.user] }] },
        who: { identifier: { value: e.actorSub } },
        requestor: true,
        role: e.actorRoles.map((r) => ({ text: r })),
        ...(purpose ? { purposeOfUse: purpose } : {}),
      },
      {
        type: { coding: [{ system: DCM, code: kind.client, display: ROLE_ID[kind.client] }] },
        who: e.clientId ? { identifier: { value: e.clientId } } : { display: 'unidentified client' },
        requestor: false,
        ...(e.clientIp ? { network: { address: e.clientIp, type: '2' } } : {}),
      },
      {
        type: { coding: [{ system: DCM, code: kind.server, display: ROLE_ID[kind.server] }] },
        who: { display: server },
        requestor: false,
      },
    ],
    source: {
      observer: { display: server },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: [
      ...(patient
        ? [
            {
              what: patient,
              type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
              role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
            },
          ]
        : []),
      kind.action === 'E'
        ? {
            // BALP: the query entity carries the request (base64) and no `what` and no `detail`.
            type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
            role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
            name: e.operationName ?? undefined,
            description: e.fields.join(' '),
            query: Buffer.from(e.documentHash ? `sha256:${e.documentHash}` : `fields:${e.fields.join(' ')}`).toString('base64'),
          }
        : {
            what,
            type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
            role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
            name: e.operationName ?? undefined,
            detail,
          },
      {
        what: { identifier: { value: e.requestId } },
        type: { system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', code: 'XrequestId' },
        ...(e.traceparent ? { detail: [{ type: 'traceparent', valueString: e.traceparent }] } : {}),
      },
    ],
  };
}
