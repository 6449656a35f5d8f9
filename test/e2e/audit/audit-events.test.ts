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
