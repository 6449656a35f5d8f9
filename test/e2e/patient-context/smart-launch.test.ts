// A real SMART EHR launch: the EHR's authorization server issues the token, and its `patient`
// claim is that EHR's FHIR Patient id, not a golden id. The issuer is configured for its
// connection (config/issuers.json `connection`); the subgraphs map the launch patient to its
// golden record through the MPI's links, following merges. The app then sees exactly that person
// (with the records other EHRs hold for them), nobody else, and nobody at all when the EHR's
// patient is unknown.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, post, startTestStack, tokenFor } from '../../support/stack.ts';

const EHR_ISSUER = 'https://ehr.example.org/epic-main/oauth2';
const AUDIENCE = 'patient-gateway';
let stack: Stack;
let ehrKey: CryptoKey;
type Node = { id: string; identifiers: { system: string; value: string }[]; sourceRecords: { id: string; source: string }[] };
let mine: Node;
let other: Node;
let epicId: string;

before(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  ehrKey = privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'ehr-1', alg: 'ES256' };
  stack = await startTestStack({ issuers: [{ issuer: EHR_ISSUER, audience: AUDIENCE, jwks: [jwk], connection: 'epic-main' }] });
  const { token } = await tokenFor(stack, ['clinician']);
  const res = await gql<{ patients: { edges: { node: Node }[] } }>(
    stack,
    token,
    '{ patients(first: 100) { edges { node { id identifiers { system value } sourceRecords { id source } } } } }',
  );
  const nodes = res.body.data!.patients.edges.map((e) => e.node);
  const sources = (n: Node) =>
    n.sourceRecords
      .map((r) => r.source)
      .sort()
      .join();
  mine = nodes.find((n) => sources(n) === 'cerner-main,epic-main')!;
  other = nodes.find((n) => n.id !== mine.id && sources(n) === 'cerner-main,epic-main')!;
  assert.ok(mine && other, 'two people known to both EHRs');
  epicId = mine.sourceRecords.find((r) => r.source === 'epic-main')!.id.slice('epic-main:'.length);
});
after(() => stack?.close());

/** A token as the Epic hospital's authorization server issues it after an EHR launch. */
const ehrToken = (patient: string) =>
  new SignJWT({ roles: ['clinician'], purpose_of_use: 'TREAT', scope: 'launch patient/*.rs', patient, client_id: 'smart-app' })
    .setProtectedHeader({ alg: 'ES256', kid: 'ehr-1' })
    .setIssuer(EHR_ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(`Practitioner/${randomUUID()}`)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(ehrKey);

type Seen = {
  patients: { totalCount: number; edges: { node: { id: string; sourceRecords: { id: string; observations: unknown[] | null }[] } }[] };
};
const SEEN = '{ patients(first: 100) { totalCount edges { node { id sourceRecords { id observations { id } } } } } }';
async function seenBy(token: string): Promise<{ ids: string[]; records: string[] }> {
  const res = await gql<Seen>(stack, token, SEEN);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const nodes = res.body.data!.patients.edges.map((e) => e.node);
  assert.equal(res.body.data!.patients.totalCount, nodes.length);
  assert.ok(
    nodes.every((n) => n.sourceRecords.every((r) => Array.isArray(r.observations))),
    'clinical data of every record',
  );
  return { ids: nodes.map((n) => n.id), records: nodes.flatMap((n) => n.sourceRecords.map((r) => r.id)).sort() };
}

test("an EHR launch with the EHR's patient id sees exactly that person's golden record and its other EHRs' records", async () => {
  const token = await ehrToken(epicId);
  assert.deepEqual(await seenBy(token), { ids: [mine.id], records: mine.sourceRecords.map((r) => r.id).sort() });
  const byId = await gql<{ patient: { id: string } | null }>(stack, token, `{ patient(id: "${mine.id}") { id name { family } } }`);
  assert.equal(byId.body.data?.patient?.id, mine.id);
});

test('the launched app reaches nobody else: by id, identifier or list', async () => {
  const token = await ehrToken(epicId);
  assert.deepEqual((await gql(stack, token, `{ patient(id: "${other.id}") { id } }`)).body, { data: { patient: null } });
  const mrn = other.identifiers[0]!;
  const byIdentifier = await gql(
    stack,
    token,
    'query ($s: String!, $v: String!) { patientByIdentifier(system: $s, value: $v) { id } patientsByIdentifier(system: $s, value: $v) { id } }',
    { s: mrn.system, v: mrn.value },
  );
  assert.deepEqual(byIdentifier.body, { data: { patientByIdentifier: null, patientsByIdentifier: [] } });
  // The Epic issuer cannot name a Cerner patient: its ids are read as Epic ids.
  const cernerId = other.sourceRecords.find((r) => r.source === 'cerner-main')!.id.slice('cerner-main:'.length);
  assert.deepEqual(await seenBy(await ehrToken(cernerId)), { ids: [], records: [] });
});

test('an unknown launch patient sees nobody; a malformed one is refused', async () => {
  const token = await ehrToken('no-such-patient');
  assert.deepEqual(await seenBy(token), { ids: [], records: [] });
  assert.deepEqual((await gql(stack, token, `{ patient(id: "${mine.id}") { id } }`)).body, { data: { patient: null } });
  const malformed = await post(stack.gateway.url, { query: SEEN }, { authorization: `Bearer ${await ehrToken('a/b')}` });
  assert.equal(malformed.status, 401);
});

test('a token from our own issuer may name the launch patient as <connection>:<FHIR id> or as a golden id', async () => {
  for (const patient of [`epic-main:${epicId}`, mine.id]) {
    const { token } = await tokenFor(stack, ['clinician'], 'TREAT', undefined, { patient, scope: 'patient/*.rs' });
    assert.deepEqual((await seenBy(token)).ids, [mine.id], patient);
  }
});

test('after a merge the launch still works: the EHR id and the merged golden id both reach the survivor', async () => {
  const steward = (await tokenFor(stack, ['steward'])).token;
  const merge = await gql<{ mergePatients: { changed: boolean } }>(
    stack,
    steward,
    `mutation { mergePatients(survivorId: "${other.id}", mergedId: "${mine.id}", reason: "test: same person") { changed } }`,
  );
  assert.equal(merge.body.data?.mergePatients.changed, true, JSON.stringify(merge.body));
  const all = [...mine.sourceRecords, ...other.sourceRecords].map((r) => r.id).sort();
  const ehr = await ehrToken(epicId);
  assert.deepEqual(await seenBy(ehr), { ids: [other.id], records: all });
  const redirected = await gql<{ patient: { id: string; mergedInto: string } }>(
    stack,
    ehr,
    `{ patient(id: "${mine.id}") { id mergedInto } }`,
  );
  assert.deepEqual(redirected.body.data?.patient, { id: other.id, mergedInto: other.id });
  const { token: golden } = await tokenFor(stack, ['clinician'], 'TREAT', undefined, { patient: mine.id, scope: 'patient/*.rs' });
  assert.deepEqual((await seenBy(golden)).ids, [other.id]);
});
