import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConnections, loadVendorProfile } from '../../platform/config.ts';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../../test/support/env.ts';
import { sourceDemographics, sourceScope } from './patient.ts';

const epic = loadVendorProfile('epic');
const cerner = loadVendorProfile('cerner');
const shipped = new Map(loadConnections(undefined, {}).map((c) => [c.id, sourceScope(c)]));
const epicMain = shipped.get('epic-main')!;
const cernerMain = shipped.get('cerner-main')!;

test('Epic: MRN from the profile system, invalid "Female" repaired with a warning', () => {
  const t = sourceDemographics(
    {
      resourceType: 'Patient',
      id: 'eAbc.1',
      gender: 'Female',
      birthDate: '1971-04-02',
      name: [
        { use: 'usual', given: ['Al'] },
        { use: 'official', family: 'Synthetic', given: ['Alma', 'B'] },
      ],
      identifier: [
        { system: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14', type: { text: 'MRN' }, value: 'E0000001' },
        { system: 'urn:oid:9.9.9', value: 'ignored' },
      ],
    },
    epicMain,
    epic,
  );
  assert.ok(t.ok);
  assert.equal(t.value.gender, 'female');
  assert.equal(t.value.mrn, 'E0000001');
  assert.equal(t.value.name?.family, 'Synthetic');
  assert.deepEqual(
    t.value.identifiers.map((i) => i.type),
    ['MR'],
  );
  assert.ok(t.issues.some((i) => i.path === 'Patient.gender' && i.severity === 'warning'));
});

test('gender falls back to the Epic legal-sex extension', () => {
  const t = sourceDemographics(
    {
      resourceType: 'Patient',
      id: 'e1',
      extension: [
        { url: 'http://open.epic.com/FHIR/StructureDefinition/extension/legal-sex', valueCodeableConcept: { coding: [{ code: 'male' }] } },
      ],
    },
    epicMain,
    epic,
  );
  assert.ok(t.ok);
  assert.equal(t.value.gender, 'male');
});

test('Cerner: MRN needs the MR type code; bad birth date becomes null with a warning', () => {
  const t = sourceDemographics(
    {
      resourceType: 'Patient',
      id: '12724066',
      birthDate: '1980-02-30x',
      identifier: [
        {
          system: 'urn:oid:2.16.840.1.113883.6.1000',
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
          value: '1234567',
        },
      ],
    },
    cernerMain,
    cerner,
  );
  assert.ok(t.ok);
  assert.equal(t.value.mrn, '1234567');
  assert.equal(t.value.birthDate, null);
  assert.ok(t.issues.some((i) => i.path === 'Patient.birthDate'));
});

test('a resource without an id is refused (quarantined by the caller)', () => {
  const t = sourceDemographics({ resourceType: 'Patient' }, epicMain, epic);
  assert.equal(t.ok, false);
  assert.ok(t.issues.some((i) => i.severity === 'error' && i.path === 'Patient.id'));
});

test('the Epic-shaped public example translates', { skip: !sharedDataPresent() && SHARED_DATA_MISSING }, () => {
  const resource = JSON.parse(readFileSync(join(SHARED_DATA, 'vendor/epic-derived-radiant/patient_resource__RESOURCE.json'), 'utf8'));
  const t = sourceDemographics(resource, epicMain, epic);
  assert.ok(t.ok, JSON.stringify(t.issues));
  // The example uses a sandbox OID for legal sex and no MRN in our profile's system: both reported, neither fatal.
  assert.equal(t.value.name?.family, resource.name[0].family);
  assert.ok(t.issues.some((i) => i.path === 'Patient.identifier'));
  assert.ok(['female', 'male', null].includes(t.value.gender));
});

const EPIC_MRN = 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14';
const EPIC_EPI = 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0';
const SSN = 'http://hl7.org/fhir/sid/us-ssn';
const epicPatient = (mrnSystem = EPIC_MRN) => ({
  resourceType: 'Patient',
  id: 'e1',
  identifier: [
    { system: mrnSystem, type: { text: 'MRN' }, value: 'E1000007' },
    { system: EPIC_EPI, type: { text: 'EPI' }, value: 'Z1000003' },
    { system: SSN, value: '123-45-6789' },
  ],
});

test("a hospital's own identifiers are stamped with its connection's systems; national ones keep theirs", () => {
  const north = sourceScope({ id: 'epic-north' });
  const t = sourceDemographics(epicPatient(), north, epic);
  assert.ok(t.ok);
  assert.equal(t.value.mrn, 'E1000007');
  assert.deepEqual(t.value.identifiers, [
    { system: 'urn:patient-gateway:connection:epic-north:mr', value: 'E1000007', type: 'MR', source: 'epic-north' },
    { system: 'urn:patient-gateway:connection:epic-north:pi', value: 'Z1000003', type: 'PI', source: 'epic-north' },
    { system: SSN, value: '123-45-6789', type: 'SS', source: 'epic-north' },
  ]);
  // Two Epic hospitals: the same vendor OID in, two systems out.
  const south = sourceDemographics(epicPatient(), sourceScope({ id: 'epic-south' }), epic);
  assert.ok(south.ok);
  assert.equal(south.value.identifiers[0]?.system, 'urn:patient-gateway:connection:epic-south:mr');
  // The shipped simulator connections keep the systems the simulators send.
  const main = sourceDemographics(epicPatient(), epicMain, epic);
  assert.ok(main.ok);
  assert.deepEqual(
    main.value.identifiers.map((i) => i.system),
    [EPIC_MRN, EPIC_EPI, SSN],
  );
});

test("an EHR that sends the hospital's own MRN system (as configured) is read as the MRN", () => {
  const own = 'urn:oid:1.2.840.114350.1.13.999.2.7.5.737384.14';
  const scope = sourceScope({ id: 'epic-north', identifierSystems: { MR: own } });
  const t = sourceDemographics(epicPatient(own), scope, epic);
  assert.ok(t.ok);
  assert.equal(t.value.mrn, 'E1000007');
  assert.deepEqual(t.value.identifiers[0], { system: own, value: 'E1000007', type: 'MR', source: 'epic-north' });
});
