// The frame decoder on its own: every way TCP can cut or glue frames gives the same messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFrameDecoder, encodeFrame, MLLP, type DecodeEvent } from './framing.ts';

const msg = (n: number): Buffer => Buffer.from(`MSH|^~\\&|SIM|FAC|GW|GW|20260101000000||ADT^A01|M${n}|P|2.5\rPID|1||${n}\r`);
const messagesOf = (events: DecodeEvent[]): string[] => events.flatMap((e) => (e.kind === 'message' ? [e.message.toString('latin1')] : []));
const discardedOf = (events: DecodeEvent[]): number => events.reduce((n, e) => n + (e.kind === 'discarded' ? e.bytes : 0), 0);

test('encodeFrame wraps the message in VT ... FS CR', () => {
  const frame = encodeFrame(Buffer.from('AB'));
  assert.deepEqual([...frame], [MLLP.startBlock, 0x41, 0x42, MLLP.endBlock, MLLP.carriageReturn]);
});

test('a stream cut at every possible byte gives the same messages', () => {
  const stream = Buffer.concat([encodeFrame(msg(1)), encodeFrame(msg(2)), encodeFrame(msg(3))]);
  for (let cut = 0; cut <= stream.length; cut += 1) {
    const decoder = createFrameDecoder({ maxMessageBytes: 1000 });
    const events = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
    assert.deepEqual(
      messagesOf(events),
      [1, 2, 3].map((n) => msg(n).toString('latin1')),
      `cut at ${cut}`,
    );
    assert.equal(discardedOf(events), 0);
  }
  const decoder = createFrameDecoder({ maxMessageBytes: 1000 });
  const byteByByte = [...stream].flatMap((b) => decoder.push(Buffer.of(b)));
  assert.equal(messagesOf(byteByByte).length, 3);
  assert.equal(decoder.state().inFrame, false);
});

test('bytes outside frames are discarded and counted; the frames around them survive', () => {
  const decoder = createFrameDecoder({ maxMessageBytes: 1000 });
  const events = decoder.push(
    Buffer.concat([Buffer.from('junk'), encodeFrame(msg(1)), Buffer.from('\r\n'), encodeFrame(msg(2)), Buffer.from('x')]),
  );
  assert.equal(messagesOf(events).length, 2);
  assert.equal(discardedOf(events), 7);
});

test('a frame abandoned by a new start block is dropped; a lone FS inside a frame is data', () => {
  const decoder = createFrameDecoder({ maxMessageBytes: 1000 });
  const events = decoder.push(Buffer.concat([Buffer.from('\x0bpartial'), encodeFrame(Buffer.from('a\x1cb'))]));
  assert.deepEqual(messagesOf(events), ['a\x1cb']);
  assert.equal(discardedOf(events), 8);
  // FS at the end of one chunk, something other than CR at the start of the next.
  const split = createFrameDecoder({ maxMessageBytes: 1000 });
  const more = [...split.push(Buffer.from('\x0ba\x1c')), ...split.push(Buffer.from('b\x1c\r'))];
  assert.deepEqual(messagesOf(more), ['a\x1cb']);
});

test('a frame over the limit is refused, with its head, and the decoder stops', () => {
  const decoder = createFrameDecoder({ maxMessageBytes: 10 });
  assert.deepEqual(messagesOf(decoder.push(encodeFrame(Buffer.from('0123456789')))), ['0123456789']);
  const first = decoder.push(Buffer.from('\x0b01234'));
  assert.deepEqual(first, []);
  const events = decoder.push(Buffer.from('56789AB\x1c\r'));
  assert.equal(events.length, 1);
  const [oversize] = events;
  assert.equal(oversize?.kind, 'oversize');
  if (oversize?.kind === 'oversize') {
    assert.equal(oversize.limit, 10);
    assert.ok(oversize.bytes > 10);
    assert.equal(oversize.head.toString(), '0123456789');
  }
  assert.equal(decoder.state().failed, true);
  assert.deepEqual(decoder.push(encodeFrame(Buffer.from('ok'))), []);
});
