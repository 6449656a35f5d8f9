// The MLLP listener and sender over real TCP (and TLS) on loopback. The handler stands in for the
// inbox: it answers each message with an "ACK" naming the message, so order and pairing can be checked.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMllpClient } from './client.ts';
import { encodeFrame, createFrameDecoder } from './framing.ts';
import { createMllpServer, type MllpEvent, type MllpServerOptions } from './server.ts';

const message = (id: string): Buffer => Buffer.from(`MSH|^~\\&|SIM|FAC|GW|GW|20260101000000||ADT^A01|${id}|P|2.5\rPID|1||X\r`);
const idOf = (m: Buffer): string => m.toString('latin1').split('|')[9] ?? '';
const ackFor = (m: Buffer): Buffer => Buffer.from(`MSH|^~\\&|GW|GW|SIM|FAC|20260101000000||ACK|A${idOf(m)}|P|2.5\rMSA|AA|${idOf(m)}\r`);
const ackedId = (ack: Buffer): string => /MSA\|AA\|([^\r|]+)/.exec(ack.toString('latin1'))?.[1] ?? '';

const servers: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(overrides: Partial<MllpServerOptions> = {}) {
  const events: MllpEvent[] = [];
  const server = await createMllpServer({
    port: 0,
    host: '127.0.0.1',
    handler: async (m) => ackFor(m),
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  servers.push(server);
  return { server, events };
}

/** The server sees a close after the peer does: wait for its event rather than race it. */
async function eventually(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `not seen in time: ${what}`);
    await sleep(5);
  }
}

/** A raw socket that collects the replies it gets, to drive the listener byte by byte. */
async function rawConnection(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const decoder = createFrameDecoder({ maxMessageBytes: 1 << 20 });
  const replies: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const e of decoder.push(chunk)) if (e.kind === 'message') replies.push(e.message);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const until = async (condition: () => boolean, ms = 3000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await sleep(5);
    }
  };
  return { socket, replies, closed, until };
}

test('a message written byte by byte, and two messages in one write, each get their ACK', async () => {
  const { server } = await start();
  const c = await rawConnection(server.port);
  for (const byte of encodeFrame(message('B1'))) {
    c.socket.write(Buffer.of(byte));
    await sleep(0);
  }
  c.socket.write(Buffer.concat([encodeFrame(message('M1')), encodeFrame(message('M2'))]));
  await c.until(() => c.replies.length === 3);
  assert.deepEqual(c.replies.map(ackedId), ['B1', 'M1', 'M2']);
  c.socket.end();
  await c.closed;
});

test('garbage between frames is dropped with a warning event, the frames around it are answered', async () => {
  const { server, events } = await start();
  const c = await rawConnection(server.port);
  c.socket.write(Buffer.concat([Buffer.from('\r\nnoise'), encodeFrame(message('G1')), Buffer.from('xx\n'), encodeFrame(message('G2'))]));
  await c.until(() => c.replies.length === 2);
  assert.deepEqual(c.replies.map(ackedId), ['G1', 'G2']);
  const discarded = events.flatMap((e) => (e.type === 'bytes_discarded' ? [e.bytes] : []));
  assert.equal(
    discarded.reduce((a, b) => a + b, 0),
    10,
  );
  c.socket.destroy();
});

test('an oversize frame is answered with the refusal and the connection is closed', async () => {
  const { server, events } = await start({
    maxMessageBytes: 200,
    oversizeResponse: (head, facts) => Buffer.from(`REFUSED ${idOf(head)} over ${facts.limit}`),
  });
  const c = await rawConnection(server.port);
  c.socket.write(encodeFrame(message('OK1')));
  c.socket.write(encodeFrame(Buffer.concat([message('BIG'), Buffer.alloc(500, 0x41)])));
  c.socket.write(encodeFrame(message('AFTER')));
  await c.closed;
  assert.deepEqual(
    c.replies.map((r) => r.toString('latin1')),
    [ackFor(message('OK1')).toString('latin1'), 'REFUSED BIG over 200'],
  );
  assert.ok(events.some((e) => e.type === 'oversize' && e.limit === 200));
  await eventually(() => events.some((e) => e.type === 'connection_closed' && e.reason === 'oversize'), 'oversize close');
});

test('an idle connection is closed; a busy one is not', async () => {
  let release: () => void = () => {};
  const { server, events } = await start({
    idleTimeoutMs: 150,
    handler: async (m) => {
      if (idOf(m) === 'SLOW') await new Promise<void>((r) => (release = r));
      return ackFor(m);
    },
  });
  const idle = await rawConnection(server.port);
  const t0 = Date.now();
  await idle.closed;
  assert.ok(Date.now() - t0 >= 140, 'closed before the idle timeout');

  // A handler slower than the idle timeout keeps its connection: the ACK still arrives.
  const busy = await rawConnection(server.port);
  busy.socket.write(encodeFrame(message('SLOW')));
  await sleep(400);
  release();
  await busy.until(() => busy.replies.length === 1);
  assert.equal(ackedId(busy.replies[0]!), 'SLOW');
  await busy.closed;
  await eventually(
    () => events.filter((e) => e.type === 'connection_closed' && e.reason === 'idle_timeout').length === 2,
    'two idle closes',
  );
});

test('a sender that starts a frame and does not finish it is cut off, even while it trickles bytes', async () => {
  const { server, events } = await start({ slowSenderTimeoutMs: 200, idleTimeoutMs: 10_000 });
  const c = await rawConnection(server.port);
  const frame = encodeFrame(message('TRICKLE'));
  const t0 = Date.now();
  // One byte every 50 ms keeps the idle timer happy but the frame would need seconds.
  for (const byte of frame) {
    if (c.socket.destroyed || c.socket.writableEnded) break;
    c.socket.write(Buffer.of(byte));
    await Promise.race([sleep(50), c.closed]);
    if (Date.now() - t0 > 3000) break;
  }
  await c.closed;
  assert.ok(Date.now() - t0 < 1000, 'not cut off in time');
  assert.deepEqual(c.replies, []);
  await eventually(() => events.some((e) => e.type === 'connection_closed' && e.reason === 'slow_sender_timeout'), 'slow sender close');
});

test('50 concurrent connections of 20 messages each: every ACK on its connection, in order', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const perConnection = new Map<string, number>();
  const { server } = await start({
    handler: async (m, meta) => {
      const mine = (perConnection.get(meta.connectionId) ?? 0) + 1;
      perConnection.set(meta.connectionId, mine);
      assert.equal(mine, 1, 'two messages of one connection in flight at once');
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(Math.random() * 5);
      inFlight -= 1;
      perConnection.set(meta.connectionId, mine - 1);
      return ackFor(m);
    },
  });
  const senders = Array.from({ length: 50 }, (_, c) => async () => {
    const client = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 5000 });
    // All 20 queued at once: the client keeps one unanswered, the replies must pair with their messages.
    const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => client.send(message(`C${c}-${i}`))));
    await client.close();
    return acks.map(ackedId);
  });
  const results = await Promise.all(senders.map((s) => s()));
  results.forEach((ids, c) =>
    assert.deepEqual(
      ids,
      Array.from({ length: 20 }, (_, i) => `C${c}-${i}`),
    ),
  );
  assert.ok(maxInFlight > 1, 'connections were not handled concurrently');

  // A pipelining sender (all 20 frames in one write) gets 20 ACKs in its order too.
  const raw = await rawConnection(server.port);
  raw.socket.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeFrame(message(`P${i}`)))));
  await raw.until(() => raw.replies.length === 20);
  assert.deepEqual(
    raw.replies.map(ackedId),
    Array.from({ length: 20 }, (_, i) => `P${i}`),
  );
  raw.socket.destroy();
});

test('a handler that throws: no ACK, the connection is closed, the resend on a new connection is answered', async () => {
  let failNext = true;
  const { server, events } = await start({
    handler: async (m) => {
      if (idOf(m) === 'POISON' && failNext) {
        failNext = false;
        throw new Error('inbox unavailable');
      }
      return ackFor(m);
    },
  });
  const raw = await rawConnection(server.port);
  raw.socket.write(Buffer.concat([encodeFrame(message('BEFORE')), encodeFrame(message('POISON')), encodeFrame(message('BEHIND'))]));
  await raw.closed;
  // The message before was answered; neither the failed one nor the one pipelined behind it.
  assert.deepEqual(raw.replies.map(ackedId), ['BEFORE']);
  assert.ok(events.some((e) => e.type === 'handler_failed'));
  await eventually(() => events.some((e) => e.type === 'connection_closed' && e.reason === 'handler_error'), 'handler error close');

  const client = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 2000 });
  assert.equal(ackedId(await client.send(message('POISON'))), 'POISON');
  assert.equal(ackedId(await client.send(message('BEHIND'))), 'BEHIND');
  await client.close();
});

test('the client times out, then reconnects for the next send', async () => {
  let hang = true;
  const { server } = await start({
    handler: async (m) => {
      if (hang) await sleep(500);
      return ackFor(m);
    },
  });
  const client = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 150 });
  await assert.rejects(client.send(message('T1')), (e: Error & { failure?: string }) => e.failure === 'TIMEOUT');
  hang = false;
  // The late ACK of T1 must not be taken as T2's: the timed-out connection was dropped.
  assert.equal(ackedId(await client.send(message('T2'))), 'T2');
  await client.close();

  const nobody = createMllpClient({ host: '127.0.0.1', port: 1, timeoutMs: 500 });
  await assert.rejects(nobody.send(message('X')), (e: Error & { failure?: string }) => e.failure === 'UNREACHABLE');
});

test('graceful close: the message in flight is answered, new connections are refused', async () => {
  let entered: () => void = () => {};
  const inHandler = new Promise<void>((r) => (entered = r));
  const { server } = await start({
    handler: async (m) => {
      entered();
      await sleep(200);
      return ackFor(m);
    },
  });
  const client = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 2000 });
  const reply = client.send(message('LAST'));
  await inHandler;
  const closing = server.close();
  assert.equal(ackedId(await reply), 'LAST');
  await closing;
  const late = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 500 });
  await assert.rejects(late.send(message('LATE')));
});

test('maxConnections: a connection over the limit is closed at once', async () => {
  const { server, events } = await start({ maxConnections: 2 });
  const a = await rawConnection(server.port);
  const b = await rawConnection(server.port);
  const c = await rawConnection(server.port);
  await c.closed;
  a.socket.write(encodeFrame(message('A')));
  await a.until(() => a.replies.length === 1);
  assert.ok(events.some((e) => e.type === 'connection_refused'));
  a.socket.destroy();
  b.socket.destroy();
});

const opensslAvailable = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('TLS with a self-signed certificate made for this test', { skip: opensslAvailable ? false : 'openssl not found' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mllp-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    const { server } = await start({ tls: { key, cert } });
    const client = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 2000, tls: { ca: cert } });
    assert.equal(ackedId(await client.send(message('TLS1'))), 'TLS1');
    assert.equal(ackedId(await client.send(message('TLS2'))), 'TLS2');
    await client.close();
    // A client that does not trust the certificate is refused.
    const untrusting = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 2000, tls: {} });
    await assert.rejects(untrusting.send(message('NO')));
    // Plain MLLP to the TLS port gets no ACK.
    const plain = createMllpClient({ host: '127.0.0.1', port: server.port, timeoutMs: 500 });
    await assert.rejects(plain.send(message('PLAIN')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sender that half-closes after its frames still gets every ACK; the handler sees who and when', async () => {
  const metas: { remoteAddress: string; connectionId: string; receivedAt: Date }[] = [];
  const { server } = await start({
    handler: async (m, meta) => {
      metas.push(meta);
      await sleep(20);
      return ackFor(m);
    },
  });
  const c = await rawConnection(server.port);
  const before = Date.now();
  c.socket.end(Buffer.concat([encodeFrame(message('H1')), encodeFrame(message('H2'))]));
  await c.closed;
  assert.deepEqual(c.replies.map(ackedId), ['H1', 'H2']);
  assert.equal(metas.length, 2);
  assert.equal(metas[0]!.remoteAddress.replace(/^::ffff:/, ''), '127.0.0.1');
  assert.equal(metas[0]!.connectionId, metas[1]!.connectionId);
  assert.ok(metas[0]!.receivedAt.getTime() >= before - 5 && metas[0]!.receivedAt.getTime() <= Date.now());
});

test('graceful close drops messages not yet started: only the one in flight is answered', async () => {
  let entered: () => void = () => {};
  const inHandler = new Promise<void>((r) => (entered = r));
  const handled: string[] = [];
  const { server } = await start({
    handler: async (m) => {
      handled.push(idOf(m));
      entered();
      await sleep(150);
      return ackFor(m);
    },
  });
  const c = await rawConnection(server.port);
  c.socket.write(Buffer.concat([encodeFrame(message('Q1')), encodeFrame(message('Q2')), encodeFrame(message('Q3'))]));
  await inHandler;
  await server.close();
  await c.closed;
  assert.deepEqual(c.replies.map(ackedId), ['Q1']);
  assert.deepEqual(handled, ['Q1']);
});
