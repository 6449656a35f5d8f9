// The simulated HL7 v2 site on the real stack: part of the synthetic population, its ADT and ORU
// traffic (v2.3 ADT, LF segment ends, local times, local codes first) is sent over MLLP at start,
// applied, and its people link to the same persons' FHIR records. Sending it all again (what a
// restart does) gets the very same ACKs and changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHl7Sender } from '../../../simulators/index.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { startTestStack, TEST_POPULATION } from '../../support/stack.ts';

const FEED = 'community-feed';
let stack: Stack;

before(async () => {
  stack = await startTestStack({ simulators: { ...TEST_POPULATION, hl7: true } });
});
after(() => stack?.close());

const count = async (sql: string, params: unknown[] = []): Promise<number> =>
  Number((await stack.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`, params)).rows[0]!.n);

async function drained(expected: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const open = await count("inbox_message WHERE channel = $1 AND state IN ('pending', 'processing')", [FEED]);
    if ((await count('inbox_message WHERE channel = $1', [FEED])) === expected && open === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the simulated site’s traffic was not applied in time');
}

test('the site’s traffic is applied and its people link to the same persons’ FHIR records', async () => {
  const messages = stack.simulators!.hl7Traffic[FEED]!;
  const truth = stack.population!.truth;
  const siteRecords = truth.filter((t) => t.siteId === FEED);
  assert.ok(siteRecords.length > 10, 'the HL7 site has people');
  assert.equal(messages.length >= siteRecords.length * 2, true);
  await drained(messages.length);
  assert.equal(await count("inbox_message WHERE channel = $1 AND state = 'dead'", [FEED]), 0);
  assert.equal(await count('source_record WHERE source = $1 AND deleted_at IS NULL', [FEED]), siteRecords.length);
  assert.ok((await count('clinical_item WHERE source = $1', [FEED])) > 0);
  // People the population puts at the HL7 site and a FHIR site: most end up on one golden record.
  const shared = siteRecords.filter((r) => truth.some((o) => o.personId === r.personId && o.siteId !== FEED));
  assert.ok(shared.length > 0, 'the HL7 site overlaps the FHIR sites');
  const together = (
    await stack.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM source_record h JOIN source_record f ON f.golden_id = h.golden_id AND f.source <> h.source
       WHERE h.source = $1 AND h.deleted_at IS NULL AND f.deleted_at IS NULL AND h.source_patient_id = ANY($2::text[])`,
      [FEED, shared.map((r) => r.patientId)],
    )
  ).rows[0]!.n;
  assert.ok(Number(together) >= shared.length / 2, `${together} of ${shared.length} shared people linked across sources`);
});

test('everything sent again (a restart): the same ACKs, nothing new', async () => {
  const messages = stack.simulators!.hl7Traffic[FEED]!.slice(0, 40);
  const first: string[] = [];
  const again: string[] = [];
  const before = { inbox: await count('inbox_message'), events: await count('link_event'), items: await count('clinical_item') };
  for (const round of [first, again]) {
    const sender = createHl7Sender({ host: '127.0.0.1', port: stack.ingestion!.port! });
    try {
      await sender.sendAll(messages, (ack) => round.push(ack));
    } finally {
      await sender.close();
    }
  }
  assert.deepEqual(again, first);
  assert.ok(first.every((ack) => /\rMSA\|AA\|/.test(`\r${ack}`)));
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual({ inbox: await count('inbox_message'), events: await count('link_event'), items: await count('clinical_item') }, before);
});
