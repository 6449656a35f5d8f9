// Every resource the simulated EHRs serve goes through the one translation path with its vendor's
// profile: each is translated (none refused), the only unmapped codes are the local-only ones no
// map covers on purpose (the pain-score codes of Oracle Health, beside LOINC, and athenahealth,
// alone; Epic's build maps its own),
// and the outside lab results filed at two vendors (glucose in mg/dL at one, mmol/L at the other)
// get one fact key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVendorProfile } from '../../platform/config.ts';
import { generatePopulation } from '../../simulators/index.ts';
import { ATHENA, ATHENA_SYSTEMS, CERNER, EPIC } from '../../simulators/vendors/constants.ts';
import { loadTerminology, profileTerminology, translate } from '../terminology/translate.ts';
import { toCanonicalItem, type CanonicalItem } from './clinical-item.ts';
import { sourceDemographics, sourceScope } from './patient.ts';

const sites = [
  { id: 'epic-a', vendor: 'epic', timeZone: 'America/Chicago' },
  { id: 'cerner-b', vendor: 'cerner', timeZone: 'America/New_York' },
  { id: 'athena-c', vendor: 'athenahealth', timeZone: 'America/New_York' },
] as const;
const pop = generatePopulation({ seed: 7, size: 200, sites });
const all = loadTerminology();
/** The codes each vendor sends that no map covers, on purpose. */
const UNMAPPED: Readonly<Record<string, readonly string[]>> = {
  epic: [],
  cerner: [`${CERNER.codeSetPrefix}72|${CERNER.painScoreCode}`],
  athenahealth: [`${ATHENA_SYSTEMS.vital}|${ATHENA.painScoreCode}`],
};

const translated = new Map<string, Map<string, CanonicalItem>>();
for (const site of sites) {
  const profile = loadVendorProfile(site.vendor === 'athenahealth' ? 'athenahealth' : site.vendor);
  const terminology = profileTerminology(all, profile.conceptMaps);
  const ctx = {
    source: site.id,
    timeZone: site.timeZone,
    retrievedAt: '2026-12-01T00:00:00Z',
    softwareVersion: 't',
    terminology,
    numbersAsStrings: profile.numbersAsStrings,
  };
  const items = new Map<string, CanonicalItem>();
  translated.set(site.id, items);
  test(`${site.vendor}: every resource translates with its profile; only the deliberately local codes stay unmapped`, () => {
    const data = pop.sites[site.id]!;
    const unmapped = new Map<string, number>();
    let count = 0;
    for (const [type, list] of Object.entries(data.resources)) {
      assert.ok(list.length > 0, `${site.vendor} serves ${type}`);
      for (const r of list) {
        const t = toCanonicalItem(r, ctx);
        assert.ok(t.ok, `${type}/${r.id}: ${JSON.stringify(t.issues.filter((i) => i.severity === 'error'))}`);
        items.set(`${type}/${r.id}`, t.value);
        count++;
        for (const f of t.value.flags) {
          if (!/kept unmapped/.test(f.message)) continue;
          const coding = t.value.codes.find((c) => !c.startsWith('http://')) ?? `${type} ${f.path}: ${f.message}`;
          unmapped.set(coding, (unmapped.get(coding) ?? 0) + 1);
        }
        if (type === 'Observation' || type === 'Condition' || type === 'MedicationRequest')
          assert.ok(t.value.code, `${type}/${r.id} has a code`);
      }
    }
    assert.ok(count > 1000, `${count} resources`);
    assert.deepEqual([...unmapped.keys()], UNMAPPED[site.vendor], 'only the deliberately local codes are flagged unmapped');
    if (site.vendor !== 'epic') assert.ok(unmapped.get(UNMAPPED[site.vendor]![0]!)! > 20, 'the pain scores are kept, flagged');
    const races = new Set<string>();
    for (const p of data.patients) {
      const d = sourceDemographics(p as never, sourceScope({ id: site.id }), profile, terminology);
      assert.ok(d.ok && (d.value.gender === 'female' || d.value.gender === 'male'), p.id);
      assert.ok(d.value.mrn, `${p.id} has an MRN`);
      // Race and ethnicity: whatever the vendor codes them with, the profile's maps give CDC codes
      // (or US Core's null flavors); only "Multiple Races" has no single category.
      for (const url of [profile.extensions.race, profile.extensions.ethnicity]) {
        const ext = p.extension?.find((e) => e.url === url);
        const codings = ext?.extension?.filter((e) => e.url === 'ombCategory').map((e) => e.valueCoding!) ?? [];
        const text = ext?.extension?.find((e) => e.url === 'text')?.valueString;
        assert.ok(text, `${p.id}: ${url} has its text`);
        const standard = codings.flatMap((c) =>
          translate(c, { terminology }).codings.filter((x) => /2\.16\.840\.1\.113883\.6\.238|v3-NullFlavor/.test(x.system ?? '')),
        );
        if (text !== 'Multiple Races' && text !== 'Other') assert.ok(standard.length > 0, `${p.id}: ${text} has a standard code`);
        races.add(text!);
      }
    }
    assert.ok(races.size >= 8, [...races].join());
  });
}

test("a map applies by its code's system, whichever connection sends it; a profile needs its maps loaded", () => {
  const atCerner = profileTerminology(all, loadVendorProfile('cerner').conceptMaps);
  // An Epic lab code in an outside result filed at an Oracle Health hospital is still Epic's code.
  const epicCode = { system: EPIC.observationCodeSystem, code: '1510010' };
  assert.equal(translate(epicCode, { terminology: atCerner }).unmapped, false);
  assert.equal(translate({ system: 'urn:oid:2.16.840.1.113883.19.999', code: '1510010' }, { terminology: atCerner }).unmapped, true);
  assert.throws(() => profileTerminology(all, ['urn:patient-gateway:ConceptMap:nowhere']), /not loaded/);
});

test('an outside result filed at two vendors is one fact in normalized units, glucose in mmol/L and mg/dL included', () => {
  const byPerson = Map.groupBy(pop.truth, (t) => t.personId);
  let shared = 0;
  let glucose = 0;
  for (const rows of byPerson.values()) {
    if (rows.length < 2) continue;
    const keys = rows.map((row) => {
      const items = [...translated.get(row.siteId)!.values()].filter(
        (i) => i.subjectId === row.patientId && i.resourceType === 'Observation' && !i.resource.encounter,
      );
      return new Map(items.map((i) => [i.factKey, i]));
    });
    const [first, ...others] = keys;
    for (const [key, item] of first!) {
      if (!others.every((o) => o.has(key))) continue;
      shared++;
      if (item.code?.code === '2339-0') {
        const units = new Set(rows.map((row, i) => keys[i]!.get(key)!.value?.originalUnit));
        if (units.has('mmol/L') && units.has('mg/dL')) glucose++;
      }
    }
    // Every outside result of the first site is found at the others.
    const outside = [...first!.values()].filter((i) => i.code?.system === 'http://loinc.org');
    for (const i of outside)
      assert.ok(
        others.every((o) => o.has(i.factKey)),
        `${rows[0]!.personId} ${i.code?.code} is one fact`,
      );
  }
  assert.ok(shared > 20 && glucose > 3, `${shared} shared results, ${glucose} glucose in both units`);
});
