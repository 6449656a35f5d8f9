// What translateHl7 emits goes through the existing FHIR path unchanged: the Patient through
// sourceDemographics (the MPI's input) with the hl7v2 vendor profile, every clinical resource
// through toCanonicalItem (the clinical store's input, which validates FHIR R4). Corpus messages
// and a synthetic feed message whose own numbers take the connection's systems.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../../test/support/env.ts';
import { parseMessage } from '../../protocol/hl7v2/er7.ts';
import { translateHl7 } from './translate.ts';
import type { Hl7Translation } from './contract.ts';
import { feedContext, fhirPath } from './test-helpers.ts';

const skip = !sharedDataPresent() && SHARED_DATA_MISSING;
const SAMPLES = join(SHARED_DATA, 'hl7v2', 'fhir-converter', 'samples');
const context = feedContext('hl7-lab', 'America/Chicago', { MR: 'urn:oid:2.16.840.1.999.1', PI: 'urn:oid:2.16.840.1.999.2' });
const path = fhirPath(context);

function throughFhirPath(t: Hl7Translation) {
  assert.ok(t.patient, 'a patient');
  const demographics = path.demographics(t.patient);
  assert.ok(demographics.ok, JSON.stringify(demographics.issues));
  const items = t.resources.map((r) => path.item(r));
  for (const [i, r] of items.entries()) assert.ok(r.ok, `${t.resources[i]!.resourceType}: ${JSON.stringify(r.issues)}`);
  return { demographics: demographics.value, items: items.flatMap((r) => (r.ok ? [r.value] : [])) };
}

test('an ADT^A01 and an ORU^R01 of the corpus pass sourceDemographics and the clinical-store translation', { skip }, () => {
  const adt = translateHl7(parseMessage(readFileSync(join(SAMPLES, 'ADT-A01-01.hl7'), 'utf8')), context);
  assert.ok(adt.ok);
  assert.equal(adt.value.effect, 'upsert-patient');
  const a = throughFhirPath(adt.value);
  assert.equal(a.demographics.birthDate, '1988-08-18');
  assert.equal(a.demographics.gender, 'male');
  assert.deepEqual(
    a.items.map((i) => [i.resourceType, i.code?.code ?? null]),
    [
      // PV1-4 admission type E (emergency): table 0007, no SNOMED map, so the store keeps it as sent.
      ['Encounter', 'E'],
      ['Observation', '8867-4'],
    ],
  );

  const oru = translateHl7(parseMessage(readFileSync(join(SAMPLES, 'LRI_2.0-NG_CBC_Typ_Message.hl7'), 'utf8')), context);
  assert.ok(oru.ok);
  assert.equal(oru.value.effect, 'clinical');
  const o = throughFhirPath(oru.value);
  const report = o.items.find((i) => i.resourceType === 'DiagnosticReport');
  assert.equal(report?.code?.code, '57021-8');
  assert.equal(o.items.filter((i) => i.resourceType === 'Observation').length, 28);
  const rbc = o.items.find((i) => i.code?.code === '26453-1');
  // 20110103143428-0800: the offset sent wins over the connection's zone.
  assert.deepEqual(rbc?.effective, { instant: '2011-01-03T22:34:28.000Z', precision: 'second' });
  assert.equal(rbc?.value?.value, 4.41);
});

const FEED = [
  'MSH|^~\\&|LAB|HOSP|GW|GW|20261201083000||ORU^R01^ORU_R01|M1|P|2.5.1',
  'PID|1||12345^^^HOSP^MR~999-99-9999^^^SSA^SS||Doe^Jane^Q||19800214|F|||1 Main St^^Springfield^IL^62701^USA^H||^PRN^PH^^1^217^5550100',
  'OBR|1|P77|F88^LAB|2345-7^Glucose^LN|||20261201080000|||||||||||||||20261201082500||CH|F',
  'OBX|1|NM|2345-7^Glucose^LN||105|mg/dL^mg/dL^UCUM|70-99|H|||F|||20261201080000',
  'NTE|1||fasting',
].join('\r');

test("a feed's own MRN takes the connection's system and is the MRN the MPI reads; times without offset use the zone", () => {
  const t = translateHl7(parseMessage(FEED), context);
  assert.ok(t.ok, JSON.stringify(t.issues));
  assert.equal(t.value.sourcePatientId, '12345');
  const { demographics, items } = throughFhirPath(t.value);
  assert.equal(demographics.mrn, '12345');
  // The SSN under a bare authority name (SSA) is kept under the standard system, where the MPI keeps SSNs.
  assert.deepEqual(demographics.identifiers, [
    { system: 'urn:oid:2.16.840.1.999.1', value: '12345', type: 'MR', source: 'hl7-lab' },
    { system: 'http://hl7.org/fhir/sid/us-ssn', value: '999-99-9999', type: 'SS', source: 'hl7-lab' },
  ]);
  assert.deepEqual(demographics.name?.given, ['Jane', 'Q']);
  assert.equal(demographics.telecom[0]?.value, '+1 217 5550100');
  const glucose = items.find((i) => i.resourceType === 'Observation');
  // 08:00 in Chicago in December is 14:00 UTC.
  assert.deepEqual(glucose?.effective, { instant: '2026-12-01T14:00:00.000Z', precision: 'second' });
  assert.deepEqual(glucose?.value, { value: 105, unit: 'mg/dL', originalValue: '105', originalUnit: 'mg/dL' });
  assert.deepEqual((glucose?.resource as { note?: unknown }).note, [{ text: 'fasting' }]);
  const report = items.find((i) => i.resourceType === 'DiagnosticReport');
  assert.deepEqual((report?.resource as { result?: unknown }).result, [{ reference: `Observation/${glucose?.resourceId}` }]);
});
