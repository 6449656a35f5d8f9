// The FHIR API over real HTTP: read, search, paging, errors, faults; and a real FHIR client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import { generatePopulation } from '../population/generate.ts';
import type { Bundle, FhirPatient } from '../fhir-types.ts';
import { accessToken, testApp } from '../testing.ts';
import { CERNER, EPIC } from '../vendors/constants.ts';
import { CLINICAL_TYPES } from '../site-data.ts';
import { startFhirSimulator, type FhirSimulator } from './server.ts';

const pop = generatePopulation({
  seed: 5,
  size: 260,
  sites: [
    { id: 'epic-main', vendor: 'epic' },
    { id: 'cerner-main', vendor: 'cerner' },
  ],
});
const sims: Record<'epic' | 'cerner', FhirSimulator> = {} as never;
const tokens: Record<'epic' | 'cerner', string> = {} as never;

before(async () => {
  const app = await testApp('gateway');
  for (const vendor of ['epic', 'cerner'] as const) {
    sims[vendor] = await startFhirSimulator({
      siteId: `${vendor}-main`,
      vendor,
      data: pop.sites[`${vendor}-main`]!,
      clients: [app.registration],
      softwareVersion: '9.9-test',
    });
    tokens[vendor] = await accessToken(app, sims[vendor].tokenUrl);
  }
});
after(async () => {
  await Promise.all(Object.values(sims).map((s) => s.close()));
});

type CapabilityStatement = {
  resourceType: string;
  status: string;
  kind: string;
  fhirVersion: string;
  software: { name: string; version: string };
  implementation: { url: string };
  rest: {
    security: { extension: { url: string; extension: { url: string; valueUri: string }[] }[] };
    resource: { type: string; searchParam: { name: string }[] }[];
  }[];
};
type Outcome = { resourceType: 'OperationOutcome'; issue: { severity: string; code: string; diagnostics?: string }[] };

async function get<T = Bundle>(
  vendor: 'epic' | 'cerner',
  pathOrUrl: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${sims[vendor].url}${pathOrUrl}`;
  const res = await fetch(url, {
    ...init,
    headers: { authorization: `Bearer ${tokens[vendor]}`, ...(init.headers as Record<string, string> | undefined) },
  });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

/** Follows `next` links to the end, returning every resource id seen (with repeats, if any). */
async function walk(vendor: 'epic' | 'cerner', first: string): Promise<{ ids: string[]; total: number; pages: number }> {
  const ids: string[] = [];
  let url: string | undefined = first;
  let total = -1;
  let pages = 0;
  while (url) {
    const { status, body }: { status: number; body: Bundle } = await get(vendor, url);
    assert.equal(status, 200);
    assert.equal(body.type, 'searchset');
    total = body.total;
    pages++;
    for (const e of body.entry ?? []) {
      assert.equal(e.search.mode, 'match');
      assert.equal(e.fullUrl, `${sims[vendor].url}/${e.resource.resourceType}/${e.resource.id}`);
      ids.push(e.resource.id);
    }
    url = body.link.find((l) => l.relation === 'next')?.url;
  }
  return { ids, total, pages };
}

test("base URLs have each vendor's shape", () => {
  assert.match(sims.epic.url, /^http:\/\/127\.0\.0\.1:\d+\/api\/FHIR\/R4$/);
  assert.match(sims.cerner.url, new RegExp(`^http://127\\.0\\.0\\.1:\\d+${CERNER.fhirPath}$`));
  assert.equal(new URL(sims.epic.url).pathname, EPIC.fhirPath);
});

test('metadata is a CapabilityStatement with SMART oauth-uris and the supported searches', async () => {
  for (const vendor of ['epic', 'cerner'] as const) {
    const res = await fetch(`${sims[vendor].url}/metadata`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
    const cs = (await res.json()) as CapabilityStatement;
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.deepEqual([cs.status, cs.kind, cs.fhirVersion], ['active', 'instance', '4.0.1']);
    assert.equal(cs.software.version, '9.9-test');
    assert.equal(cs.implementation.url, sims[vendor].url);
    const rest = cs.rest[0]!;
    const oauth = rest.security.extension.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    assert.equal(oauth?.extension[0]?.valueUri, sims[vendor].tokenUrl);
    assert.deepEqual(
      rest.resource.map((r) => r.type),
      ['Patient', ...CLINICAL_TYPES],
    );
    assert.ok(rest.resource.every((r) => r.type === 'Patient' || r.searchParam.some((p) => p.name === 'patient')));
    const patientParams = rest.resource[0]!.searchParam.map((p) => p.name);
    for (const p of ['_id', 'identifier', '_lastUpdated', '_count']) assert.ok(patientParams.includes(p));
  }
});

test('Patient read, and 404 OperationOutcome for unknown ids and unknown types', async () => {
  const p = pop.sites['epic-main']!.patients[3]!;
  const read = await get<FhirPatient>('epic', `/Patient/${p.id}`);
  assert.equal(read.status, 200);
  assert.deepEqual(read.body, p);
  const missing = await get<Outcome>('epic', '/Patient/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.resourceType, 'OperationOutcome');
  assert.equal(missing.body.issue[0]!.code, 'not-found');
  const unknownType = await get<Outcome>('cerner', '/Practitioner?name=x');
  assert.equal(unknownType.status, 404);
  assert.equal(unknownType.body.resourceType, 'OperationOutcome');
  const obs = pop.sites['cerner-main']!.resources.Observation[0]!;
  assert.deepEqual((await get('cerner', `/Observation/${obs.id}`)).body, obs);
});

test('Patient search by identifier: system|value, bare value, several values', async () => {
  for (const vendor of ['epic', 'cerner'] as const) {
    const patients = pop.sites[`${vendor}-main`]!.patients;
    const [a, b] = [patients[7]!, patients[42]!];
    const mrn = (p: FhirPatient) => p.identifier[0]!;
    const bySystem = await get(vendor, `/Patient?identifier=${encodeURIComponent(`${mrn(a).system}|${mrn(a).value}`)}`);
    assert.deepEqual(
      bySystem.body.entry!.map((e) => e.resource.id),
      [a.id],
    );
    assert.equal(bySystem.body.total, 1);
    const byValue = await get(vendor, `/Patient?identifier=${encodeURIComponent(mrn(b).value!)}`);
    assert.deepEqual(
      byValue.body.entry!.map((e) => e.resource.id),
      [b.id],
    );
    const both = await get(
      vendor,
      `/Patient?identifier=${encodeURIComponent(`${mrn(b).system}|${mrn(b).value},${mrn(a).system}|${mrn(a).value}`)}`,
    );
    assert.deepEqual(
      both.body.entry!.map((e) => e.resource.id),
      [a.id, b.id],
    );
    const wrongSystem = await get(vendor, `/Patient?identifier=${encodeURIComponent(`urn:other|${mrn(a).value}`)}`);
    assert.equal(wrongSystem.body.total, 0);
    assert.equal(wrongSystem.body.entry, undefined);
    const withSsn = patients.find((p) => p.identifier.some((i) => i.system === 'http://hl7.org/fhir/sid/us-ssn'))!;
    const ssn = withSsn.identifier.find((i) => i.system === 'http://hl7.org/fhir/sid/us-ssn')!.value!;
    const bySsn = await get(vendor, `/Patient?identifier=${encodeURIComponent(`http://hl7.org/fhir/sid/us-ssn|${ssn}`)}`);
    assert.deepEqual(
      bySsn.body.entry!.map((e) => e.resource.id),
      [withSsn.id],
    );
  }
});

test('Patient search by _id list and by _lastUpdated', async () => {
  const patients = pop.sites['cerner-main']!.patients;
  const ids = [patients[9]!.id, patients[2]!.id, 'unknown', patients[30]!.id];
  const byIds = await get('cerner', `/Patient?_id=${ids.join(',')}`);
  assert.deepEqual(new Set(byIds.body.entry!.map((e) => e.resource.id)), new Set([patients[9]!.id, patients[2]!.id, patients[30]!.id]));
  assert.equal(byIds.body.total, 3);

  const times = patients.map((p) => Date.parse(p.meta.lastUpdated!)).sort((x, y) => x - y);
  const median = new Date(times[Math.floor(times.length / 2)]!).toISOString();
  const expect = (pred: (t: number) => boolean) =>
    patients
      .filter((p) => pred(Date.parse(p.meta.lastUpdated!)))
      .map((p) => p.id)
      .sort();
  const search = async (q: string) => (await walk('cerner', `${sims.cerner.url}/Patient?${q}&_count=200`)).ids.sort();
  assert.deepEqual(
    await search(`_lastUpdated=ge${median}`),
    expect((t) => t >= Date.parse(median)),
  );
  assert.deepEqual(
    await search(`_lastUpdated=lt${median}`),
    expect((t) => t < Date.parse(median)),
  );
  assert.deepEqual(
    await search(`_lastUpdated=gt2025-01-01&_lastUpdated=le2025-06-30`),
    expect((t) => t >= Date.parse('2025-01-02') && t < Date.parse('2025-07-01')),
  );
  const year = await search('_lastUpdated=2025');
  assert.deepEqual(
    year,
    expect((t) => t >= Date.parse('2025-01-01') && t < Date.parse('2026-01-01')),
  );
  assert.ok(year.length > 0 && year.length < patients.length);
  const bad = await get<Outcome>('cerner', '/Patient?_lastUpdated=yesterday');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.resourceType, 'OperationOutcome');
});

test('paging: following next until the end returns every patient exactly once', async () => {
  for (const vendor of ['epic', 'cerner'] as const) {
    const all = pop.sites[`${vendor}-main`]!.patients.map((p) => p.id);
    const { ids, total, pages } = await walk(vendor, `${sims[vendor].url}/Patient?_count=37`);
    assert.equal(total, all.length);
    assert.deepEqual(ids, all);
    assert.equal(pages, Math.ceil(all.length / 37));
    const defaults = await get(vendor, '/Patient');
    assert.equal(defaults.body.entry!.length, 50, 'default page size 50');
    const capped = await get(vendor, '/Patient?_count=5000');
    assert.equal(capped.body.entry!.length, Math.min(200, all.length), 'page size at most 200');
    const countOnly = await get(vendor, '/Patient?_count=0');
    assert.deepEqual([countOnly.body.total, countOnly.body.entry], [all.length, undefined]);
    const self = defaults.body.link.find((l) => l.relation === 'self')!;
    assert.equal((await get(vendor, self.url)).body.entry!.length, 50);
  }
});

test("Observation search with patient=a,b,c returns exactly those patients' observations", async () => {
  for (const vendor of ['epic', 'cerner'] as const) {
    const site = pop.sites[`${vendor}-main`]!;
    const chosen = [site.patients[1]!.id, site.patients[17]!.id, site.patients[99]!.id];
    const expected = site.resources.Observation.filter((o) => chosen.some((id) => o.subject.reference === `Patient/${id}`)).map(
      (o) => o.id,
    );
    const plain = await walk(vendor, `${sims[vendor].url}/Observation?patient=${chosen.join(',')}&_count=10`);
    assert.deepEqual(plain.ids, expected);
    assert.equal(plain.total, expected.length);
    const prefixed = await walk(
      vendor,
      `${sims[vendor].url}/Observation?patient=${chosen.map((id) => `Patient/${id}`).join(',')}&_count=200`,
    );
    assert.deepEqual(prefixed.ids, expected);
    const subject = await walk(vendor, `${sims[vendor].url}/Observation?subject=${chosen.map((id) => `Patient/${id}`).join(',')}`);
    assert.deepEqual(subject.ids, expected);
    const labs = await walk(vendor, `${sims[vendor].url}/Observation?patient=${chosen.join(',')}&category=laboratory`);
    assert.deepEqual(
      labs.ids,
      site.resources.Observation.filter((o) => expected.includes(o.id) && o.category[0]!.coding![0]!.code === 'laboratory').map(
        (o) => o.id,
      ),
    );
    const heart = await walk(
      vendor,
      `${sims[vendor].url}/Observation?patient=${chosen.join(',')}&code=${encodeURIComponent('http://loinc.org|8867-4')}`,
    );
    assert.ok(heart.ids.every((id) => site.resources.Observation.find((o) => o.id === id)!.code.coding!.some((c) => c.code === '8867-4')));
    // Sixty patients, so that every type has some (administrations need an emergency or inpatient visit).
    const many = new Set(site.patients.slice(0, 60).map((p) => p.id));
    for (const type of CLINICAL_TYPES.filter((t) => t !== 'Observation')) {
      const want = site.resources[type].filter((r) => many.has(r.subject.reference!.slice('Patient/'.length))).map((r) => r.id);
      assert.ok(want.length > 0, `${vendor} ${type}: the chosen patients have some`);
      // Pages of 7: every type pages the same way.
      const got = await walk(vendor, `${sims[vendor].url}/${type}?patient=${[...many].join(',')}&_count=7`);
      assert.deepEqual(got.ids, want, type);
      assert.equal(got.pages, Math.ceil(want.length / 7), type);
    }
  }
});

test('a clinical search without a patient is a 400 OperationOutcome; unknown parameters are ignored', async () => {
  const missing = await get<Outcome>('epic', '/Observation?category=laboratory');
  assert.equal(missing.status, 400);
  assert.equal(missing.body.resourceType, 'OperationOutcome');
  assert.equal(missing.body.issue[0]!.severity, 'error');
  const patient = pop.sites['epic-main']!.patients[0]!.id;
  const lenient = await get('epic', `/Condition?patient=${patient}&_foo=bar&clinical-status=active`);
  assert.equal(lenient.status, 200);
  assert.ok(!lenient.body.link[0]!.url.includes('_foo'), 'the self link names only the parameters applied');
  const badCount = await get<Outcome>('epic', '/Patient?_count=-1');
  assert.equal(badCount.status, 400);
});

test('POST <Type>/_search with a form body works like GET', async () => {
  const site = pop.sites['cerner-main']!;
  const chosen = [site.patients[4]!.id, site.patients[5]!.id];
  const res = await fetch(`${sims.cerner.url}/Observation/_search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.cerner}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ patient: chosen.join(','), _count: '3' }),
  });
  assert.equal(res.status, 200);
  const bundle = (await res.json()) as Bundle;
  const expected = site.resources.Observation.filter((o) => chosen.some((id) => o.subject.reference === `Patient/${id}`)).map((o) => o.id);
  assert.equal(bundle.total, expected.length);
  const next = bundle.link.find((l) => l.relation === 'next')!.url;
  const rest = await walk('cerner', next);
  assert.deepEqual([...bundle.entry!.map((e) => e.resource.id), ...rest.ids], expected);
  const write = await fetch(`${sims.cerner.url}/Patient`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.cerner}`, 'content-type': 'application/fhir+json' },
    body: '{}',
  });
  assert.equal(write.status, 405);
  await write.body?.cancel();
});

test('fhir-kit-client searches, pages and POST-searches the simulator', async () => {
  const client = new Client({ baseUrl: sims.epic.url, bearerToken: tokens.epic });
  let bundle = (await client.search({ resourceType: 'Patient', searchParams: { _count: 100 } })) as unknown as Bundle;
  const ids = bundle.entry!.map((e) => e.resource.id);
  for (;;) {
    const next = client.nextPage({ bundle: bundle as never });
    if (!next) break;
    bundle = (await next) as unknown as Bundle;
    ids.push(...bundle.entry!.map((e) => e.resource.id));
  }
  assert.deepEqual(
    ids,
    pop.sites['epic-main']!.patients.map((p) => p.id),
  );
  const patient = pop.sites['epic-main']!.patients[12]!.id;
  const obs = (await client.search({
    resourceType: 'Observation',
    searchParams: { patient },
    options: { postSearch: true },
  })) as unknown as Bundle;
  assert.equal(obs.total, pop.sites['epic-main']!.resources.Observation.filter((o) => o.subject.reference === `Patient/${patient}`).length);
  const read = (await client.read({ resourceType: 'Patient', id: patient })) as unknown as FhirPatient;
  assert.equal(read.id, patient);
});

test('fault injection: a down EHR answers 503 OperationOutcome, a slow one answers late; requests are counted', async () => {
  const sim = sims.cerner;
  const before = sim.requestCount();
  sim.setFault({ status: 503 });
  try {
    const down = await get<Outcome>('cerner', '/Patient');
    assert.equal(down.status, 503);
    assert.equal(down.body.resourceType, 'OperationOutcome');
    assert.equal(down.body.issue[0]!.code, 'transient');
    // Health checks and token discovery keep working.
    assert.equal((await fetch(`${sim.url}/metadata`)).status, 200);
    assert.equal((await fetch(`${sim.url}/.well-known/smart-configuration`)).status, 200);
  } finally {
    sim.setFault(null);
  }
  assert.equal((await get('cerner', '/Patient?_count=1')).status, 200);
  sim.setFault({ delayMs: 300 });
  try {
    const started = performance.now();
    assert.equal((await get('cerner', '/Patient?_count=1')).status, 200);
    assert.ok(performance.now() - started >= 290, 'delayed');
    // A client that gives up does not hold the server.
    await assert.rejects(
      fetch(`${sim.url}/Patient`, { headers: { authorization: `Bearer ${tokens.cerner}` }, signal: AbortSignal.timeout(50) }),
    );
  } finally {
    sim.setFault(null);
  }
  const started = performance.now();
  assert.equal((await get('cerner', '/Patient?_count=1')).status, 200);
  assert.ok(performance.now() - started < 250, 'fault cleared');
  assert.equal(sim.requestCount() - before, 5);
  assert.throws(() => sim.setFault({ status: 200 }));
});

test('close() ends keep-alive connections and pending delays', async () => {
  const app = await testApp('closer');
  const sim = await startFhirSimulator({ siteId: 'epic-x', vendor: 'epic', data: pop.sites['epic-main']!, clients: [app.registration] });
  const token = await accessToken(app, sim.tokenUrl);
  const res = await fetch(`${sim.url}/Patient?_count=1`, { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  sim.setFault({ delayMs: 60_000 });
  const pending = fetch(`${sim.url}/Patient`, { headers: { authorization: `Bearer ${token}` } }).then(
    (r) => r.status,
    () => 'closed',
  );
  await new Promise((r) => setTimeout(r, 30));
  const started = performance.now();
  await sim.close();
  assert.ok(performance.now() - started < 1000, 'close does not wait for keep-alive or delayed requests');
  assert.equal(await pending, 'closed');
  await assert.rejects(fetch(`${sim.url}/metadata`));
});
