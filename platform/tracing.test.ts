// The tracing setup (platform/tracing.ts) on its own: settings from the environment, parents and
// links, propagation, sampling, statement summaries, export over real OTLP/HTTP, and @apollo/gateway's
// own spans reaching our provider. End to end through the stack: test/e2e/traces/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import {
  createTracing,
  endRequestSpan,
  inRequestSpan,
  outgoingTraceHeaders,
  startRequestSpan,
  statementSummary,
  traceAuditAppend,
  traceEhrCall,
  traceIdOf,
  traceStatement,
  traceSubgraphCall,
  tracingConfigFromEnv,
  tracingOn,
  type TracingConfig,
} from './tracing.ts';
import { startOtlpReceiver } from '../test/support/otlp-receiver.ts';

const CLIENT_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** Runs fn with tracing on into an in-memory exporter; returns the finished spans. */
async function traced(fn: () => Promise<void>, config: Partial<TracingConfig> = {}) {
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing({
    serviceName: 'test',
    exporter,
    sampleRatio: 1,
    trustClientTraceparent: false,
    exportEachSpan: true,
    ...config,
  });
  try {
    await fn();
    // Read before shutdown, which empties an in-memory exporter.
    return exporter.getFinishedSpans();
  } finally {
    await tracing.shutdown();
  }
}

test('settings: off without an OTLP endpoint; the traces endpoint as given, the general one with /v1/traces', () => {
  assert.equal(tracingConfigFromEnv('svc', {}), undefined);
  assert.equal(tracingConfigFromEnv('svc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }), undefined);
  assert.equal(tracingConfigFromEnv('svc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }), undefined);
  assert.deepEqual(tracingConfigFromEnv('svc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), {
    serviceName: 'svc',
    exporter: { url: 'http://collector:4318/v1/traces' },
    sampleRatio: 1,
    trustClientTraceparent: false,
  });
  const specific = tracingConfigFromEnv('svc', {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/otlp/traces',
    OTEL_SERVICE_NAME: 'gateway-eu',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
    TRACING_TRUST_CLIENT_TRACEPARENT: 'true',
  });
  assert.deepEqual(specific, {
    serviceName: 'gateway-eu',
    exporter: { url: 'https://collector.example/otlp/traces' },
    sampleRatio: 0.25,
    trustClientTraceparent: true,
  });
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
  assert.equal(tracingConfigFromEnv('svc', { ...on, OTEL_TRACES_SAMPLER: 'parentbased_always_off' })?.sampleRatio, 0);
  for (const [env, message] of [
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /http\(s\) URL/],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://c/v1/traces' }, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http\(s\) URL/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://user:secret@c:4318' }, /credentials/],
    [{ ...on, OTEL_TRACES_SAMPLER_ARG: '1.5' }, /from 0 to 1/],
    [{ ...on, OTEL_TRACES_SAMPLER_ARG: 'half' }, /from 0 to 1/],
    [{ ...on, OTEL_TRACES_SAMPLER: 'always_on' }, /parentbased/],
    [{ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /http\/json/],
    [{ ...on, TRACING_TRUST_CLIENT_TRACEPARENT: 'maybe' }, /true or false/],
  ] as const)
    assert.throws(() => tracingConfigFromEnv('svc', env), message);
});

test('off: every helper calls straight through and the client traceparent is forwarded as received', async () => {
  assert.equal(tracingOn(), false);
  assert.equal(startRequestSpan('gateway', { traceparent: CLIENT_TRACEPARENT }, 'client', performance.now()), undefined);
  assert.equal(await traceSubgraphCall('mpi', async () => 'answer'), 'answer');
  assert.equal(await traceStatement('s', 'SELECT 1', undefined, async () => 2), 2);
  assert.deepEqual(outgoingTraceHeaders(CLIENT_TRACEPARENT), { traceparent: CLIENT_TRACEPARENT });
  assert.deepEqual(outgoingTraceHeaders('00-zz\r\nx-evil: 1'), {});
  assert.deepEqual(outgoingTraceHeaders(undefined), {});
});

test("gateway: a client's traceparent is a link, not the parent, unless configured; subgraph calls are children and propagate", async () => {
  let outgoing: Record<string, string> = {};
  const spans = await traced(async () => {
    const request = startRequestSpan('gateway', { traceparent: CLIENT_TRACEPARENT }, 'client', performance.now());
    assert.ok(request);
    await inRequestSpan(request, () => traceSubgraphCall('mpi', async () => void (outgoing = outgoingTraceHeaders(CLIENT_TRACEPARENT))));
    endRequestSpan(request, { status: 200, operationName: 'GoldenPatient', operationType: 'query', errorCodes: [] });
  });
  const server = spans.find((s) => s.name === 'POST /graphql')!;
  const call = spans.find((s) => s.name === 'subgraph mpi')!;
  assert.notEqual(server.spanContext().traceId, traceIdOf(CLIENT_TRACEPARENT), 'a new trace: the client does not choose trace ids');
  assert.equal(server.parentSpanContext, undefined);
  assert.deepEqual(
    server.links.map((l) => l.context.traceId),
    [traceIdOf(CLIENT_TRACEPARENT)],
  );
  assert.equal(server.attributes['graphql.operation.name'], 'GoldenPatient');
  assert.equal(server.attributes['pgw.component'], 'gateway');
  assert.equal(call.parentSpanContext?.spanId, server.spanContext().spanId);
  assert.equal(call.spanContext().traceId, server.spanContext().traceId);
  // What the subgraph receives: the call span's context, not the client's.
  assert.equal(outgoing.traceparent, `00-${call.spanContext().traceId}-${call.spanContext().spanId}-01`);

  const trusting = await traced(
    async () => {
      const request = startRequestSpan('gateway', { traceparent: CLIENT_TRACEPARENT }, 'client', performance.now());
      endRequestSpan(request, { status: 200, operationName: null, errorCodes: [] });
    },
    { trustClientTraceparent: true },
  );
  assert.equal(trusting[0]!.spanContext().traceId, traceIdOf(CLIENT_TRACEPARENT));
  assert.equal(trusting[0]!.parentSpanContext?.spanId, 'b7ad6b7169203331');
});

test("subgraph: the gateway's traceparent parents the request span; a refused request's is neither parent nor link", async () => {
  const spans = await traced(async () => {
    const request = startRequestSpan('mpi', { traceparent: CLIENT_TRACEPARENT }, 'gateway', performance.now());
    await inRequestSpan(request, async () => {
      await traceStatement('s', 'SELECT id FROM golden_patient WHERE id = $1', 'patient-by-id', async () => undefined);
      await traceAuditAppend('mpi', 3, async () => undefined);
    });
    endRequestSpan(request, { status: 200, operationName: 'GoldenPatient', errorCodes: ['FORBIDDEN', 'not a code'] });
    const refused = startRequestSpan('mpi', { traceparent: CLIENT_TRACEPARENT }, 'untrusted', performance.now());
    endRequestSpan(refused, { status: 401, operationName: null, errorCodes: ['UNAUTHENTICATED'] });
    // Outside any traced work (a scheduler's statement): no span of its own.
    await traceStatement('s', 'SELECT 1', undefined, async () => undefined);
  });
  const [statement, audit, request, refused] = spans;
  assert.equal(spans.length, 4);
  assert.equal(request!.spanContext().traceId, traceIdOf(CLIENT_TRACEPARENT));
  assert.equal(request!.parentSpanContext?.spanId, 'b7ad6b7169203331');
  assert.deepEqual(request!.attributes['pgw.error.codes'], ['FORBIDDEN']);
  assert.equal(statement!.name, 'SELECT golden_patient');
  assert.deepEqual(statement!.attributes, {
    'db.system.name': 'postgresql',
    'db.namespace': 's',
    'db.operation.name': 'SELECT',
    'db.collection.name': 'golden_patient',
    'db.query.summary': 'patient-by-id',
  });
  assert.equal(statement!.parentSpanContext?.spanId, request!.spanContext().spanId);
  assert.equal(audit!.attributes['pgw.audit.rows'], 3);
  assert.notEqual(refused!.spanContext().traceId, traceIdOf(CLIENT_TRACEPARENT));
  assert.deepEqual(refused!.links, []);
  assert.equal(refused!.status.code, 0);
});

test('failures are recorded by code, never by message; EHR calls by connection, type and outcome', async () => {
  // As protocol/errors.ts's SourceError: the product's code and the EHR failure beside it.
  const failure = Object.assign(new Error('Patient Jane Doe 1970-01-01 not found'), { code: 'SOURCE_UNAVAILABLE', failure: 'TIMEOUT' });
  const spans = await traced(async () => {
    await assert.rejects(
      traceEhrCall('epic-main', 'Observation', () => Promise.reject(failure)),
      (e) => e === failure,
    );
    await traceEhrCall('epic-main', 'Patient/123', async () => undefined);
  });
  assert.deepEqual(spans[0]!.attributes, {
    'pgw.connection': 'epic-main',
    'fhir.resource_type': 'Observation',
    'pgw.outcome': 'TIMEOUT',
    'error.type': 'TIMEOUT',
  });
  assert.equal(spans[0]!.status.code, 2);
  assert.deepEqual(spans[0]!.events, [], 'no exception event: its message could quote data');
  assert.equal(spans[1]!.attributes['fhir.resource_type'], 'other', 'anything but a resource type name is not exported');
});

test('sampling is parent-based: unsampled new traces still propagate a trace id; a sampled parent is followed', async () => {
  let outgoing: Record<string, string> = {};
  const spans = await traced(
    async () => {
      const fresh = startRequestSpan('gateway', {}, 'client', performance.now());
      await inRequestSpan(fresh, () => traceSubgraphCall('mpi', async () => void (outgoing = outgoingTraceHeaders(null))));
      endRequestSpan(fresh, { status: 200, operationName: null, errorCodes: [] });
      const continued = startRequestSpan('mpi', { traceparent: CLIENT_TRACEPARENT }, 'gateway', performance.now());
      endRequestSpan(continued, { status: 200, operationName: null, errorCodes: [] });
    },
    { sampleRatio: 0 },
  );
  assert.match(outgoing.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.equal(spans.length, 1);
  assert.equal(spans[0]!.spanContext().traceId, traceIdOf(CLIENT_TRACEPARENT));
});

test('statement summaries: kind and first table, nothing of the values', () => {
  assert.deepEqual(statementSummary("SELECT * FROM mpi.golden_patient WHERE family = 'Doe'"), {
    operation: 'SELECT',
    table: 'mpi.golden_patient',
  });
  assert.deepEqual(statementSummary('  insert into audit_event (a) values ($1)'), { operation: 'INSERT', table: 'audit_event' });
  assert.deepEqual(statementSummary('UPDATE review_item SET state = $1'), { operation: 'UPDATE', table: 'review_item' });
  assert.deepEqual(statementSummary('CREATE TABLE IF NOT EXISTS schema_migrations (id text)'), {
    operation: 'CREATE',
    table: 'schema_migrations',
  });
  assert.deepEqual(statementSummary('SELECT audit_append($1::jsonb) AS head'), { operation: 'SELECT', table: undefined });
});

test('exported over OTLP/HTTP JSON to the configured endpoint, flushed on shutdown', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const config = tracingConfigFromEnv('svc', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'pgw-test' })!;
    const tracing = createTracing(config);
    const request = startRequestSpan('gateway', {}, 'client', performance.now());
    endRequestSpan(request, { status: 200, operationName: 'Q', errorCodes: [] });
    // Batched: nothing is sent before the batch is due, or shutdown.
    await tracing.shutdown();
    assert.equal(tracingOn(), false);
    assert.deepEqual(receiver.requests, [{ path: '/v1/traces', contentType: 'application/json' }]);
    assert.equal(receiver.spans.length, 1);
    assert.equal(receiver.spans[0]!.service, 'pgw-test');
    assert.equal(receiver.spans[0]!.kind, 2);
    assert.equal(receiver.spans[0]!.attributes['graphql.operation.name'], 'Q');
  } finally {
    await receiver.close();
  }
});

test("@apollo/gateway's own spans reach our provider when the product's gateway is loaded the usual way", async () => {
  // In a fresh process, loading the runtime as npm start does: the gateway's tracer is taken when it loads.
  const script = `
    await import('./runtime/components.ts');
    const { createTracing } = await import('./platform/tracing.ts');
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace');
    const { tracer } = await import('@apollo/gateway/dist/utilities/opentelemetry.js');
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ serviceName: 't', exporter, sampleRatio: 1, trustClientTraceparent: false, exportEachSpan: true });
    tracer.startActiveSpan('gateway.request', (span) => span.end());
    console.log(JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, s.instrumentationScope.name])));
    await tracing.shutdown();`;
  const run = (code: string) =>
    promisify(execFile)(process.execPath, ['--input-type=module', '-e', code], {
      cwd: new URL('..', import.meta.url),
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
  const { stdout, stderr } = await run(script);
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), [['gateway.request', 'apollo/gateway-js']]);
  assert.doesNotMatch(stderr, /tracing_loaded_after_apollo_gateway/);
  // Loaded the other way round, its tracer is a no-op for good: said when tracing is turned on.
  const wrongOrder = await run(script.replace("await import('./runtime/components.ts');", "await import('@apollo/gateway');"));
  assert.deepEqual(JSON.parse(wrongOrder.stdout.trim().split('\n').at(-1)!), []);
  assert.match(wrongOrder.stderr, /tracing_loaded_after_apollo_gateway/);
});
