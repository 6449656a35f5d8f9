import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateAppearances, generatePopulation, truthToCsv, type PopulationOptions } from './generate.ts';
import { identityKey } from './persons.ts';
import { DISCREPANCY, type SiteSpec } from './model.ts';
import type { FhirPatient } from '../fhir-types.ts';
import { CLINICAL_TYPES } from '../site-data.ts';

const TWO_SITES: readonly SiteSpec[] = [
  { id: 'epic-main', vendor: 'epic' },
  { id: 'cerner-main', vendor: 'cerner' },
];
const options = (seed: number, size: number, extra: Partial<PopulationOptions> = {}): PopulationOptions => ({
  seed,
  size,
  sites: TWO_SITES,
  ...extra,
});

test('same seed and size give byte-identical output; another seed gives another population', () => {
  const a = JSON.stringify(generatePopulation(options(7, 300)));
  const b = JSON.stringify(generatePopulation(options(7, 300)));
  const c = JSON.stringify(generatePopulation(options(8, 300)));
  assert.equal(a, b);
  assert.notEqual(a, c);
});

// Generation speed is not timed here (a shared, loaded machine made a 2 s bound fail at 6.5 s): only its result.
test('2000 persons with clinical data', () => {
  const pop = generatePopulation(options(42, 2000));
  assert.equal(new Set(pop.truth.map((t) => t.personId)).size, 2000);
});

test('overlap share and discrepancy mix are roughly as configured', () => {
  const pop = generatePopulation(options(11, 2000));
  const sitesOf = Map.groupBy(pop.truth, (t) => t.personId);
  const multi = [...sitesOf.values()].filter((rows) => rows.length > 1);
  assert.ok(Math.abs(multi.length / 2000 - 0.4) < 0.01, `overlap ${multi.length / 2000}`);
  const singles = [...sitesOf.values()].filter((rows) => rows.length === 1);
  const perSite = Map.groupBy(singles, (rows) => rows[0]!.siteId);
  assert.ok(Math.abs(perSite.get('epic-main')!.length - perSite.get('cerner-main')!.length) <= 2, 'single-site persons split evenly');

  const disturbed = multi.filter((rows) => rows.some((t) => t.discrepancy !== null));
  assert.ok(Math.abs(disturbed.length / multi.length - 0.4) < 0.06, `discrepancy share ${disturbed.length / multi.length}`);
  // At most one discrepant record per person, never at a single-site person.
  for (const rows of sitesOf.values()) assert.ok(rows.filter((t) => t.discrepancy).length <= (rows.length > 1 ? 1 : 0));
  const kinds = Map.groupBy(disturbed, (rows) => rows.find((t) => t.discrepancy)!.discrepancy!);
  for (const kind of Object.values(DISCREPANCY)) assert.ok((kinds.get(kind)?.length ?? 0) > 0, `some ${kind}`);
  const share = (k: string): number => (kinds.get(k as never)?.length ?? 0) / disturbed.length;
  assert.ok(share(DISCREPANCY.nickname) > 0.15 && share(DISCREPANCY.typoFamily) > 0.15 && share(DISCREPANCY.marriedName) > 0.08);
  assert.ok(
    share(DISCREPANCY.swap) < 0.12 && share(DISCREPANCY.dobTypo) + share(DISCREPANCY.dobSwap) < 0.25,
    'swaps and birth-date errors are rare',
  );

  const custom = generatePopulation(options(11, 1000, { overlapShare: 0.1, discrepancyShare: 0 }));
  const customMulti = [...Map.groupBy(custom.truth, (t) => t.personId).values()].filter((r) => r.length > 1);
  assert.ok(Math.abs(customMulti.length / 1000 - 0.1) < 0.01);
  assert.ok(custom.truth.every((t) => t.discrepancy === null));
});

test('with three sites, overlapping persons appear at two or more sites and the rest spread evenly', () => {
  const sites: SiteSpec[] = [...TWO_SITES, { id: 'epic-north', vendor: 'epic' }];
  const pop = generatePopulation({ seed: 5, size: 900, sites });
  const counts = [...Map.groupBy(pop.truth, (t) => t.personId).values()].map((r) => r.length);
  assert.ok(Math.abs(counts.filter((n) => n > 1).length / 900 - 0.4) < 0.01);
  assert.ok(counts.some((n) => n === 3));
  for (const s of sites) assert.ok(pop.sites[s.id]!.patients.length > 250, `${s.id} has its share`);
  const one = generatePopulation({ seed: 5, size: 100, sites: [TWO_SITES[0]!] });
  assert.equal(one.truth.length, 100);
});

test('truth rows match the served resources, and every clinical resource references a patient of its site', () => {
  const pop = generatePopulation(options(3, 400));
  for (const t of pop.truth) {
    const patient = pop.sites[t.siteId]!.patients.find((p) => p.id === t.patientId);
    assert.ok(patient, `${t.siteId}/${t.patientId}`);
    assert.ok(
      patient.identifier.some((i) => i.value === t.mrn && /MRN/.test(i.type?.text ?? '')),
      'the MRN is the patient MRN',
    );
  }
  for (const [siteId, site] of Object.entries(pop.sites)) {
    assert.equal(site.patients.length, pop.truth.filter((t) => t.siteId === siteId).length);
    const ids = new Set(site.patients.map((p) => p.id));
    assert.equal(ids.size, site.patients.length, 'patient ids are unique');
    for (const type of CLINICAL_TYPES) {
      const resourceIds = new Set<string>();
      for (const r of site.resources[type]) {
        assert.equal(r.resourceType, type);
        assert.ok(ids.has(r.subject.reference!.replace('Patient/', '')), `${type}/${r.id} subject`);
        assert.ok(!resourceIds.has(r.id), `${type}/${r.id} unique`);
        resourceIds.add(r.id);
        assert.ok(r.meta.lastUpdated && !Number.isNaN(Date.parse(r.meta.lastUpdated)));
      }
    }
  }
  assert.match(truthToCsv(pop.truth), /^person_id,site_id,patient_id,mrn,discrepancy\nP000001,/);
  assert.equal(truthToCsv(pop.truth).trim().split('\n').length, pop.truth.length + 1);
});

test('discrepancies are what the truth says they are', () => {
  const pop = generatePopulation(options(21, 1500));
  const patientOf = (siteId: string, id: string): FhirPatient => pop.sites[siteId]!.patients.find((p) => p.id === id)!;
  const facts = (p: FhirPatient) => ({ given: p.name[0]!.given![0]!, family: p.name[0]!.family!, birthDate: p.birthDate! });
  for (const rows of Map.groupBy(pop.truth, (t) => t.personId).values()) {
    if (rows.length < 2) continue;
    const [first, ...others] = rows.map((t) => ({ t, f: facts(patientOf(t.siteId, t.patientId)) }));
    for (const { t, f } of others) {
      const base = first!.f;
      switch (t.discrepancy) {
        case null:
          assert.deepEqual(f, base, `${t.personId}: undisturbed records share name and birth date`);
          break;
        case 'nickname':
          assert.notEqual(f.given, base.given);
          assert.equal(f.family, base.family);
          break;
        case 'typo-family':
        case 'married-name':
          assert.notEqual(f.family, base.family);
          assert.equal(f.birthDate, base.birthDate);
          break;
        case 'swap':
          assert.deepEqual([f.given, f.family], [base.family, base.given]);
          break;
        case 'dob-typo':
        case 'dob-swap':
          assert.notEqual(f.birthDate, base.birthDate);
          assert.deepEqual([f.given, f.family], [base.given, base.family]);
          break;
      }
    }
  }
});

test('twins and Jr/Sr pairs are separate persons; no two persons share name and birth date', () => {
  const appearances = generateAppearances(options(42, 2000));
  const people = Map.groupBy(appearances, (a) => a.personId);
  const truthKey = new Map<string, string>();
  for (const [personId, looks] of people) {
    for (const a of looks) {
      const key = identityKey(a.demographics);
      const owner = truthKey.get(key);
      assert.ok(owner === undefined || owner === personId, `${personId} and ${owner} share ${key}`);
      truthKey.set(key, personId);
    }
  }
  const firsts = [...people.values()].map((l) => l[0]!.demographics);
  const twins = firsts.filter((d, i) =>
    firsts.some(
      (e, j) => i !== j && e.family === d.family && e.birthDate === d.birthDate && e.address === d.address && e.given !== d.given,
    ),
  );
  assert.ok(twins.length >= 4, `twins: ${twins.length}`);
  const juniors = appearances.filter((a) => a.demographics.suffix === 'Jr');
  assert.ok(juniors.length >= 2, `juniors: ${juniors.length}`);
});

test('synthetic identifiers only: SSNs in 9xx, phones in 555-01xx, emails at example domains', () => {
  const appearances = generateAppearances(options(9, 800));
  for (const a of appearances) {
    const d = a.demographics;
    if (d.ssn) assert.match(d.ssn, /^9\d{2}-\d{2}-\d{4}$/);
    assert.match(d.phone, /^\d{3}-555-01\d{2}$/);
    if (d.email) assert.match(d.email, /@(mail\.)?example\.(com|org|net)$/);
    assert.match(d.birthDate, /^(19[3-9]\d|20[0-2]\d)-\d{2}-\d{2}$/);
  }
  assert.ok(appearances.filter((a) => a.demographics.ssn).length / appearances.length > 0.6, 'most have an SSN');
});

test('clinical data per appearance stays in the configured ranges and some results are filed at two sites', () => {
  const appearances = generateAppearances(options(4, 600));
  for (const a of appearances) {
    const c = a.clinical;
    assert.ok(c.encounters.length >= 1 && c.encounters.length <= 3);
    assert.ok(c.observations.length >= 4 && c.observations.length <= 15, `${c.observations.length} observations`);
    assert.ok(c.conditions.length <= 4 && c.medications.length <= 3 && c.carePlans.length <= 1);
  }
  const shared = appearances.filter((a) => a.clinical.observations.some((o) => o.shared));
  assert.ok(shared.length > 20);
  for (const a of shared) {
    const twin = appearances.find((b) => b.personId === a.personId && b.site.id !== a.site.id)!;
    const mine = a.clinical.observations.filter((o) => o.shared).map(({ loinc, value, effective }) => ({ loinc, value, effective }));
    const theirs = twin.clinical.observations.filter((o) => o.shared).map(({ loinc, value, effective }) => ({ loinc, value, effective }));
    assert.deepEqual(mine, theirs);
  }
});

test('bad options are refused', () => {
  assert.throws(() => generatePopulation({ seed: 1, size: -1, sites: TWO_SITES }));
  assert.throws(() => generatePopulation({ seed: 1, size: 10, sites: [] }));
  assert.throws(() => generatePopulation({ seed: 1, size: 10, sites: [TWO_SITES[0]!, TWO_SITES[0]!] }));
  assert.throws(() => generatePopulation({ seed: 1, size: 10, sites: TWO_SITES, overlapShare: 2 }));
  assert.throws(() => generatePopulation({ seed: 1, size: 10, sites: [{ id: 'x', vendor: 'athena' as never }] }));
});
