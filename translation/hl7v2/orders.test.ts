// ORM^O01 -> ServiceRequest and VXU^V04 -> Immunization (translation/hl7v2/clinical.ts): the
// IG's fields, statuses from ORC-5/ORC-1 and RXA-20/21, stable ids across resends and deletions,
// and the clinical store's translation (CVX/LOINC code, time, dose unit) accepting the output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../protocol/hl7v2/er7.ts';
import { translateHl7 } from './translate.ts';
import { feedContext, fhirPath } from './test-helpers.ts';
import type { FhirResource } from './contract.ts';

const context = feedContext('hl7-feed', 'America/New_York', { MR: 'urn:oid:2.16.840.1.999.1', PI: 'urn:oid:2.16.840.1.999.2' });
const msh = (type: string, control = 'C1') => `MSH|^~\\&|LIS|HOSP|GW|GW|20261201083000||${type}|${control}|P|2.5.1`;
const PID = 'PID|1||12345^^^HOSP^MR||Doe^Jane||19800214|F';
const run = (...segments: string[]) => translateHl7(parseMessage(segments.join('\r')), context);
const only = (r: ReturnType<typeof run>, type: string): FhirResource[] => {
  assert.ok(r.ok, JSON.stringify(r.issues));
  return r.value.resources.filter((x) => x.resourceType === type);
};

const ORM = (control: string, status = '') => [
  msh('ORM^O01^ORM_O01'),
  PID,
  `ORC|${control}|P100^EHR|F200^LAB^2.16.840.1.999.9^ISO||${status}||||202612010930`,
  'OBR|1|P100^EHR|F200^LAB^2.16.840.1.999.9^ISO|2345-7^Glucose^LN|||20261201094500',
];

test('ORM^O01: ORC/OBR become a ServiceRequest with order numbers, OBR-4 code, ORC-9 authoredOn', () => {
  const [order, ...rest] = only(run(...ORM('NW')), 'ServiceRequest');
  assert.equal(rest.length, 0);
  assert.deepEqual(order, {
    resourceType: 'ServiceRequest',
    id: order!.id,
    identifier: [
      // A namespace alone is the system, as the IG writes it (and DiagnosticReport's identifiers are).
      { system: 'EHR', value: 'P100', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC' }] } },
      {
        system: 'urn:oid:2.16.840.1.999.9',
        value: 'F200',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'FILL' }] },
      },
    ],
    status: 'active',
    intent: 'order',
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
    subject: { reference: 'Patient/12345' },
    authoredOn: '2026-12-01T14:30:00Z',
  });
  assert.match(order!.id!, /^[0-9a-f]{40}$/);
});

test('ORM^O01: status from ORC-5 when sent, else ORC-1; the same order keeps its id', () => {
  const status = (control: string, orderStatus = '') => only(run(...ORM(control, orderStatus)), 'ServiceRequest')[0]!.status;
  assert.equal(status('NW'), 'active');
  assert.equal(status('CA'), 'revoked');
  assert.equal(status('DC'), 'revoked');
  assert.equal(status('HD'), 'on-hold');
  assert.equal(status('SC', 'CM'), 'completed');
  assert.equal(status('NW', 'ER'), 'entered-in-error');
  assert.equal(status('ZZ'), 'unknown');
  const ids = new Set(['NW', 'CA', 'SC'].map((c) => only(run(...ORM(c)), 'ServiceRequest')[0]!.id));
  assert.equal(ids.size, 1, 'a cancel updates the order it cancels');
  // Without ORC-9, OBR-6 (requested time) is when it was authored.
  const noOrc9 = run(msh('ORM^O01'), PID, 'ORC|NW|P1', 'OBR|1|P1||2345-7^Glucose^LN|||20261201094500');
  assert.equal(only(noOrc9, 'ServiceRequest')[0]!.authoredOn, undefined);
  const obr6 = run(msh('ORM^O01'), PID, 'ORC|NW|P1', 'OBR|1|P1||2345-7^Glucose^LN||20261201080000');
  assert.equal(only(obr6, 'ServiceRequest')[0]!.authoredOn, '2026-12-01T13:00:00Z');
  // An ORU's OBR is a report, not an order.
  assert.equal(only(run(msh('ORU^R01'), PID, ...ORM('NW').slice(2)), 'ServiceRequest').length, 0);
  const refused = run(msh('ORM^O01'), PID, 'ORC|NW|P1', 'OBR|1|P1');
  assert.ok(!refused.ok);
  assert.deepEqual(
    refused.issues.filter((i) => i.severity === 'error').map((i) => i.path),
    ['OBR-4'],
  );
});

const VXU = (rxa: string) => [
  msh('VXU^V04^VXU_V04'),
  PID,
  'ORC|RE|4422^EHR|13696^IIS^2.16.840.1.999.7^ISO',
  rxa,
  'OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V01^Not VFC eligible^HL70064||||||F',
];
const RXA = (amount = '0.5', completion = 'CP', action = 'A') =>
  `RXA|0|1|20261115||140^Influenza, seasonal, injectable, preservative free^CVX|${amount}|mL^mL^UCUM||00^New Record^NIP001||||||Z0860BB|20270601|SKB^GSK^MVX|||${completion}|${action}`;

test('VXU^V04: RXA becomes an Immunization with CVX code, occurrence, dose, lot and expiry', () => {
  const [imm, ...rest] = only(run(...VXU(RXA())), 'Immunization');
  assert.equal(rest.length, 0);
  assert.deepEqual(
    { ...imm, id: 'x', identifier: (imm!.identifier as { value: string }[]).map((i) => i.value) },
    {
      resourceType: 'Immunization',
      id: 'x',
      identifier: ['4422', '13696'],
      status: 'completed',
      vaccineCode: {
        coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140', display: 'Influenza, seasonal, injectable, preservative free' }],
      },
      patient: { reference: 'Patient/12345' },
      occurrenceDateTime: '2026-11-15',
      primarySource: true,
      lotNumber: 'Z0860BB',
      expirationDate: '2027-06-01',
      doseQuantity: { value: 0.5, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' },
    },
  );
});

test('VXU^V04: RXA-21 D is entered-in-error under the same id; RXA-20 RE is not-done; 999 states no dose', () => {
  const imm = (rxa: string) => only(run(...VXU(rxa)), 'Immunization')[0]!;
  const given = imm(RXA());
  const deleted = imm(RXA('0.5', 'CP', 'D'));
  assert.equal(deleted.status, 'entered-in-error');
  assert.equal(deleted.id, given.id);
  assert.equal(imm(RXA('0.5', 'RE')).status, 'not-done');
  assert.equal(imm(RXA('999')).doseQuantity, undefined);
  const refused = run(...VXU('RXA|0|1|20261115||'));
  assert.ok(!refused.ok);
  assert.deepEqual(
    refused.issues.filter((i) => i.severity === 'error').map((i) => i.path),
    ['RXA-5'],
  );
  // An ORM does not read RXA; a VXU's ORC is the immunization's identifiers, not an order.
  assert.equal(only(run(...VXU(RXA())), 'ServiceRequest').length, 0);
});

test('the clinical store accepts both: CVX and LOINC codes, times as instants, the dose in mL', () => {
  const path = fhirPath(context);
  const order = path.item(only(run(...ORM('NW')), 'ServiceRequest')[0]!);
  assert.ok(order.ok, JSON.stringify(order.issues));
  assert.deepEqual(order.value.code, { system: 'http://loinc.org', code: '2345-7' });
  assert.equal(order.value.effective?.instant, '2026-12-01T14:30:00.000Z');
  assert.equal(order.value.enteredInError, false);
  const imm = path.item(only(run(...VXU(RXA())), 'Immunization')[0]!);
  assert.ok(imm.ok, JSON.stringify(imm.issues));
  assert.deepEqual(imm.value.code, { system: 'http://hl7.org/fhir/sid/cvx', code: '140' });
  assert.deepEqual(imm.value.effective, { instant: '2026-11-15T05:00:00.000Z', precision: 'day' });
  assert.deepEqual(imm.value.value, { value: 0.5, unit: 'mL', originalValue: '0.5', originalUnit: 'mL' });
  const deleted = path.item(only(run(...VXU(RXA('0.5', 'CP', 'D'))), 'Immunization')[0]!);
  assert.ok(deleted.ok);
  assert.equal(deleted.value.enteredInError, true);
});

test('ORU^R01: the report is basedOn the ServiceRequest its ORM created (same order numbers); no number, no basedOn', () => {
  const [order] = only(run(...ORM('NW')), 'ServiceRequest');
  const oru = (obr: string) =>
    only(
      run(msh('ORU^R01^ORU_R01', 'R1'), PID, obr, 'OBX|1|NM|2345-7^Glucose^LN||95|mg/dL^^UCUM|||||F|||20261201100000'),
      'DiagnosticReport',
    );
  const [report] = oru('OBR|1|P100^EHR|F200^LAB^2.16.840.1.999.9^ISO|2345-7^Glucose^LN|||20261201094500||||||||||||||||||F');
  assert.deepEqual(report!.basedOn, [{ reference: `ServiceRequest/${order!.id}` }]);
  const [unnumbered] = oru('OBR|1|||2345-7^Glucose^LN|||20261201094500||||||||||||||||||F');
  assert.equal(unnumbered!.basedOn, undefined);
});
