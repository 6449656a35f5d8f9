// Charts that change while the simulator runs: upsert and newPatient stamp a new version and
// lastUpdated, `_lastUpdated` searches find the change, and the development-only HTTP endpoints
// do the same (and are absent unless devWrites is on).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePopulation } from '../population/generate.ts';
import type { Bundle, FhirPatient } from '../fhir-types.ts';
import { accessToken, testApp } from '../testing.ts';
import { DEV_PATH, startFhirSimulator, type FhirSimulator } from './server.ts';

const pop = generatePopulation({ seed: 11, size: 40, sites: [{ id: 'epic-main', vendor: 'epic' }] });
let sim: FhirSimulator;
let closed: FhirSimulator;
let token: string;

before(async () => {
  const app = await testApp('gateway');
  sim = await startFhirSimulator({
    siteId: 'epic-main',
    vendor: 'epic',
    data: pop.sites['epic-main']!,
    clients: [app.registration],
    devWrites: true,
  });
  closed = await startFhirSimulator({ siteId: 'epic-main', vendor: 'epic', data: pop.sites['epic-main']!, clients: [app.registration] });
  token = await accessToken(app, sim.tokenUrl);
});
after(async () => {
  await sim.close();
  await closed.close();
});

const search = async (query: string): Promise<Bundle> =>
  (await (await fetch(`${sim.url}/Patient?${query}`, { headers: { authorization: `Bearer ${token}` } })).json()) as Bundle;
const ids = (b: Bundle): string[] => (b.entry ?? []).map((e) => e.resource!.id);
const origin = (s: FhirSimulator): string => new URL(s.url).origin;

test('a patient changed and one added are what a _lastUpdated search after the mark returns, newest version first seen', async () => {
  const mark = new Date().toISOString();
  assert.deepEqual(ids(await search(`_lastUpdated=gt${mark}`)), []);
  const first = pop.sites['epic-main']!.patients[0]!;
  const changed = sim.upsert({ ...first, name: [{ ...first.name[0], family: 'Changedname' }] });
  assert.equal(changed.meta.versionId, String(Number(first.meta.versionId ?? 0) + 1));
  const added = sim.newPatient({ family: 'Newperson', given: 'Ada', birthDate: '1990-02-03' });
  assert.deepEqual(ids(await search(`_lastUpdated=ge${mark}`)).sort(), [first.id, added.id].sort());
  assert.deepEqual(ids(await search(`_lastUpdated=lt${mark}&_count=200`)).length, pop.sites['epic-main']!.patients.length - 1);
  // Searchable by its new MRN, shaped like the site's others (same identifier systems, no SSN).
  const mrn = added.identifier.find((i) => i.system === first.identifier[0]!.system)!;
  assert.deepEqual(ids(await search(`identifier=${encodeURIComponent(`${mrn.system}|${mrn.value}`)}`)), [added.id]);
  assert.ok(!added.identifier.some((i) => /ssn/i.test(i.system ?? '')));
  assert.equal(added.address, undefined);
  assert.deepEqual(added.name[0]!.given, ['Ada']);
});

test('the development endpoints add a patient and replace a resource; without devWrites they do not exist', async () => {
  const res = await fetch(`${origin(sim)}${DEV_PATH}/Patient`, {
    method: 'POST',
    body: JSON.stringify({ family: 'Viahttp', given: 'Bo', birthDate: '1971-07-08', gender: 'male' }),
  });
  assert.equal(res.status, 201);
  const created = (await res.json()) as FhirPatient;
  assert.equal(created.meta.versionId, '1');
  const put = await fetch(`${origin(sim)}${DEV_PATH}/Patient/${created.id}`, {
    method: 'PUT',
    body: JSON.stringify({ ...created, active: false }),
  });
  assert.equal(put.status, 200);
  assert.deepEqual(((await put.json()) as FhirPatient).meta.versionId, '2');
  const bad = await fetch(`${origin(sim)}${DEV_PATH}/Patient`, { method: 'POST', body: JSON.stringify({ family: 'X' }) });
  assert.equal(bad.status, 400);
  const absent = await fetch(`${origin(closed)}${DEV_PATH}/Patient`, { method: 'POST', body: '{}' });
  assert.equal(absent.status, 404);
});
