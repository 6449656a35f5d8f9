// ORM^O01 and VXU^V04 from the inbox to the clinical merged view, through the real layer 2
// (translateHl7) against a real database (PostgreSQL with DATABASE_URL, else PGlite): the order
// and the immunization are stored under the patient the MPI links, appear in the golden patient's
// merged lists, and a message applied again (at-least-once delivery) changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Hl7FeedConfig } from '../../platform/config.ts';
import { loadAdapters } from '../../platform/config.ts';
import { QUARANTINE_MIGRATIONS } from '../../translation/quarantine.ts';
import { translateHl7 } from '../../translation/hl7v2/translate.ts';
import { CLINICAL_STORE_MIGRATIONS } from '../clinical-store/migrations.ts';
import { mergedItemsFor } from '../clinical-store/read.ts';
import { openMpiTestDb, type MpiTestDb } from '../mpi/test-helpers.ts';
import { applyHl7Message } from './apply-hl7.ts';
import { claim, receive, type ClaimedMessage } from './inbox.ts';
import { hl7Feed } from './ingestion.ts';
import { INGEST_MIGRATIONS } from './migrations.ts';

const FEED: Hl7FeedConfig = {
  kind: 'hl7v2',
  id: 'orders-feed',
  adapter: 'hl7v2',
  facility: { sendingFacility: 'TESTHOSP' },
  timeZone: 'America/Denver',
  identifierSystems: { MR: 'urn:oid:2.16.840.1.113883.3.9999.7' },
};

// Invented person, orders and vaccines.
const msh = (type: string, control: string) => `MSH|^~\\&|EHR|TESTHOSP|PGW|PGW|20261201101500||${type}|${control}|P|2.5.1`;
const PID = 'PID|1||P300^^^TESTHOSP^MR||TESTPERSON^GAMMA||19750506|F';
const ORM = (control: string, orderControl: string) =>
  [
    msh('ORM^O01^ORM_O01', control),
    PID,
    `ORC|${orderControl}|ORD-1^EHR|FIL-1^LAB||||||202612010930`,
    'OBR|1|ORD-1^EHR|FIL-1^LAB|2345-7^Glucose^LN',
  ].join('\r');
const VXU = (control: string, action: string) =>
  [
    msh('VXU^V04^VXU_V04', control),
    PID,
    'ORC|RE||IZ-1^IIS',
    `RXA|0|1|20261115||140^Influenza, seasonal, injectable, preservative free^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||LOT-7|20270601|SKB^GSK^MVX|||CP|${action}`,
  ].join('\r');

let t: MpiTestDb;
before(async () => {
  t = await openMpiTestDb({
    migrations: [...QUARANTINE_MIGRATIONS, ...CLINICAL_STORE_MIGRATIONS, ...INGEST_MIGRATIONS],
    prefix: 'apply_orders',
    maxConnections: 4,
  });
});
after(() => t.close());

const feed = () => hl7Feed(FEED, loadAdapters());
const deps = () => ({ db: t.db, protection: t.protection, translate: translateHl7 });
let seq = 0;

async function inbound(controlId: string, payload: string): Promise<ClaimedMessage> {
  await receive(
    t.db,
    {
      key: { channel: FEED.id, sendingApplication: 'EHR^', sendingFacility: 'TESTHOSP^', controlId },
      payload,
      ack: Buffer.from(`ACK ${controlId}`),
      patientKey: null,
    },
    t.protection,
  );
  const [m] = await claim(t.db, { limit: 1, workerId: `orders-${++seq}` }, t.protection);
  assert.equal(m?.key.controlId, controlId);
  return m!;
}

const count = async (sql: string, params: unknown[] = []): Promise<number> =>
  Number((await t.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`, params)).rows[0]!.n);
const items = (type: string) => count('clinical_item WHERE source = $1 AND resource_type = $2', [FEED.id, type]);
const history = () => count('clinical_item_history WHERE source = $1', [FEED.id]);

async function view(goldenId: string, type: 'ServiceRequest' | 'Immunization') {
  const page = (await mergedItemsFor(t.db, [goldenId], { types: [type], first: 10 })).get(goldenId);
  return page?.items ?? [];
}

test('an ORM^O01 ends in the store and the merged orders; applied again, nothing changes', async () => {
  const m = await inbound('ORM-1', ORM('ORM-1', 'NW'));
  const first = await applyHl7Message(deps(), feed(), m);
  assert.deepEqual([first.effect, first.stored, first.quarantined], ['clinical', 1, 0]);
  const golden = first.linked!.goldenId;
  const [order, ...more] = await view(golden, 'ServiceRequest');
  assert.equal(more.length, 0);
  assert.deepEqual(order!.code, { system: 'http://loinc.org', code: '2345-7' });
  assert.deepEqual(order!.effective, { instant: '2026-12-01T16:30:00.000Z', precision: 'second' });
  assert.equal((order!.resource as { status?: string }).status, 'active');
  assert.equal(order!.provenance[0]!.messageId, m.id);

  const again = await applyHl7Message(deps(), feed(), m);
  assert.equal(again.stored, 0);
  assert.equal(await items('ServiceRequest'), 1);
  assert.equal(await history(), 0);

  // A cancel of the same order updates it in place: one item, revoked.
  const cancel = await applyHl7Message(deps(), feed(), await inbound('ORM-2', ORM('ORM-2', 'CA')));
  assert.equal(cancel.stored, 1);
  assert.equal(await items('ServiceRequest'), 1);
  assert.equal(((await view(golden, 'ServiceRequest'))[0]!.resource as { status?: string }).status, 'revoked');
});

test('a VXU^V04 ends in the store and the merged immunizations; a deletion (RXA-21 D) leaves the view', async () => {
  const m = await inbound('VXU-1', VXU('VXU-1', 'A'));
  const first = await applyHl7Message(deps(), feed(), m);
  assert.deepEqual([first.effect, first.stored, first.quarantined], ['clinical', 1, 0]);
  const golden = first.linked!.goldenId;
  const [imm, ...more] = await view(golden, 'Immunization');
  assert.equal(more.length, 0);
  assert.deepEqual(imm!.code, { system: 'http://hl7.org/fhir/sid/cvx', code: '140' });
  assert.deepEqual(imm!.effective, { instant: '2026-11-15T07:00:00.000Z', precision: 'day' });
  assert.deepEqual(imm!.value, { value: 0.5, unit: 'mL', originalValue: '0.5', originalUnit: 'mL' });
  assert.equal((imm!.resource as { lotNumber?: string }).lotNumber, 'LOT-7');

  const again = await applyHl7Message(deps(), feed(), m);
  assert.equal(again.stored, 0);
  assert.equal(await items('Immunization'), 1);

  const deleted = await applyHl7Message(deps(), feed(), await inbound('VXU-2', VXU('VXU-2', 'D')));
  assert.equal(deleted.stored, 1);
  assert.equal(await items('Immunization'), 1, 'kept for lineage');
  assert.deepEqual(await view(golden, 'Immunization'), []);
});
