// The Safe Harbor rules of the de-identified view, one by one, and the configuration that ships.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AGE_OVER_89_EXTENSION,
  ageOver89,
  deidentifiedBirthYear,
  deidentifiedClinicalResource,
  deidentifiedPatientResource,
  deidentifiedCount,
  deidentifiedZip3,
  loadSafeHarbor,
  oldestCategoryBirthYear,
} from './safe-harbor.ts';

test('ages over 89 are one "90 or older" category, decided by birth year', () => {
  assert.equal(oldestCategoryBirthYear(2026), 1936);
  // Born 1936: 90 this year (some still 89 until their birthday): no year, in the category, all year long.
  for (const birthDate of ['1936-12-31', '1936-01-01', '1936', '1901-05-05']) {
    assert.equal(deidentifiedBirthYear(birthDate, 2026), null, birthDate);
    assert.equal(ageOver89(birthDate, 2026), true, birthDate);
  }
  // Born 1937: at most 89 on December 31st: the year is shown.
  assert.equal(deidentifiedBirthYear('1937-01-01', 2026), 1937);
  assert.equal(ageOver89('1937-01-01', 2026), false);
  // The category moves on January 1st only.
  assert.equal(deidentifiedBirthYear('1937-06-01', 2027), null);
  // Unknown or unreadable birth dates: nothing shown, category unknown.
  for (const birthDate of [null, undefined, '', 'unknown']) {
    assert.equal(deidentifiedBirthYear(birthDate, 2026), null);
    assert.equal(ageOver89(birthDate, 2026), null);
  }
});

test('three-digit ZIPs of small areas become 000; anything but a US ZIP shows nothing', () => {
  const restricted = new Set(['036', '893']);
  assert.equal(deidentifiedZip3('03601', restricted), '000');
  assert.equal(deidentifiedZip3('89301-1234', restricted), '000');
  assert.equal(deidentifiedZip3('62701', restricted), '627');
  assert.equal(deidentifiedZip3(' 627011234 ', restricted), '627');
  for (const postalCode of [null, undefined, '', '036', 'K1A 0B1', '6270', '627011'])
    assert.equal(deidentifiedZip3(postalCode, restricted), null, String(postalCode));
});

test('counts from 1 to the minimum - 1 are withheld; zero and larger counts are shown', () => {
  assert.deepEqual(
    [0, 1, 10, 11, 500].map((n) => deidentifiedCount(n, 11)),
    [0, null, null, 11, 500],
  );
  assert.equal(deidentifiedCount(1, 1), 1);
});

test('the shipped configuration: minimum 11 and the 17 prefixes HHS lists for the 2000 census', () => {
  const c = loadSafeHarbor();
  assert.equal(c.minimumCount, 11);
  assert.deepEqual([...c.restrictedZip3].sort(), [
    '036',
    '059',
    '063',
    '102',
    '203',
    '556',
    '692',
    '790',
    '821',
    '823',
    '830',
    '831',
    '878',
    '879',
    '884',
    '890',
    '893',
  ]);
});

test('a configuration that cannot be applied is refused at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'safe-harbor-'));
  for (const [name, content] of [
    ['zero.json', { minimumCount: 0, restrictedZip3: { prefixes: [] } }],
    ['zip.json', { minimumCount: 11, restrictedZip3: { prefixes: ['36'] } }],
    ['none.json', { minimumCount: 11 }],
  ] as const) {
    writeFileSync(join(dir, name), JSON.stringify(content));
    assert.throws(() => loadSafeHarbor(join(dir, name)), new RegExp(name));
  }
});

test('a de-identified Patient resource: the id, gender, birth year, three-digit ZIP and the 90+ category only', () => {
  const restricted = new Set(['036']);
  assert.deepEqual(
    deidentifiedPatientResource({ id: 'g1', gender: 'female', birthDate: '1960-05-10', postalCode: '60601' }, 2026, restricted),
    {
      resourceType: 'Patient',
      id: 'g1',
      extension: [{ url: AGE_OVER_89_EXTENSION, valueBoolean: false }],
      gender: 'female',
      birthDate: '1960',
      address: [{ postalCode: '606', country: 'US' }],
    },
  );
  // 90 or older: no year; a small area: 000; nothing known: nothing shown.
  const old = deidentifiedPatientResource({ id: 'g2', gender: null, birthDate: '1930-01-01', postalCode: '03601' }, 2026, restricted);
  assert.deepEqual(
    [old.birthDate, old.address, old.extension],
    [undefined, [{ postalCode: '000', country: 'US' }], [{ url: AGE_OVER_89_EXTENSION, valueBoolean: true }]],
  );
  assert.deepEqual(deidentifiedPatientResource({ id: 'g3', gender: null, birthDate: null, postalCode: null }, 2026, restricted), {
    resourceType: 'Patient',
    id: 'g3',
  });
});

test('a de-identified clinical resource keeps codes, statuses, values and years: nothing else, whatever the source sent', () => {
  const observation = {
    resourceType: 'Observation',
    id: 'MRN-12345-obs',
    identifier: [{ system: 'urn:mrn', value: '12345' }],
    text: { status: 'generated', div: '<div>Jane Roe, HbA1c</div>' },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }], text: 'Lab' }],
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }], text: "Jane's A1c" },
    subject: { reference: 'Patient/MRN-12345', display: 'Jane Roe' },
    encounter: { reference: 'Encounter/E9' },
    performer: [{ reference: 'Practitioner/P1', display: 'Dr Who' }],
    effectiveDateTime: '2025-06-03T09:15:00-05:00',
    issued: '2025-06-03T10:00:00Z',
    valueQuantity: { value: 9.5, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
    note: [{ text: 'called the patient at home' }],
    extension: [{ url: 'urn:x', valueString: 'anything' }],
  };
  assert.deepEqual(deidentifiedClinicalResource(observation, 'x1', 'g1'), {
    resourceType: 'Observation',
    id: 'x1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    valueQuantity: { value: 9.5, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
    effectiveDateTime: '2025',
    subject: { reference: 'Patient/g1' },
  });
  // Immunization's subject is `patient`; instants become years; a text-only required concept is masked, never its text.
  const immunization = deidentifiedClinicalResource(
    {
      resourceType: 'Immunization',
      status: 'completed',
      vaccineCode: { text: 'flu shot at Jane Roe Pharmacy' },
      patient: { reference: 'Patient/1' },
      occurrenceDateTime: '2024-10-01T12:00:00Z',
    },
    'x2',
    'g2',
  );
  assert.deepEqual(immunization, {
    resourceType: 'Immunization',
    id: 'x2',
    status: 'completed',
    vaccineCode: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'masked' }] },
    occurrenceDateTime: '2024',
    patient: { reference: 'Patient/g2' },
  });
  // Periods to their years.
  const encounter = deidentifiedClinicalResource(
    { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2026-03-15T14:00:00Z', end: '2026-03-16' } },
    'x3',
    'g3',
  );
  assert.deepEqual([encounter.class, encounter.period], [{ code: 'AMB' }, { start: '2026', end: '2026' }]);
});
