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

const read = async (path: string): Promise<{ status: number; body: { resourceType: string; issue?: { code: string }[] } }> => {
  const res = await fetch(`${sim.url}/${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { resourceType: string; issue?: { code: string }[] } };
};

test('DELETE at the EHR: gone from searches, 410 on read, idempotent; a clinical resource too; unknown ids 404', async () => {
  const site = pop.sites['epic-main']!;
  const patient = site.patients[5]!;
  const before = (await search('_count=200')).total;
  const del = (path: string) => fetch(`${origin(sim)}${DEV_PATH}/${path}`, { method: 'DELETE' });
  assert.equal((await del(`Patient/${patient.id}`)).status, 204);
  assert.equal((await del(`Patient/${patient.id}`)).status, 204, 'deleting what is gone succeeds (FHIR DELETE is idempotent)');
  assert.equal((await del('Patient/never-was')).status, 404);
  const gone = await read(`Patient/${patient.id}`);
  assert.equal(gone.status, 410);
  assert.equal(gone.body.issue?.[0]?.code, 'deleted');
  assert.equal((await read('Patient/never-was')).status, 404);
  const after = await search('_count=200');
  assert.equal(after.total, before - 1);
  assert.ok(!ids(after).includes(patient.id));
  assert.deepEqual(ids(await search(`_id=${patient.id}`)), []);
  // A clinical resource: gone from its patient's list.
  const obs = site.resources.Observation.find((o) => o.subject.reference !== `Patient/${patient.id}`)!;
  const subject = obs.subject.reference!.slice('Patient/'.length);
  assert.equal(sim.remove('Observation', obs.id), true);
  assert.equal(sim.remove('Observation', obs.id), false);
  const list = (await read(`Observation?patient=${subject}&_count=200`)).body as unknown as Bundle;
  assert.ok(!ids(list).includes(obs.id));
  assert.equal((await read(`Observation/${obs.id}`)).status, 410);
  // Created again (an undelete): served again, read answers it.
  sim.upsert(patient);
  assert.equal((await read(`Patient/${patient.id}`)).status, 200);
});

test('_elements answers subsets tagged SUBSETTED, kept on next links; searchLimit truncates a search that looks whole', async () => {
  const page = await search('_elements=id&_count=7');
  const first = page.entry![0]!.resource as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(first).sort(), ['id', 'meta', 'resourceType']);
  assert.ok(((first.meta as { tag: { code: string }[] }).tag ?? []).some((t) => t.code === 'SUBSETTED'));
  const next = page.link.find((l) => l.relation === 'next')!.url;
  assert.match(next, /_elements=id/);
  const all = (await search('_count=200')).total;
  sim.setFault({ searchLimit: 3 });
  try {
    const cut = await search('_count=200');
    assert.equal(cut.total, 3);
    assert.equal(ids(cut).length, 3);
    assert.equal(
      cut.link.some((l) => l.relation === 'next'),
      false,
    );
  } finally {
    sim.setFault(null);
  }
  assert.equal((await search('_count=200')).total, all);
});
