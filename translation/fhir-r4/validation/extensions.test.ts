import assert from 'node:assert/strict';
import test from 'node:test';
import { errors, patient, warnings } from './test-helpers.ts';

const vendor = { url: 'http://open.epic.com/FHIR/StructureDefinition/extension/legal-sex', valueCodeableConcept: { text: 'F' } };

test('an unknown extension is a warning by default, an error in the HL7 validator setting, silent when declared known', () => {
  assert.deepEqual(errors(patient({ extension: [vendor] })), []);
  assert.deepEqual(warnings(patient({ extension: [vendor] })), [`Patient.extension[0]: unknown extension ${vendor.url}`]);
  assert.deepEqual(errors(patient({ extension: [vendor] }), { unknownExtensions: 'error' }), [
    `Patient.extension[0]: unknown extension ${vendor.url}`,
  ]);
  assert.deepEqual(warnings(patient({ extension: [vendor] }), { knownExtensionPrefixes: ['http://open.epic.com/'] }), []);
  assert.deepEqual(errors(patient({ modifierExtension: [vendor] })), [`Patient.modifierExtension[0]: unknown extension ${vendor.url}`]);
});

test('extensions on primitive values are checked too', () => {
  const p = patient({ _birthDate: { extension: [{ url: 'http://example.org/age', valueInteger: 3 }] } });
  assert.deepEqual(errors(p, { unknownExtensions: 'error' }), ['Patient.birthDate.extension[0]: unknown extension http://example.org/age']);
});

test('R4 core and US Core extensions are known; their context and value type are checked', () => {
  const race = {
    url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
    extension: [{ url: 'text', valueString: 'Unknown' }],
  };
  assert.deepEqual(
    [...errors(patient({ extension: [race] }), { unknownExtensions: 'error' }), ...warnings(patient({ extension: [race] }))],
    [],
  );
  const mothersFamily = { url: 'http://hl7.org/fhir/StructureDefinition/humanname-mothers-family', valueString: 'Smith' };
  assert.deepEqual(errors(patient({ name: [{ family: 'Garcia', _family: { extension: [mothersFamily] } }] })), []);
  assert.deepEqual(errors(patient({ name: [{ family: 'Garcia', extension: [mothersFamily] }] })), [
    'Patient.name[0].extension[0]: extension http://hl7.org/fhir/StructureDefinition/humanname-mothers-family is not allowed on this element',
  ]);
  const birthPlace = { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueString: 'Somewhere' };
  assert.deepEqual(errors(patient({ extension: [birthPlace] })), [
    'Patient.extension[0]: extension http://hl7.org/fhir/StructureDefinition/patient-birthPlace does not allow a value of type string',
  ]);
});

test('an extension URL carries no version', () => {
  const versioned = { url: 'http://hl7.org/fhir/StructureDefinition/patient-congregation|4.0.1', valueString: 'x' };
  assert.deepEqual(errors(patient({ extension: [versioned] })), ['Patient.extension[0].url: an extension URL must not contain a version']);
});
