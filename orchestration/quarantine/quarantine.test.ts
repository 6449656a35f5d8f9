// Quarantine for integration engineers against a real database: listing with filters and pages,
// re-processing after a concept map changed (the resource loads and leaves quarantine; one still
// refused keeps its new reasons and counts an attempt), a Patient re-linked in the MPI, and the
// unmapped-codes report over stored flags and quarantine reasons.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadVendorProfile, type AdapterConfig, type ConnectionConfig } from '../../platform/config.ts';
import { quarantine } from '../../translation/quarantine.ts';
import { conceptMapDirs } from '../../translation/terminology/concept-maps.ts';
import { loadTerminology } from '../../translation/terminology/translate.ts';
import { loadUnitRules } from '../../translation/units.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import { context, EPIC, EPIC_GLUCOSE, observation, openClinicalTestDb, type ClinicalTestDb } from '../clinical-store/test-helpers.ts';
import { listQuarantine } from './list.ts';
import { reprocessQuarantine, type TranslationConfig } from './reprocess.ts';
import { unmappedCodes } from './unmapped.ts';

const LAB = 'urn:test:lab-codes';
const maps = mkdtempSync(join(tmpdir(), 'q-maps-'));
/** A test map of one local lab code, to `loinc` at `version`. */
const writeMap = (loinc: string, version: string) =>
  writeFileSync(
    join(maps, 'test-lab.json'),
    JSON.stringify({
      resourceType: 'ConceptMap',
      id: 'test-lab',
      url: 'urn:test:ConceptMap:lab',
      version,
      status: 'active',
      group: [
        { source: LAB, target: 'http://loinc.org', element: [{ code: 'LAB-7', target: [{ code: loinc, equivalence: 'equivalent' }] }] },
      ],
    }),
  );
const translation = (): TranslationConfig => ({
  terminology: loadTerminology([...conceptMapDirs({}), maps]),
  units: loadUnitRules(),
  profile: (name) => loadVendorProfile(name),
});

const connections: ConnectionConfig[] = [
  {
    id: EPIC,
    adapter: 'epic',
    baseUrl: 'http://127.0.0.1:1/fhir',
    clientId: 'c',
    scope: 's',
    timeZone: 'America/Chicago',
    timeoutMs: 1000,
  },
];
const adapters: AdapterConfig[] = [{ name: 'epic', recordType: 'EpicRecord', profile: 'epic' }];

let t: ClinicalTestDb;
// LAB-7 first mapped, wrongly, to glucose (mg/dL): a value in % cannot be one, so it is refused.
const mislabelled = observation({ id: 'lab-7', patient: 'pq1', coding: { system: LAB, code: 'LAB-7' }, value: 6.1, unit: '%' });
const noSubject = observation({ id: 'lab-8', patient: 'x', extra: { subject: undefined } });
before(async () => {
  t = await openClinicalTestDb();
  writeMap('2339-0', '1.0.0');
  const ctx = { ...context(EPIC), terminology: translation().terminology };
  const report = await ingestResources(t.db, [mislabelled, noSubject, observation({ id: 'ok-1', patient: 'pq1' })], ctx, t.protection);
  assert.deepEqual(report.quarantined.map((q) => q.resourceId).sort(), ['lab-7', 'lab-8']);
  await quarantine(
    t.db,
    [
      {
        source: 'cerner-b',
        resourceType: 'Observation',
        resourceId: 'c-1',
        issues: [{ severity: 'error', path: 'x', message: 'other' }],
        payload: {},
      },
    ],
    t.protection.sealPayload,
  );
});
after(async () => {
  await t.close();
  rmSync(maps, { recursive: true, force: true });
});

test('lists entries with their OperationOutcome, filtered by source, type and reason, in pages; never the payload', async () => {
  const all = await listQuarantine(t.db, {}, 10);
  assert.deepEqual(
    all.entries.map((e) => `${e.source}/${e.resourceId}`),
    ['cerner-b/c-1', `${EPIC}/lab-7`, `${EPIC}/lab-8`],
  );
  const lab7 = all.entries.find((e) => e.resourceId === 'lab-7')!;
  assert.equal(lab7.attempts, 1);
  assert.equal(lab7.subjectId, 'pq1');
  assert.ok(lab7.outcome.issue.some((i) => i.severity === 'error' && /preferred unit/.test(i.diagnostics)));
  assert.ok(!JSON.stringify(all).includes('6.1'), 'no payload value in a listing');

  const byReason = await listQuarantine(t.db, { source: EPIC, reason: 'PREFERRED UNIT' }, 10);
  assert.deepEqual(
    byReason.entries.map((e) => e.resourceId),
    ['lab-7'],
  );
  assert.deepEqual((await listQuarantine(t.db, { reason: '%' }, 10)).entries, [], 'LIKE characters are matched literally');
  assert.deepEqual((await listQuarantine(t.db, { resourceType: 'Patient' }, 10)).entries, []);

  const p1 = await listQuarantine(t.db, { source: EPIC }, 1);
  assert.equal(p1.hasNextPage, true);
  const p2 = await listQuarantine(t.db, { source: EPIC }, 1, p1.entries[0]);
  assert.deepEqual([p1.entries[0]!.resourceId, p2.entries[0]!.resourceId, p2.hasNextPage], ['lab-7', 'lab-8', false]);
});

test('after the map is corrected, re-processing loads the resource and it leaves quarantine; one still refused counts one more attempt per run', async () => {
  // Unchanged configuration: still refused, nothing loads.
  const same = await reprocessQuarantine(
    { db: t.db, protection: t.protection, connections, adapters, translation },
    { source: EPIC, filter: {} },
  );
  assert.deepEqual(
    same.resources.map((r) => [r.resourceId, r.status]),
    [
      ['lab-7', 'still-refused'],
      ['lab-8', 'still-refused'],
    ],
  );
  writeMap('4548-4', '2.0.0');
  const fixed = await reprocessQuarantine(
    { db: t.db, protection: t.protection, connections, adapters, translation },
    { source: EPIC, filter: { reason: 'preferred unit' } },
  );
  assert.deepEqual(
    fixed.resources.map((r) => [r.resourceId, r.status, r.outcome, r.subjectId]),
    [['lab-7', 'reloaded', null, 'pq1']],
  );
  const item = (
    await t.db.query<{ code: string; map_ids: string[]; value_unit: string }>(
      "SELECT code, map_ids, value_unit FROM clinical_item WHERE source = $1 AND resource_id = 'lab-7'",
      [EPIC],
    )
  ).rows;
  assert.deepEqual(item, [{ code: '4548-4', map_ids: ['urn:test:ConceptMap:lab|2.0.0'], value_unit: '%' }]);
  const left = (await listQuarantine(t.db, { source: EPIC }, 10)).entries;
  assert.deepEqual(
    left.map((e) => [e.resourceId, e.attempts]),
    [['lab-8', 2]],
  );
  assert.ok(left[0]!.outcome.issue.some((i) => i.severity === 'error' && /subject/.test(i.expression?.join() ?? '')));
});

test('a filter takes the least recently seen first: repeated calls work through more than one call holds', async () => {
  const deps = { db: t.db, protection: t.protection, connections, adapters, translation };
  await quarantine(
    t.db,
    ['w-1', 'w-2'].map((id) => ({
      source: EPIC,
      resourceType: 'Observation',
      resourceId: id,
      issues: [{ severity: 'error' as const, path: 'Observation.subject', message: 'missing subject' }],
      payload: observation({ id, patient: 'x', extra: { subject: undefined } }),
    })),
    t.protection.sealPayload,
  );
  const seen = [];
  for (let i = 0; i < 2; i++)
    seen.push(...(await reprocessQuarantine(deps, { source: EPIC, filter: { reason: 'missing subject' } }, 1)).resources);
  assert.deepEqual(seen.map((r) => r.resourceId).sort(), ['w-1', 'w-2']);
});

test('by key; an unknown source is refused; a Patient refused under older rules is linked in the MPI and leaves quarantine', async () => {
  const deps = { db: t.db, protection: t.protection, connections, adapters, translation };
  await assert.rejects(reprocessQuarantine(deps, { source: 'nowhere', filter: {} }), { code: 'NOT_FOUND' });
  // A map that cannot be loaded stops the call before anything is opened: the entries stay as they were.
  const before = await listQuarantine(t.db, { source: EPIC }, 50);
  writeFileSync(join(maps, 'broken.json'), '{ not json');
  try {
    await assert.rejects(reprocessQuarantine(deps, { source: EPIC, filter: {} }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'CONFIGURATION_INVALID');
      assert.match(e.message, /broken\.json/);
      return true;
    });
  } finally {
    rmSync(join(maps, 'broken.json'));
  }
  assert.deepEqual(await listQuarantine(t.db, { source: EPIC }, 50), before);
  const patient = {
    resourceType: 'Patient',
    id: 'pq-9',
    identifier: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14', type: { text: 'MRN' }, value: 'M9' }],
    name: [{ family: 'Testperson', given: ['Quinn'] }],
    birthDate: '1980-02-03',
    gender: 'female',
  };
  const bad = { resourceType: 'Patient', name: [{ family: 'Noid' }] };
  await quarantine(
    t.db,
    [
      {
        source: EPIC,
        resourceType: 'Patient',
        resourceId: 'pq-9',
        issues: [{ severity: 'error', path: 'Patient', message: 'an older rule' }],
        payload: patient,
      },
      {
        source: EPIC,
        resourceType: 'Patient',
        resourceId: '',
        issues: [{ severity: 'error', path: 'Patient.id', message: 'missing id' }],
        payload: bad,
      },
    ],
    t.protection.sealPayload,
  );
  const keys = (await listQuarantine(t.db, { source: EPIC, resourceType: 'Patient' }, 10)).entries.map((e) => ({
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    payloadKey: e.payloadKey,
  }));
  assert.equal(keys.length, 2);
  const r = await reprocessQuarantine(deps, { source: EPIC, keys });
  assert.deepEqual(r.resources.map((x) => [x.resourceId, x.status]).sort(), [
    ['(no id)', 'still-refused'],
    ['pq-9', 'reloaded'],
  ]);
  const linked = await t.db.query("SELECT golden_id FROM source_record WHERE source = $1 AND source_patient_id = 'pq-9'", [EPIC]);
  assert.equal(linked.rows.length, 1);
  assert.deepEqual(
    (await listQuarantine(t.db, { source: EPIC, resourceType: 'Patient' }, 10)).entries.map((e) => [e.resourceId, e.attempts]),
    [['(no id)', 2]],
  );
});

test('the unmapped-codes report: stored items flagged unmapped, per source and code; quarantine reasons per system', async () => {
  const local = { system: 'urn:test:unknown-codes', code: 'U-1' };
  const ctx = context(EPIC);
  await ingestResources(
    t.db,
    [
      observation({ id: 'u-1', patient: 'pq1', coding: local }),
      observation({ id: 'u-2', patient: 'pq1', coding: local }),
      // Mapped: never in the report, nor is its LOINC coding.
      observation({ id: 'm-1', patient: 'pq1', coding: EPIC_GLUCOSE }),
      // Refused (no subject) and unmapped: counted from its reasons, the code itself stays sealed.
      observation({ id: 'u-3', patient: 'x', coding: local, extra: { subject: undefined } }),
    ],
    ctx,
    t.protection,
  );
  const report = await unmappedCodes(t.db, ctx.terminology.standardSystems);
  const mine = report.filter((r) => r.system === local.system);
  assert.deepEqual(mine, [
    { source: EPIC, system: local.system, code: 'U-1', stored: 2, quarantined: 0 },
    { source: EPIC, system: local.system, code: null, stored: 0, quarantined: 1 },
  ]);
  assert.ok(!report.some((r) => r.system === EPIC_GLUCOSE.system || r.system === 'http://loinc.org'));
});
