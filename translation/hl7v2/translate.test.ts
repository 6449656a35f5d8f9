// translateHl7 on synthetic messages: effects per message type, the merge's prior record, stable
// ids across resends and corrections, result statuses per the IG, and refusals with specific
// paths that never quote the patient's values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../protocol/hl7v2/er7.ts';
import { translateHl7 } from './translate.ts';
import type { Hl7TranslationContext } from './contract.ts';

const context: Hl7TranslationContext = {
  source: 'hl7-feed',
  timeZone: 'America/New_York',
  identifierSystems: { MR: 'urn:oid:2.16.840.1.999.1' },
};
const msh = (type: string, control = 'C1') => `MSH|^~\\&|ADT|HOSP|GW|GW|20261201083000||${type}|${control}|P|2.5.1`;
const PID = 'PID|1||12345^^^HOSP^MR||Doe^Jane||19800214|F';
const run = (...segments: string[]) => translateHl7(parseMessage(segments.join('\r')), context);
const errors = (r: ReturnType<typeof run>) => r.issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`);

test('effects: ADT upserts, A40 merges with MRG-1 as the prior record, ORU/ORM/VXU are clinical, other ADT stored', () => {
  for (const [type, effect] of [
    ['ADT^A01^ADT_A01', 'upsert-patient'],
    ['ADT^A28^ADT_A05', 'upsert-patient'],
    ['ADT^A03^ADT_A03', 'store-only'],
    ['ORU^R01^ORU_R01', 'clinical'],
    ['ORM^O01^ORM_O01', 'clinical'],
    ['VXU^V04^VXU_V04', 'clinical'],
  ] as const) {
    const r = run(msh(type), PID);
    assert.ok(r.ok, type);
    assert.equal(r.value.effect, effect, type);
    assert.equal(r.value.sourcePatientId, '12345');
  }
  const merge = run(msh('ADT^A40^ADT_A39'), PID, 'MRG|999^^^HOSP^MR');
  assert.ok(merge.ok);
  assert.equal(merge.value.effect, 'merge-patients');
  assert.equal(merge.value.mergedPatientId, '999');
  assert.deepEqual(errors(run(msh('ADT^A40^ADT_A39'), PID)), ['MRG: required segment is missing']);
  assert.deepEqual(errors(run(msh('ADT^A40^ADT_A39'), PID, 'MRG|12345^^^HOSP^MR')), [
    'MRG-1: the merged-away record is the surviving record',
  ]);
  // v2.3 ADT without MSH-9.2: the trigger comes from EVN-1.
  const old = run('MSH|^~\\&|ADT|HOSP|GW|GW|20261201083000||ADT|C1|P|2.3', 'EVN|A04|20261201', PID);
  assert.ok(old.ok);
  assert.equal(old.value.effect, 'upsert-patient');
});

test("the feed's own numbers take the connection's system; a foreign authority keeps its own", () => {
  const r = run(msh('ADT^A01'), 'PID|1||12345^^^HOSP^MR~777^^^OTHER&1.2.3&ISO^MR~55^^^^PI||Doe^Jane');
  assert.ok(r.ok);
  const ids = (r.value.patient?.identifier as { system?: string; value: string }[]).map((i) => [i.system, i.value]);
  // No PI system configured: the connection has none to give, so the PI stays without one.
  assert.deepEqual(ids, [
    ['urn:oid:2.16.840.1.999.1', '12345'],
    ['urn:oid:1.2.3', '777'],
    [undefined, '55'],
  ]);
});

const ORU = (status: string, value = '105', extra: string[] = []) => [
  msh('ORU^R01^ORU_R01', `C-${status}-${value}`),
  PID,
  'OBR|1|P77|F88^LAB|2345-7^Glucose^LN|||20261201080000',
  `OBX|1|NM|2345-7^Glucose^LN||${value}|mg/dL^^UCUM|70-99|H|||${status}|||20261201080000`,
  ...extra,
];

test('ids are stable: a resend and a correction (OBX-11 C) name the same Observation; another order does not', () => {
  const first = run(...ORU('F'));
  const again = run(...ORU('F'));
  const corrected = run(...ORU('C', '110'));
  assert.ok(first.ok && again.ok && corrected.ok);
  const obs = (r: typeof first) => (r.ok ? r.value.resources.find((x) => x.resourceType === 'Observation') : undefined);
  assert.deepEqual(
    first.value.resources.map((x) => x.id),
    again.value.resources.map((x) => x.id),
  );
  assert.equal(obs(corrected)?.id, obs(first)?.id);
  assert.equal(obs(corrected)?.status, 'corrected');
  assert.deepEqual(obs(corrected)?.valueQuantity, { value: 110, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
  const other = run(...ORU('F').map((s) => s.replace('F88^LAB', 'F89^LAB')));
  assert.ok(other.ok);
  assert.notEqual(obs(other)?.id, obs(first)?.id);
  // The same feed's id for another connection is another resource.
  const elsewhere = translateHl7(parseMessage(ORU('F').join('\r')), { ...context, source: 'hl7-other' });
  assert.ok(elsewhere.ok);
  assert.notEqual(elsewhere.value.resources[0]?.id, obs(first)?.id);
});

test('result statuses per the IG: X is cancelled without a value, D and W entered-in-error, P preliminary', () => {
  const status = (s: string) => {
    const r = run(...ORU(s));
    assert.ok(r.ok);
    return r.value.resources.find((x) => x.resourceType === 'Observation');
  };
  assert.equal(status('P')?.status, 'preliminary');
  assert.equal(status('D')?.status, 'entered-in-error');
  assert.equal(status('W')?.status, 'entered-in-error');
  const x = status('X');
  assert.equal(x?.status, 'cancelled');
  assert.equal(x?.valueQuantity, undefined);
  assert.ok(x?.dataAbsentReason);
});

test('value types: SN comparator and range, CWE, ST lines, DT; reference range and interpretation', () => {
  const r = run(
    msh('ORU^R01'),
    PID,
    'OBR|1||F1^LAB|24323-8^Panel^LN|||20261201080000',
    'OBX|1|SN|2160-0^Creatinine^LN||<^0.5|mg/dL^^UCUM|0.6-1.2|L|||F',
    'OBX|2|SN|5792-7^Glucose strip^LN||^100^-^250|mg/dL^^UCUM||||F',
    'OBX|3|CWE|600-7^Culture^LN||27268008^Salmonella^SCT||||||F',
    'OBX|4|TX|8251-1^Note^LN||line one~line two||||||F',
    'OBX|5|DT|29769-7^VIS date^LN||20260110||||||F',
  );
  assert.ok(r.ok, JSON.stringify(r.issues));
  const [a, b, c, d, e] = r.value.resources.filter((x) => x.resourceType === 'Observation');
  assert.deepEqual(a?.valueQuantity, { value: 0.5, comparator: '<', unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
  assert.deepEqual((a?.referenceRange as unknown[])[0], {
    low: { value: 0.6, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    high: { value: 1.2, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    text: '0.6-1.2',
  });
  assert.deepEqual(a?.interpretation, [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'L' }] },
  ]);
  assert.deepEqual((b?.valueRange as { low: { value: number } }).low.value, 100);
  assert.deepEqual(c?.valueCodeableConcept, { coding: [{ system: 'http://snomed.info/sct', code: '27268008', display: 'Salmonella' }] });
  assert.equal(d?.valueString, 'line one\nline two');
  assert.equal(e?.valueDateTime, '2026-01-10');
  // Effective time falls back to OBR-7 when OBX-14 is empty: 08:00 EST.
  assert.equal(a?.effectiveDateTime, '2026-12-01T13:00:00Z');
});

test('PD1 primary facility and provider become logical generalPractitioner references; NK1 a contact', () => {
  const r = run(
    msh('ADT^A08'),
    PID,
    'PD1|||Main Clinic^^^^^^^^^MC1|1234^Smith^John^^^Dr^^^NPI&2.16.840.1.113883.4.6&ISO',
    'NK1|1|Doe^John|SPO^Spouse^HL70063|1 Main St^^Springfield^IL|^PRN^PH^^^217^5550101',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.value.patient?.generalPractitioner, [
    { type: 'Organization', identifier: { value: 'MC1' }, display: 'Main Clinic' },
    { type: 'Practitioner', identifier: { system: 'urn:oid:2.16.840.1.113883.4.6', value: '1234' }, display: 'Dr John Smith' },
  ]);
  assert.deepEqual(r.value.patient?.contact, [
    {
      relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0063', code: 'SPO', display: 'Spouse' }] }],
      name: { family: 'Doe', given: ['John'] },
      telecom: [{ system: 'phone', value: '217 5550101', use: 'home' }],
      address: { line: ['1 Main St'], city: 'Springfield', state: 'IL' },
    },
  ]);
});

test('refusals name the field and never quote the patient', () => {
  assert.deepEqual(errors(run(msh('ADT^A01'))), ['PID: required segment is missing']);
  assert.deepEqual(errors(run(msh('ADT^A01'), 'PID|1||12345^^^HOSP^MR||Doe^Jane||19801345|F')), [
    'PID-7: birth date is not a valid HL7 v2 date',
  ]);
  assert.deepEqual(
    errors(run(msh('ORU^R01'), PID, 'OBR|1||F1|1^x^L', 'OBX|1|NM|^no code||5||||||F', 'OBX|2|NM|2345-7^G^LN||5||||||F|||2026xx')),
    ['OBX-3: observation identifier (the code) is missing', 'OBX[2]-14: not a valid HL7 v2 timestamp'],
  );
  const r = run(msh('ADT^A01'), 'PID|1||12345^^^HOSP^MR||Doe^Jane||19801345|Q');
  for (const i of r.issues) assert.doesNotMatch(i.message, /Doe|Jane|12345|19801345|Q\b/);
  // A sex code outside table 0001 is repairable: a warning, the patient without a gender.
  const sex = run(msh('ADT^A01'), 'PID|1||12345^^^HOSP^MR||Doe^Jane||19800214|Q');
  assert.ok(sex.ok);
  assert.equal(sex.value.patient?.gender, undefined);
  assert.deepEqual(
    sex.issues.map((i) => `${i.severity} ${i.path}`),
    ['warning PID-8'],
  );
});

test('PV1 becomes an Encounter keyed by the visit number; an A03 finishes it under the same id', () => {
  const pv1 = 'PV1|1|I|W1^R1^B1||||||||||||||||V100^^^HOSP^VN|||||||||||||||||||||||||20261201080000';
  const admit = run(msh('ADT^A01'), PID, pv1);
  const discharge = run(msh('ADT^A03'), PID, `${pv1}|20261203100000`);
  assert.ok(admit.ok && discharge.ok);
  const [a] = admit.value.resources;
  const [b] = discharge.value.resources;
  assert.equal(a?.id, b?.id);
  assert.deepEqual([a?.status, b?.status], ['in-progress', 'finished']);
  assert.deepEqual(a?.class, { code: 'IMP', system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', display: 'inpatient encounter' });
  assert.deepEqual(b?.period, { start: '2026-12-01T13:00:00Z', end: '2026-12-03T15:00:00Z' });
});
