// The public corpus through the one translation path: every resource of the Synthea bundles and
// Bulk NDJSON, the FHIR R4 and US Core examples (bundle entries included) and the Epic-shaped
// resources goes through toCanonicalItem (clinical types) or the Patient translation, and is
// translated or refused with a reason reviewed here; nothing throws. (Validation alone of the R4
// and US Core examples: validation/corpus.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadVendorProfile } from '../../platform/config.ts';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../../test/support/env.ts';
import { loadTerminology } from '../terminology/translate.ts';
import { bundleResources } from './bundle-references.ts';
import { isClinicalType, type FhirJson } from './clinical-fields.ts';
import { toCanonicalItem, type ItemContext } from './clinical-item.ts';
import { sourceDemographics, sourceScope } from './patient.ts';
import { REVIEWED } from './validation/test-helpers.ts';

const skip = !sharedDataPresent() && SHARED_DATA_MISSING;

/** Why a resource may be refused; every error of every refusal must be one of these. */
const REASONS: readonly { readonly reason: RegExp; readonly why: string }[] = [
  {
    reason: /\.subject: missing or unresolvable patient reference/,
    why:
      'no Patient to file it under: no subject, a Group or a farm, a display or an identifier only, a contained patient ' +
      '(#newborn), or a bundle entry without an id: the store keeps clinical data per patient',
  },
  { reason: /\.id: missing id/, why: 'a transaction entry still to be created has no id: nothing to key the item by' },
  {
    reason: /^CarePlan\.contributor: Expected array/,
    why: 'the Epic-shaped sample sends one object where CarePlan.contributor is a list',
  },
  {
    reason:
      /local reference does not name a contained resource \(ref-1\)|contained resource is not referenced from its container \(dom-3\)/,
    why: 'the Epic-shaped samples break the contained-resource rules',
  },
  { reason: /Constraint obs-6 not met/, why: 'the Epic-shaped samples send a dataAbsentReason beside a value' },
  {
    reason: /^ServiceRequest\.(id: invalid resource id|quantity\[x\]\.(value: Invalid JSON type|comparator: code is not in))/,
    why: "the Epic-shaped ServiceRequest's id has characters FHIR ids forbid, and its quantity is strings with a free-text comparator",
  },
  // The faults validation/corpus.test.ts reviewed in the R4 and US Core examples, in the same files.
  ...Object.values(REVIEWED),
];

const terminology = loadTerminology();
const context = (source: string, numbersAsStrings: boolean): ItemContext => ({
  source,
  timeZone: 'America/New_York',
  retrievedAt: '2026-12-01T00:00:00Z',
  softwareVersion: 'corpus',
  terminology,
  numbersAsStrings,
});

type Tally = { translated: number; refused: number; patients: number; refusedFiles: Set<string>; unreviewed: string[]; thrown: string[] };

/** Every resource of a file (a Bundle's entries too, references between entries resolved), translated. */
function translateAll(resources: readonly { where: string; resource: FhirJson }[], profileName: string, source: string): Tally {
  const profile = loadVendorProfile(profileName);
  const ctx = context(source, profile.numbersAsStrings);
  const tally: Tally = { translated: 0, refused: 0, patients: 0, refusedFiles: new Set(), unreviewed: [], thrown: [] };
  const one = (r: FhirJson, where: string): void => {
    if (r.resourceType === 'Bundle') bundleResources(r).forEach((e, i) => one(e, `${where}#entry[${i}]`));
    try {
      const t =
        r.resourceType === 'Patient'
          ? sourceDemographics(r as never, sourceScope({ id: source }), profile, terminology)
          : toCanonicalItem(r, ctx);
      if (r.resourceType === 'Patient') tally.patients++;
      if (t.ok) {
        if (isClinicalType(r.resourceType)) tally.translated++;
        return;
      }
      const errors = t.issues.filter((i) => i.severity === 'error');
      assert.ok(errors.length > 0, `${where}: refused without an error`);
      if (!isClinicalType(r.resourceType) && r.resourceType !== 'Patient') {
        // Not clinical data: refused as such (its own faults are validation/corpus.test.ts's concern).
        assert.ok(
          errors.some((e) => e.path === 'resourceType' && /not a clinical resource type/.test(e.message)),
          where,
        );
        return;
      }
      tally.refused++;
      tally.refusedFiles.add(where);
      for (const e of errors) {
        const line = `${e.path}: ${e.message}`;
        if (!REASONS.some((x) => x.reason.test(line))) tally.unreviewed.push(`${where}: ${line}`);
      }
    } catch (error) {
      tally.thrown.push(`${where}: ${(error as Error).stack ?? String(error)}`);
    }
  };
  for (const { where, resource } of resources) one(resource, where);
  return tally;
}

const jsonFiles = (dir: string): { where: string; resource: FhirJson }[] =>
  readdirSync(join(SHARED_DATA, dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ where: `${dir}/${f}`, resource: JSON.parse(readFileSync(join(SHARED_DATA, dir, f), 'utf8')) as FhirJson }));

const ndjsonLines = (dir: string): { where: string; resource: FhirJson }[] =>
  readdirSync(join(SHARED_DATA, dir))
    .filter((f) => f.endsWith('.ndjson') && f !== 'log.ndjson')
    .sort()
    .flatMap((f) =>
      readFileSync(join(SHARED_DATA, dir, f), 'utf8')
        .split('\n')
        .flatMap((line, i) => (line.trim() ? [{ where: `${dir}/${f}:${i + 1}`, resource: JSON.parse(line) as FhirJson }] : [])),
    );

const settled = (t: Tally): void => {
  assert.deepEqual(t.thrown, [], 'nothing throws');
  assert.deepEqual(t.unreviewed, [], 'every refusal has a reviewed reason');
};

test('Synthea bundles and Bulk NDJSON: every clinical resource and every patient translates', { skip }, () => {
  // Transaction bundles reference their patient as urn:uuid:…: resolved to Patient/<id> within the bundle.
  const bundles = translateAll(jsonFiles('synthea/bundles-r4'), 'fhir-r4', 'synthea');
  settled(bundles);
  assert.equal(bundles.refused, 0, [...bundles.refusedFiles].join(', '));
  assert.ok(bundles.translated > 800 && bundles.patients >= 10, `${bundles.translated} items, ${bundles.patients} patients`);
  const ndjson = translateAll(ndjsonLines('synthea/bulk-ndjson-10-patients'), 'fhir-r4', 'synthea-bulk');
  settled(ndjson);
  assert.equal(ndjson.refused, 0, [...ndjson.refusedFiles].join(', '));
  assert.ok(ndjson.translated > 5000 && ndjson.patients >= 10, `${ndjson.translated} items, ${ndjson.patients} patients`);
});

test('FHIR R4 and US Core examples: translated, or refused for a reviewed reason', { skip }, () => {
  const core = translateAll(jsonFiles('fhir/r4-core'), 'fhir-r4', 'r4-examples');
  settled(core);
  // Counted when reviewed: a change here is a change in what the translation accepts.
  // 51: three ServiceRequest examples name their patient by display only (refused for it, like the others).
  assert.equal(core.refused, 51, [...core.refusedFiles].join('\n'));
  assert.ok(core.translated > 150, `${core.translated} items`);
  const usCore = translateAll(jsonFiles('fhir/us-core'), 'fhir-r4', 'us-core-examples');
  settled(usCore);
  assert.deepEqual([...usCore.refusedFiles], ['fhir/us-core/diagnosticreport-cbc.json']);
  assert.ok(usCore.translated > 100, `${usCore.translated} items`);
});

test('Epic-shaped resources: translated with the Epic profile, or refused for their reviewed faults', { skip }, () => {
  const epic = translateAll(jsonFiles('vendor/epic-derived-radiant'), 'epic', 'epic-sample');
  settled(epic);
  assert.deepEqual([...epic.refusedFiles].sort(), [
    'vendor/epic-derived-radiant/care_plan_resource__RESOURCE.json',
    'vendor/epic-derived-radiant/medication_request_resource__RESOURCE.json',
    'vendor/epic-derived-radiant/observation_resource__RESOURCE.json',
    'vendor/epic-derived-radiant/raw_fhir_resource__RESOURCE.json',
    'vendor/epic-derived-radiant/service_request_resource__RESOURCE.json',
  ]);
  assert.ok(epic.translated >= 6 && epic.patients === 1, `${epic.translated} items, ${epic.patients} patients`);
  // Its invalid gender "Female" is repaired by the administrative-gender concept map, with a warning.
  const [patient] = jsonFiles('vendor/epic-derived-radiant').filter((f) => f.resource.resourceType === 'Patient');
  assert.equal(patient!.resource.gender, 'Female');
  const t = sourceDemographics(patient!.resource as never, sourceScope({ id: 'epic-sample' }), loadVendorProfile('epic'), terminology);
  assert.ok(t.ok && t.value.gender === 'female' && t.issues.some((i) => /administrative-gender concept map/.test(i.message)));
});

test('references between bundle entries resolve to Type/id; others are left as sent', () => {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:p', resource: { resourceType: 'Patient', id: 'p1' } },
      { fullUrl: 'urn:uuid:nid', resource: { resourceType: 'Patient' } },
      {
        fullUrl: 'urn:uuid:o',
        resource: {
          resourceType: 'Observation',
          id: 'o1',
          subject: { reference: 'urn:uuid:p' },
          performer: [{ reference: 'urn:uuid:nid' }, { reference: 'Practitioner/x' }],
        },
      },
    ],
  };
  const [, , obs] = bundleResources(bundle);
  assert.deepEqual(obs, {
    resourceType: 'Observation',
    id: 'o1',
    subject: { reference: 'Patient/p1' },
    performer: [{ reference: 'urn:uuid:nid' }, { reference: 'Practitioner/x' }],
  });
  assert.equal(bundle.entry[2]!.resource.subject!.reference, 'urn:uuid:p', 'the bundle itself is untouched');
});
