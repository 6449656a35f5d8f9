// SMART launch context, scopes and purpose of use end to end: a token bound to one patient sees
// that patient only, through every path; scopes gate clinical lists per FHIR resource type; an
// analyst counts a cohort without reading names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, post, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
type Node = { id: string; identifiers: { system: string; value: string }[]; sourceRecords: { id: string; source: string }[] };
let mine: Node;
let other: Node;
before(async () => {
  stack = await startTestStack();
  const { token } = await tokenFor(stack, ['clinician']);
  const res = await gql<{ patients: { edges: { node: Node }[] } }>(
    stack,
    token,
    '{ patients(first: 50) { edges { node { id identifiers { system value } sourceRecords { id source } } } } }',
  );
  const nodes = res.body.data!.patients.edges.map((e) => e.node);
  mine = nodes.find((n) => n.sourceRecords.length === 2)!;
  other = nodes.find((n) => n.id !== mine.id && n.sourceRecords.length > 0)!;
  assert.ok(mine && other);
});
after(() => stack?.close());

const FORBIDDEN_OR_NULL = (body: unknown) => !JSON.stringify(body).includes('"family":"');

test('a patient-bound token reads its own patient', async () => {
  const { token } = await tokenFor(stack, ['clinician'], 'TREAT', undefined, { patient: mine.id, scope: 'patient/*.rs' });
  const res = await gql<{ patient: { id: string; sourceRecords: { observations: unknown[] | null }[] } }>(
    stack,
    token,
    `{ patient(id: "${mine.id}") { id name { family } sourceRecords { observations { id } } } }`,
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.equal(res.body.data!.patient.id, mine.id);
  assert.ok(res.body.data!.patient.sourceRecords.every((r) => Array.isArray(r.observations)));
});

test('a patient-bound token never reaches another patient: by id, identifier, list, or entity', async () => {
  const { token } = await tokenFor(stack, ['clinician'], 'TREAT', undefined, { patient: mine.id, scope: 'patient/*.rs' });
  const byId = await gql(stack, token, `{ patient(id: "${other.id}") { id name { family } } }`);
  assert.deepEqual(byId.body, { data: { patient: null } });
  const mrn = other.identifiers[0]!;
  const byIdentifier = await gql(
    stack,
    token,
    'query ($s: String!, $v: String!) { patientByIdentifier(system: $s, value: $v) { id name { family } } patientsByIdentifier(system: $s, value: $v) { id } }',
    { s: mrn.system, v: mrn.value },
  );
  assert.deepEqual(byIdentifier.body, { data: { patientByIdentifier: null, patientsByIdentifier: [] } });
  const list = await gql<{ patients: { totalCount: number; edges: { node: { id: string } }[] } }>(
    stack,
    token,
    '{ patients(first: 100) { totalCount edges { node { id } } } }',
  );
  assert.deepEqual(
    list.body.data!.patients.edges.map((e) => e.node.id),
    [mine.id],
  );
  assert.equal(list.body.data!.patients.totalCount, 1);
  // Alias confusion: one document, own and other patient side by side.
  const aliases = await gql<{ a: { id: string } | null; b: { id: string } | null }>(
    stack,
    token,
    `{ a: patient(id: "${mine.id}") { id name { family } } b: patient(id: "${other.id}") { id name { family } } }`,
  );
  assert.equal(aliases.body.data!.a?.id, mine.id);
  assert.equal(aliases.body.data!.b, null);
});

test('scopes gate clinical lists per resource type; v1 and v2 scopes are equivalent', async () => {
  for (const scope of ['patient/Patient.rs patient/Condition.rs', 'patient/Patient.read patient/Condition.read']) {
    const { token } = await tokenFor(stack, ['clinician'], 'TREAT', undefined, { patient: mine.id, scope });
    const res = await gql<{ patient: { sourceRecords: { observations: unknown; conditions: unknown[] | null }[] } }>(
      stack,
      token,
      `{ patient(id: "${mine.id}") { sourceRecords { observations { id } conditions { id } } } }`,
    );
    const records = res.body.data!.patient.sourceRecords;
    assert.ok(
      records.every((r) => r.observations === null && Array.isArray(r.conditions)),
      scope,
    );
    assert.ok(res.body.errors!.every((e) => e.extensions?.code === 'FORBIDDEN' && e.path?.at(-1) === 'observations'));
  }
  const { token: noPatientScope } = await tokenFor(stack, ['clinician'], 'TREAT', undefined, { scope: 'user/Observation.rs' });
  const res = await gql(stack, noPatientScope, `{ patient(id: "${mine.id}") { id } }`);
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

test('purpose of use from the header: break-glass needs a reason and a token that grants it, payment purposes see no clinical data', async () => {
  const { token } = await tokenFor(stack, ['clinician'], 'HPAYMT');
  const query = `{ patient(id: "${mine.id}") { id } }`;
  assert.equal((await gql(stack, token, query)).body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const raised = await post(
    stack.gateway.url,
    { query },
    { authorization: `Bearer ${token}`, 'x-purpose-of-use': 'ETREAT', 'x-break-glass-reason': 'unresponsive patient' },
  );
  assert.equal(raised.status, 403);
  assert.equal(raised.body.data, undefined);
  const { token: clinician } = await tokenFor(stack, ['clinician'], ['TREAT', 'ETREAT']);
  const noReason = await post(stack.gateway.url, { query }, { authorization: `Bearer ${clinician}`, 'x-purpose-of-use': 'ETREAT' });
  assert.equal(noReason.status, 401);
  assert.match(noReason.body.errors?.[0]?.message ?? '', /reason/);
  const glass = await post<{ patient: { id: string } }>(
    stack.gateway.url,
    { query },
    { authorization: `Bearer ${clinician}`, 'x-purpose-of-use': 'ETREAT', 'x-break-glass-reason': 'unresponsive patient' },
  );
  assert.equal(glass.body.data?.patient.id, mine.id);
});

test('an analyst counts a cohort and reads de-identified fields only', async () => {
  const { token } = await tokenFor(stack, ['analyst']);
  const all = await gql<{ patients: { totalCount: number } }>(stack, token, '{ patients(first: 0) { totalCount } }');
  const women = await gql<{
    patients: { totalCount: number; edges: { node: { gender: string; birthYear: number; postalCodePrefix: string } }[] };
  }>(
    stack,
    token,
    '{ patients(first: 5, filter: { gender: "female", birthYearFrom: 1950, birthYearTo: 2000 }) { totalCount edges { node { gender birthYear postalCodePrefix } } } }',
  );
  assert.equal(women.body.errors, undefined, JSON.stringify(women.body.errors));
  const cohort = women.body.data!.patients;
  assert.ok(cohort.totalCount > 0 && cohort.totalCount < all.body.data!.patients.totalCount);
  for (const { node } of cohort.edges) {
    assert.equal(node.gender, 'female');
    assert.ok(node.birthYear >= 1950 && node.birthYear <= 2000);
    assert.match(node.postalCodePrefix, /^\d{3}$/);
  }
  const names = await gql(
    stack,
    token,
    '{ patients(first: 2) { edges { node { name { family } birthDate identifiers { value } addresses { line } } } } }',
  );
  assert.ok(FORBIDDEN_OR_NULL(names.body));
  assert.ok(names.body.errors!.length >= 8 && names.body.errors!.every((e) => e.extensions?.code === 'FORBIDDEN'));
  const bad = await gql(stack, token, '{ patients(first: 1, filter: { postalCodePrefix: "12" }) { totalCount } }');
  assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
});
