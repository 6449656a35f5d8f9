// A data steward works identity through the gateway: the review queue with both sides and the
// evidence, resolving a review, unlink and link back, merge (the merged id redirects), unmerge and
// a steward's own value for a golden field.
// Every mutation is idempotent and writes audit rows; nobody but a steward may call them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { protectionFor } from '../../../runtime/components.ts';
import { linkSourceRecord } from '../../../orchestration/mpi/store.ts';
import { loadMatchingConfig } from '../../../orchestration/mpi/matching/index.ts';
import { person } from '../../../orchestration/mpi/test-helpers.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
let steward: { token: string; sub: string };
before(async () => {
  stack = await startTestStack();
  steward = await tokenFor(stack, ['steward']);
});
after(() => stack?.close());

type Patient = {
  id: string;
  mergedInto: string | null;
  redirectedFrom: string | null;
  links: { sourceRecordId: string; state: string; origin: string }[];
};
const PATIENT = 'id mergedInto redirectedFrom links { sourceRecordId state origin }';

async function patientsWithLinks(count: number): Promise<Patient[]> {
  const res = await gql<{ patients: { edges: { node: Patient }[] } }>(
    stack,
    steward.token,
    `{ patients(first: 100) { edges { node { ${PATIENT} } } } }`,
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  return res.body.data!.patients.edges.map((e) => e.node).filter((p) => p.links.length === count);
}

const mutate = <T>(query: string, variables: Record<string, unknown>, token = steward.token) => gql<T>(stack, token, query, variables);

async function auditedMutations(sub: string): Promise<string[]> {
  const { rows } = await stack.db.query<{ fields: string[]; patient_ref: string }>(
    "SELECT fields, patient_ref FROM audit_event WHERE actor_sub = $1 AND decision = 'permit'",
    [sub],
  );
  return rows.flatMap((r) => r.fields.filter((f) => f.startsWith('Mutation.')).map((f) => `${f} ${r.patient_ref}`));
}

test('review queue: both sides with evidence; resolving it links the record and is audited', async () => {
  // A record the matcher is unsure about arrives (stricter thresholds stand in for an ambiguous pair).
  const protection = protectionFor(stack.keys);
  const unsure = { ...loadMatchingConfig(), thresholds: { autoLink: 1.01, review: 0 } };
  const base = {
    family: 'Vandermolen',
    given: ['Perpetua'],
    birthDate: '1966-06-16',
    ssn: '587654321',
    line: '8 Quarry Road',
    phone: '217-555-0111',
  };
  const a = await linkSourceRecord(stack.db, person({ source: 'epic-main', id: 'steward-e1', ...base }), protection, { matching: unsure });
  const b = await linkSourceRecord(stack.db, person({ source: 'cerner-main', id: 'steward-c1', ...base }), protection, {
    matching: unsure,
  });
  assert.equal(b.decision, 'POSSIBLE_MATCH');

  const res = await gql<{
    reviewQueue: {
      totalCount: number;
      edges: {
        node: {
          id: string;
          kind: string;
          score: number;
          evidence: { field: string; level: string; weight: number }[];
          record: { id: string; source: string } | null;
          patient: { id: string; name: { family: string } };
          candidate: { id: string; name: { family: string } };
        };
      }[];
    };
  }>(
    stack,
    steward.token,
    '{ reviewQueue(first: 100) { totalCount edges { node { id kind score evidence { field level weight } record { id source } patient { id name { family } } candidate { id name { family } } } } } }',
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const item = res.body.data!.reviewQueue.edges.map((e) => e.node).find((n) => n.record?.id === 'cerner-main:steward-c1');
  assert.ok(item, 'the pair is queued');
  assert.equal(item.kind, 'POSSIBLE_MATCH');
  assert.equal(item.patient.id, b.goldenId);
  assert.equal(item.candidate.id, a.goldenId);
  assert.equal(item.candidate.name.family, 'Vandermolen', 'both sides side by side');
  assert.ok(item.evidence.some((e) => e.field === 'birth_date' || e.field === 'birthDate'));

  const RESOLVE =
    'mutation ($id: ID!, $d: ReviewDecision!, $r: String!) { resolveReview(id: $id, decision: $d, reason: $r) { changed item { status decision } } }';
  const done = await mutate<{ resolveReview: { changed: boolean; item: { status: string; decision: string } } }>(RESOLVE, {
    id: item.id,
    d: 'MATCH',
    r: 'same person: matching insurance card',
  });
  assert.equal(done.body.errors, undefined, JSON.stringify(done.body.errors));
  assert.deepEqual(done.body.data!.resolveReview, { changed: true, item: { status: 'RESOLVED', decision: 'MATCH' } });
  const repeat = await mutate<{ resolveReview: { changed: boolean } }>(RESOLVE, { id: item.id, d: 'MATCH', r: 'retry' });
  assert.equal(repeat.body.data!.resolveReview.changed, false);
  const contradiction = await mutate(RESOLVE, { id: item.id, d: 'NO_MATCH', r: 'changed my mind' });
  assert.equal(contradiction.body.errors?.[0]?.extensions?.code, 'CONFLICT');
  const merged = await gql<{ patient: Patient }>(stack, steward.token, `{ patient(id: "${b.goldenId}") { ${PATIENT} } }`);
  assert.equal(merged.body.data!.patient.id, a.goldenId, 'the parked golden record now redirects to the candidate');
  assert.equal(merged.body.data!.patient.mergedInto, a.goldenId);
  assert.ok((await auditedMutations(steward.sub)).includes(`Mutation.resolveReview Patient/${a.goldenId}`));
});

test('unlink and link back, merge and unmerge: idempotent, audited, the merged id redirects', async () => {
  const [linked] = await patientsWithLinks(2);
  assert.ok(linked, 'the simulated population has patients known to both EHRs');
  const recordId = linked.links[1]!.sourceRecordId;
  const UNLINK =
    'mutation ($s: ID!, $r: String!) { unlinkRecord(sourceRecordId: $s, reason: $r) { changed state origin previousPatientId patient { id } record { id } } }';
  const un = await mutate<{
    unlinkRecord: {
      changed: boolean;
      state: string;
      origin: string;
      previousPatientId: string;
      patient: { id: string };
      record: { id: string };
    };
  }>(UNLINK, { s: recordId, r: 'different person sharing an address' });
  assert.equal(un.body.errors, undefined, JSON.stringify(un.body.errors));
  const moved = un.body.data!.unlinkRecord;
  assert.equal(moved.changed, true);
  assert.equal(moved.state, 'NO_MATCH');
  assert.equal(moved.origin, 'MANUAL');
  assert.equal(moved.previousPatientId, linked.id);
  assert.equal(moved.record.id, recordId);
  assert.notEqual(moved.patient.id, linked.id);

  const LINK =
    'mutation ($s: ID!, $p: ID!, $r: String!) { linkRecord(sourceRecordId: $s, patientId: $p, reason: $r) { changed state origin patient { id links { sourceRecordId origin } } } }';
  const back = await mutate<{
    linkRecord: { changed: boolean; patient: { id: string; links: { sourceRecordId: string; origin: string }[] } };
  }>(LINK, { s: recordId, p: linked.id, r: 'unlinked by mistake' });
  assert.equal(back.body.errors, undefined, JSON.stringify(back.body.errors));
  assert.equal(back.body.data!.linkRecord.changed, true);
  assert.ok(back.body.data!.linkRecord.patient.links.some((l) => l.sourceRecordId === recordId && l.origin === 'MANUAL'));
  assert.equal(
    (await mutate<{ linkRecord: { changed: boolean } }>(LINK, { s: recordId, p: linked.id, r: 'again' })).body.data!.linkRecord.changed,
    false,
  );

  const [single] = (await patientsWithLinks(1)).filter((p) => p.id !== moved.patient.id);
  const MERGE =
    'mutation ($s: ID!, $m: ID!, $r: String!) { mergePatients(survivorId: $s, mergedId: $m, reason: $r) { changed movedRecords mergedId survivor { id } } }';
  const merge = await mutate<{ mergePatients: { changed: boolean; movedRecords: number; survivor: { id: string } } }>(MERGE, {
    s: linked.id,
    m: single!.id,
    r: 'duplicate registration',
  });
  assert.equal(merge.body.errors, undefined, JSON.stringify(merge.body.errors));
  assert.deepEqual(
    [merge.body.data!.mergePatients.changed, merge.body.data!.mergePatients.movedRecords, merge.body.data!.mergePatients.survivor.id],
    [true, 1, linked.id],
  );
  const redirected = await gql<{ patient: Patient }>(stack, steward.token, `{ patient(id: "${single!.id}") { ${PATIENT} } }`);
  assert.equal(redirected.body.data!.patient.id, linked.id);
  assert.equal(redirected.body.data!.patient.mergedInto, linked.id);
  assert.equal(redirected.body.data!.patient.redirectedFrom, single!.id);
  assert.equal(
    (await mutate<{ mergePatients: { changed: boolean } }>(MERGE, { s: linked.id, m: single!.id, r: 'again' })).body.data!.mergePatients
      .changed,
    false,
  );

  const UNMERGE = 'mutation ($p: ID!, $r: String!) { unmergePatient(patientId: $p, reason: $r) { changed movedRecords } }';
  const unmerge = await mutate<{ unmergePatient: { changed: boolean; movedRecords: number } }>(UNMERGE, {
    p: single!.id,
    r: 'not the same person after all',
  });
  assert.deepEqual(unmerge.body.data!.unmergePatient, { changed: true, movedRecords: 1 });
  const restored = await gql<{ patient: Patient }>(stack, steward.token, `{ patient(id: "${single!.id}") { ${PATIENT} } }`);
  assert.equal(restored.body.data!.patient.id, single!.id);
  assert.equal(restored.body.data!.patient.mergedInto, null);

  const history = await gql<{ linkHistory: { action: string; actor: string; reason: string | null }[] }>(
    stack,
    steward.token,
    `{ linkHistory(sourceRecordId: "${recordId}") { action actor reason } }`,
  );
  assert.deepEqual(
    history.body.data!.linkHistory.map((e) => e.action),
    ['CREATED', 'UNLINKED', 'LINKED'],
  );
  assert.equal(history.body.data!.linkHistory[1]!.actor, steward.sub);

  const audited = await auditedMutations(steward.sub);
  for (const m of ['unlinkRecord', 'linkRecord', 'mergePatients', 'unmergePatient'])
    assert.ok(
      audited.some((a) => a.startsWith(`Mutation.${m} `)),
      `${m} audited`,
    );
  assert.ok(audited.includes(`Mutation.mergePatients Patient/${single!.id}`), 'the audit row names every patient the change touched');
});

test('only stewards: clinicians and analysts are FORBIDDEN; bad arguments are BAD_USER_INPUT; unknown ids NOT_FOUND', async () => {
  const [p] = await patientsWithLinks(1);
  const MERGE = 'mutation ($s: ID!, $m: ID!, $r: String!) { mergePatients(survivorId: $s, mergedId: $m, reason: $r) { changed } }';
  for (const roles of [['clinician'], ['analyst'], ['security']] as const) {
    const { token } = await tokenFor(stack, roles);
    const res = await mutate(MERGE, { s: p!.id, m: p!.id, r: 'x' }, token);
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'FORBIDDEN', roles.join());
    const queue = await gql(stack, token, '{ reviewQueue { totalCount } }');
    assert.equal(queue.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  }
  const blankReason = await mutate(MERGE, { s: p!.id, m: p!.id, r: '  ' });
  assert.equal(blankReason.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const notUuid = await mutate(MERGE, { s: 'nope', m: p!.id, r: 'x' });
  assert.equal(notUuid.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const unknown = await mutate(MERGE, { s: p!.id, m: '00000000-0000-4000-8000-000000000000', r: 'x' });
  assert.equal(unknown.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  const badRecord = await mutate('mutation { unlinkRecord(sourceRecordId: "no colon", reason: "x") { changed } }', {});
  assert.equal(badRecord.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
});

test("a steward's field value: set through the gateway, shown with MANUAL provenance, audited with the fields written; nobody else may set one", async () => {
  const [p] = await patientsWithLinks(1);
  const SET =
    'mutation ($p: ID!, $f: PatientFieldsInput!, $r: String!) { setPatientFields(patientId: $p, fields: $f, reason: $r) { changed changedFields patient { id birthDate gender provenance { field rule sourceRecordIds setBy setAt } } } }';
  type Result = {
    setPatientFields: {
      changed: boolean;
      changedFields: string[];
      patient: {
        id: string;
        birthDate: string;
        gender: string;
        provenance: { field: string; rule: string; sourceRecordIds: string[]; setBy: string | null; setAt: string | null }[];
      };
    };
  };
  const res = await mutate<Result>(SET, {
    p: p!.id,
    f: { birthDate: '1944-04-04', gender: 'other' },
    r: 'verified with the patient at registration',
  });
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const out = res.body.data!.setPatientFields;
  assert.deepEqual(
    [out.changed, out.changedFields, out.patient.birthDate, out.patient.gender],
    [true, ['BIRTH_DATE', 'GENDER'], '1944-04-04', 'other'],
  );
  const prov = out.patient.provenance.find((x) => x.field === 'birthDate')!;
  assert.deepEqual([prov.rule, prov.sourceRecordIds, prov.setBy], ['MANUAL', [], steward.sub]);
  assert.ok(prov.setAt && !Number.isNaN(Date.parse(prov.setAt)));
  assert.equal(out.patient.provenance.find((x) => x.field === 'name')?.setBy, null, 'a rule-chosen field has no steward');

  const repeat = await mutate<Result>(SET, { p: p!.id, f: { birthDate: '1944-04-04' }, r: 'again' });
  assert.deepEqual([repeat.body.data!.setPatientFields.changed, repeat.body.data!.setPatientFields.changedFields], [false, []]);
  const cleared = await mutate<Result>(SET, { p: p!.id, f: { clear: ['GENDER'] }, r: 'patient asked to go back to the registered value' });
  assert.deepEqual(cleared.body.data!.setPatientFields.changedFields, ['GENDER']);
  assert.notEqual(cleared.body.data!.setPatientFields.patient.provenance.find((x) => x.field === 'gender')?.rule, 'MANUAL');

  // A clinician reads the corrected value, but may not set one.
  const clinician = await tokenFor(stack, ['clinician']);
  const read = await gql<{ patient: { birthDate: string } }>(stack, clinician.token, `{ patient(id: "${p!.id}") { birthDate } }`);
  assert.equal(read.body.data?.patient.birthDate, '1944-04-04');
  for (const roles of [['clinician'], ['analyst'], ['security']] as const) {
    const { token } = await tokenFor(stack, roles);
    const denied = await mutate(SET, { p: p!.id, f: { birthDate: '1900-01-01' }, r: 'x' }, token);
    assert.equal(denied.body.errors?.[0]?.extensions?.code, 'FORBIDDEN', roles.join());
  }

  // Bad values are refused naming the input path, never echoing the value.
  const bad = await mutate(SET, { p: p!.id, f: { telecom: [{ system: 'email', value: 'nobody-at-example' }] }, r: 'x' });
  assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  assert.equal(bad.body.errors?.[0]?.extensions?.argument, 'fields.telecom[0].value');
  assert.ok(!JSON.stringify(bad.body.errors).includes('nobody-at-example'));
  const future = await mutate(SET, { p: p!.id, f: { birthDate: '2999-01-01' }, r: 'x' });
  assert.equal(future.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const identifiers = await mutate(SET, { p: p!.id, f: { identifiers: [] }, r: 'x' });
  assert.ok(identifiers.body.errors?.length, 'identifiers cannot be set by hand');
  assert.equal(
    (await gql<{ patient: { birthDate: string } }>(stack, steward.token, `{ patient(id: "${p!.id}") { birthDate } }`)).body.data?.patient
      .birthDate,
    '1944-04-04',
    'refused changes wrote nothing',
  );

  const { rows } = await stack.db.query<{ fields: string[] }>(
    "SELECT fields FROM audit_event WHERE actor_sub = $1 AND decision = 'permit' AND patient_ref = $2 AND 'Mutation.setPatientFields' = ANY(fields)",
    [steward.sub, `Patient/${p!.id}`],
  );
  assert.deepEqual(
    rows
      .map((r) =>
        r.fields
          .filter((f) => f !== 'Mutation.setPatientFields')
          .sort()
          .join(),
      )
      .sort(),
    ['', 'Patient.birthDate,Patient.gender', 'Patient.gender'],
  );
});
