// An HL7 v2 feed on the real stack: messages sent over MLLP to the listener (loopback, ephemeral
// port) are committed, acknowledged, applied by the workers and then answered through the gateway
// like any source: an ADT^A01 patient is found by identifier, an ORU^R01 observation is in the
// merged clinical view, an A40 merge moves the merged record's data to the survivor. Garbage and an
// unknown facility are refused with an ERR; a resend gets the same ACK and changes nothing.
// Invented people and values only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hl7Feeds } from '../../../platform/config.ts';
import { localIdentifierSystems } from '../../../platform/config.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { sendOverMllp } from '../../support/hl7-messages.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const FEED = 'community-feed';
let stack: Stack;
let clinician: string;
let mrSystem: string;

before(async () => {
  // No initial load: the feed's patients are all this test needs, and the FHIR simulators' load is slow.
  stack = await startTestStack({ skipInitialLoad: true });
  clinician = (await tokenFor(stack, ['clinician'])).token;
  mrSystem = localIdentifierSystems(hl7Feeds(stack.connections).find((f) => f.id === FEED)!).MR;
});
after(() => stack?.close());

const send = (text: string): Promise<string> => sendOverMllp(stack.ingestion!.port!, text);
const segment = (ack: string, id: string): string[] => (ack.split('\r').find((s) => s.startsWith(`${id}|`)) ?? '').split('|');

const msh = (controlId: string, type: string, at = '20261201101500') =>
  `MSH|^~\\&|COMMUNITY_ADT|COMMUNITY|PGW|PGW|${at}||${type}|${controlId}|P|2.5.1\r`;
const pid = (mrn: string, given: string) =>
  `PID|1||${mrn}^^^COMMUNITY^MR||TESTFEED^${given}||19710203|F|||1 TEST ST^^SPRINGFIELD^CO^80000\r`;
const a01 = (controlId: string, mrn: string, given: string) =>
  msh(controlId, 'ADT^A01^ADT_A01') + `EVN|A01|20261201101500\r` + pid(mrn, given);
const oru = (controlId: string, mrn: string, given: string, value: number) =>
  msh(controlId, 'ORU^R01^ORU_R01', '20261201111500') +
  pid(mrn, given) +
  `OBR|1||LAB-${controlId}|2345-7^Glucose^LN|||20010203100000\r` +
  `OBX|1|NM|2345-7^Glucose^LN||${value}|mg/dL^^UCUM|70-99|H|||F|||20010203100000\r`;

type Found = { patientByIdentifier: { id: string; sourceRecords: { id: string }[] } | null };
const byMrn = (mrn: string) =>
  gql<Found>(
    stack,
    clinician,
    'query ($s: String!, $v: String!) { patientByIdentifier(system: $s, value: $v) { id sourceRecords { id } } }',
    {
      s: mrSystem,
      v: mrn,
    },
  );

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const count = async (sql: string, params: unknown[]): Promise<number> =>
  Number((await stack.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`, params)).rows[0]!.n);
const applied = (controlId: string) =>
  eventually(
    () => stack.db.query<{ state: string }>('SELECT state FROM inbox_message WHERE control_id = $1', [controlId]),
    (r) => r.rows[0]?.state === 'done' || r.rows[0]?.state === 'dead',
    `message ${controlId} to be applied`,
  ).then((r) => r.rows[0]!.state);

test('ADT^A01 over MLLP: AA, then patientByIdentifier finds the patient with the feed’s record', async () => {
  const ack = await send(a01('E2E-A01-1', 'HL7E2E-0001', 'ALPHA'));
  assert.deepEqual(segment(ack, 'MSA').slice(0, 3), ['MSA', 'AA', 'E2E-A01-1']);
  assert.equal(await applied('E2E-A01-1'), 'done');
  const res = await byMrn('HL7E2E-0001');
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.deepEqual(
    res.body.data!.patientByIdentifier!.sourceRecords.map((r) => r.id),
    [`${FEED}:HL7E2E-0001`],
  );
});

test('the same message resent: byte-identical ACK, no second effect', async () => {
  const text = a01('E2E-A01-2', 'HL7E2E-0003', 'GAMMA');
  const first = await send(text);
  assert.equal(await applied('E2E-A01-2'), 'done');
  const events = await count('link_event WHERE source = $1 AND source_patient_id = $2', [FEED, 'HL7E2E-0003']);
  assert.equal(events, 1);
  const again = await send(text);
  assert.equal(again, first);
  assert.equal(await count('inbox_message WHERE control_id = $1', ['E2E-A01-2']), 1);
  assert.equal(await count('link_event WHERE source = $1 AND source_patient_id = $2', [FEED, 'HL7E2E-0003']), events);
});

test('garbage gets AR with an ERR; an unknown facility gets AR with ERR 204; neither is stored', async () => {
  const before = await count('inbox_message WHERE channel = $1', [FEED]);
  const garbage = await send('this is not HL7');
  assert.equal(segment(garbage, 'MSA')[1], 'AR');
  assert.ok(segment(garbage, 'ERR').length > 1, garbage);
  const unknown = await send(a01('E2E-UNK-1', 'HL7E2E-0009', 'ZETA').replace('|COMMUNITY|', '|ELSEWHERE|'));
  assert.equal(segment(unknown, 'MSA')[1], 'AR');
  assert.match(segment(unknown, 'ERR')[3] ?? '', /^204\^/);
  assert.equal(await count('inbox_message WHERE control_id = $1', ['E2E-UNK-1']), 0);
  assert.equal(await count('inbox_message WHERE channel = $1', [FEED]), before);
});

type Chart = {
  patient: {
    observations: { edges: { node: { code: { code: string }; provenance: { source: string; messageId: string | null }[] } }[] } | null;
  };
};
const observations = (id: string) =>
  gql<Chart>(
    stack,
    clinician,
    `query ($id: ID!) { patient(id: $id) { observations(from: "2001-02-03T00:00:00Z", to: "2001-02-04T00:00:00Z") {
      edges { node { code { code } provenance { source messageId } } } } } }`,
    { id },
  );

test('ORU^R01: the observation is in the merged clinical view, with the message as its lineage', async () => {
  const ack = await send(oru('E2E-ORU-1', 'HL7E2E-0001', 'ALPHA', 105));
  assert.equal(segment(ack, 'MSA')[1], 'AA');
  assert.equal(await applied('E2E-ORU-1'), 'done');
  const golden = (await byMrn('HL7E2E-0001')).body.data!.patientByIdentifier!.id;
  const res = await observations(golden);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const inbox = (await stack.db.query<{ id: string }>('SELECT id::text FROM inbox_message WHERE control_id = $1', ['E2E-ORU-1'])).rows[0]!
    .id;
  assert.deepEqual(
    res.body.data!.patient!.observations!.edges.map((e) => [e.node.code.code, e.node.provenance.map((p) => [p.source, p.messageId])]),
    [['2345-7', [[FEED, inbox]]]],
  );
  // The feed's own record (hl7v2 adapter subgraph) answers from the store: nothing to ask, no error.
  type Records = { patient: { sourceRecords: { id: string; observations: { id: string }[] | null }[] } };
  const records = await gql<Records>(
    stack,
    clinician,
    'query ($id: ID!) { patient(id: $id) { sourceRecords { id observations { id } } } }',
    {
      id: golden,
    },
  );
  assert.equal(records.body.errors, undefined, JSON.stringify(records.body.errors));
  assert.deepEqual(
    records.body.data!.patient.sourceRecords.map((r) => [r.id, r.observations?.length]),
    [[`${FEED}:HL7E2E-0001`, 1]],
  );
});

test('A40: the merged-away record leaves the MPI and its observation belongs to the survivor', async () => {
  await send(a01('E2E-A01-3', 'HL7E2E-0002', 'BETA'));
  await send(oru('E2E-ORU-2', 'HL7E2E-0002', 'BETA', 140));
  assert.equal(await applied('E2E-ORU-2'), 'done');
  assert.notEqual((await byMrn('HL7E2E-0002')).body.data!.patientByIdentifier, null);
  const ack = await send(
    msh('E2E-A40-1', 'ADT^A40^ADT_A39', '20261201121500') +
      'EVN|A40|20261201121500\r' +
      pid('HL7E2E-0001', 'ALPHA') +
      'MRG|HL7E2E-0002^^^COMMUNITY^MR\r',
  );
  assert.equal(segment(ack, 'MSA')[1], 'AA');
  assert.equal(await applied('E2E-A40-1'), 'done');
  assert.deepEqual((await byMrn('HL7E2E-0002')).body.data, { patientByIdentifier: null });
  const survivor = (await byMrn('HL7E2E-0001')).body.data!.patientByIdentifier!;
  assert.deepEqual(
    survivor.sourceRecords.map((r) => r.id),
    [`${FEED}:HL7E2E-0001`],
  );
  const res = await observations(survivor.id);
  assert.equal(res.body.data!.patient!.observations!.edges.length, 2, JSON.stringify(res.body));
});
