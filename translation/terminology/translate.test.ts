import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../../test/support/env.ts';
import { CERNER_CONDITION_CODES, CERNER_MEDICATION_CODES, CERNER_OBSERVATION_CODES } from '../../simulators/vendors/cerner.ts';
import { CERNER, CERNER_CODE_SETS, EPIC, cernerCodeSet } from '../../simulators/vendors/constants.ts';
import { EPIC_CONDITION_CODES, EPIC_MEDICATION_CODES, EPIC_OBSERVATION_CODES } from '../../simulators/vendors/epic.ts';
import { CONDITION_BY_SNOMED } from '../../simulators/population/catalog.ts';
import { SYSTEMS } from './code-syntax.ts';
import { parseConceptMap } from './concept-maps.ts';
import { OMB_RACE_CATEGORIES, buildTerminology, loadTerminology, translate, translateConcept, type Coding } from './translate.ts';

const terminology = loadTerminology();
const ctx = { terminology, path: 'Observation.code' };
const codes = (list: readonly Coding[]): string[] => list.map((c) => `${c.system ?? ''}|${c.code ?? ''}`);

test('a local code gives its standard coding beside the original, with the map id and version for lineage', () => {
  const local = { system: EPIC.observationCodeSystem, code: '1510010', display: 'GLUCOSE' };
  const r = translate(local, ctx);
  assert.equal(r.unmapped, false);
  assert.deepEqual(codes(r.mapped), [`${SYSTEMS.loinc}|2339-0`]);
  assert.deepEqual(r.codings.at(-1), local, 'the original coding is kept, unchanged');
  assert.deepEqual(r.maps, [{ id: 'epic-observations', url: 'urn:patient-gateway:ConceptMap:epic-observations', version: '1.0.0' }]);
  assert.deepEqual(r.transformations, [
    {
      kind: 'concept-map',
      mapId: 'urn:patient-gateway:ConceptMap:epic-observations|1.0.0',
      from: `${EPIC.observationCodeSystem}|1510010`,
      to: `${SYSTEMS.loinc}|2339-0`,
    },
  ]);
  assert.deepEqual(r.issues, []);
});

test('an unmapped local code is kept and flagged, never dropped', () => {
  const local = { system: EPIC.observationCodeSystem, code: '99999999', display: 'NEW LAB' };
  const r = translate(local, ctx);
  assert.equal(r.unmapped, true);
  assert.deepEqual(r.codings, [local]);
  assert.deepEqual(r.issues, [
    { severity: 'warning', path: 'Observation.code', message: `code of ${EPIC.observationCodeSystem} is in no concept map; kept unmapped` },
  ]);
  assert.ok(!r.issues[0]!.message.includes('99999999'));
  assert.equal(translate({ code: 'x' }, ctx).unmapped, true);
  assert.equal(translate({ system: 'urn:oid:9.9', display: 'text only' }, ctx).unmapped, true);
});

test('a coding already in a standard system needs no map', () => {
  const r = translate({ system: SYSTEMS.loinc, code: '2339-0' }, ctx);
  assert.deepEqual([r.standard, r.unmapped, r.mapped.length, r.transformations.length], [true, false, 0, 0]);
});

test('equivalence is honoured: equivalent, equal and wider map; narrower, inexact and unmatched do not', () => {
  // Wider: Cerner's oral temperature is a body temperature.
  const oral = translate({ system: cernerCodeSet(CERNER_CODE_SETS.observation), code: '703558' }, ctx);
  assert.deepEqual(codes(oral.mapped), [`${SYSTEMS.loinc}|8310-5`]);
  // Unmatched: "Multiple Races" has no single OMB category.
  const multiple = translate({ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.145', code: '9' }, ctx);
  assert.equal(multiple.unmapped, true);
  assert.match(multiple.issues[0]!.message, /only unmatched/);
  // Inexact: HL7 v2 sex "N" (not applicable) is not "other".
  assert.equal(translate({ system: 'http://terminology.hl7.org/CodeSystem/v2-0001', code: 'N' }, ctx).unmapped, true);
  // Narrower: a target more specific than the source would claim what the source never said.
  const m = parseConceptMap(
    {
      resourceType: 'ConceptMap',
      id: 'n',
      url: 'urn:test:n',
      version: '2',
      status: 'active',
      group: [
        {
          source: 'urn:oid:1.2',
          target: SYSTEMS.snomed,
          element: [{ code: 'DM', target: [{ code: '44054006', equivalence: 'narrower', comment: 'type 2 only' }] }],
        },
      ],
    },
    'n.json',
  );
  const narrow = buildTerminology([{ file: 'n.json', map: m, canonical: 'urn:test:n|2' }]);
  const r = translate({ system: 'urn:oid:1.2', code: 'DM' }, { terminology: narrow, path: 'Condition.code' });
  assert.deepEqual([r.unmapped, r.mapped.length], [true, 0]);
  assert.equal(r.issues[0]!.message, 'concept map gives only narrower for this code; kept unmapped');
});

test('administrative gender variants and HL7 v2 sex codes', () => {
  const g = (system: string, code: string): string[] => codes(translate({ system, code }, ctx).mapped);
  assert.deepEqual(g(SYSTEMS.administrativeGender, 'Female'), [`${SYSTEMS.administrativeGender}|female`]);
  assert.deepEqual(g(SYSTEMS.administrativeGender, 'F'), [`${SYSTEMS.administrativeGender}|female`]);
  assert.deepEqual(g('http://terminology.hl7.org/CodeSystem/v2-0001', 'A'), [`${SYSTEMS.administrativeGender}|other`]);
  assert.deepEqual(g(EPIC.legalSexSystem, 'male'), [`${SYSTEMS.administrativeGender}|male`]);
  assert.equal(translate({ system: SYSTEMS.administrativeGender, code: 'female' }, ctx).standard, true);
});

test('race and ethnicity: detailed codes keep their detail and gain the OMB category', () => {
  const r = translate({ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.145', code: '10' }, ctx);
  assert.deepEqual(codes(r.mapped), [`${SYSTEMS.cdcRace}|2034-7`, `${SYSTEMS.cdcRace}|2028-9`]);
  assert.deepEqual(
    r.mapped.filter((c) => OMB_RACE_CATEGORIES.has(c.code ?? '')).map((c) => c.code),
    ['2028-9'],
  );
  const declined = translate({ system: cernerCodeSet(282), code: '309322' }, ctx);
  assert.deepEqual(codes(declined.mapped), [`${SYSTEMS.nullFlavor}|ASKU`]);
  const hispanic = translate({ system: cernerCodeSet(27), code: '309330' }, ctx);
  assert.deepEqual(codes(hispanic.mapped), [`${SYSTEMS.cdcRace}|2135-2`]);
});

test('targetSystems restricts the translation (a diagnosis into ICD-10-CM only)', () => {
  const edg = { system: EPIC.conditionCodeSystem, code: EPIC_CONDITION_CODES['44054006']! };
  assert.deepEqual(codes(translate(edg, ctx).mapped).sort(), [`${SYSTEMS.icd10cm}|E11.9`, `${SYSTEMS.snomed}|44054006`]);
  assert.deepEqual(codes(translate(edg, { ...ctx, targetSystems: [SYSTEMS.icd10cm] }).mapped), [`${SYSTEMS.icd10cm}|E11.9`]);
  const none = translate(edg, { ...ctx, targetSystems: [SYSTEMS.loinc] });
  assert.deepEqual(
    [none.unmapped, none.issues[0]?.message],
    [true, `code of ${EPIC.conditionCodeSystem} is mapped, but not into ${SYSTEMS.loinc}; kept unmapped`],
  );
});

test('translateConcept: standard codings first, originals kept, lineage only for what a map added', () => {
  const local = { system: EPIC.observationCodeSystem, code: '1510010' };
  const loinc = { system: SYSTEMS.loinc, code: '2339-0' };
  // Epic sends LOINC beside its own code: nothing derived, nothing flagged.
  const both = translateConcept({ coding: [loinc, local], text: 'GLUCOSE' }, ctx);
  assert.deepEqual(codes(both.coding), [`${SYSTEMS.loinc}|2339-0`, `${EPIC.observationCodeSystem}|1510010`]);
  assert.deepEqual([both.hasStandard, both.transformations.length, both.issues.length, both.text], [true, 0, 0, 'GLUCOSE']);
  // A feed that sends only the local code gets LOINC from the map.
  const only = translateConcept({ coding: [local] }, ctx);
  assert.deepEqual(codes(only.coding), [`${SYSTEMS.loinc}|2339-0`, `${EPIC.observationCodeSystem}|1510010`]);
  assert.equal(only.transformations.length, 1);
  // The source's LOINC and the map's disagree: both kept, flagged.
  const clash = translateConcept({ coding: [{ system: SYSTEMS.loinc, code: '2345-7' }, local] }, ctx);
  assert.deepEqual(codes(clash.coding), [`${SYSTEMS.loinc}|2345-7`, `${SYSTEMS.loinc}|2339-0`, `${EPIC.observationCodeSystem}|1510010`]);
  assert.deepEqual(
    clash.issues.map((i) => i.message),
    [`the source's own ${SYSTEMS.loinc} coding and the concept map disagree; both kept`],
  );
  // Only unmapped local codes: no standard coding, the original is kept and listed as unmapped.
  const none = translateConcept({ coding: [{ system: EPIC.observationCodeSystem, code: '42' }] }, ctx);
  assert.deepEqual([none.hasStandard, none.coding.length, none.unmapped.length], [false, 1, 1]);
  assert.equal(none.issues[0]!.path, 'Observation.code.coding[0]');
});

test('every local code the Epic and Cerner simulators send maps to the standard codes they send beside it', () => {
  const check = (system: string, local: Record<string, string | { code: string }>, expected: (std: string) => string[]): void => {
    for (const [std, l] of Object.entries(local)) {
      const code = typeof l === 'string' ? l : l.code;
      const r = translate({ system, code }, ctx);
      assert.deepEqual(codes(r.mapped).sort(), expected(std).sort(), `${system}|${code}`);
    }
  };
  const loinc = (c: string): string[] => [`${SYSTEMS.loinc}|${c}`];
  const dx = (sct: string): string[] => [`${SYSTEMS.snomed}|${sct}`, `${SYSTEMS.icd10cm}|${CONDITION_BY_SNOMED.get(sct)!.icd10}`];
  const rx = (c: string): string[] => [`${SYSTEMS.rxnorm}|${c}`];
  check(EPIC.observationCodeSystem, EPIC_OBSERVATION_CODES, loinc);
  check(cernerCodeSet(CERNER_CODE_SETS.observation), CERNER_OBSERVATION_CODES, loinc);
  check(EPIC.conditionCodeSystem, EPIC_CONDITION_CODES, dx);
  check(cernerCodeSet(CERNER_CODE_SETS.condition), CERNER_CONDITION_CODES, dx);
  check(EPIC.medicationCodeSystem, EPIC_MEDICATION_CODES, rx);
  check(CERNER.medicationSynonymSystem, CERNER_MEDICATION_CODES, rx);
});

test(
  'the public Epic-shaped sample: local codes map to the LOINC it sends, legal sex and gender to female',
  { skip: !sharedDataPresent() && SHARED_DATA_MISSING },
  () => {
    const read = (name: string): Record<string, unknown> =>
      JSON.parse(readFileSync(join(SHARED_DATA, 'vendor/epic-derived-radiant', name), 'utf8')) as Record<string, unknown>;
    const obs = read('observation_resource__RESOURCE.json');
    const r = translateConcept(obs.code as { coding: Coding[] }, ctx);
    assert.deepEqual([r.unmapped.length, r.issues.length, r.transformations.length], [0, 0, 0]);
    assert.equal(r.coding[0]?.code, '94500-6');
    const patient = read('patient_resource__RESOURCE.json');
    const gender = translate({ system: SYSTEMS.administrativeGender, code: patient.gender as string }, ctx);
    assert.deepEqual(codes(gender.mapped), [`${SYSTEMS.administrativeGender}|female`]);
    const legal = (patient.extension as { url: string; valueCodeableConcept?: { coding: Coding[] } }[]).find((e) =>
      e.url.endsWith('/legal-sex'),
    );
    assert.deepEqual(codes(translateConcept(legal!.valueCodeableConcept, ctx).coding)[0], `${SYSTEMS.administrativeGender}|female`);
  },
);

test('HL7 v2 race (table 0005, CDC codes) and ethnic group (table 0189) as the v2 corpus sends them', () => {
  const v2 = (table: string, code: string): string[] =>
    codes(translate({ system: `http://terminology.hl7.org/CodeSystem/v2-${table}`, code }, ctx).mapped);
  assert.deepEqual(v2('0005', '2106-3'), [`${SYSTEMS.cdcRace}|2106-3`]);
  assert.deepEqual(v2('0189', 'H'), [`${SYSTEMS.cdcRace}|2135-2`]);
  assert.deepEqual(v2('0189', 'U'), [`${SYSTEMS.nullFlavor}|UNK`]);
  // A pre-2.5 single-letter race code means different things at different senders: kept, flagged.
  assert.equal(translate({ system: 'http://terminology.hl7.org/CodeSystem/v2-0005', code: 'C' }, ctx).unmapped, true);
});
