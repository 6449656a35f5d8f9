// ACKs: sender and receiver swapped, MSA naming the original control id, ERR with a table 0357
// code, severity and text, all in the original's delimiters; the ACK parses back as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ackErrorOf, buildAck } from './ack.ts';
import { HL7_V2_VERSIONS, parseHl7, parseMessage, writeMessage } from './er7.ts';
import { Hl7Error } from './errors.ts';
import { get, header } from './message.ts';

const original = parseMessage(
  'MSH|^~\\&|SAPP^1.2.3^ISO|SFAC|RAPP|RFAC|20260101120000||ADT^A01^ADT_A01|CTRL\\T\\7|P|2.5.1|||AL|AL\nPID|1||9^^^MRN\n',
);

test('an AA swaps sender and receiver, names the control id and has no ERR', () => {
  const ack = buildAck(original, { code: 'AA', controlId: 'ACK1', dateTime: '20260101120001' });
  const text = writeMessage(ack);
  assert.equal(text, 'MSH|^~\\&|RAPP|RFAC|SAPP^1.2.3^ISO|SFAC|20260101120001||ACK^A01^ACK|ACK1|P|2.5.1\rMSA|AA|CTRL\\T\\7\r');
  const back = parseMessage(text);
  const h = header(back);
  assert.deepEqual(h.receivingApplication, { namespaceId: 'SAPP', universalId: '1.2.3', universalIdType: 'ISO' });
  assert.equal(h.sendingApplication.namespaceId, 'RAPP');
  assert.deepEqual(h.messageType, { code: 'ACK', triggerEvent: 'A01', structure: 'ACK' });
  assert.equal(get(back, 'MSA', 2), 'CTRL&7');
  assert.equal(get(back, 'MSA', 2), header(original).controlId);
  assert.equal(back.segments.length, 2);
});

test('an AE or AR carries ERR-2 location, ERR-3 table 0357 code, ERR-4 severity, ERR-8 text (escaped)', () => {
  const ack = buildAck(original, {
    code: 'AE',
    controlId: 'ACK2',
    dateTime: '20260101120002',
    error: {
      condition: '101',
      severity: 'E',
      text: 'PID-3 missing | see ^spec',
      location: { segmentId: 'PID', sequence: 1, field: 3 },
    },
  });
  const back = parseMessage(writeMessage(ack));
  assert.equal(get(back, 'MSA', 1), 'AE');
  assert.equal(get(back, 'ERR', 2, 1, 1), 'PID');
  assert.equal(get(back, 'ERR', 2, 1, 3), '3');
  assert.equal(get(back, 'ERR', 3, 1, 1), '101');
  assert.equal(get(back, 'ERR', 3, 1, 2), 'Required field missing');
  assert.equal(get(back, 'ERR', 3, 1, 3), 'HL70357');
  assert.equal(get(back, 'ERR', 4), 'E');
  assert.equal(get(back, 'ERR', 8), 'PID-3 missing | see ^spec');
  // A reject with no named problem still says why in table 0357 terms.
  const ar = parseMessage(writeMessage(buildAck(original, { code: 'AR', controlId: 'A3', dateTime: '2026' })));
  assert.equal(get(ar, 'ERR', 3), '207');
  assert.equal(get(ar, 'MSA', 1), 'AR');
});

test('enhanced mode accept ACKs (CA, CE, CR) in the original custom delimiters', () => {
  const custom = parseMessage('MSH#!@%*#S#F#R#G#2026##ORU!R01!ORU_R01#C1#T#2.6#');
  const ca = writeMessage(buildAck(custom, { code: 'CA', controlId: 'K1', dateTime: '2026' }));
  assert.equal(ca, 'MSH#!@%*#R#G#S#F#2026##ACK!R01!ACK#K1#T#2.6\rMSA#CA#C1\r');
  const cr = parseMessage(
    writeMessage(
      buildAck(custom, {
        code: 'CR',
        controlId: 'K2',
        dateTime: '2026',
        error: { condition: '203', severity: 'F', text: 'version # not ! accepted' },
      }),
    ),
  );
  assert.equal(get(cr, 'ERR', 3), '203');
  assert.equal(get(cr, 'ERR', 4), 'F');
  assert.equal(get(cr, 'ERR', 8), 'version # not ! accepted');
});

test('a parse error becomes an ERR with its table 0357 code and no message content', () => {
  let error: Hl7Error | undefined;
  try {
    parseHl7('MSH|^~\\&|A|B|C|D|2026||ADT^A01|X|P|1.0\rPID|1||SECRET', { versions: HL7_V2_VERSIONS });
  } catch (e) {
    error = e as Hl7Error;
  }
  assert.ok(error instanceof Hl7Error);
  const err = ackErrorOf(error);
  assert.equal(err.condition, '203');
  assert.ok(!err.text?.includes('SECRET'));
  assert.match(err.text ?? '', /UNSUPPORTED_VERSION/);
});

test('a v2.3 original also gets the error in ERR-1, where 2.1-2.4 receivers read it', () => {
  const old = parseMessage('MSH|^~\\&|S|F|R|G|2026||ORU^R01|C5|P|2.3\rPID|1');
  const ack = parseMessage(
    writeMessage(
      buildAck(old, {
        code: 'AE',
        controlId: 'K5',
        dateTime: '2026',
        error: { condition: '102', severity: 'E', location: { segmentId: 'OBX', sequence: 2, field: 5 } },
      }),
    ),
  );
  assert.equal(get(ack, 'ERR', 1, 1, 1), 'OBX');
  assert.equal(get(ack, 'ERR', 1, 1, 2), '2');
  assert.equal(get(ack, 'ERR', 1, 1, 3), '5');
  assert.equal(get(ack, 'ERR', 1, 1, 4, 1), '102');
  assert.equal(get(ack, 'ERR', 1, 1, 4, 3), 'HL70357');
  assert.equal(get(ack, 'ERR', 3), '102');
  // 2.5 and later leave the deprecated ERR-1 empty.
  assert.equal(get(parseMessage(writeMessage(buildAck(original, { code: 'AE', controlId: 'K', dateTime: '2026' }))), 'ERR', 1), '');
});
