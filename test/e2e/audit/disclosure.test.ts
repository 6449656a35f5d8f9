// Queries that only prove a patient exists are audited like any other access: the resolver that
// returned the patient writes a row naming it, whatever fields were selected (an auditor asking
// "who looked this person up?" must find `patient(id) { __typename }` too). A query that finds
// nobody writes no access row for anybody.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const SSN = 'http://hl7.org/fhir/sid/us-ssn';

let stack: Stack;
type Node = { id: string; identifiers: { system: string; value: string }[]; sourceRecords: { id: string }[] };
let withSsn: Node;
before(async () => {
  stack = await startTestStack();
  const { token } = await tokenFor(stack, ['clinician']);
  const res = await gql<{ patients: { edges: { node: Node }[] } }>(
    stack,
    token,
    '{ patients(first: 100) { edges { node { id identifiers { system value } sourceRecords { id } } } } }',
  );
  // An SSN on one golden patient only: one person's records still apart (waiting for a steward) share theirs.
  for (const node of res.body.data!.patients.edges.map((e) => e.node)) {
    const ssn = node.identifiers.find((i) => i.system === SSN)?.value;
    if (ssn === undefined) continue;
    const named = await gql<{ patientsByIdentifier: unknown[] }>(
      stack,
      token,
      'query ($v: String!) { patientsByIdentifier(system: "http://hl7.org/fhir/sid/us-ssn", value: $v) { id } }',
      { v: ssn },
    );
    if (named.body.data?.patientsByIdentifier.length === 1) {
      withSsn = node;
      break;
    }
  }
  assert.ok(withSsn, 'the test population has a patient with an SSN of their own');
});
after(() => stack?.close());

type Row = { subgraph: string; patient_ref: string; fields: string[]; decision: string };
const permits = async (sub: string): Promise<Row[]> =>
  (
    await stack.db.query<Row>(
      "SELECT subgraph, patient_ref, fields, decision FROM audit_event WHERE actor_sub = $1 AND decision = 'permit' ORDER BY seq",
      [sub],
    )
  ).rows;
/** The golden id a patients cursor carries (cursors are opaque to clients, not to an auditor's test). */
// A cohort cursor is `<base64url JSON [version, sort key, golden id]>.<HMAC>` (orchestration/cohort/cursor.ts).
const goldenOf = (cursor: string): string => (JSON.parse(Buffer.from(cursor.split('.')[0]!, 'base64url').toString('utf8')) as string[])[2]!;

test('patient(id) { __typename } writes a row naming the patient and the query that disclosed it', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const res = await gql(stack, token, 'query ($id: ID!) { patient(id: $id) { __typename } }', { id: withSsn.id });
  assert.deepEqual(res.body, { data: { patient: { __typename: 'Patient' } } });
  const rows = await permits(sub);
  assert.deepEqual(
    rows.map((r) => [r.subgraph, r.patient_ref, r.fields]),
    [['mpi', `Patient/${withSsn.id}`, ['Query.patient']]],
  );
});

test('patientByIdentifier(SSN) { __typename } writes a row naming the patient', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const ssn = withSsn.identifiers.find((i) => i.system === SSN)!.value;
  const res = await gql(stack, token, 'query ($s: String!, $v: String!) { patientByIdentifier(system: $s, value: $v) { __typename } }', {
    s: SSN,
    v: ssn,
  });
  assert.deepEqual(res.body, { data: { patientByIdentifier: { __typename: 'Patient' } } });
  const rows = await permits(sub);
  assert.deepEqual(
    rows.map((r) => [r.patient_ref, r.fields]),
    [[`Patient/${withSsn.id}`, ['Query.patientByIdentifier']]],
  );
});

test('patients { edges { cursor } } writes a row for every patient on the page', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const res = await gql<{ patients: { edges: { cursor: string }[] } }>(stack, token, '{ patients(first: 3) { edges { cursor } } }');
  const ids = res.body.data!.patients.edges.map((e) => goldenOf(e.cursor));
  assert.equal(ids.length, 3);
  const rows = await permits(sub);
  assert.deepEqual(rows.map((r) => r.patient_ref).sort(), ids.map((id) => `Patient/${id}`).sort());
  assert.ok(
    rows.every((r) => r.fields.join() === 'Query.patients'),
    JSON.stringify(rows),
  );
});

test('a page asked only for its end cursor or its count still names every patient on it', async () => {
  // endCursor carries the last golden id; a count over a page of one names who is on it.
  const { token, sub } = await tokenFor(stack, ['analyst']);
  const res = await gql<{ patients: { pageInfo: { endCursor: string } } }>(
    stack,
    token,
    '{ patients(first: 2) { totalCount pageInfo { endCursor } } }',
  );
  const last = goldenOf(res.body.data!.patients.pageInfo.endCursor);
  const refs = (await permits(sub)).map((r) => r.patient_ref);
  assert.equal(refs.length, 2);
  assert.ok(refs.includes(`Patient/${last}`));
});

test('fields selected below the disclosing query are named in the same row', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  await gql(stack, token, 'query ($id: ID!) { patient(id: $id) { birthDate sourceRecords { __typename } } }', { id: withSsn.id });
  const rows = (await permits(sub)).filter((r) => r.subgraph === 'mpi');
  assert.deepEqual(
    rows.map((r) => [r.patient_ref, r.fields]),
    [[`Patient/${withSsn.id}`, ['Patient.birthDate', 'Patient.sourceRecords', 'Query.patient']]],
  );
});

test('a query that finds nobody writes no access row for anybody', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const res = await gql(
    stack,
    token,
    `query ($id: ID!, $s: String!) {
      patient(id: $id) { __typename }
      patientByIdentifier(system: $s, value: "000-00-0000") { __typename }
      patients(first: 5, filter: { postalCodePrefix: "999", birthYearFrom: 1800, birthYearTo: 1801 }) { totalCount edges { cursor } }
    }`,
    { id: randomUUID(), s: SSN },
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.deepEqual(res.body.data, { patient: null, patientByIdentifier: null, patients: { totalCount: 0, edges: [] } });
  assert.deepEqual(await permits(sub), []);
});

test('a launch-bound token asking for another patient by id writes no row for that patient', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician'], 'TREAT', undefined, { patient: withSsn.id, scope: 'patient/*.rs' });
  const other = randomUUID();
  await gql(stack, token, `{ a: patient(id: "${withSsn.id}") { __typename } b: patient(id: "${other}") { __typename } }`);
  assert.deepEqual(
    (await permits(sub)).map((r) => r.patient_ref),
    [`Patient/${withSsn.id}`],
  );
});

test('steward queries name the patients they return: link history and the review queue', async () => {
  const { token, sub } = await tokenFor(stack, ['steward']);
  const record = withSsn.sourceRecords[0]!.id;
  const res = await gql(stack, token, 'query ($r: ID!) { linkHistory(sourceRecordId: $r) { action } }', { r: record });
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const rows = await permits(sub);
  assert.ok(
    rows.some((r) => r.patient_ref === `Patient/${withSsn.id}` && r.fields.includes('Query.linkHistory')),
    JSON.stringify(rows),
  );
  // Review cursors carry no patient, but the page of items does: both patients of each item are named.
  const { token: other, sub: otherSub } = await tokenFor(stack, ['steward']);
  const queue = await gql<{ reviewQueue: { edges: { node: { patient: { id: string }; candidate: { id: string } } }[] } }>(
    stack,
    token,
    '{ reviewQueue(first: 2) { edges { node { patient { id } candidate { id } } } } }',
  );
  const pairs = queue.body.data!.reviewQueue.edges.map((e) => [e.node.patient.id, e.node.candidate.id]);
  assert.equal(pairs.length, 2, 'the test population has open review items');
  await gql(stack, other, '{ reviewQueue(first: 2) { edges { cursor } } }');
  const named = await permits(otherSub);
  assert.deepEqual(named.map((r) => r.patient_ref).sort(), [...new Set(pairs.flat())].map((id) => `Patient/${id}`).sort());
  assert.ok(
    named.every((r) => r.fields.join() === 'Query.reviewQueue'),
    JSON.stringify(named),
  );
});
