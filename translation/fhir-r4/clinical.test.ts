import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVendorProfile } from '../../platform/config.ts';
import {
  condition,
  immunization,
  medicationRequest,
  observation,
  serviceRequest,
  subjectPatientId,
  type SourceContext,
} from './clinical.ts';

const ctx = (profile: string): SourceContext => ({
  source: `${profile}-main`,
  profile: loadVendorProfile(profile),
  timeZone: 'America/New_York',
  retrievedAt: '2026-01-01T00:00:00.000Z',
});

test('Cerner observation: number-as-string coerced, standard coding first, local code kept', () => {
  const t = observation(
    {
      resourceType: 'Observation',
      id: 'VS-1',
      status: 'final',
      subject: { reference: 'Patient/12724066' },
      code: {
        coding: [
          { system: 'https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/72', code: '703558' },
          { system: 'http://loinc.org', code: '8310-5', display: 'Body temperature' },
        ],
      },
      effectiveDateTime: '2024-03-01T14:05:00.000Z',
      valueQuantity: { value: '98.6', unit: 'degF', system: 'http://unitsofmeasure.org', code: '[degF]' },
    },
    ctx('cerner'),
  );
  assert.ok(t.ok);
  assert.equal(t.value.valueQuantity?.value, 98.6);
  assert.equal(t.value.code.coding[0]?.system, 'http://loinc.org');
  assert.equal(t.value.code.coding.length, 2);
  assert.equal(t.value.id, 'cerner-main:VS-1');
  assert.equal(t.value.provenance.resourceId, 'VS-1');
  assert.ok(t.issues.some((i) => i.message.includes('string')));
});

test('an observation with only a vendor-local code is refused unless a concept map gives its standard code', () => {
  const mapped = observation(
    {
      resourceType: 'Observation',
      id: 'y',
      subject: { reference: 'Patient/e1' },
      code: { coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: '8', display: 'Pulse' }] },
    },
    ctx('epic'),
  );
  assert.ok(mapped.ok, JSON.stringify(mapped.issues));
  assert.deepEqual(
    mapped.value.code.coding.map((c) => [c.system, c.code]),
    [
      ['http://loinc.org', '8867-4'],
      ['urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', '8'],
    ],
  );

  const t = observation(
    {
      resourceType: 'Observation',
      id: 'x',
      subject: { reference: 'Patient/e1' },
      code: { coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: '123' }] },
    },
    ctx('epic'),
  );
  assert.equal(t.ok, false);
  assert.ok(t.issues.some((i) => i.path === 'Observation.code'));
});

test('a clinical resource without a subject is refused', () => {
  const t = condition(
    { resourceType: 'Condition', id: 'c', code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] } },
    ctx('epic'),
  );
  assert.equal(t.ok, false);
});

test('condition and medication translate; local date-times become instants', () => {
  const c = condition(
    {
      resourceType: 'Condition',
      id: 'c1',
      subject: { reference: 'Patient/e1' },
      clinicalStatus: { coding: [{ code: 'active' }] },
      code: {
        coding: [
          { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'I10' },
          { system: 'http://snomed.info/sct', code: '38341003' },
        ],
      },
      onsetDateTime: '2020-05-01T10:00:00',
    },
    ctx('epic'),
  );
  assert.ok(c.ok);
  assert.equal(c.value.code.coding[0]?.system, 'http://snomed.info/sct');
  assert.equal(c.value.onset, '2020-05-01T14:00:00.000Z');
  const m = medicationRequest(
    {
      resourceType: 'MedicationRequest',
      id: 'm1',
      subject: { reference: 'Patient/e1' },
      status: 'active',
      medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '860975' }] },
      dosageInstruction: [{ text: 'once daily' }],
    },
    ctx('epic'),
  );
  assert.ok(m.ok);
  assert.equal(m.value.dosageText, 'once daily');
  assert.equal(subjectPatientId({ resourceType: 'Observation', subject: { reference: 'https://ehr.example/fhir/Patient/abc' } }), 'abc');
});

test('an order: code, status, authoredOn as an instant, placer and filler numbers; a local-only code is refused', () => {
  const order = {
    resourceType: 'ServiceRequest',
    id: 'SR-1',
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    identifier: [
      { value: 'P100', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC' }] } },
      { value: 'F200', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'FILL' }] } },
      { value: 'MRN-ish', type: { coding: [{ code: 'MR' }] } },
    ],
    code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '71046', display: 'Chest X-ray' }] },
    authoredOn: '2026-11-30T09:00:00',
  };
  const t = serviceRequest(order, ctx('epic'));
  assert.ok(t.ok, JSON.stringify(t.issues));
  assert.deepEqual(
    { ...t.value, code: t.value.code.coding.map((c) => c.code) },
    {
      id: 'epic-main:SR-1',
      status: 'active',
      intent: 'order',
      code: ['71046'],
      authoredOn: '2026-11-30T14:00:00.000Z',
      orderNumbers: ['PLAC P100', 'FILL F200'],
      provenance: { source: 'epic-main', resourceType: 'ServiceRequest', resourceId: 'SR-1', retrievedAt: '2026-01-01T00:00:00.000Z' },
    },
  );
  const local = serviceRequest(
    { ...order, code: { coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.696580', code: 'X1' }] } },
    ctx('epic'),
  );
  assert.ok(!local.ok);
  assert.deepEqual(
    local.issues.filter((i) => i.severity === 'error').map((i) => i.path),
    ['ServiceRequest.code'],
  );
});

test('an immunization: CVX code, occurrence, lot, dose, primary source; its subject is `patient`', () => {
  const t = immunization(
    {
      resourceType: 'Immunization',
      id: 'IMM-1',
      status: 'completed',
      patient: { reference: 'Patient/p1' },
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] },
      occurrenceDateTime: '2026-10-01T10:30:00-04:00',
      lotNumber: 'L-1',
      primarySource: false,
      doseQuantity: { value: 0.5, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' },
    },
    ctx('cerner'),
  );
  assert.ok(t.ok, JSON.stringify(t.issues));
  assert.deepEqual(
    { ...t.value, vaccineCode: t.value.vaccineCode.coding.map((c) => c.code), provenance: t.value.provenance.resourceId },
    {
      id: 'cerner-main:IMM-1',
      status: 'completed',
      vaccineCode: ['140'],
      occurrence: '2026-10-01T14:30:00.000Z',
      lotNumber: 'L-1',
      doseQuantity: { value: 0.5, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' },
      primarySource: false,
      provenance: 'IMM-1',
    },
  );
});
