// HL7 v2 datatypes to FHIR R4 (the IG's datatype maps): exact values, with escapes already
// handled by protocol/hl7v2 and unescaped leaf by leaf here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DELIMITERS } from '../../protocol/hl7v2/er7.ts';
import type { TranslationIssue } from '../issues.ts';
import {
  address,
  codeableConcept,
  codingSystem,
  composite,
  contactPoint,
  cx,
  dateTime,
  fhirDateTime,
  hdUri,
  hl7Date,
  humanName,
  humanNames,
  identifier,
  nm,
  repetitions,
  sn,
} from './datatypes.ts';

const d = DEFAULT_DELIMITERS;
const c = (raw: string) => composite(raw, d);

test('CX: value, assigning authority by its universal id type, type code, validity dates', () => {
  const oid = cx(c('12345^4^M11^GHH&2.16.840.1.113883.19&ISO^MR^^20200101^20301231'));
  assert.deepEqual(identifier(oid), {
    system: 'urn:oid:2.16.840.1.113883.19',
    value: '12345',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
    period: { start: '2020-01-01', end: '2030-12-31' },
  });
  assert.equal(
    hdUri(cx(c('1^^^&a1b2c3d4-0000-4000-8000-000000000000&UUID^PI')).authority),
    'urn:uuid:a1b2c3d4-0000-4000-8000-000000000000',
  );
  // A namespace (with a non-ISO universal id) is the system, as the IG says; FHIR's uri has no spaces.
  assert.equal(hdUri(cx(c('1^^^General Hosp&2.16.1&HCD^MR')).authority), 'General%20Hosp');
  // No authority: an SSN still has its well-known system; anything else has none (the caller decides).
  assert.equal(identifier(cx(c('123-45-6789^^^^SS'))).system, 'http://hl7.org/fhir/sid/us-ssn');
  assert.equal(identifier(cx(c('123-45-6789^^^USSSA^SS'))).system, 'http://hl7.org/fhir/sid/us-ssn');
  assert.equal(identifier(cx(c('123-45-6789^^^&2.16.840.1.113883.4.1&ISO^SS'))).system, 'urn:oid:2.16.840.1.113883.4.1');
  assert.equal(identifier(cx(c('77^^^^MR'))).system, undefined);
  assert.equal(identifier(cx(c('77^^^^MR')), 'urn:oid:1.2.3').system, 'urn:oid:1.2.3');
});

test('XPN: family, given names (XPN.3 split on spaces), prefix, suffixes, use; XPN.15 is a nickname', () => {
  assert.deepEqual(humanName(c('Everyman&&&&Aniston^Adam^A B^III^Dr.^MD^L')), {
    use: 'official',
    family: 'Everyman',
    given: ['Adam', 'A', 'B'],
    prefix: ['Dr.'],
    suffix: ['III', 'MD'],
  });
  assert.deepEqual(humanNames(c('Doe^Jonathan^^^^^L^^^^^^^^Jon')), [
    { use: 'official', family: 'Doe', given: ['Jonathan'] },
    { use: 'nickname', given: ['Jon'] },
  ]);
  assert.equal(humanName(c('^^^^^^L')), undefined);
  assert.deepEqual(humanName(c('O\\S\\Brien^Mary^^^^^M')), { use: 'maiden', family: 'O^Brien', given: ['Mary'] });
});

test('XAD and XTN: lines, use and type from table 0190; phone numbers assembled, e-mail from XTN.4', () => {
  assert.deepEqual(address(c('1 Main St^Apt 2^Springfield^IL^62701^USA^M')), {
    type: 'postal',
    line: ['1 Main St', 'Apt 2'],
    city: 'Springfield',
    state: 'IL',
    postalCode: '62701',
    country: 'USA',
  });
  assert.deepEqual(contactPoint(c('^PRN^PH^^1^217^5550100^12')), { system: 'phone', value: '+1 217 5550100 X12', use: 'home' });
  assert.deepEqual(contactPoint(c('^NET^Internet^jane@example.org')), { system: 'email', value: 'jane@example.org' });
  assert.deepEqual(contactPoint(c('(555)555-0100^^CP')), { system: 'phone', value: '(555)555-0100', use: 'mobile' });
  assert.equal(contactPoint(c('^PRN^PH')), undefined);
});

test('CWE/CE: up to three codings with systems from the IG table, original text; unknown systems get our urn', () => {
  assert.deepEqual(codeableConcept(c('2345-7^Glucose^LN^GLU^Glucose, serum^99zzz^2.68^^Glucose SerPl')), {
    coding: [
      { system: 'http://loinc.org', version: '2.68', code: '2345-7', display: 'Glucose' },
      { system: 'urn:patient-gateway:hl7v2:coding-system:99zzz', code: 'GLU', display: 'Glucose, serum' },
    ],
    text: 'Glucose SerPl',
  });
  assert.equal(codingSystem('HL70078'), 'http://terminology.hl7.org/CodeSystem/v2-0078');
  assert.equal(codingSystem('SCT'), 'http://snomed.info/sct');
  assert.deepEqual(codeableConcept(c('^free text only')), { text: 'free text only' });
  // Escapes are undone per leaf: a \T\ in a display is an ampersand, not a subcomponent break.
  assert.equal((codeableConcept(c('X1^A \\T\\ B^L'))?.coding as { display: string }[])[0]?.display, 'A & B');
});

test('TS/DTM: each precision kept; an offset wins over the zone; no offset reads the connection zone (flagged)', () => {
  const read = (v: string, zone = 'America/New_York') => {
    const issues: TranslationIssue[] = [];
    const t = dateTime(v, zone, 'OBX-14', issues);
    return { value: t && fhirDateTime(t), precision: t?.precision, issues: issues.map((i) => `${i.severity} ${i.path}`) };
  };
  assert.deepEqual(read('1988'), { value: '1988', precision: 'year', issues: [] });
  assert.deepEqual(read('198808'), { value: '1988-08', precision: 'month', issues: [] });
  assert.deepEqual(read('19880818'), { value: '1988-08-18', precision: 'day', issues: [] });
  assert.deepEqual(read('198808181126+0215'), { value: '1988-08-18T09:11:00Z', precision: 'minute', issues: [] });
  assert.deepEqual(read('20260115093000'), { value: '2026-01-15T14:30:00Z', precision: 'second', issues: ['warning OBX-14'] });
  assert.deepEqual(read('20260715093000.1234-0500'), { value: '2026-07-15T14:30:00.123Z', precision: 'ms', issues: [] });
  assert.deepEqual(read('20260230'), { value: undefined, precision: undefined, issues: ['error OBX-14'] });
  assert.deepEqual(read('yesterday'), { value: undefined, precision: undefined, issues: ['error OBX-14'] });
  // A birth date is the calendar date as written, whatever the time and offset after it.
  assert.equal(hl7Date('198808181126+0215'), '1988-08-18');
  assert.equal(hl7Date('19880230'), undefined);
});

test('NM and SN; repetitions drop empty ones', () => {
  assert.equal(nm('+007.50'), 7.5);
  assert.equal(nm('-.5'), -0.5);
  assert.equal(nm('1e3'), undefined);
  assert.equal(nm('<5'), undefined);
  assert.deepEqual(sn(c('<^5')), { comparator: '<', num1: 5, separator: '', num2: undefined });
  assert.deepEqual(sn(c('^1^:^128')), { comparator: '', num1: 1, separator: ':', num2: 128 });
  assert.equal(repetitions('a~~^~b', d).length, 2);
});
