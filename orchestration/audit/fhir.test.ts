// The FHIR export of audit rows (IHE BALP): a steward's change is an Update, one patient fetched by
// id a Read, anything else a Query; each with the agents and entities its profile requires, and
// denials recognisable. @medplum/core is not installed, so the required elements are asserted here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditEventKind, SOURCE_RECORD_SYSTEM, toFhirAuditEvent } from './fhir.ts';
import type { AuditEventRecord } from './query.ts';

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';
const row = (overrides: Partial<AuditEventRecord>): AuditEventRecord => ({
  seq: '42',
  recordedAt: '2026-03-01T10:00:00.000Z',
  requestId: 'req-42',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  subgraph: 'mpi',
  subgraphVersion: '1.2.3',
  actorSub: 'user-7',
  actorRoles: ['steward'],
  clientId: 'chart-app',
  clientIp: '10.1.2.3',
  purposeOfUse: 'TREAT',
  breakGlassReason: null,
  patientRef: 'Patient/0b5f1c3e-0000-4000-8000-000000000001',
  fields: ['Patient.name'],
  operationName: 'Op',
  documentHash: 'ab'.repeat(32),
  decision: 'permit',
  outcome: 'success',
  ...overrides,
});

type Coding = { system: string; code: string; display?: string };
type Exported = {
  meta?: { profile: string[] };
  type: Coding;
  subtype: Coding[];
  action: string;
  outcome: string;
  outcomeDesc?: string;
  agent: { type: { coding: Coding[] }; who: Record<string, unknown>; requestor: boolean; network?: { address: string; type: string } }[];
  entity: {
    type: Coding;
    role?: Coding;
    what?: { reference?: string; type?: string; identifier?: { system?: string; value: string } };
    query?: string;
    description?: string;
    detail?: { type: string; valueString: string }[];
  }[];
};
const exported = (r: AuditEventRecord) => toFhirAuditEvent(r) as unknown as Exported;
const agent = (e: Exported, code: string) => e.agent.find((a) => a.type.coding[0]!.code === code);
const entity = (e: Exported, type: string, role?: string) =>
  e.entity.filter((x) => x.type.code === type && (role === undefined || x.role?.code === role));

/** What every BALP pattern requires: rest type, client, server and user agents, the patient slice when there is a patient. */
function assertBalpShape(e: Exported, client: string, server: string, user: string): void {
  assert.deepEqual(e.type, {
    system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
    code: 'rest',
    display: 'Restful Operation',
  });
  assert.equal(agent(e, client)?.who.identifier && (agent(e, client)!.who.identifier as { value: string }).value, 'chart-app');
  assert.deepEqual(agent(e, client)?.network, { address: '10.1.2.3', type: '2' });
  assert.equal(agent(e, client)!.type.coding[0]!.system, 'http://dicom.nema.org/resources/ontology/DCM');
  assert.ok(agent(e, server)?.who.display, 'the server agent names the subgraph');
  const u = agent(e, user)!;
  assert.deepEqual([u.requestor, u.who], [true, { identifier: { value: 'user-7' } }]);
  assert.equal(u.type.coding[0]!.system, 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType');
  const transaction = e.entity.find((x) => x.type.code === 'XrequestId')!;
  assert.equal(transaction.type.system, 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType');
  assert.equal(transaction.what?.identifier?.value, 'req-42');
}

test('kinds: a mutation is an update, Query.patient a read, anything else a search', () => {
  assert.equal(auditEventKind(['Mutation.linkRecord']), 'update');
  assert.equal(auditEventKind(['Mutation.setPatientFields', 'Patient.name']), 'update');
  assert.equal(auditEventKind(['Query.patient', 'Patient.birthDate']), 'read');
  assert.equal(auditEventKind(['Query.patients', 'Patient.name']), 'search');
  assert.equal(auditEventKind(['Query.patientByIdentifier']), 'search');
  assert.equal(auditEventKind(['EpicRecord.observations']), 'search');
  assert.equal(auditEventKind(['AuditEvent.fhir']), 'search');
});

test('a steward’s write exports as BALP PatientUpdate: action U, interaction update, the patient as the updated resource', () => {
  for (const mutation of ['linkRecord', 'unlinkRecord', 'mergePatients', 'unmergePatient', 'markNotDuplicate', 'resolveReview']) {
    const e = exported(row({ fields: [`Mutation.${mutation}`] }));
    assert.deepEqual(e.meta?.profile, [`${BALP}PatientUpdate`], mutation);
    assert.deepEqual(e.subtype, [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'update', display: 'update' }]);
    assert.equal(e.action, 'U');
    assert.equal(e.outcome, '0');
    assertBalpShape(e, '110153', '110152', 'AUT');
    const [patient] = entity(e, '1', '1');
    assert.equal(patient?.what?.reference, 'Patient/0b5f1c3e-0000-4000-8000-000000000001');
    const [data] = entity(e, '2', '4');
    assert.equal(data?.what?.reference, 'Patient/0b5f1c3e-0000-4000-8000-000000000001');
    assert.deepEqual(data?.detail?.find((d) => d.type === 'fields')?.valueString, `Mutation.${mutation}`);
    assert.equal(entity(e, '2', '24').length, 0, 'no query entity on a write');
  }
  const fields = exported(row({ fields: ['Mutation.setPatientFields', 'Patient.name'] }));
  assert.equal(fields.action, 'U');
  assert.equal(
    entity(fields, '2', '4')[0]?.detail?.find((d) => d.type === 'fields')?.valueString,
    'Mutation.setPatientFields Patient.name',
  );
});

test('one patient fetched by id exports as BALP PatientRead: action R, interaction read, client as destination', () => {
  const e = exported(row({ fields: ['Query.patient', 'Patient.birthDate'], actorRoles: ['clinician'] }));
  assert.deepEqual(e.meta?.profile, [`${BALP}PatientRead`]);
  assert.deepEqual(
    e.subtype.map((c) => c.code),
    ['read'],
  );
  assert.equal(e.action, 'R');
  // BALP Read: the data flows to the client, so the client is the destination (110152).
  assertBalpShape(e, '110152', '110153', 'IRCP');
  assert.equal(entity(e, '1', '1')[0]?.what?.reference, 'Patient/0b5f1c3e-0000-4000-8000-000000000001');
  assert.equal(entity(e, '2', '4')[0]?.what?.reference, 'Patient/0b5f1c3e-0000-4000-8000-000000000001');
});

test('searches export as BALP PatientQuery (or Query without a patient): action E, the request as a base64 query, no detail', () => {
  const e = exported(row({ fields: ['Patient.birthDate', 'Patient.name'] }));
  assert.deepEqual(e.meta?.profile, [`${BALP}PatientQuery`]);
  assert.deepEqual(
    e.subtype.map((c) => c.code),
    ['search-type'],
  );
  assert.equal(e.action, 'E');
  assertBalpShape(e, '110153', '110152', 'IRCP');
  const [query] = entity(e, '2', '24');
  assert.ok(query);
  assert.equal(Buffer.from(query.query!, 'base64').toString(), `sha256:${'ab'.repeat(32)}`, 'the document hash, never its text');
  assert.equal(query.description, 'Patient.birthDate Patient.name');
  assert.deepEqual([query.what, query.detail], [undefined, undefined]);
  assert.equal(entity(e, '2').length, 1, 'one System Object entity: the query');

  // Clinical data of one EHR record: the patient is that EHR's record, named by identifier.
  const clinical = exported(row({ subgraph: 'epic', patientRef: 'SourceRecord/epic-main:E1', fields: ['EpicRecord.observations'] }));
  assert.deepEqual(clinical.meta?.profile, [`${BALP}PatientQuery`]);
  assert.deepEqual(entity(clinical, '1', '1')[0]?.what, {
    type: 'Patient',
    identifier: { system: SOURCE_RECORD_SYSTEM, value: 'epic-main:E1' },
  });

  // Reading the audit log itself: no patient.
  const log = exported(row({ subgraph: 'audit', patientRef: 'AuditLog', fields: ['AuditEvent.fhir'] }));
  assert.deepEqual(log.meta?.profile, [`${BALP}Query`]);
  assert.equal(entity(log, '1').length, 0);
});

test('denials stay recognisable: outcome 4 with what was refused, the kind’s shape, no claim to a success profile', () => {
  const write = exported(row({ decision: 'deny', fields: ['Mutation.mergePatients'], outcome: null }));
  assert.deepEqual([write.outcome, write.outcomeDesc, write.action, write.meta], ['4', 'denied: Mutation.mergePatients', 'U', undefined]);
  const read = exported(row({ decision: 'deny', patientRef: null, fields: ['Query.auditEvents'] }));
  assert.deepEqual([read.outcome, read.outcomeDesc, read.action, read.meta], ['4', 'denied: Query.auditEvents', 'E', undefined]);
  // A partial answer (another field failed) keeps its outcome and drops the profile too.
  const partial = exported(row({ outcome: 'minor-failure' }));
  assert.deepEqual([partial.outcome, partial.meta], ['4', undefined]);
  // Unknown client: still a client agent, without an address.
  const bare = exported(row({ clientId: null, clientIp: null }));
  assert.deepEqual(agent(bare, '110153')?.who, { display: 'unidentified client' });
});
