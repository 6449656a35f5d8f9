// The resilience pieces with a hand-driven clock (exact values, no sleeping), then the whole of it
// in front of a simulated EHR over real HTTP: the breaker opens while the EHR is down, stops
// calls from going out, lets one probe through after openMs and closes when the EHR is back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair } from 'jose';
import { generatePopulation, startFhirSimulator, type FhirSimulator } from '../../simulators/index.ts';
import { SOURCE_FAILURE, SourceError } from '../errors.ts';
import { smartBackendServices } from '../smart/backend-services.ts';
import { fhirConnection, type FhirConnection } from './client.ts';
import { circuitBreaker, fullJitter, resilience, retryBudget, tokenBucket, type BreakerState } from './resilience.ts';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

test('full jitter is uniform below min(cap, base * 2^attempt)', () => {
  assert.equal(
    fullJitter(0, 100, 5000, () => 0.5),
    50,
  );
  assert.equal(
    fullJitter(3, 100, 5000, () => 0.5),
    400,
  );
  assert.equal(
    fullJitter(10, 100, 5000, () => 0.999),
    4995,
  );
  assert.equal(
    fullJitter(4, 100, 5000, () => 0),
    0,
  );
});

test('the token bucket gives its burst at once, then one token per 1/rate seconds, reserving in order', () => {
  const c = clock();
  const b = tokenBucket({ ratePerSecond: 10, burst: 3, now: c.now });
  assert.deepEqual([b.reserve(), b.reserve(), b.reserve()], [0, 0, 0]);
  assert.equal(b.reserve(), 100);
  assert.equal(b.reserve(), 200);
  c.advance(1000); // refills 10, less the two reserved, capped at the burst
  assert.deepEqual([b.reserve(), b.reserve(), b.reserve(), b.reserve()], [0, 0, 0, 100]);
});

test('the retry budget allows its minimum plus a share of the requests in the window', () => {
  const c = clock();
  const budget = retryBudget({ ratio: 0.2, minRetries: 1, windowMs: 10_000, now: c.now });
  for (let i = 0; i < 10; i++) budget.request();
  assert.deepEqual([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()], [true, true, true, false]);
  c.advance(10_001); // the window moved on: only the minimum
  assert.deepEqual([budget.tryRetry(), budget.tryRetry()], [true, false]);
});

test('the breaker opens after the threshold, half-opens after openMs with one probe, and closes or reopens on its outcome', () => {
  const c = clock();
  const changes: [BreakerState, number][] = [];
  const b = circuitBreaker({
    failureThreshold: 2,
    openMs: 1000,
    now: c.now,
    onStateChange: (s, since) => changes.push([s, since.getTime()]),
  });
  b.failure();
  assert.equal(b.state(), 'closed');
  b.failure();
  assert.equal(b.state(), 'open');
  assert.equal(b.allow(), false);
  c.advance(1000);
  assert.deepEqual([b.allow(), b.allow()], [true, false]);
  assert.equal(b.state(), 'half-open');
  b.failure();
  assert.equal(b.state(), 'open');
  c.advance(1000);
  assert.equal(b.allow(), true);
  b.success();
  assert.equal(b.state(), 'closed');
  assert.deepEqual(changes, [
    ['open', 1_000_000],
    ['half-open', 1_001_000],
    ['open', 1_001_000],
    ['half-open', 1_002_000],
    ['closed', 1_002_000],
  ]);
});

test('every attempt is reported with its outcome (metrics): failures by code, the success, refusals by the open breaker', async () => {
  const outcomes: string[] = [];
  const r = resilience(
    's',
    { failureThreshold: 2, maxAttempts: 3, backoffBaseMs: 1, backoffCapMs: 1 },
    { onCall: (outcome, started) => outcomes.push(`${outcome}${started <= performance.now() ? '' : ' (started in the future)'}`) },
  );
  const fail = async () => {
    throw new SourceError('s', SOURCE_FAILURE.timeout, 'slow');
  };
  await assert.rejects(r.run(fail, (e) => e as SourceError));
  await assert.rejects(r.run(fail, (e) => e as SourceError));
  // The first call's third attempt finds the breaker its own retries opened; the second call is refused at once.
  assert.deepEqual(outcomes, ['TIMEOUT', 'TIMEOUT', 'CIRCUIT_OPEN', 'CIRCUIT_OPEN']);
  const ok = resilience('t', {}, { onCall: (outcome) => outcomes.push(outcome) });
  await ok.run(
    async () => 1,
    (e) => e as SourceError,
  );
  assert.equal(outcomes.at(-1), 'ok');
});

test('run retries a transient failure within the budget and gives a 4xx back at once', async () => {
  const r = resilience('s', { maxAttempts: 3, backoffBaseMs: 1, backoffCapMs: 1 });
  let calls = 0;
  const err = (status: number) => new SourceError('s', SOURCE_FAILURE.http, `HTTP ${status}`, status);
  const value = await r.run(
    async () => {
      if (++calls < 3) throw err(503);
      return 'ok';
    },
    (e) => e as SourceError,
  );
  assert.deepEqual([value, calls], ['ok', 3]);
  calls = 0;
  await assert.rejects(
    r.run(
      async () => {
        calls++;
        throw err(404);
      },
      (e) => e as SourceError,
    ),
    (e: unknown) => e instanceof SourceError && e.httpStatus === 404,
  );
  assert.equal(calls, 1);
  assert.equal(r.breaker.state(), 'closed');
});

const population = generatePopulation({ seed: 3, size: 30, sites: [{ id: 'sim-epic', vendor: 'epic' }] });
let sim: FhirSimulator;
let client: FhirConnection;
const states: BreakerState[] = [];
const c = clock();
before(async () => {
  const pair = await generateKeyPair('RS384', { extractable: true });
  sim = await startFhirSimulator({
    siteId: 'sim-epic',
    vendor: 'epic',
    data: population.sites['sim-epic']!,
    clients: [{ clientId: 'app', publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'RS384' } }],
  });
  const tokens = smartBackendServices({
    source: 'sim-epic',
    baseUrl: sim.url,
    clientId: 'app',
    scope: 'system/*.rs',
    privateKey: pair.privateKey,
    kid: 'k',
    alg: 'RS384',
    timeoutMs: 2000,
  });
  const guard = resilience(
    'sim-epic',
    { failureThreshold: 2, openMs: 30_000, maxAttempts: 1 },
    { onStateChange: (s) => states.push(s) },
    { now: c.now },
  );
  client = fhirConnection({ source: 'sim-epic', baseUrl: sim.url, tokens, timeoutMs: 2000, resilience: guard });
});
after(() => sim?.close());

test('against a simulated EHR: down opens the breaker, no call goes out while open, back up closes it after a probe', async () => {
  const search = () => client.searchAll('Patient', { _count: '5' }, { maxPages: 1, onOverflow: 'truncate' });
  assert.equal((await search()).resources.length, 5);
  sim.setFault({ status: 503 });
  for (let i = 0; i < 2; i++) await assert.rejects(search(), (e: unknown) => e instanceof SourceError && e.httpStatus === 503);
  assert.equal(client.resilience!.breaker.state(), 'open');
  const sent = sim.requestCount();
  await assert.rejects(search(), (e: unknown) => e instanceof SourceError && e.failure === SOURCE_FAILURE.circuitOpen);
  assert.equal(sim.requestCount(), sent, 'nothing sent while open');
  sim.setFault(null);
  c.advance(30_000);
  assert.equal((await search()).resources.length, 5);
  assert.deepEqual(states, ['open', 'half-open', 'closed']);
});

test('a breaker opened by the retries of one call reports that call’s own failure; the next call gets CIRCUIT_OPEN unsent', async () => {
  const r = resilience('s', { failureThreshold: 2, maxAttempts: 3, backoffBaseMs: 1, backoffCapMs: 1 });
  let calls = 0;
  const down = async (): Promise<never> => {
    calls++;
    throw new SourceError('s', SOURCE_FAILURE.http, 'HTTP 503', 503);
  };
  await assert.rejects(
    r.run(down, (e) => e as SourceError),
    (e: unknown) => e instanceof SourceError && e.httpStatus === 503,
  );
  assert.equal(calls, 2);
  await assert.rejects(
    r.run(down, (e) => e as SourceError),
    (e: unknown) => e instanceof SourceError && e.failure === SOURCE_FAILURE.circuitOpen,
  );
  assert.equal(calls, 2);
});
