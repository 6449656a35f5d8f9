// Layer 1 against a simulated EHR over real HTTP: SMART Backend Services tokens are fetched once,
// reused, refreshed before expiry; a wrong key is an auth failure naming the source; searches
// follow `next` links; a slow EHR is cut off at the connection's timeout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, exportJWK, type CryptoKey } from 'jose';
import { generatePopulation, startFhirSimulator, type FhirSimulator } from '../../simulators/index.ts';
import { SourceError } from '../errors.ts';
import { smartBackendServices } from '../smart/backend-services.ts';
import { fhirConnection, searchableTypesOf } from './client.ts';

const population = generatePopulation({ seed: 3, size: 120, sites: [{ id: 'sim-epic', vendor: 'epic' }] });
let sim: FhirSimulator;
let key: CryptoKey;
before(async () => {
  const pair = await generateKeyPair('RS384', { extractable: true });
  key = pair.privateKey;
  sim = await startFhirSimulator({
    siteId: 'sim-epic',
    vendor: 'epic',
    data: population.sites['sim-epic']!,
    clients: [{ clientId: 'app', publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'RS384' } }],
    tokenTtlSeconds: 3,
  });
});
after(() => sim?.close());

const tokensFor = (privateKey: CryptoKey, timeoutMs = 2000) =>
  smartBackendServices({
    source: 'sim-epic',
    baseUrl: sim.url,
    clientId: 'app',
    scope: 'system/*.rs',
    privateKey,
    kid: 'k',
    alg: 'RS384',
    timeoutMs,
    refreshMarginSeconds: 1,
  });

test('the token endpoint is discovered, the token reused, and refreshed before it expires', async () => {
  const tokens = tokensFor(key);
  const first = await tokens.getToken();
  const [a, b] = await Promise.all([tokens.getToken(), tokens.getToken()]);
  assert.equal(a, first);
  assert.equal(b, first);
  await new Promise((r) => setTimeout(r, 2100)); // ttl 3 s, margin 1 s
  assert.notEqual(await tokens.getToken(), first);
});

test('a client key the EHR does not know is an auth failure that names the source', async () => {
  const stranger = (await generateKeyPair('RS384')).privateKey;
  await assert.rejects(
    tokensFor(stranger).getToken(),
    (e: unknown) =>
      e instanceof SourceError && e.failure === 'AUTH_FAILED' && e.source === 'sim-epic' && e.detail.includes('invalid_client'),
  );
});

test('searchAll follows next links and returns every patient exactly once', async () => {
  const client = fhirConnection({ source: 'sim-epic', baseUrl: sim.url, tokens: tokensFor(key), timeoutMs: 5000 });
  const { resources: all, complete } = await client.searchAll('Patient', { _count: '17' });
  assert.equal(complete, true);
  assert.equal(all.length, population.sites['sim-epic']!.patients.length);
  assert.equal(new Set(all.map((p) => p.id)).size, all.length);
  const ids = all.slice(0, 3).map((p) => p.id!);
  const { resources: observations } = await client.searchAll('Observation', { patient: ids.join(',') });
  assert.ok(observations.length > 0);
  assert.ok(observations.every((o) => ids.some((id) => JSON.stringify(o).includes(`Patient/${id}`))));
});

test('a slow EHR is cut off at the timeout with a TIMEOUT source error', async () => {
  const client = fhirConnection({ source: 'sim-epic', baseUrl: sim.url, tokens: tokensFor(key), timeoutMs: 300 });
  sim.setFault({ delayMs: 1000 });
  try {
    const started = Date.now();
    await assert.rejects(client.searchAll('Patient', {}), (e: unknown) => e instanceof SourceError && e.failure === 'TIMEOUT');
    assert.ok(Date.now() - started < 900);
  } finally {
    sim.setFault(null);
  }
});

test('an EHR answering 503 is an HTTP failure with its status', async () => {
  const client = fhirConnection({ source: 'sim-epic', baseUrl: sim.url, tokens: tokensFor(key), timeoutMs: 2000 });
  await client.searchAll('Patient', { _count: '1' }, { maxPages: 1 }).catch(() => undefined); // warm the token
  sim.setFault({ status: 503 });
  try {
    await assert.rejects(
      client.searchAll('Patient', {}),
      (e: unknown) => e instanceof SourceError && e.failure === 'HTTP_ERROR' && e.httpStatus === 503,
    );
  } finally {
    sim.setFault(null);
  }
});

test('a search reads at most maxPages pages: `stop` knows from the first page total, `truncate` returns the first pages', async () => {
  const client = fhirConnection({ source: 'sim-epic', baseUrl: sim.url, tokens: tokensFor(key), timeoutMs: 5000, maxPages: 3 });
  const patients = population.sites['sim-epic']!.patients.length;
  assert.ok(patients > 10 * 3, 'more than three pages of ten');
  await client.searchAll('Patient', { _count: '1' }); // warm the token

  let before = sim.requestCount();
  const stopped = await client.searchAll('Patient', { _count: '10' });
  assert.deepEqual(
    { complete: stopped.complete, stoppedBy: stopped.stoppedBy, total: stopped.total },
    { complete: false, stoppedBy: 'pages', total: patients },
  );
  assert.equal(sim.requestCount() - before, 1, 'the first page said it would not fit: no second request');

  before = sim.requestCount();
  const truncated = await client.searchAll('Patient', { _count: '10' }, { onOverflow: 'truncate' });
  assert.deepEqual(
    { complete: truncated.complete, stoppedBy: truncated.stoppedBy, read: truncated.resources.length },
    { complete: false, stoppedBy: 'pages', read: 30 },
  );
  assert.equal(sim.requestCount() - before, 3);

  const fits = await client.searchAll('Patient', { _count: '10' }, { maxPages: Math.ceil(patients / 10) });
  assert.deepEqual({ complete: fits.complete, read: fits.resources.length }, { complete: true, read: patients });
});

test('`truncate` returns what was read when the deadline passes after the first page; before it, a TIMEOUT', async () => {
  const client = fhirConnection({ source: 'sim-epic', baseUrl: sim.url, tokens: tokensFor(key), timeoutMs: 5000, maxPages: 100 });
  await client.searchAll('Patient', { _count: '1' }); // warm the token
  sim.setFault({ delayMs: 100 });
  try {
    // Aborted while the third page is on its way.
    const deadline = new AbortController();
    const start = sim.requestCount();
    const watch = setInterval(() => {
      if (sim.requestCount() - start >= 3) deadline.abort();
    }, 5);
    const partial = await client.searchAll('Patient', { _count: '10' }, { onOverflow: 'truncate', signal: deadline.signal });
    clearInterval(watch);
    assert.deepEqual(
      { complete: partial.complete, stoppedBy: partial.stoppedBy, read: partial.resources.length },
      { complete: false, stoppedBy: 'deadline', read: 20 },
    );
    await assert.rejects(
      client.searchAll('Patient', { _count: '10' }, { onOverflow: 'truncate', signal: AbortSignal.timeout(50) }),
      (e: unknown) => e instanceof SourceError && e.failure === 'TIMEOUT',
    );
  } finally {
    sim.setFault(null);
  }
});

test("searchableTypes: the types the server's CapabilityStatement offers a search of", async () => {
  const client = fhirConnection({ source: 'sim-epic', baseUrl: sim.url, tokens: tokensFor(key), timeoutMs: 2000 });
  const types = await client.searchableTypes();
  for (const t of ['Patient', 'Observation', 'Condition', 'MedicationRequest']) assert.ok(types.has(t), t);
  assert.ok(!types.has('Basic'));
  assert.deepEqual(
    searchableTypesOf({
      rest: [
        { mode: 'client', resource: [{ type: 'Goal', interaction: [{ code: 'search-type' }] }] },
        {
          mode: 'server',
          resource: [
            { type: 'Observation', interaction: [{ code: 'read' }, { code: 'search-type' }] },
            { type: 'Procedure', interaction: [{ code: 'read' }] },
          ],
        },
      ],
    }),
    new Set(['Observation']),
    'server mode only, and only with search-type',
  );
});

test('searchableTypes of an EHR that cannot be reached is a SourceError naming it', async () => {
  const client = fhirConnection({ source: 'sim-epic', baseUrl: 'http://127.0.0.1:9/fhir', tokens: tokensFor(key), timeoutMs: 1000 });
  await assert.rejects(client.searchableTypes(), (e: unknown) => e instanceof SourceError && e.source === 'sim-epic');
});
