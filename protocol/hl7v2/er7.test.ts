// ER7 reading and writing on synthetic messages: every delimiter, escape, line end and batch
// form the issue names, and each error code with its location and without message content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildHeader,
  buildSegment,
  DEFAULT_DELIMITERS,
  escapeValue,
  HL7_V2_VERSIONS,
  parseHl7,
  parseMessage,
  unescapeValue,
  writeFile,
  writeMessage,
  type ParseOptions,
} from './er7.ts';
import { Hl7Error, type Hl7ErrorCode } from './errors.ts';
import { get, header, raw, repetitionCount, segmentsOf } from './message.ts';

const MSH = 'MSH|^~\\&|APP|FAC|RAPP|RFAC|20260101120000||ADT^A01^ADT_A01|CTRL1|P|2.5.1|||AL|NE';
const PID = 'PID|1||111^^^MRN~222^^^SSN||ZEDD^ALPHA^B||19800101|M|||1 ROAD^^TOWN&SUB&PART';
const sample = [MSH, PID, 'ZXY|1|custom^data', 'PV1|1|I'].join('\r') + '\r';

const rejects = (text: string, code: Hl7ErrorCode, segment: number, field?: number, options?: ParseOptions) => {
  assert.throws(
    () => parseHl7(text, options),
    (e: unknown) => {
      assert.ok(e instanceof Hl7Error, String(e));
      assert.equal(e.hl7Code, code);
      assert.deepEqual(e.location, field === undefined ? { segment } : { segment, field });
      // Errors never repeat message content (names, identifiers).
      for (const secret of ['ZEDD', 'ALPHA', '111', 'CTRL1']) assert.ok(!e.message.includes(secret), e.message);
      return true;
    },
  );
};

test('fields, repetitions, components and subcomponents are counted as HL7 counts', () => {
  const m = parseMessage(sample);
  assert.equal(get(m, 'MSH', 1), '|');
  assert.equal(get(m, 'MSH', 2), '^~\\&');
  assert.equal(get(m, 'MSH', 3), 'APP');
  assert.equal(get(m, 'MSH', 9, 1, 2), 'A01');
  assert.equal(get(m, 'PID', 3, 2, 1), '222');
  assert.equal(get(m, 'PID', 3, 2, 4), 'SSN');
  assert.equal(get(m, 'PID', 5, 1, 2), 'ALPHA');
  assert.equal(get(m, 'PID', 11, 1, 3, 2), 'SUB');
  assert.equal(get(m, 'PID', 11, 1, 3), 'TOWN');
  assert.equal(raw(m, 'PID', 11, 1, 3), 'TOWN&SUB&PART');
  assert.equal(get(m, 'PID', 2), '');
  assert.equal(get(m, 'PID', 40), undefined);
  assert.equal(get(m, 'PID', 3, 3), undefined);
  assert.equal(get(m, 'OBX', 1), undefined);
  assert.equal(repetitionCount(m, 'PID', 3), 2);
  assert.equal(repetitionCount(m, 'PID', 2), 0);
  assert.deepEqual(
    m.segments.map((s) => s.id),
    ['MSH', 'PID', 'ZXY', 'PV1'],
  );
  assert.equal(get(m, segmentsOf(m, 'ZXY')[0]!, 2, 1, 2), 'data');
});

test('the header is typed', () => {
  const h = header(parseMessage(sample));
  assert.deepEqual(h.sendingApplication, { namespaceId: 'APP', universalId: '', universalIdType: '' });
  assert.equal(h.sendingFacility.namespaceId, 'FAC');
  assert.equal(h.receivingApplication.namespaceId, 'RAPP');
  assert.equal(h.receivingFacility.namespaceId, 'RFAC');
  assert.deepEqual(h.messageType, { code: 'ADT', triggerEvent: 'A01', structure: 'ADT_A01' });
  assert.equal(h.controlId, 'CTRL1');
  assert.equal(h.processingId, 'P');
  assert.equal(h.version, '2.5.1');
  assert.equal(h.acceptAckType, 'AL');
  assert.equal(h.applicationAckType, 'NE');
  assert.equal(h.characterSet, '');
});

test('custom delimiters declared in MSH-1/MSH-2 are used for the whole message', () => {
  const text = 'MSH#!@%*#SND#FAC#RCV#FAC#20260101##ADT!A04#C9#P#2.5\nPID#1##9!!!MRN@8!!!XX##LAST!FIRST*X%F%Y##1990\n';
  const m = parseMessage(text);
  assert.equal(get(m, 'MSH', 1), '#');
  assert.equal(get(m, 'MSH', 2), '!@%*');
  assert.equal(header(m).messageType.triggerEvent, 'A04');
  assert.equal(get(m, 'PID', 3, 2, 4), 'XX');
  assert.equal(get(m, 'PID', 5, 1, 2, 2), 'X#Y');
  assert.equal(writeMessage(m), text);
});

test('escapes are undone on read, kept raw for writing', () => {
  const text = `${MSH}\rOBX|1|ST|||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f \\X0D0A\\ \\XC3A9\\ \\H\\bold\\N\\ \\.br\\ open\\Xzz`;
  const m = parseMessage(text);
  assert.equal(get(m, 'OBX', 5), 'a|b^c&d~e\\f \r\n é \\H\\bold\\N\\ \\.br\\ open\\Xzz');
  assert.equal(writeMessage(m), text);
  // An escaped delimiter does not split: the escaped component stays one value.
  assert.equal(get(m, 'OBX', 5, 1, 2), undefined);
  assert.equal(unescapeValue('\\X41\\\\XFF\\', DEFAULT_DELIMITERS), 'A\u00ff');
});

test('escapeValue and unescapeValue are inverse for any text', () => {
  const alphabet = ['|', '^', '~', '\\', '&', '\r', '\n', 'a', 'é', ' ', 'X', '0', 'F', 'E'];
  let seed = 7;
  for (let i = 0; i < 500; i += 1) {
    let s = '';
    for (let j = 0; j < 12; j += 1) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      s += alphabet[seed % alphabet.length];
    }
    const escaped = escapeValue(s, DEFAULT_DELIMITERS);
    assert.ok(!/[|^~&\r\n]/.test(escaped), escaped);
    assert.equal(unescapeValue(escaped, DEFAULT_DELIMITERS), s);
  }
});

test('line ends CR, LF, CRLF, mixed, blank lines, spaces-only lines, BOM: same bytes back', () => {
  const bodies = [
    sample,
    sample.replaceAll('\r', '\n'),
    sample.replaceAll('\r', '\r\n'),
    sample.replaceAll('\r', '\n').slice(0, -1),
    `${MSH}\r\n${PID}\n\rZXY|1\r\r\n\n`,
    `\n\n${MSH}\n  \n${PID}\n\t\n`,
    `\uFEFF${MSH}\n${PID}`,
  ];
  for (const text of bodies) {
    const file = parseHl7(text);
    assert.equal(file.messages.length, 1);
    assert.equal(writeFile(file), text, JSON.stringify(text));
    assert.equal(get(file.messages[0]!, 'PID', 5, 1, 2), 'ALPHA');
  }
  assert.equal(parseHl7(`\uFEFF${MSH}`).bom, true);
});

test('batches and several MSH in one file are a list of messages', () => {
  const batch = [
    'FHS|^~\\&|APP|FAC|||20260101',
    'BHS|^~\\&|APP|FAC|||20260101',
    MSH,
    PID,
    MSH.replace('CTRL1', 'CTRL2'),
    'PID|1||333^^^MRN',
    'BTS|2',
    'FTS|1',
  ].join('\r');
  const file = parseHl7(batch);
  assert.deepEqual(
    file.messages.map((m) => header(m).controlId),
    ['CTRL1', 'CTRL2'],
  );
  assert.deepEqual(
    file.parts.map((p) => (p.kind === 'envelope' ? p.segment.id : 'message')),
    ['FHS', 'BHS', 'message', 'message', 'BTS', 'FTS'],
  );
  assert.equal(get(file.messages[1]!, 'PID', 3), '333');
  assert.equal(writeFile(file), batch);
  const bare = `${MSH}\n${PID}\n${MSH.replace('CTRL1', 'CTRL3')}\n`;
  assert.equal(parseHl7(bare).messages.length, 2);
  assert.equal(writeFile(parseHl7(bare)), bare);
  assert.throws(
    () => parseMessage(bare),
    (e: unknown) => e instanceof Hl7Error && e.hl7Code === 'MULTIPLE_MESSAGES' && e.location.segment === 3,
  );
  assert.throws(
    () => parseMessage(batch),
    (e: unknown) => e instanceof Hl7Error && e.hl7Code === 'MULTIPLE_MESSAGES',
  );
});

test('an MSH inside a field is text, not a new message', () => {
  const text = `${MSH}\rOBX|1|TX|||see MSH|^~\\&|X|Y\\F\\MSH\rNTE|1||MSH^~\\&`;
  const m = parseMessage(text);
  assert.equal(m.segments.length, 3);
  assert.equal(get(m, 'OBX', 5), 'see MSH');
});

test('empty segments and trailing empty fields are tolerated unless strict', () => {
  const text = `${MSH}\rPID|1||||||||\rPV1\rEVN|A01|||\r`;
  const m = parseMessage(text);
  assert.deepEqual(
    m.segments.map((s) => s.id),
    ['MSH', 'PID', 'PV1', 'EVN'],
  );
  assert.equal(get(m, 'PV1', 1), undefined);
  assert.equal(writeMessage(m), text);
  rejects(text, 'TRAILING_EMPTY_FIELD', 2, 9, { strict: true });
  rejects(`${MSH}|\r`, 'TRAILING_EMPTY_FIELD', 1, 17, { strict: true });
  assert.equal(parseMessage(sample, { strict: true }).segments.length, 4);
});

test('each invalid input fails with its code and location', () => {
  rejects('', 'EMPTY', 1);
  rejects('\r\n \n', 'EMPTY', 1);
  rejects(`${PID}\r${MSH}`, 'MISSING_MSH', 1);
  rejects('FHS|^~\\&|A\rPID|1', 'MISSING_MSH', 2);
  rejects('FHS|^~\\&|A\rFTS|0', 'MISSING_MSH', 2);
  rejects(`${MSH}\rPIDX|1\r`, 'BAD_SEGMENT_ID', 2, 0);
  rejects(`${MSH}\r${PID}\rPV|1`, 'BAD_SEGMENT_ID', 3, 0);
  rejects(`${MSH}\rpid|1`, 'BAD_SEGMENT_ID', 2, 0);
  rejects(`${MSH}\r|1`, 'BAD_SEGMENT_ID', 2, 0);
  rejects('MSH', 'INVALID_ENCODING_CHARACTERS', 1, 1);
  rejects('MSH|^^\\&|A', 'INVALID_ENCODING_CHARACTERS', 1, 2);
  rejects('MSHA^~\\&A', 'INVALID_ENCODING_CHARACTERS', 1, 1);
  rejects('MSH|^~ &|A', 'INVALID_ENCODING_CHARACTERS', 1, 2);
  rejects('MSH|^|~\\&|A', 'UNSUPPORTED_ENCODING_CHARACTERS', 1, 2);
  rejects('MSH|^~|A', 'UNSUPPORTED_ENCODING_CHARACTERS', 1, 2);
  rejects('MSH|^~\\&#!|A', 'UNSUPPORTED_ENCODING_CHARACTERS', 1, 2);
  rejects(`${MSH}\r${PID}\rBTS|1`, 'BAD_BATCH', 3);
  rejects(`BHS|^~\\&\r${MSH}\rFTS|1`, 'BAD_BATCH', 3);
  rejects(`${MSH}\rBHS|^~\\&`, 'BAD_BATCH', 2);
  const versions = { versions: HL7_V2_VERSIONS };
  rejects(MSH.replace('2.5.1', '1.0'), 'UNSUPPORTED_VERSION', 1, 12, versions);
  rejects(MSH.replace('|2.5.1|', '||'), 'UNSUPPORTED_VERSION', 1, 12, versions);
  rejects(`${MSH}\r${MSH.replace('2.5.1', '3.0')}`, 'UNSUPPORTED_VERSION', 2, 12, versions);
  assert.equal(header(parseMessage(MSH.replace('2.5.1', '2.5.1^USA'), versions)).version, '2.5.1');
  assert.equal(header(parseMessage(MSH.replace('2.5.1', '1.0'))).version, '1.0');
});

test('the v2.7 truncation character is accepted', () => {
  const m = parseMessage('MSH|^~\\&#|A|B|||||X|P|2.7\r');
  assert.equal(m.delimiters.truncation, '#');
  assert.equal(get(m, 'MSH', 2), '^~\\&#');
  assert.equal(escapeValue('a#b', m.delimiters), 'a\\P\\b');
  assert.equal(unescapeValue('a\\P\\b', m.delimiters), 'a#b');
  assert.equal(unescapeValue('a\\P\\b', DEFAULT_DELIMITERS), 'a\\P\\b');
});

test('built segments are escaped, omit trailing empty fields and end with CR', () => {
  const d = { ...DEFAULT_DELIMITERS, field: '#', component: '!' };
  const msh = buildHeader(['A', 'B', '', '', '2026', '', ['ORU', 'R01']], d);
  const obx = buildSegment('OBX', ['1', 'ST', ['X', ['s1', 's&2']], 'a#b!c', '', ''], d);
  const text = writeMessage({ delimiters: d, segments: [msh, obx] });
  assert.equal(text, 'MSH#!~\\&#A#B###2026##ORU!R01\rOBX#1#ST#X!s1&s\\T\\2#a\\F\\b\\S\\c\r');
  const back = parseMessage(text);
  assert.equal(get(back, 'OBX', 4), 'a#b!c');
  assert.equal(get(back, 'OBX', 3, 1, 2, 2), 's&2');
  assert.throws(() => buildSegment('MSH', [], d), Hl7Error);
  assert.throws(() => buildSegment('obx', [], d), Hl7Error);
});
