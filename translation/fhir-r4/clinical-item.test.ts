// The one translation path to canonical items: every clinical type, its code, time, value and
// lineage; the same fact from two vendors gets one fact key; refusals say why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTerminology } from '../terminology/translate.ts';
import { CLINICAL_FIELDS } from './clinical-fields.ts';
import { toCanonicalItem, versionOrder, type ItemContext } from './clinical-item.ts';

const ctx: ItemContext = {
  source: 'epic-a',
  timeZone: 'America/New_York',
  retrievedAt: '2026-12-01T10:00:00Z',
  softwareVersion: 't',
  terminology: loadTerminology(),
};
const subject = { reference: 'Patient/p1' };
const snomed = (code: string) => ({ coding: [{ system: 'http://snomed.info/sct', code }] });

test('every clinical type gives its code, its time as an instant with precision, and its subject', () => {
  const examples = [
    { resourceType: 'Condition', id: 'a', subject, code: snomed('44054006'), onsetDateTime: '2019' },
    {
      resourceType: 'Procedure',
      id: 'b',
      status: 'completed',
      subject,
      code: snomed('73761001'),
      performedPeriod: { start: '2020-05-01T09:00:00-04:00' },
    },
    {
      resourceType: 'Encounter',
      id: 'c',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject,
      type: [snomed('185349003')],
      period: { start: '2020-05-01' },
    },
    {
      resourceType: 'MedicationStatement',
      id: 'd',
      status: 'active',
      subject,
      medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '860975' }] },
      effectiveDateTime: '2020-05',
    },
    {
      resourceType: 'ServiceRequest',
      id: 'e',
      status: 'active',
      intent: 'order',
      subject,
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '71046' }] },
      authoredOn: '2020-05-02T08:15:00-04:00',
    },
    {
      resourceType: 'Immunization',
      id: 'f',
      status: 'completed',
      patient: subject,
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] },
      occurrenceDateTime: '2020-10-01',
      lotNumber: 'L1',
      doseQuantity: { value: 0.5, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' },
    },
  ];
  const got = examples.map((r) => toCanonicalItem(r, ctx));
  for (const g of got) assert.ok(g.ok, JSON.stringify(g.issues));
  const values = got.map((g) =>
    g.ok ? [g.value.code?.code, g.value.effective?.instant, g.value.effective?.precision, g.value.subjectId] : [],
  );
  assert.deepEqual(values, [
    ['44054006', '2019-01-01T05:00:00.000Z', 'year', 'p1'],
    ['73761001', '2020-05-01T13:00:00.000Z', 'second', 'p1'],
    ['185349003', '2020-05-01T04:00:00.000Z', 'day', 'p1'],
    ['860975', '2020-05-01T04:00:00.000Z', 'month', 'p1'],
    ['71046', '2020-05-02T12:15:00.000Z', 'second', 'p1'],
    ['140', '2020-10-01T04:00:00.000Z', 'day', 'p1'],
  ]);
  // A vaccine's dose is its value, in UCUM, like a result's quantity.
  assert.deepEqual(got[5]!.ok && got[5]!.value.value, { value: 0.5, unit: 'mL', originalValue: '0.5', originalUnit: 'mL' });
  // A year stays a year in the canonical resource.
  assert.equal(got[0]!.ok && got[0]!.value.resource.onsetDateTime, '2019');
  assert.equal(Object.keys(CLINICAL_FIELDS).length, 12);
});

test('the same fact from two vendors (vendor code and local time vs LOINC and UTC) has one fact key', () => {
  const epic = toCanonicalItem(
    {
      resourceType: 'Observation',
      id: 'e1',
      status: 'final',
      subject,
      code: { coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: '1510010' }] },
      effectiveDateTime: '2026-11-30T09:00:00',
      valueQuantity: { value: 100, unit: 'mg/dL' },
    },
    ctx,
  );
  const cerner = toCanonicalItem(
    {
      resourceType: 'Observation',
      id: 'c1',
      status: 'final',
      subject,
      code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
      effectiveDateTime: '2026-11-30T14:00:00Z',
      valueQuantity: { value: 100, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    },
    { ...ctx, source: 'cerner-b' },
  );
  assert.ok(epic.ok && cerner.ok);
  assert.equal(epic.value.factKey, cerner.value.factKey);
  const other = toCanonicalItem({ ...(cerner.value.resource as object), valueQuantity: { value: 101, unit: 'mg/dL' } }, ctx);
  assert.ok(other.ok);
  assert.notEqual(other.value.factKey, cerner.value.factKey);
});

test('an unmapped code is kept and flagged, never dropped; a number as a string is refused unless the profile repairs it', () => {
  const r = {
    resourceType: 'Observation',
    id: 'x',
    status: 'final',
    subject,
    code: { coding: [{ system: 'urn:local', code: 'ZZ' }] },
    valueQuantity: { value: '5', unit: 'mg/dL' },
  };
  const refused = toCanonicalItem(r, ctx);
  assert.equal(refused.ok, false);
  assert.ok(refused.issues.some((i) => i.severity === 'error' && i.path.startsWith('Observation.value')));
  const repaired = toCanonicalItem(r, { ...ctx, numbersAsStrings: true });
  assert.ok(repaired.ok);
  assert.deepEqual(repaired.value.code, { system: 'urn:local', code: 'ZZ' });
  assert.ok(repaired.value.flags.some((f) => /no concept map/.test(f.message)));
  assert.equal(repaired.value.value?.value, 5);
});

test('version order: a numeric versionId decides, then lastUpdated, then retrieval time', () => {
  const r = (meta: object) => ({ resourceType: 'Observation', meta });
  assert.ok(
    versionOrder(r({ versionId: '10' }), '2026-01-01T00:00:00Z', 'UTC') >
      versionOrder(r({ versionId: '9' }), '2026-06-01T00:00:00Z', 'UTC'),
  );
  assert.ok(
    versionOrder(r({ lastUpdated: '2026-02-01T00:00:00Z' }), '2026-01-01T00:00:00Z', 'UTC') >
      versionOrder(r({ lastUpdated: '2026-01-01T00:00:00Z' }), '2026-06-01T00:00:00Z', 'UTC'),
  );
  assert.ok(versionOrder(r({}), '2026-06-01T00:00:00Z', 'UTC') > versionOrder(r({}), '2026-01-01T00:00:00Z', 'UTC'));
});

test("a CarePlan is named by its SNOMED category, not US Core's generic one; items without a time are never one fact", () => {
  const plan = (id: string, snomedCode: string) => ({
    resourceType: 'CarePlan',
    id,
    status: 'active',
    intent: 'plan',
    subject,
    category: [
      { coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category', code: 'assess-plan' }] },
      snomed(snomedCode),
    ],
    period: { start: '2020-05-01T09:00:00Z' },
  });
  const a = toCanonicalItem(plan('a', '698360004'), ctx);
  const b = toCanonicalItem(plan('b', '734163000'), ctx);
  assert.ok(a.ok && b.ok, JSON.stringify([a.issues, b.issues]));
  assert.deepEqual(a.value.code, { system: 'http://snomed.info/sct', code: '698360004' });
  assert.notEqual(a.value.factKey, b.value.factKey);
  const untimed = (id: string) => toCanonicalItem({ resourceType: 'Condition', id, subject, code: snomed('44054006') }, ctx);
  const [c, d] = [untimed('c'), untimed('d')];
  assert.ok(c.ok && d.ok);
  assert.notEqual(c.value.factKey, d.value.factKey);
});

const bloodPressure = (id: string, systolic: unknown, diastolic: number, unit = 'mm[Hg]') => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  effectiveDateTime: '2026-11-30T09:00:00Z',
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: systolic, unit } },
    { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: diastolic, unit } },
  ],
});

test("a panel's components are normalized, and two readings of one instant are two facts", () => {
  const a = toCanonicalItem(bloodPressure('a', '120', 80, 'mmHg'), { ...ctx, numbersAsStrings: true });
  const same = toCanonicalItem(bloodPressure('b', 120, 80), ctx);
  const other = toCanonicalItem(bloodPressure('c', 135, 80), ctx);
  assert.ok(a.ok && same.ok && other.ok);
  const systolic = (a.value.resource.component as { valueQuantity: Record<string, unknown> }[])[0]!.valueQuantity;
  assert.deepEqual(systolic, { value: 120, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
  assert.ok(a.value.lineage.transformations.some((t) => t.kind === 'unit-spelling' && t.from === 'mmHg'));
  assert.equal(a.value.factKey, same.value.factKey, 'the same reading in a vendor spelling and a string number');
  assert.notEqual(a.value.factKey, other.value.factKey, 'another systolic value at the same instant');
});

test('entered-in-error is read where each type keeps it (status, verificationStatus, lifecycleStatus)', () => {
  const withdrawn = [
    { resourceType: 'Observation', id: 'o', status: 'entered-in-error', subject, code: snomed('271649006') },
    {
      resourceType: 'Condition',
      id: 'c',
      subject,
      code: snomed('44054006'),
      verificationStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' }],
      },
    },
    { resourceType: 'Goal', id: 'g', lifecycleStatus: 'entered-in-error', subject, description: { text: 'walk daily' } },
  ];
  for (const r of withdrawn) {
    const t = toCanonicalItem(r, ctx);
    assert.ok(t.ok, `${r.resourceType}: ${JSON.stringify(t.issues)}`);
    assert.equal(t.value.enteredInError, true, r.resourceType);
  }
  const kept = toCanonicalItem({ ...withdrawn[1], verificationStatus: { coding: [{ code: 'confirmed' }] } }, ctx);
  assert.ok(kept.ok);
  assert.equal(kept.value.enteredInError, false);
});

test('a value converted from another unit is compared at the precision it was sent with', () => {
  const glucose = (id: string, value: number, unit: string) =>
    toCanonicalItem(
      {
        resourceType: 'Observation',
        id,
        status: 'final',
        subject,
        code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
        effectiveDateTime: '2026-11-30T14:00:00Z',
        valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
      },
      ctx,
    );
  const [mass, molar, other, close] = [
    glucose('a', 100, 'mg/dL'),
    glucose('b', 5.55, 'mmol/L'),
    glucose('c', 5.8, 'mmol/L'),
    glucose('d', 99, 'mg/dL'),
  ];
  assert.ok(mass.ok && molar.ok && other.ok && close.ok);
  assert.equal(molar.value.value?.value, 99.98658, 'the stored value is the conversion, not rounded');
  assert.equal(molar.value.factKey, mass.value.factKey, '5.55 mmol/L states 100 mg/dL');
  assert.notEqual(other.value.factKey, mass.value.factKey, '5.8 mmol/L (104.5 mg/dL) is another value');
  assert.notEqual(close.value.factKey, mass.value.factKey, 'values sent in the preferred unit are compared exactly');
});
