// The simulated HL7 site: deterministic messages with the vendor's quirks, and a sender that
// retransmits until a listener answers (a plain TCP MLLP responder here, standing in for the gateway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { generateAppearances } from '../population/generate.ts';
import { appearanceMessages, localDtm, siteMessages, siteMrn } from './messages.ts';
import { createHl7Sender } from './sender.ts';

const SITE = { id: 'hl7-site', facility: 'COMMUNITY', timeZone: 'America/Denver' };
const options = {
  seed: 7,
  size: 40,
  sites: [
    { id: 'epic-main', vendor: 'epic' as const },
    { id: SITE.id, vendor: 'epic' as const, timeZone: SITE.timeZone },
  ],
};

test('local times carry no offset: wall-clock time in the site’s zone', () => {
  assert.equal(localDtm(Date.UTC(2026, 0, 15, 18, 30, 5), 'America/Denver'), '20260115113005');
  assert.equal(localDtm(Date.UTC(2026, 6, 15, 18, 30, 5), 'America/Denver'), '20260715123005');
});

test('each patient: A04, A08, then recent results; v2.3 ADT, LF ends, local code first; deterministic ids', () => {
  const appearances = generateAppearances(options);
  const messages = siteMessages(appearances, SITE);
  assert.deepEqual(siteMessages(generateAppearances(options), SITE), messages);
  const first = appearances.find((a) => a.site.id === SITE.id)!;
  const own = appearanceMessages(first, SITE);
  const mrn = siteMrn(first, SITE);
  const msh = own.map((m) => m.split('\n')[0]!.split('|'));
  assert.deepEqual(
    msh.slice(0, 2).map((f) => [f[2], f[3], f[8], f[9], f[11]]),
    [
      ['REG', 'COMMUNITY', 'ADT^A04', `${mrn}-A04`, '2.3'],
      ['REG', 'COMMUNITY', 'ADT^A08', `${mrn}-A08`, '2.3'],
    ],
  );
  for (const m of own) assert.ok(m.endsWith('\n') && !m.includes('\r'));
  assert.equal(
    msh.slice(2).every((f) => f[8] === 'ORU^R01' && f[11] === '2.5.1'),
    true,
  );
  assert.match(own[0]!, new RegExp(`\\nPID\\|1\\|\\|${mrn}\\^\\^\\^COMMUNITY\\^MR\\|`));
  if (own[2]) assert.match(own[2], /\nOBX\|1\|NM\|L\d+\^[^^]+\^99LOCAL\^[\d-]+\^[^^]+\^LN\|/);
  assert.equal(new Set(messages.map((m) => m.split('|')[9])).size, messages.length, 'control ids are unique');
});

test('the sender retransmits until a listener answers, then sends the rest in order', async () => {
  // A port nobody listens on yet: the first attempts fail, the listener comes up later.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const received: string[] = [];
  const listener = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let end = buffer.indexOf('\x1c\r'); end >= 0; end = buffer.indexOf('\x1c\r')) {
        const message = buffer.subarray(1, end).toString('utf8');
        buffer = buffer.subarray(end + 2);
        received.push(message);
        socket.write(`\x0bMSA|AA|${received.length}\x1c\r`);
      }
    });
  });
  const sender = createHl7Sender({ host: '127.0.0.1', port, retryMs: 20, maxRetryMs: 50, timeoutMs: 2000 });
  try {
    const acks: string[] = [];
    const sending = sender.sendAll(['one', 'two', 'three'], (ack) => acks.push(ack));
    await new Promise((r) => setTimeout(r, 150));
    await new Promise<void>((r) => listener.listen(port, '127.0.0.1', r));
    assert.equal(await sending, 3);
    assert.deepEqual(received, ['one', 'two', 'three']);
    assert.deepEqual(acks, ['MSA|AA|1', 'MSA|AA|2', 'MSA|AA|3']);
    assert.ok(sender.retransmissions >= 1);
  } finally {
    await sender.close();
    await new Promise<void>((r) => listener.close(() => r()));
  }
});
