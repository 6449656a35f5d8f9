// The security role reads who saw a patient (auditEvents), pages through the log, gets each row as
// a FHIR AuditEvent; nobody else reads it; and reading the audit log is itself audited.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
let patientId: string;
let clinicianSub: string;
before(async () => {
  stack = await startTestStack();
  const clinician = await tokenFor(stack, ['clinician']);
  clinicianSub = clinician.sub;
  const res = await gql<{ patients: { edges: { node: { id: string } }[] } }>(
    stack,
    clinician.token,
    '{ patients(first: 1) { edges { node { id } } } }',
  );
  patientId = res.body.data!.patients.edges[0]!.node.id;
  await gql(
    stack,
    clinician.token,
    `query ChartReview { patient(id: "${patientId}") { name { family } birthDate sourceRecords { observations { id } } } }`,
  );
});
after(() => stack?.close());

type Page = {
  auditEvents: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: {
      node: {
        seq: string;
        actorSub: string;
        patientRef: string | null;
        fields: string[];
        operationName: string | null;
        documentHash: string | null;
        subgraph: string;
        fhir: string;
      };
    }[];
  };
};
const QUERY = `query ($p: ID, $a: String, $first: Int, $after: String) {
  auditEvents(patientId: $p, actor: $a, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { seq actorSub patientRef fields operationName documentHash subgraph fhir } }
  }
}`;

test('the security role sees who read a patient, which fields, through which operation', async () => {
  const { token } = await tokenFor(stack, ['security']);
  const res = await gql<Page>(stack, token, QUERY, { p: patientId, a: clinicianSub, first: 50 });
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const rows = res.body.data!.auditEvents.edges.map((e) => e.node);
  const mpi = rows.filter((r) => r.subgraph === 'mpi' && r.operationName === 'ChartReview');
  assert.equal(mpi.length, 1);
  assert.equal(mpi[0]!.patientRef, `Patient/${patientId}`);
  assert.ok(mpi[0]!.fields.includes('Patient.birthDate'));
  assert.match(mpi[0]!.documentHash ?? '', /^[0-9a-f]{64}$/);
  assert.ok(
    rows.some((r) => r.subgraph !== 'mpi' && r.patientRef?.startsWith('SourceRecord/')),
    'clinical reads of linked source records are included',
  );
  const fhir = JSON.parse(mpi[0]!.fhir) as {
    resourceType: string;
    agent: { who: { identifier: { value: string } } }[];
    entity: { what?: { reference?: string } }[];
    purposeOfEvent: { coding: { code: string }[] }[];
  };
  assert.equal(fhir.resourceType, 'AuditEvent');
  assert.equal(fhir.agent[0]!.who.identifier.value, clinicianSub);
  assert.equal(fhir.entity[0]!.what?.reference, `Patient/${patientId}`);
  assert.equal(fhir.purposeOfEvent[0]!.coding[0]!.code, 'TREAT');
  // Newest first, paged by cursor without overlap.
  const first = await gql<Page>(stack, token, QUERY, { first: 2 });
  const second = await gql<Page>(stack, token, QUERY, { first: 2, after: first.body.data!.auditEvents.pageInfo.endCursor });
  const seqs = [...first.body.data!.auditEvents.edges, ...second.body.data!.auditEvents.edges].map((e) => Number(e.node.seq));
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => b - a),
  );
  assert.equal(new Set(seqs).size, 4);
});

test('reading the audit log is itself audited', async () => {
  const { token, sub } = await tokenFor(stack, ['security']);
  await gql(stack, token, QUERY, { p: patientId, first: 5 });
  const { rows } = await stack.db.query<{ subgraph: string; fields: string[] }>(
    "SELECT subgraph, fields FROM audit_event WHERE actor_sub = $1 AND decision = 'permit'",
    [sub],
  );
  assert.ok(rows.length > 0 && rows.every((r) => r.subgraph === 'audit' && r.fields.some((f) => f.startsWith('AuditEvent.'))));
});

test('no other role reads the audit log; malformed arguments are BAD_USER_INPUT', async () => {
  for (const role of ['clinician', 'steward', 'analyst'] as const) {
    const { token } = await tokenFor(stack, [role]);
    const res = await gql(stack, token, QUERY, { first: 1 });
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'FORBIDDEN', role);
    assert.doesNotMatch(JSON.stringify(res.body), /actorSub|"seq"/);
  }
  const { token } = await tokenFor(stack, ['security']);
  for (const variables of [{ p: 'not-an-id' }, { after: 'garbage' }, { first: 1000 }]) {
    const res = await gql(stack, token, QUERY, variables);
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(variables));
  }
});

test('a steward’s write exports as a BALP update, a search as a query; totalCount is counted only when selected', async () => {
  const steward = await tokenFor(stack, ['steward']);
  const clinician = await tokenFor(stack, ['clinician']);
  const two = await gql<{ patients: { edges: { node: { id: string } }[] } }>(
    stack,
    clinician.token,
    'query Search { patients(first: 2) { edges { node { id name { family } } } } }',
  );
  const [a, b] = two.body.data!.patients.edges.map((e) => e.node.id);
  const marked = await gql(
    stack,
    steward.token,
    'mutation Separate($a: ID!, $b: ID!) { markNotDuplicate(patientId: $a, otherPatientId: $b, reason: "different people") { changed } }',
    { a, b },
  );
  assert.equal(marked.body.errors, undefined, JSON.stringify(marked.body.errors));
  const { token } = await tokenFor(stack, ['security']);
  type Fhir = { meta?: { profile: string[] }; action: string; subtype: { code: string }[]; entity: { what?: { reference?: string } }[] };
  const exportedFor = async (actor: string) => {
    const res = await gql<Page>(stack, token, QUERY, { a: actor, first: 50 });
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    return res.body.data!.auditEvents.edges.map((e) => ({ ...e.node, fhir: JSON.parse(e.node.fhir) as Fhir }));
  };
  const writes = (await exportedFor(steward.sub)).filter((r) => r.fields.includes('Mutation.markNotDuplicate'));
  assert.deepEqual(new Set(writes.map((r) => r.patientRef)), new Set([`Patient/${a}`, `Patient/${b}`]));
  for (const w of writes) {
    assert.deepEqual(w.fhir.meta?.profile, ['https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientUpdate']);
    assert.deepEqual([w.fhir.action, w.fhir.subtype[0]!.code], ['U', 'update']);
    assert.equal(w.fhir.entity[0]!.what?.reference, w.patientRef);
  }
  const searches = (await exportedFor(clinician.sub)).filter((r) => r.operationName === 'Search');
  assert.ok(searches.length === 2 && searches.every((r) => r.fhir.action === 'E' && r.fhir.subtype[0]!.code === 'search-type'));
  // The count answers only when asked for; through a fragment too.
  const counted = await gql<{ auditEvents: { totalCount: number; totalCountExact: boolean } }>(
    stack,
    token,
    `query ($a: String) { auditEvents(actor: $a) { ...Counts } } fragment Counts on AuditEventConnection { totalCount totalCountExact }`,
    { a: clinician.sub },
  );
  assert.deepEqual(counted.body.data?.auditEvents, { totalCount: 2, totalCountExact: true });
});
