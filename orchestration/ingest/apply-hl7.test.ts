// Applying HL7 v2 messages against a real database (PostgreSQL with DATABASE_URL, else PGlite):
// each effect, idempotency (a message applied twice changes nothing), quarantine and dead letter
// of a message that cannot be translated while the patient's next messages flow.
// Layer 2 is stood in by a fixed table (control id -> translation): these tests are about applying
// a translation, not about producing one (translation/hl7v2 has its own tests).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyConnectionConfig, Hl7FeedConfig } from '../../platform/config.ts';
import { loadAdapters } from '../../platform/config.ts';
import { QUARANTINE_MIGRATIONS } from '../../translation/quarantine.ts';
import { HL7_EFFECTS, type FhirResource, type Hl7Translation, type TranslateHl7 } from '../../translation/hl7v2/contract.ts';
import { error } from '../../translation/issues.ts';
import { header } from '../../protocol/hl7v2/message.ts';
import { CLINICAL_STORE_MIGRATIONS } from '../clinical-store/migrations.ts';
import { openMpiTestDb, type MpiTestDb } from '../mpi/test-helpers.ts';
import { inboxDispatcher } from './apply.ts';
import { applyHl7Message, HL7_MESSAGE_RESOURCE, hl7Applier } from './apply-hl7.ts';
import { claim, inboxState, receive, type ClaimedMessage } from './inbox.ts';
import { hl7Feed } from './ingestion.ts';
import { INGEST_MIGRATIONS } from './migrations.ts';
import { PermanentFailure } from './state.ts';
import { runWorkers } from './workers.ts';

const FEED: Hl7FeedConfig = {
  kind: 'hl7v2',
  id: 'test-feed',
  adapter: 'hl7v2',
  facility: { sendingFacility: 'TESTHOSP' },
  timeZone: 'America/Denver',
  identifierSystems: { MR: 'urn:oid:2.16.840.1.113883.3.9999.1' },
};
const MR = FEED.identifierSystems!.MR!;

// Invented people and values.
const patient = (id: string, family = 'TESTPERSON', given = 'ALPHA') => ({
  resourceType: 'Patient',
  id,
  identifier: [{ system: MR, value: id, type: { coding: [{ code: 'MR' }] } }],
  name: [{ family, given: [given] }],
  birthDate: '1971-02-03',
  gender: 'female',
});
const glucose = (id: string, subject: string, value = 105) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
  subject: { reference: `Patient/${subject}` },
  effectiveDateTime: '2026-11-30T14:00:00Z',
  valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
});
const type = (code: string, trigger: string) => ({ code, trigger, structure: `${code}_${trigger}` });

/** The stand-in for layer 2: what each control id translates to. */
const TRANSLATIONS: Record<string, ReturnType<TranslateHl7>> = {};
const ok = (value: Hl7Translation): ReturnType<TranslateHl7> => ({ ok: true, value, issues: [] });
/** A translation stating a patient (and resources): `effect` decides what applying it does. */
const stating = (
  effect: Hl7Translation['effect'],
  [code, trigger]: [string, string],
  id: string,
  given: string,
  resources: readonly FhirResource[] = [],
) => ok({ effect, messageType: type(code, trigger), sourcePatientId: id, patient: patient(id, 'TESTPERSON', given), resources });
const translate: TranslateHl7 = (m) =>
  TRANSLATIONS[header(m).controlId] ?? { ok: false, issues: [error('MSH-9', 'not in the test table')] };

let t: MpiTestDb;
before(async () => {
  t = await openMpiTestDb({
    migrations: [...QUARANTINE_MIGRATIONS, ...CLINICAL_STORE_MIGRATIONS, ...INGEST_MIGRATIONS],
    prefix: 'apply',
    maxConnections: 4,
  });
});
after(() => t.close());

const feed = () => hl7Feed(FEED, loadAdapters());
const deps = () => ({ db: t.db, protection: t.protection, translate });
let seq = 0;

/** Receives a message (its text only carries the key) and claims it, as a worker would. */
async function inbound(controlId: string, patientKey: string | null = null): Promise<ClaimedMessage> {
  await receive(
    t.db,
    {
      key: { channel: FEED.id, sendingApplication: 'APP^', sendingFacility: 'TESTHOSP^', controlId },
      payload: `MSH|^~\\&|APP|TESTHOSP|PGW|PGW|20261201101500||ADT^A01|${controlId}|P|2.5\r`,
      ack: Buffer.from(`ACK ${controlId}`),
      patientKey,
    },
    t.protection,
  );
  const [m] = await claim(t.db, { limit: 1, workerId: `t-${++seq}` }, t.protection);
  assert.equal(m?.key.controlId, controlId);
  return m!;
}
const count = async (sql: string, params: unknown[] = []): Promise<number> =>
  Number((await t.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`, params)).rows[0]!.n);
const linkEvents = (id: string) => count('link_event WHERE source = $1 AND source_patient_id = $2', [FEED.id, id]);

test('ADT upsert: the patient is linked in the MPI; applied again, nothing changes', async () => {
  TRANSLATIONS['A01-1'] = stating(HL7_EFFECTS.upsertPatient, ['ADT', 'A01'], 'P100', 'ALPHA');
  const m = await inbound('A01-1');
  const first = await applyHl7Message(deps(), feed(), m);
  assert.equal(first.linked?.created, true);
  const events = await linkEvents('P100');
  assert.equal(events, 1);
  const again = await applyHl7Message(deps(), feed(), m);
  assert.equal(again.linked?.goldenId, first.linked?.goldenId);
  assert.equal(again.linked?.created, false);
  assert.equal(await linkEvents('P100'), events);
  assert.equal(await count('source_record WHERE source = $1 AND deleted_at IS NULL', [FEED.id]), 1);
  assert.equal(await count('patient_identifier WHERE source = $1 AND system = $2', [FEED.id, MR]), 1);
});

test('ORU: the observation is stored with the inbox message as lineage; applied again, no new item or version', async () => {
  TRANSLATIONS['ORU-1'] = stating(HL7_EFFECTS.clinical, ['ORU', 'R01'], 'P100', 'ALPHA', [glucose('oru-1-obx-1', 'P100')]);
  const m = await inbound('ORU-1');
  const first = await applyHl7Message(deps(), feed(), m);
  assert.deepEqual([first.stored, first.quarantined], [1, 0]);
  const row = (
    await t.db.query<{ subject_id: string; message_id: string; code: string }>(
      'SELECT subject_id, message_id, code FROM clinical_item WHERE source = $1 AND resource_id = $2',
      [FEED.id, 'oru-1-obx-1'],
    )
  ).rows;
  assert.deepEqual(row, [{ subject_id: 'P100', message_id: m.id, code: '2345-7' }]);
  const events = await linkEvents('P100');
  const second = await applyHl7Message(deps(), feed(), m);
  assert.equal(second.stored, 0);
  assert.equal(await count('clinical_item WHERE source = $1', [FEED.id]), 1);
  assert.equal(await count('clinical_item_history WHERE source = $1', [FEED.id]), 0);
  assert.equal(await linkEvents('P100'), events);
});

test('store-only without a PID changes nothing; with one it updates the patient', async () => {
  TRANSLATIONS['A03-1'] = ok({
    effect: HL7_EFFECTS.storeOnly,
    messageType: type('ADT', 'A03'),
    sourcePatientId: null,
    patient: null,
    resources: [],
  });
  const before = await count('link_event');
  const applied = await applyHl7Message(deps(), feed(), await inbound('A03-1'));
  assert.equal(applied.linked, null);
  assert.equal(await count('link_event'), before);
  TRANSLATIONS['A03-2'] = ok({
    effect: HL7_EFFECTS.storeOnly,
    messageType: type('ADT', 'A03'),
    sourcePatientId: 'P300',
    patient: patient('P300', 'TESTOTHER', 'GAMMA'),
    resources: [],
  });
  assert.equal((await applyHl7Message(deps(), feed(), await inbound('A03-2'))).linked?.created, true);
});

test('A40: the merged-away record leaves the MPI (history kept), its items belong to the survivor; again, nothing changes', async () => {
  TRANSLATIONS['A04-2'] = stating(HL7_EFFECTS.clinical, ['ORU', 'R01'], 'P200', 'BETA', [glucose('oru-2-obx-1', 'P200', 140)]);
  await applyHl7Message(deps(), feed(), await inbound('A04-2'));
  TRANSLATIONS['A40-1'] = ok({
    effect: HL7_EFFECTS.mergePatients,
    messageType: type('ADT', 'A40'),
    sourcePatientId: 'P100',
    mergedPatientId: 'P200',
    patient: patient('P100'),
    resources: [],
  });
  const m = await inbound('A40-1');
  const first = await applyHl7Message(deps(), feed(), m);
  assert.deepEqual([first.moved, first.mergedAway], [1, true]);
  const items = await t.db.query<{ resource_id: string; subject_id: string }>(
    'SELECT resource_id, subject_id FROM clinical_item WHERE source = $1 ORDER BY resource_id',
    [FEED.id],
  );
  assert.deepEqual(items.rows, [
    { resource_id: 'oru-1-obx-1', subject_id: 'P100' },
    { resource_id: 'oru-2-obx-1', subject_id: 'P100' },
  ]);
  assert.equal(await count('source_record WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NOT NULL', [FEED.id, 'P200']), 1);
  const events = await count('link_event');
  const again = await applyHl7Message(deps(), feed(), m);
  assert.deepEqual([again.moved, again.mergedAway], [0, false]);
  assert.equal(await count('link_event'), events);
});

test('untranslatable: quarantined with its reason, dead-lettered, and the patient’s next message still applied', async () => {
  TRANSLATIONS['BAD-1'] = { ok: false, issues: [error('PID-7', 'not a date')] };
  TRANSLATIONS['NEXT-1'] = stating(HL7_EFFECTS.upsertPatient, ['ADT', 'A08'], 'P400', 'DELTA');
  const bad = await inbound('BAD-1', 'pk-400');
  await assert.rejects(applyHl7Message(deps(), feed(), bad), (e) => e instanceof PermanentFailure && /PID-7/.test(e.message));
  const q = await t.db.query<{ resource_type: string; resource_id: string; issues: unknown }>(
    'SELECT resource_type, resource_id, issues FROM quarantine WHERE source = $1',
    [FEED.id],
  );
  assert.deepEqual(q.rows, [{ resource_type: HL7_MESSAGE_RESOURCE, resource_id: 'BAD-1', issues: [error('PID-7', 'not a date')] }]);
  assert.equal(JSON.stringify(q.rows).includes('MSH|'), false);
  // Through the workers: the poison message is a dead letter, the one after it flows.
  const connections: AnyConnectionConfig[] = [FEED];
  const handler = inboxDispatcher(connections, { hl7v2: hl7Applier(deps(), [feed()]) });
  await t.db.query("UPDATE inbox_message SET state = 'pending', lease_until = NULL WHERE id = $1", [bad.id]);
  await receive(
    t.db,
    {
      key: { channel: FEED.id, sendingApplication: 'APP^', sendingFacility: 'TESTHOSP^', controlId: 'NEXT-1' },
      payload: 'MSH|^~\\&|APP|TESTHOSP|PGW|PGW|20261201101600||ADT^A08|NEXT-1|P|2.5\r',
      ack: Buffer.from('ACK NEXT-1'),
      patientKey: 'pk-400',
    },
    t.protection,
  );
  const workers = runWorkers({ db: t.db, protection: t.protection, handler, concurrency: 1, pollMs: 10 });
  try {
    for (
      let i = 0;
      i < 500 && (await count("inbox_message WHERE control_id IN ('BAD-1', 'NEXT-1') AND state IN ('pending', 'processing')")) > 0;
      i++
    )
      await new Promise((r) => setTimeout(r, 20));
  } finally {
    await workers.stop();
  }
  assert.equal((await inboxState(t.db, bad.id))?.state, 'dead');
  assert.equal((await inboxState(t.db, bad.id))?.deadReason, 'permanent');
  assert.equal(await count('source_record WHERE source = $1 AND source_patient_id = $2', [FEED.id, 'P400']), 1);
});

test('dispatcher: a channel no connection names is a permanent failure', async () => {
  const handler = inboxDispatcher([FEED], {});
  const m = await inbound('NOAPPLIER-1');
  await assert.rejects(handler(m), (e) => e instanceof PermanentFailure && /no applier for hl7v2/.test(e.message));
  await assert.rejects(
    handler({ ...m, key: { ...m.key, channel: 'gone' } }),
    (e) => e instanceof PermanentFailure && /no connection gone/.test(e.message),
  );
});
