// The HL7 v2 intake behind a real MLLP listener on loopback, against a real database: commit, then
// ACK; garbage refused with an ERR; a resend gets the same ACK and changes nothing; a reused
// control id with other content is refused and never overwrites; no inbox, no positive ACK.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMllpClient } from '../../protocol/mllp/client.ts';
import { createMllpServer, type MllpServer } from '../../protocol/mllp/server.ts';
import { get, header } from '../../protocol/hl7v2/message.ts';
import { parseMessage } from '../../protocol/hl7v2/er7.ts';
import { createHl7Intake } from './hl7-intake.ts';
import { openInboxTestDb } from './test-helpers.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';

let t: MpiTestDb;
let server: MllpServer;
before(async () => {
  t = await openInboxTestDb();
  const intake = createHl7Intake({ db: t.db, protection: t.protection, channel: 'sim-feed' });
  server = await createMllpServer({ port: 0, host: '127.0.0.1', handler: async (m) => (await intake(m)).ack });
});
after(async () => {
  await server.close();
  await t.close();
});

// Invented content.
const a01 = (controlId: string, family = 'TESTPERSON', extra = '') =>
  `MSH|^~\\&|SIMADT|SIMHOSP|PGW|PGW|20261201101500||ADT^A01^ADT_A01|${controlId}|P|2.5${extra}\r` +
  `EVN|A01|20261201101500\r` +
  `PID|1||MRN-${controlId}^^^SIMHOSP&2.16.840.1.113883.19.5&ISO^MR||${family}^ALPHA||19700101|F\r`;

const send = async (text: string): Promise<string> => {
  const client = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 5000 });
  try {
    return (await client.send(Buffer.from(text, 'utf8'))).toString('utf8');
  } finally {
    await client.close();
  }
};
const rows = async () => Number((await t.db.query<{ n: string }>('SELECT count(*)::text AS n FROM inbox_message')).rows[0]!.n);
const msa = (ack: string) => {
  const m = parseMessage(ack);
  return { code: get(m, 'MSA', 1), control: get(m, 'MSA', 2), err3: get(m, 'ERR', 3), type: header(m).messageType };
};

test('an ADT^A01 is committed to the inbox, then acknowledged AA naming its control id', async () => {
  const before = await rows();
  const ack = await send(a01('CTL-1'));
  assert.deepEqual(msa(ack).code, 'AA');
  assert.equal(msa(ack).control, 'CTL-1');
  assert.equal(msa(ack).type.code, 'ACK');
  assert.equal(await rows(), before + 1);
  const stored = await t.db.query<{ payload: string }>("SELECT payload::text FROM inbox_message WHERE control_id = 'CTL-1'");
  assert.ok(!stored.rows[0]!.payload.includes('TESTPERSON'), 'the payload is sealed');
});

test('the same message again gets the very same ACK and writes nothing', async () => {
  const first = await send(a01('CTL-2'));
  const before = await rows();
  const again = await send(a01('CTL-2'));
  assert.equal(again, first, 'byte for byte, its own MSH-10 included');
  assert.equal(await rows(), before);
});

test('a control id reused with other content is refused (205) and never overwrites', async () => {
  await send(a01('CTL-3'));
  const ack = await send(a01('CTL-3', 'OTHERPERSON'));
  assert.deepEqual([msa(ack).code, msa(ack).err3], ['AR', '205']);
  const again = await send(a01('CTL-3'));
  assert.equal(msa(again).code, 'AA', 'the first content still stands');
});

test('enhanced mode (MSH-15) is answered with a commit ACK', async () => {
  const ack = await send(a01('CTL-4', 'TESTPERSON', '|||AL|NE'));
  assert.equal(msa(ack).code, 'CA');
});

test('garbage and a message without a control id get AR with an ERR naming the problem, and are not stored', async () => {
  const before = await rows();
  const garbage = msa(await send('this is not HL7\r'));
  assert.equal(garbage.code, 'AR');
  assert.ok(garbage.err3, 'ERR-3 carries a table 0357 code');
  const noId = await send(a01(''));
  assert.deepEqual([msa(noId).code, msa(noId).err3], ['AR', '101']);
  assert.equal(await rows(), before);
});

test('when the inbox cannot be written, no ACK at all: the sender must retry', async () => {
  const broken = await openInboxTestDb();
  const intake = createHl7Intake({ db: broken.db, protection: broken.protection, channel: 'sim-feed' });
  const down = await createMllpServer({ port: 0, host: '127.0.0.1', handler: async (m) => (await intake(m)).ack });
  await broken.db.query('DROP TABLE inbox_message');
  const client = createMllpClient({ host: '127.0.0.1', port: down.port, timeoutMs: 3000 });
  try {
    await assert.rejects(client.send(Buffer.from(a01('CTL-5'))), 'no positive ACK');
  } finally {
    await client.close();
    await down.close();
    await broken.close();
  }
});
