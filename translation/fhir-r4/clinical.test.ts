import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVendorProfile } from '../../platform/config.ts';
import { condition, medicationRequest, observation, subjectPatientId, type SourceContext } from './clinical.ts';

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
