// Through the gateway, a steward sees why each pair waits in the queue (the rule that held it,
// the per-field evidence, the score and the thresholds in force) and why each record is linked as
// it is; an unmerge reopens the review item its merge closed. Everything read or changed is
// audited under the patients concerned; the reasons are stewards' alone.
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

type Reason = { code: string; description: string };
type Item = {
  id: string;
  kind: string;
  status: string;
  matchReason: Reason;
  score: number;
  thresholds: { autoLink: number; review: number } | null;
  evidence: { field: string; level: string; weight: number }[];
  record: { id: string } | null;
  patient: { id: string } | null;
  candidate: { id: string } | null;
  reopens: string | null;
};
const ITEM =
  'id kind status matchReason { code description } score thresholds { autoLink review } evidence { field level weight } record { id } patient { id } candidate { id } reopens';

async function queue(token = steward.token): Promise<Item[]> {
  const res = await gql<{ reviewQueue: { edges: { node: Item }[] } }>(
    stack,
    token,
    `{ reviewQueue(first: 100) { edges { node { ${ITEM} } } } }`,
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  return res.body.data!.reviewQueue.edges.map((e) => e.node);
}

async function auditRows(sub: string): Promise<{ patient_ref: string; fields: string[] }[]> {
  const { rows } = await stack.db.query<{ patient_ref: string; fields: string[] }>(
    "SELECT patient_ref, fields FROM audit_event WHERE actor_sub = $1 AND decision = 'permit'",
    [sub],
  );
  return rows;
}

// Invented people, unlike the simulated population: two registrations sharing only an SSN and a birth
// date (the SSN would decide alone), and twins sharing home, phone and email with no SSN on file.
const ssnOnly = (source: string, id: string, family: string) =>
  person({ source, id, family, given: [], birthDate: '1933-03-23', gender: null, ssn: '671234509' });
const twin = (source: string, id: string, given: string) => {
  const p = person({
    source,
    id,
    family: 'Wrenfield-Oduya',
    given: [given],
    birthDate: '2011-05-17',
    line: '4 Larkspur Row',
    phone: '217-555-0199',
  });
  return { ...p, telecom: [...p.telecom, { system: 'email', value: 'wrenfield.family@example.org', use: 'home' }] };
};

let ssnPair: { parked: string; candidate: string };

test('the review queue shows each held pair with its reason, evidence, score and thresholds; links and history say why; audited', async () => {
  const protection = protectionFor(stack.keys);
  const { thresholds } = loadMatchingConfig();
  const first = await linkSourceRecord(stack.db, ssnOnly('epic-main', 'why-s1', 'Quennellworth'), protection);
  const second = await linkSourceRecord(stack.db, ssnOnly('cerner-main', 'why-s2', 'Marchbanks'), protection);
  assert.equal(second.decision, 'POSSIBLE_MATCH');
  ssnPair = { parked: second.goldenId, candidate: first.goldenId };
  const emma = await linkSourceRecord(stack.db, twin('epic-main', 'why-t1', 'Rosalind'), protection);
  const other = await linkSourceRecord(stack.db, twin('cerner-main', 'why-t2', 'Benedict'), protection);
  assert.equal(other.decision, 'POSSIBLE_MATCH');

  const items = await queue();
  const ssnItem = items.find((i) => i.record?.id === 'cerner-main:why-s2');
  assert.ok(ssnItem, 'the SSN-only pair is queued');
  assert.equal(ssnItem.matchReason.code, 'SSN_ONLY');
  assert.match(ssnItem.matchReason.description, /SSN/);
  assert.deepEqual(ssnItem.thresholds, thresholds, 'the thresholds in force');
  assert.ok(ssnItem.score >= thresholds.autoLink, `held at ${ssnItem.score}, above auto-link: the reason says why`);
  const ssn = ssnItem.evidence.find((e) => e.field === 'ssn');
  assert.deepEqual([ssn?.level, Math.sign(ssn?.weight ?? 0)], ['exact', 1]);
  assert.equal(ssnItem.evidence.find((e) => e.field === 'family')?.level, 'different');
  assert.deepEqual([ssnItem.patient?.id, ssnItem.candidate?.id], [second.goldenId, first.goldenId]);

  const twinItem = items.find((i) => i.record?.id === 'cerner-main:why-t2');
  assert.ok(twinItem, 'the twins are queued');
  assert.equal(twinItem.matchReason.code, 'TWIN_GUARD');
  assert.ok(twinItem.score < thresholds.autoLink);
  const guard = twinItem.evidence.find((e) => e.field === 'twin');
  assert.equal(guard?.level, 'suspected');
  assert.ok(guard!.weight < 0, 'the guard weighs against the pair');

  // The links and their history say why, for a steward.
  const LINKS = 'links { sourceRecordId state matchReason { code } } linkHistory { sourceRecordId action matchReason { code } }';
  const seen = await gql<{
    patient: {
      links: { sourceRecordId: string; state: string; matchReason: Reason | null }[];
      linkHistory: { action: string; matchReason: Reason }[];
    };
  }>(stack, steward.token, `{ patient(id: "${other.goldenId}") { ${LINKS} } }`);
  assert.equal(seen.body.errors, undefined, JSON.stringify(seen.body.errors));
  assert.deepEqual(
    seen.body.data!.patient.links.map((l) => [l.sourceRecordId, l.state, l.matchReason?.code]),
    [['cerner-main:why-t2', 'POSSIBLE_MATCH', 'TWIN_GUARD']],
  );
  assert.deepEqual(
    seen.body.data!.patient.linkHistory.map((e) => `${e.action}:${e.matchReason.code}`),
    ['CREATED:TWIN_GUARD'],
  );
  const history = await gql<{ linkHistory: { action: string; matchReason: Reason }[] }>(
    stack,
    steward.token,
    '{ linkHistory(sourceRecordId: "epic-main:why-t1") { action matchReason { code } } }',
  );
  assert.deepEqual(
    history.body.data!.linkHistory.map((e) => e.matchReason.code),
    ['NO_CANDIDATE'],
  );
  assert.equal(emma.decision, 'NO_MATCH');

  // A clinician sees the links, but not the rules that held them.
  const clinician = await tokenFor(stack, ['clinician']);
  const theirs = await gql<{ patient: { links: { sourceRecordId: string; matchReason: Reason | null }[] } }>(
    stack,
    clinician.token,
    `{ patient(id: "${other.goldenId}") { links { sourceRecordId matchReason { code } } } }`,
  );
  assert.deepEqual(theirs.body.data?.patient.links, [{ sourceRecordId: 'cerner-main:why-t2', matchReason: null }]);
  assert.equal(theirs.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.deepEqual(theirs.body.errors?.[0]?.path, ['patient', 'links', 0, 'matchReason']);

  // Each item's reason and evidence were recorded as read, under both patients of each pair.
  const rows = await auditRows(steward.sub);
  for (const id of [first.goldenId, second.goldenId, emma.goldenId, other.goldenId]) {
    const fields = rows.filter((r) => r.patient_ref === `Patient/${id}`).flatMap((r) => r.fields);
    for (const f of ['ReviewItem.matchReason', 'ReviewItem.evidence', 'ReviewItem.thresholds'])
      assert.ok(fields.includes(f), `${f} audited for Patient/${id}`);
  }
  const linkRows = rows.filter((r) => r.patient_ref === `Patient/${other.goldenId}`).flatMap((r) => r.fields);
  assert.ok(linkRows.includes('PatientLink.matchReason') && linkRows.includes('LinkEvent.matchReason'));
});

test('merge closes the pending review; unmerge through the gateway reopens it and the steward sees it again', async () => {
  const protection = protectionFor(stack.keys);
  const b = await linkSourceRecord(
    stack.db,
    person({ source: 'lab', id: 'why-b1', family: 'Tillingbourne', given: ['Evander'], birthDate: '1977-12-01', ssn: '672345610' }),
    protection,
  );
  const before = (await queue()).find((i) => i.record?.id === 'cerner-main:why-s2');
  assert.ok(before);
  const MERGE =
    'mutation ($s: ID!, $m: ID!, $r: String!) { mergePatients(survivorId: $s, mergedId: $m, reason: $r) { changed reopenedReviews { id } reviewsKeptClosed { id } } }';
  const merge = await gql<{ mergePatients: { changed: boolean; reopenedReviews: unknown[]; reviewsKeptClosed: unknown[] } }>(
    stack,
    steward.token,
    MERGE,
    { s: b.goldenId, m: ssnPair.parked, r: 'duplicate registration' },
  );
  assert.equal(merge.body.errors, undefined, JSON.stringify(merge.body.errors));
  assert.deepEqual(merge.body.data!.mergePatients, { changed: true, reopenedReviews: [], reviewsKeptClosed: [] });
  assert.equal(
    (await queue()).find((i) => i.record?.id === 'cerner-main:why-s2'),
    undefined,
    'the merge closed it',
  );

  const UNMERGE = `mutation ($p: ID!, $r: String!) { unmergePatient(patientId: $p, reason: $r) { changed movedRecords reopenedReviews { ${ITEM} } reviewsKeptClosed { id code description } } }`;
  const undo = await gql<{
    unmergePatient: { changed: boolean; movedRecords: number; reopenedReviews: Item[]; reviewsKeptClosed: unknown[] };
  }>(stack, steward.token, UNMERGE, { p: ssnPair.parked, r: 'different people: registration mix-up' });
  assert.equal(undo.body.errors, undefined, JSON.stringify(undo.body.errors));
  const out = undo.body.data!.unmergePatient;
  assert.deepEqual([out.changed, out.movedRecords, out.reviewsKeptClosed], [true, 1, []]);
  assert.equal(out.reopenedReviews.length, 1);
  const after = (await queue()).find((i) => i.record?.id === 'cerner-main:why-s2');
  assert.ok(after, 'the steward sees it again in the queue');
  assert.deepEqual(after, out.reopenedReviews[0]);
  assert.equal(after.reopens, before.id, 'it names the item it reopens');
  assert.deepEqual(
    [after.status, after.matchReason.code, after.score, after.evidence, after.patient?.id, after.candidate?.id],
    ['OPEN', 'SSN_ONLY', before.score, before.evidence, ssnPair.parked, ssnPair.candidate],
  );
  const repeat = await gql<{ unmergePatient: { changed: boolean; reopenedReviews: unknown[] } }>(stack, steward.token, UNMERGE, {
    p: ssnPair.parked,
    r: 'again',
  });
  assert.deepEqual(repeat.body.data!.unmergePatient, { changed: false, movedRecords: 0, reopenedReviews: [], reviewsKeptClosed: [] });

  // The merge's and the unmerge's audit rows name the candidate whose pending review they closed and reopened.
  const rows = await auditRows(steward.sub);
  const mutations = rows.flatMap((r) => r.fields.filter((f) => f.startsWith('Mutation.')).map((f) => `${f} ${r.patient_ref}`));
  for (const m of ['mergePatients', 'unmergePatient'])
    for (const id of [b.goldenId, ssnPair.parked, ssnPair.candidate])
      assert.ok(mutations.includes(`Mutation.${m} Patient/${id}`), `${m} audited for Patient/${id}`);
});
