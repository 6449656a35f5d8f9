// The metrics registry (platform/metrics.ts) on its own: bounded labels, the figures it reads at
// scrape time, and who may read it. The front door's /metrics: platform/metrics-http.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundedLabels, checkMetricsAccess, createMetrics, operationLabel, type IngestionFigures } from './metrics.ts';
import { ProductError } from './errors.ts';
import { labelValues, sample } from '../test/support/metrics.ts';

test('boundedLabels keeps the first N distinct values and names every later one `other`', () => {
  const bound = boundedLabels(3);
  assert.deepEqual(['a', 'b', 'a', 'c', 'd', 'b', 'e'].map(bound), ['a', 'b', 'a', 'c', 'other', 'b', 'other']);
});

test('operationLabel: none before resolution, anonymous, a GraphQL name, never anything else', () => {
  const bound = boundedLabels(10);
  assert.equal(operationLabel('GoldenPatient', false, bound), 'none');
  assert.equal(operationLabel(null, true, bound), 'anonymous');
  assert.equal(operationLabel('', true, bound), 'anonymous');
  assert.equal(operationLabel('GoldenPatient', true, bound), 'GoldenPatient');
  // Whatever a header could carry that is no GraphQL name (spaces, quotes, an identifier's digits first).
  assert.equal(operationLabel('Jane Doe', true, bound), 'invalid');
  assert.equal(operationLabel('x"} 1\nfake_metric 2', true, bound), 'invalid');
  assert.equal(operationLabel('123-45-6789', true, bound), 'invalid');
  assert.equal(operationLabel('A'.repeat(101), true, bound), 'invalid');
});

test('500 distinct operation names make at most maxOperations + the fixed labels per component', async () => {
  const m = createMetrics({ maxOperations: 20 });
  for (let i = 0; i < 500; i++) m.request('gateway', { name: `Op${i}`, resolved: true }, performance.now(), []);
  for (let i = 0; i < 30; i++) m.request('mpi', { name: `Op${i}`, resolved: true }, performance.now(), []);
  const text = await m.scrape();
  const gateway = [...labelValues(text, 'pgw_graphql_requests_total', 'operation')].filter((v) => v !== 'other');
  assert.equal(gateway.length, 20);
  assert.equal(sample(text, 'pgw_graphql_requests_total', { component: 'gateway', operation: 'other', result: 'ok' }), 480);
  // Each component has its own allowance.
  assert.equal(sample(text, 'pgw_graphql_requests_total', { component: 'mpi', operation: 'other', result: 'ok' }), 10);
  assert.equal(sample(text, 'pgw_graphql_requests_total', { component: 'mpi', operation: 'Op0', result: 'ok' }), 1);
});

test('errors are counted by code from the vocabulary; anything else is OTHER', async () => {
  const m = createMetrics();
  m.request('gateway', { name: 'Q', resolved: true }, performance.now(), ['FORBIDDEN', 'FORBIDDEN', 'made up', undefined]);
  const text = await m.scrape();
  assert.equal(sample(text, 'pgw_graphql_errors_total', { component: 'gateway', code: 'FORBIDDEN' }), 2);
  assert.equal(sample(text, 'pgw_graphql_errors_total', { component: 'gateway', code: 'OTHER' }), 2);
  assert.equal(sample(text, 'pgw_graphql_requests_total', { component: 'gateway', operation: 'Q', result: 'error' }), 1);
  assert.equal(sample(text, 'pgw_graphql_request_duration_seconds_count', { component: 'gateway', operation: 'Q' }), 1);
});

test('ingestion gauges are read once per scrape, replaced (not accumulated), and empty when the read fails', async () => {
  // Long enough that a loaded machine cannot make two scrapes at once miss one window.
  const m = createMetrics({ ingestionReadMs: 500 });
  let reads = 0;
  let figures: IngestionFigures[] = [
    { connectionId: 'epic-a', inboxDepth: 3, deadLetters: 1, lagSeconds: 12.5, breakerState: 'open' },
    { connectionId: 'feed-b', inboxDepth: 0, deadLetters: 0, lagSeconds: null, breakerState: null },
  ];
  const unwatch = m.watchIngestion(async () => {
    reads++;
    if (figures.length === 0) throw new ProductError('DATABASE_UNAVAILABLE', 'down');
    return figures;
  });
  let [text] = await Promise.all([m.scrape(), m.scrape()]);
  assert.equal(reads, 1, 'four gauges, two scrapes at once: one read');
  assert.equal(sample(text, 'pgw_ingest_inbox_depth', { connection: 'epic-a' }), 3);
  assert.equal(sample(text, 'pgw_ingest_dead_letters', { connection: 'epic-a' }), 1);
  assert.equal(sample(text, 'pgw_ingest_lag_seconds', { connection: 'epic-a' }), 12.5);
  assert.equal(sample(text, 'pgw_ingest_lag_seconds', { connection: 'feed-b' }), undefined, 'never polled: no lag series');
  assert.equal(sample(text, 'pgw_connection_breaker_state', { connection: 'epic-a' }), 2);
  assert.equal(sample(text, 'pgw_connection_breaker_state', { connection: 'feed-b' }), undefined, 'no breaker recorded: no series');
  await new Promise((r) => setTimeout(r, 520));
  figures = [];
  text = await m.scrape();
  assert.equal(sample(text, 'pgw_ingest_inbox_depth', { connection: 'epic-a' }), undefined, 'no stale figure when the read fails');
  unwatch();
  await new Promise((r) => setTimeout(r, 520));
  figures = [{ connectionId: 'epic-a', inboxDepth: 9, deadLetters: 0, lagSeconds: 0, breakerState: 'closed' }];
  text = await m.scrape();
  assert.equal(sample(text, 'pgw_ingest_inbox_depth', { connection: 'epic-a' }), undefined, 'unwatched: not read');
});

test('database pools are summed while watched', async () => {
  const m = createMetrics();
  const a = m.watchPool(() => ({ total: 4, idle: 3, waiting: 0, max: 10 }));
  m.watchPool(() => ({ total: 2, idle: 0, waiting: 5, max: 10 }));
  let text = await m.scrape();
  assert.equal(sample(text, 'pgw_db_pool_connections'), 6);
  assert.equal(sample(text, 'pgw_db_pool_waiting_requests'), 5);
  assert.equal(sample(text, 'pgw_db_pool_max_connections'), 20);
  a();
  text = await m.scrape();
  assert.equal(sample(text, 'pgw_db_pool_connections'), 2);
});

test('/metrics access: open in development, FORBIDDEN in production without a token, the token when one is set', () => {
  const code = (fn: () => void): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (error) {
      return (error as ProductError).code;
    }
  };
  assert.equal(
    code(() => checkMetricsAccess({ production: false }, undefined)),
    undefined,
  );
  assert.equal(
    code(() => checkMetricsAccess({ production: true }, 'Bearer anything')),
    'FORBIDDEN',
  );
  const access = { production: true, token: 'scrape-secret' };
  assert.equal(
    code(() => checkMetricsAccess(access, undefined)),
    'UNAUTHENTICATED',
  );
  assert.equal(
    code(() => checkMetricsAccess(access, 'Bearer scrape-secre')),
    'UNAUTHENTICATED',
  );
  assert.equal(
    code(() => checkMetricsAccess(access, 'scrape-secret')),
    'UNAUTHENTICATED',
  );
  assert.equal(
    code(() => checkMetricsAccess(access, 'Bearer scrape-secret')),
    undefined,
  );
  // A token set in development is asked for there too.
  assert.equal(
    code(() => checkMetricsAccess({ production: false, token: 't' }, undefined)),
    'UNAUTHENTICATED',
  );
});
