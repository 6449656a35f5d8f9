// The public HL7 v2 corpus (../shared/data/hl7v2): every message file parses and writes back
// byte for byte, except rethinkhealth-qa's invalid-* fixtures, which each fail with their own
// code (two of them only when asked: a version list, strict mode). The CSV mapping tables and
// the expected FHIR bundles are not HL7 v2 and are left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../../test/support/env.ts';
import { HL7_V2_VERSIONS, parseHl7, writeFile, type ParseOptions } from './er7.ts';
import { Hl7Error, type Hl7ErrorCode } from './errors.ts';
import { get, header, repetitionCount, segmentsOf } from './message.ts';

const skip = !sharedDataPresent() && SHARED_DATA_MISSING;
const ROOT = join(SHARED_DATA, 'hl7v2');
const NOT_HL7 = /\.(csv|json|md)$/i;

/** The invalid-on-purpose fixtures: the options under which each must fail, and how. */
const INVALID: Readonly<
  Record<string, { options: ParseOptions; code: Hl7ErrorCode; segment: number; field?: number; parsesByDefault: boolean }>
> = {
  'invalid-missing-msh.hl7': { options: {}, code: 'MISSING_MSH', segment: 1, parsesByDefault: false },
  'invalid-segment-header-length.hl7': { options: {}, code: 'BAD_SEGMENT_ID', segment: 2, field: 0, parsesByDefault: false },
  'invalid-wrong-version.hl7': {
    options: { versions: HL7_V2_VERSIONS },
    code: 'UNSUPPORTED_VERSION',
    segment: 1,
    field: 12,
    parsesByDefault: true,
  },
  'invalid-trailing-empty-fields.hl7': {
    options: { strict: true },
    code: 'TRAILING_EMPTY_FIELD',
    segment: 2,
    field: 5,
    parsesByDefault: true,
  },
};

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : NOT_HL7.test(e.name) ? [] : [join(dir, e.name)],
  );

test('every HL7 v2 file of the corpus parses and round-trips, or fails as its fixture says', { skip }, (t) => {
  const files = filesUnder(ROOT).sort();
  assert.ok(files.length >= 150, `corpus has ${files.length} HL7 files`);
  assert.ok(
    files.every((f) => f.endsWith('.hl7')),
    'a new kind of file appeared in the corpus',
  );
  const counts = { files: files.length, valid: 0, invalidAsExpected: 0, messages: 0, segments: 0, bom: 0 };
  const strictVersions: ParseOptions = { versions: HL7_V2_VERSIONS };
  for (const path of files) {
    const name = relative(ROOT, path);
    const bytes = readFileSync(path);
    const text = bytes.toString('utf8');
    const invalid = INVALID[path.slice(path.lastIndexOf('/') + 1)];
    if (invalid) {
      assert.throws(
        () => parseHl7(text, invalid.options),
        (e: unknown) =>
          e instanceof Hl7Error &&
          e.hl7Code === invalid.code &&
          e.location.segment === invalid.segment &&
          e.location.field === invalid.field,
        name,
      );
      if (invalid.parsesByDefault) assert.equal(writeFile(parseHl7(text)), text, name);
      else assert.throws(() => parseHl7(text), Hl7Error, name);
      counts.invalidAsExpected += 1;
      continue;
    }
    const file = parseHl7(text, strictVersions);
    assert.ok(Buffer.from(writeFile(file), 'utf8').equals(bytes), `${name} is not written back byte for byte`);
    for (const message of file.messages) {
      const h = header(message);
      assert.match(h.messageType.code, /^[A-Z]{3}$/, name);
      assert.ok(h.controlId !== '', `${name} has no control id`);
    }
    counts.valid += 1;
    counts.messages += file.messages.length;
    counts.segments += file.messages.reduce((n, m) => n + m.segments.length, 0);
    counts.bom += file.bom ? 1 : 0;
  }
  assert.equal(counts.invalidAsExpected, Object.keys(INVALID).length);
  assert.equal(counts.valid + counts.invalidAsExpected, counts.files);
  t.diagnostic(`HL7 v2 corpus: ${JSON.stringify(counts)}`);
});

test('the edge fixtures read as their names say', { skip }, () => {
  const read = (name: string) => parseHl7(readFileSync(join(ROOT, 'rethinkhealth-qa', name), 'utf8')).messages[0]!;
  const escaped = read('edge-escaped-delimiters.hl7');
  assert.equal(get(escaped, 'PID', 5, 1, 1), 'DOE&SMITH');
  assert.equal(get(escaped, 'PID', 5, 1, 2), 'JOHN^JANE');
  assert.equal(get(escaped, 'OBX', 5), 'Result contains pipe | and ampersand & and caret ^ and tilde ~ and backslash \\ chars');
  const custom = read('edge-custom-delimiters.hl7');
  assert.equal(custom.delimiters.field, '#');
  assert.equal(get(custom, 'PID', 3, 1, 4), 'MRN');
  assert.equal(header(custom).messageType.triggerEvent, 'A01');
  assert.equal(get(read('edge-non-ascii.hl7'), 'PID', 11, 1, 3), 'München');
  assert.deepEqual(
    read('edge-z-segments.hl7').segments.map((s) => s.id),
    ['MSH', 'PID', 'ZVN', 'ZPD'],
  );
  assert.equal(get(read('edge-z-segments.hl7'), 'ZVN', 3, 1, 3), 'VALUE3');
  const crlf = read('edge-crlf-line-endings.hl7');
  assert.equal(crlf.segments.length, 3);
  assert.equal(crlf.segments[0]!.end, '\r\n');
  assert.equal(header(crlf).version, '2.5');
  assert.equal(repetitionCount(read('edge-field-repetitions.hl7'), 'PID', 13), 12);
  assert.equal(get(read('edge-field-repetitions.hl7'), 'PID', 13, 12), '555-0012');
  assert.equal(segmentsOf(read('edge-empty-segments.hl7'), 'PV1').length, 1);
  assert.equal(header(read('adt-a01-full.hl7')).acceptAckType, 'AL');
});
