import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePopulation } from '../population/generate.ts';
import type { Coding } from '../fhir-types.ts';
import { CLINICAL_TYPES } from '../site-data.ts';
import { ATHENA, ATHENA_SYSTEMS, CERNER, EPIC, STANDARD, cernerCodeSet } from './constants.ts';

const pop = generatePopulation({
  seed: 42,
  size: 2000,
  sites: [
    { id: 'epic-main', vendor: 'epic' },
    { id: 'cerner-main', vendor: 'cerner' },
  ],
});
const epic = pop.sites['epic-main']!;
const cerner = pop.sites['cerner-main']!;

test("the translation layer's constants are exactly these", () => {
  assert.equal(EPIC.mrnSystem, 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14');
  assert.equal(EPIC.epiSystem, 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0');
  assert.equal(EPIC.legalSexExtension, 'http://open.epic.com/FHIR/StructureDefinition/extension/legal-sex');
  assert.equal(EPIC.legalSexSystem, 'urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.130.657370.19999000');
  assert.equal(EPIC.observationCodeSystem, 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282');
  assert.equal(EPIC.observationCategorySystem, 'urn:oid:1.2.840.114350.1.13.0.1.7.10.798268.30');
  assert.equal(CERNER.mrnSystem, 'urn:oid:2.16.840.1.113883.6.1000');
  assert.equal(CERNER.federatedPersonSystem, 'urn:oid:2.16.840.1.113883.3.13.6');
  assert.equal(cernerCodeSet(72), 'https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/72');
  assert.equal(STANDARD.ssn, 'http://hl7.org/fhir/sid/us-ssn');
});

test('Epic patients: opaque ids, MRN/EPI/SSN identifiers, legal-sex extension, ~3% invalid gender', () => {
  for (const p of epic.patients) {
    assert.match(p.id, /^e[A-Za-z0-9.]{43}$/);
    const [mrn, epi, ssn] = p.identifier;
    assert.deepEqual(mrn, { use: 'usual', type: { text: 'MRN' }, system: EPIC.mrnSystem, value: mrn!.value });
    assert.match(mrn!.value!, /^E\d{7}$/);
    assert.deepEqual(epi, { use: 'usual', type: { text: 'EPI' }, system: EPIC.epiSystem, value: epi!.value });
    assert.match(epi!.value!, /^Z\d{7}$/);
    if (ssn) assert.deepEqual(Object.keys(ssn), ['system', 'value']);
    const legalSex = p.extension?.find((e) => e.url === EPIC.legalSexExtension)?.valueCodeableConcept?.coding?.[0];
    assert.equal(legalSex?.system, EPIC.legalSexSystem);
    assert.ok(legalSex?.code === 'female' || legalSex?.code === 'male');
    assert.equal(legalSex.display, legalSex.code === 'female' ? 'Female' : 'Male');
    assert.equal(p.gender?.toLowerCase(), legalSex.code);
    const name = p.name[0]!;
    assert.equal(name.use, 'official');
    assert.ok(name.text!.startsWith(`${name.given![0]} ${name.family}`));
    assert.match(p.birthDate!, /^\d{4}-\d{2}-\d{2}$/);
  }
  const invalid = epic.patients.filter((p) => p.gender === 'Female' || p.gender === 'Male').length / epic.patients.length;
  assert.ok(invalid > 0.015 && invalid < 0.05, `invalid gender share ${invalid}`);
  assert.equal(new Set(epic.patients.map((p) => p.identifier[0]!.value)).size, epic.patients.length, 'MRNs are unique');
});

test('Epic clinical resources: standard codings with Epic-local codings beside them, zone offsets, Celsius', () => {
  let localOnly = 0;
  let unitless = 0;
  let pain = 0;
  for (const o of epic.resources.Observation) {
    const systems = o.code.coding!.map((c) => c.system);
    const lab = o.category[0]!.coding![0]!.code === 'laboratory';
    if (o.code.coding!.at(-1)!.code === EPIC.painScoreCode) pain++;
    else if (systems.length === 1) localOnly++;
    else assert.deepEqual(systems, [STANDARD.loinc, EPIC.observationCodeSystem]);
    assert.equal(systems.at(-1), EPIC.observationCodeSystem);
    assert.match(o.code.coding!.at(-1)!.code!, /^\d+$/);
    assert.ok(o.category.some((c) => c.coding?.[0]?.system === STANDARD.observationCategory));
    assert.ok(o.category.some((c) => c.coding?.[0]?.system === EPIC.observationCategorySystem));
    // Lab results carry the zone's offset (CST or CDT); flowsheet rows are wall-clock time.
    if (lab) assert.match(o.effectiveDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[56]:00$/);
    else assert.match(o.effectiveDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    assert.equal(typeof o.valueQuantity!.value, 'number');
    if (o.valueQuantity!.unit === undefined) {
      unitless++;
      continue;
    }
    assert.equal(o.valueQuantity!.system, STANDARD.ucum);
    if (o.code.coding![0]!.code === '8310-5') assert.equal(o.valueQuantity!.code, 'Cel');
    if (o.code.coding![0]!.code === '2339-0') assert.equal(o.valueQuantity!.code, 'mg/dL');
  }
  assert.ok(localOnly > 50 && pain > 50 && unitless > pain, `${localOnly} local-only, ${pain} pain scores, ${unitless} without unit`);
  const offsets = new Set(epic.resources.Encounter.map((e) => e.period.start!.slice(19)));
  assert.deepEqual([...offsets].sort(), ['-05:00', '-06:00'], 'America/Chicago: daylight and standard time');
  for (const c of epic.resources.Condition) {
    assert.deepEqual(
      c.code.coding!.map((x) => x.system),
      [STANDARD.snomed, STANDARD.icd10cm, EPIC.conditionCodeSystem],
    );
    assert.match(c.onsetDateTime!, /^\d{4}-\d{2}-\d{2}$/);
  }
  for (const m of epic.resources.MedicationRequest) assert.equal(m.medicationCodeableConcept.coding![0]!.system, STANDARD.rxnorm);
  assert.ok(epic.resources.Observation.every((o) => /^e[A-Za-z0-9.]{43}$/.test(o.id)));
});

test('Cerner patients: numeric ids, MR-typed MRN, Federated Person Principal, lowercase gender', () => {
  for (const p of cerner.patients) {
    assert.match(p.id, /^\d{8}$/);
    const [mrn, fpp] = p.identifier;
    assert.deepEqual(mrn, {
      use: 'usual',
      type: { coding: [{ system: STANDARD.v20203, code: 'MR' }], text: 'MRN' },
      system: CERNER.mrnSystem,
      value: mrn!.value,
    });
    assert.match(mrn!.value!, /^\d{7}$/);
    assert.deepEqual(fpp, {
      use: 'usual',
      type: { text: 'Federated Person Principal' },
      system: CERNER.federatedPersonSystem,
      value: fpp!.value,
    });
    assert.match(fpp!.value!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(p.gender === 'female' || p.gender === 'male');
    assert.ok(p.identifier.slice(2).every((i) => i.system === STANDARD.ssn));
  }
});

test('Cerner clinical resources: Millennium codings first and userSelected, ~30% string numbers, Fahrenheit, UTC with milliseconds', () => {
  const proprietaryFirst = (codings: readonly Coding[], system: string): void => {
    assert.equal(codings[0]!.system, system);
    assert.equal(codings[0]!.userSelected, true);
    assert.ok(codings.slice(1).every((c) => c.userSelected === false && !c.system!.startsWith('https://fhir.cerner.com/')));
  };
  let strings = 0;
  let pain = 0;
  for (const o of cerner.resources.Observation) {
    proprietaryFirst(o.code.coding!, cernerCodeSet(72));
    if (o.code.coding![0]!.code === CERNER.painScoreCode) {
      pain++;
      assert.equal(o.code.coding![1]!.code, CERNER.painScoreLoinc);
      assert.deepEqual(Object.keys(o.valueQuantity!), ['value']);
      continue;
    }
    assert.equal(o.code.coding![1]!.system, STANDARD.loinc);
    if (o.code.coding![1]!.code === '2339-0') {
      assert.equal(o.valueQuantity!.code, 'mmol/L');
      assert.ok(Number(o.valueQuantity!.value) > 2.5 && Number(o.valueQuantity!.value) < 26, String(o.valueQuantity!.value));
    }
    assert.match(o.id, o.category[0]!.coding![0]!.code === 'laboratory' ? /^L-\d+$/ : /^VS-\d+$/);
    assert.match(o.effectiveDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const value = o.valueQuantity!.value;
    if (typeof value === 'string') {
      strings++;
      assert.ok(Number.isFinite(Number(value)));
    }
    if (o.code.coding![1]!.code === '8310-5') {
      assert.equal(o.valueQuantity!.code, '[degF]');
      assert.ok(Number(value) > 94 && Number(value) < 106, `body temperature ${String(value)} degF`);
    }
  }
  const share = strings / (cerner.resources.Observation.length - pain);
  assert.ok(share > 0.25 && share < 0.35, `string share ${share}`);
  assert.ok(pain > 50, `${pain} pain scores`);
  let localOnly = 0;
  for (const c of cerner.resources.Condition) {
    proprietaryFirst(c.code.coding!, cernerCodeSet(400));
    const rest = c.code.coding!.slice(1).map((x) => x.system);
    if (rest.length === 0) localOnly++;
    else assert.deepEqual(rest, [STANDARD.snomed, STANDARD.icd10cm]);
    assert.match(c.onsetDateTime!, /Z$/);
  }
  assert.ok(localOnly > 20 && localOnly < cerner.resources.Condition.length * 0.2, `${localOnly} local-only conditions`);
  for (const m of cerner.resources.MedicationRequest) proprietaryFirst(m.medicationCodeableConcept.coding!, CERNER.medicationSynonymSystem);
  for (const e of cerner.resources.Encounter) proprietaryFirst(e.type![0]!.coding!, cernerCodeSet(71));
  assert.ok(
    [...cerner.resources.Condition, ...cerner.resources.Encounter, ...cerner.resources.MedicationRequest].every((r) => /^\d+$/.test(r.id)),
  );
});

test("the same outside result is filed at both vendors, in each vendor's units", () => {
  // Results filed without an encounter are the outside results (every visit-bound one has an encounter).
  const outside = <T extends { subject: { reference?: string }; encounter?: unknown }>(list: readonly T[]) =>
    Map.groupBy(
      list.filter((o) => !o.encounter),
      (o) => o.subject.reference!,
    );
  const epicOutside = outside(epic.resources.Observation);
  const cernerOutside = outside(cerner.resources.Observation);
  let found = 0;
  let glucose = 0;
  for (const rows of Map.groupBy(pop.truth, (t) => t.personId).values()) {
    if (rows.length < 2) continue;
    const e = rows.find((t) => t.siteId === 'epic-main')!;
    const c = rows.find((t) => t.siteId === 'cerner-main')!;
    const cernerObs = cernerOutside.get(`Patient/${c.patientId}`) ?? [];
    for (const o of epicOutside.get(`Patient/${e.patientId}`) ?? []) {
      const twin = cernerObs.find(
        (x) => x.code.coding![1]!.code === o.code.coding![0]!.code && Date.parse(x.effectiveDateTime) === Date.parse(o.effectiveDateTime),
      );
      assert.ok(twin, 'filed at both');
      if (twin.valueQuantity!.code === 'mmol/L') {
        // Glucose: mmol/L at Oracle Health, mg/dL at Epic; two decimals give the mg/dL back to the unit.
        assert.equal(o.valueQuantity!.code, 'mg/dL');
        assert.equal(Math.round((Number(twin.valueQuantity!.value) * 180.156) / 10), o.valueQuantity!.value);
        glucose++;
      } else assert.equal(Number(twin.valueQuantity!.value), o.valueQuantity!.value);
      found++;
    }
  }
  assert.ok(found > 50 && glucose > 10, `${found} shared results, ${glucose} glucose`);
});

const trio = generatePopulation({
  seed: 11,
  size: 400,
  sites: [
    { id: 'epic-x', vendor: 'epic' },
    { id: 'cerner-y', vendor: 'cerner' },
    { id: 'athena-z', vendor: 'athenahealth', timeZone: 'America/Denver' },
  ],
});
const athena = trio.sites['athena-z']!;

test('athenahealth: practice-scoped ids, identifiers under its OID root, analyte codes beside LOINC, wall-clock times', () => {
  for (const p of athena.patients) {
    assert.match(p.id, new RegExp(`^a-${ATHENA.practiceId}\\.E-\\d+$`));
    const [mrn, enterprise] = p.identifier;
    assert.equal(mrn!.system, ATHENA_SYSTEMS.mrn);
    assert.equal(enterprise!.system, ATHENA_SYSTEMS.enterprise);
    assert.equal(p.id, `a-${ATHENA.practiceId}.E-${enterprise!.value}`);
    assert.ok(p.extension?.every((e) => e.url === STANDARD.usCoreRace || e.url === STANDARD.usCoreEthnicity));
  }
  let analyteOnly = 0;
  for (const o of athena.resources.Observation) {
    assert.match(o.id, new RegExp(`^a-${ATHENA.practiceId}\\.observation-\\d+$`));
    const lab = o.category[0]!.coding![0]!.code === 'laboratory';
    if (lab) assert.match(o.effectiveDateTime, /-0[67]:00$/, 'lab results with the offset (Denver: MST or MDT)');
    else assert.match(o.effectiveDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    const systems = o.code.coding!.map((c) => c.system);
    if (systems.length === 1 && systems[0] === ATHENA_SYSTEMS.analyte) analyteOnly++;
    if (o.code.coding![0]!.code === '29463-7') assert.equal(o.valueQuantity!.code, 'g', 'weight in grams');
  }
  assert.ok(analyteOnly > 20, `${analyteOnly} lab results with the analyte code only`);
  for (const type of CLINICAL_TYPES) {
    assert.ok(athena.resources[type].length > 0, type);
    for (const r of athena.resources[type]) assert.match(r.id, new RegExp(`^a-${ATHENA.practiceId}\\.[a-z]+-\\d+$`), type);
  }
});

test('every vendor renders every type; references inside a site resolve (reports to results, plans to goals and procedures)', () => {
  for (const [id, site] of Object.entries(trio.sites)) {
    const ids = new Set(CLINICAL_TYPES.flatMap((t) => site.resources[t].map((r) => `${t}/${r.id}`)));
    for (const p of site.patients) ids.add(`Patient/${p.id}`);
    for (const type of CLINICAL_TYPES) {
      assert.ok(site.resources[type].length > 20, `${id} ${type}`);
      for (const r of site.resources[type]) {
        const refs = JSON.stringify(r).match(/"reference":"[^"]+"/g) ?? [];
        for (const ref of refs) assert.ok(ids.has(ref.slice(13, -1)), `${id} ${type}/${r.id} → ${ref}`);
      }
    }
    assert.ok(site.resources.DiagnosticReport.every((d) => d.result.length > 0));
    assert.ok(site.resources.CarePlan.some((p) => (p.goal?.length ?? 0) > 0 && (p.activity?.[0]?.outcomeReference?.length ?? 0) > 0));
    assert.ok(site.resources.MedicationAdministration.every((m) => m.dosage?.dose?.value !== undefined));
  }
});

test("race and ethnicity in each vendor's codes: Epic's category list, Millennium code values first, athenahealth's standard codes", () => {
  const omb = (p: { extension?: { url: string; extension?: { url: string; valueCoding?: { system?: string } }[] }[] }, url: string) =>
    p
      .extension!.find((e) => e.url === url)!
      .extension!.filter((x) => x.url === 'ombCategory')
      .map((x) => x.valueCoding!.system);
  for (const p of trio.sites['epic-x']!.patients) assert.deepEqual(omb(p, STANDARD.usCoreRace), [EPIC.raceSystem]);
  for (const p of trio.sites['cerner-y']!.patients) assert.equal(omb(p, STANDARD.usCoreEthnicity)[0], cernerCodeSet(27));
  for (const p of athena.patients) assert.ok(omb(p, STANDARD.usCoreRace).every((s) => s === STANDARD.cdcRace || s === STANDARD.nullFlavor));
  // The same person may be recorded differently (declined at one site), but mostly the same.
  const texts = new Set(
    trio.sites['epic-x']!.patients.map((p) => p.extension!.find((e) => e.url === STANDARD.usCoreRace)!.extension!.at(-1)!.valueString),
  );
  assert.ok(texts.size >= 8, [...texts].join());
});
