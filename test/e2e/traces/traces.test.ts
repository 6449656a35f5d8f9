// Issue 17's traces on the real stack, exported over real OTLP/HTTP to a loopback receiver: a
// product team's golden-patient query makes one trace that holds the gateway's request, its calls
// to each subgraph, each subgraph's request (continued across HTTP from the call's traceparent),
// their PostgreSQL statements and audit appends; the audit rows of that request carry the same
// trace id; and nothing the patient is known by (name, birth date, identifiers, ids) is in any span.
// The same through Hive Gateway with the product's plugin (gateway/hive/).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatewayService } from '../../../runtime/components.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { isHl7Feed, loadConnections } from '../../../platform/config.ts';
import { traceIdOf } from '../../../platform/tracing.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../support/otlp-receiver.ts';
import { post, startTestStack, tokenFor } from '../../support/stack.ts';

const CLIENT_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const SERVER = 2;
const CLIENT = 3;

let stack: Stack;
let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
  stack = await startTestStack({
    simulators: { seed: 7, size: 20 },
    // Clinical lists asked of the EHRs at every request, so a query's trace reaches them too.
    connections: loadConnections().map((c) => (isHl7Feed(c) ? c : { ...c, clinicalTtlSeconds: 0 })),
    // Batched, as in production (the test flushes before it looks).
    tracing: { serviceName: 'pgw-e2e', exporter: { url: receiver.url }, sampleRatio: 1, trustClientTraceparent: false },
  });
});
after(async () => {
  await stack?.close();
  await receiver?.close();
});

const GOLDEN_PATIENT = `query GoldenPatient($id: ID!) {
  patient(id: $id) {
    id name { family given } birthDate gender identifiers { system value }
    sourceRecords { id source mrn observations { code { coding { system code } } valueQuantity { value unit } } }
  }
}`;
type Patient = {
  id: string;
  name: { family: string; given: string[] } | null;
  birthDate: string | null;
  identifiers: { value: string }[];
  sourceRecords: { id: string; source: string; mrn: string | null }[];
};

test('a golden-patient query is one trace from the gateway through each subgraph to PostgreSQL; its audit rows name it; no PHI', async () => {
  const { rows } = await stack.db.query<{ golden_id: string }>(
    'SELECT golden_id FROM source_record GROUP BY golden_id HAVING count(DISTINCT source) >= 2 ORDER BY golden_id LIMIT 1',
  );
  const id = rows[0]!.golden_id;
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const res = await post<{ patient: Patient }>(
    stack.gateway.url,
    { operationName: 'GoldenPatient', query: GOLDEN_PATIENT, variables: { id } },
    { authorization: `Bearer ${token}`, traceparent: CLIENT_TRACEPARENT },
  );
  assert.equal(res.status, 200);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const patient = res.body.data!.patient;
  const sources = new Set(patient.sourceRecords.map((r) => r.source));
  assert.ok(sources.has('epic-main') && sources.has('cerner-main'), 'a patient of both EHRs');

  // Batched as in production: what is buffered is sent now. The gateway's request span: a trace of
  // its own, the client's context kept as a link.
  await stack.tracing!.flush();
  const gateway = receiver.spans.find(
    (s) => s.kind === SERVER && s.attributes['pgw.component'] === 'gateway' && s.attributes['graphql.operation.name'] === 'GoldenPatient',
  );
  assert.ok(gateway, 'the gateway request span was exported');
  assert.equal(gateway.parentSpanId, undefined);
  assert.notEqual(gateway.traceId, traceIdOf(CLIENT_TRACEPARENT));
  assert.deepEqual(gateway.links, [{ traceId: traceIdOf(CLIENT_TRACEPARENT), spanId: '00f067aa0ba902b7' }]);
  assert.equal(gateway.service, 'pgw-e2e');

  const SUBGRAPHS = ['mpi', 'epic', 'cerner'];
  const servers = (spans: ReceivedSpan[]) => spans.filter((s) => s.kind === SERVER && s.attributes['pgw.component'] !== 'gateway');
  const spans = receiver.spans.filter((s) => s.traceId === gateway.traceId);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const ancestors = (s: ReceivedSpan): ReceivedSpan[] => {
    const chain: ReceivedSpan[] = [];
    for (let p = s.parentSpanId && byId.get(s.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId)) chain.push(p);
    return chain;
  };
  // Every span of the trace hangs from the gateway's request span.
  for (const s of spans) if (s !== gateway) assert.equal(ancestors(s).at(-1), gateway, `${s.name} is under the gateway request`);
  // @apollo/gateway's own spans are there (its nested @opentelemetry/api reaches our provider).
  for (const name of ['gateway.request', 'gateway.plan', 'gateway.execute', 'gateway.fetch'])
    assert.ok(
      spans.some((s) => s.name === name),
      `@apollo/gateway's ${name}`,
    );

  for (const name of SUBGRAPHS) {
    // The gateway's call (a client span) and the subgraph's request, its child across HTTP.
    const calls = spans.filter((s) => s.kind === CLIENT && s.name === `subgraph ${name}`);
    assert.ok(calls.length > 0, `a call to ${name}`);
    const served = servers(spans).filter((s) => s.attributes['pgw.component'] === name);
    assert.ok(served.length > 0, `${name} served the call`);
    for (const s of served)
      assert.ok(
        calls.some((c) => c.spanId === s.parentSpanId),
        `${name}'s request span is the child of the gateway's call`,
      );
    // The subgraph's statements under its request span; its audit rows are handed to the gateway (no append of its own).
    const under = spans.filter((s) => ancestors(s).some((a) => served.includes(a)));
    assert.ok(!under.some((s) => s.name === 'audit append'), `${name} hands its rows over rather than appending them`);
    assert.ok(
      under.some((s) => s.attributes['db.system.name'] === 'postgresql'),
      `${name}'s PostgreSQL spans`,
    );
    // A vendor subgraph asks its EHR for the patient's clinical lists.
    if (name !== 'mpi')
      assert.ok(
        under.some(
          (s) => s.name === 'FHIR Observation' && s.attributes['pgw.connection'] === `${name}-main` && s.attributes['pgw.outcome'] === 'ok',
        ),
        `${name}'s EHR calls`,
      );
  }
  // The gateway appends the rows of all three calls in one commit, under its request span (the audit hand-off).
  const appends = spans.filter((s) => s.name === 'audit append');
  assert.equal(appends.length, 1, 'one audit append for the request');
  assert.deepEqual(String(appends[0]!.attributes['pgw.subgraph']).split(',').sort(), [...SUBGRAPHS].sort());
  assert.ok(!ancestors(appends[0]!).some((a) => servers(spans).includes(a)), 'appended by the gateway, not a subgraph');
  const statements = spans.filter((s) => s.attributes['db.system.name'] === 'postgresql');
  assert.ok(statements.some((s) => s.name.startsWith('SELECT ')));
  for (const s of statements) assert.equal(s.attributes['db.namespace'], stack.db.schema);

  // The audit rows of this request name this trace, and the subgraph request span that wrote them.
  const audit = await stack.db.query<{ traceparent: string | null; subgraph: string }>(
    'SELECT traceparent, subgraph FROM audit_event WHERE actor_sub = $1',
    [sub],
  );
  assert.ok(audit.rows.length >= 3, 'audit rows from mpi, epic and cerner');
  const serverIds = new Set(servers(spans).map((s) => s.spanId));
  for (const row of audit.rows) {
    assert.equal(traceIdOf(row.traceparent), gateway.traceId, `${row.subgraph}'s audit row carries the trace id`);
    assert.ok(serverIds.has(row.traceparent!.split('-')[2]!), `${row.subgraph}'s audit row names its request span`);
  }

  // The initial load: a trace per connection, its EHR calls (connection, resource type and outcome,
  // nothing else) and statements under it.
  const loads = receiver.spans.filter((s) => s.name === 'initial load');
  assert.deepEqual(loads.map((s) => s.attributes['pgw.connection']).sort(), ['cerner-main', 'epic-main']);
  const ehr = receiver.spans.filter((s) => s.name.startsWith('FHIR '));
  assert.ok(ehr.some((s) => s.name === 'FHIR Patient' && s.attributes['pgw.connection'] === 'cerner-main'));
  for (const s of ehr) {
    assert.equal(s.kind, CLIENT);
    assert.deepEqual(Object.keys(s.attributes).sort(), ['fhir.resource_type', 'pgw.connection', 'pgw.outcome']);
    const load = loads.find((l) => l.spanId === s.parentSpanId);
    if (s.traceId !== gateway.traceId)
      assert.equal(load?.attributes['pgw.connection'], s.attributes['pgw.connection'], 'an EHR call is a child of its load');
  }
  for (const load of loads)
    assert.ok(receiver.spans.some((s) => s.parentSpanId === load.spanId && s.attributes['db.system.name'] === 'postgresql'));

  // No PHI in any span exported during the whole run (the initial load's EHR calls included).
  const secrets = [
    patient.id,
    patient.name!.family,
    ...patient.name!.given,
    patient.birthDate!,
    ...patient.identifiers.map((i) => i.value),
    ...patient.sourceRecords.flatMap((r) => [r.id, r.mrn ?? '']),
  ].filter((v) => v.length >= 3);
  assert.ok(secrets.length >= 5);
  const everything = receiver.bodies.join('\n');
  for (const secret of secrets)
    assert.ok(!new RegExp(`\\b${secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(everything), `no span carries "${secret}"`);
  // And no document text, variables or SQL text.
  assert.doesNotMatch(everything, /sourceRecords|"variables"|\$1|WHERE/);
});

test('on Hive Gateway with the product plugin: its request span is the trace the subgraphs continue and the audit rows name', async () => {
  const hive = await startGatewayService({
    engine: 'hive',
    keys: stack.keys,
    subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
    port: 0,
    production: false,
    trustDevIssuer: true,
  });
  try {
    const { rows } = await stack.db.query<{ golden_id: string }>(
      'SELECT golden_id FROM source_record GROUP BY golden_id HAVING count(DISTINCT source) >= 2 ORDER BY golden_id LIMIT 1',
    );
    const { token, sub } = await tokenFor(stack, ['clinician']);
    const res = await post(
      hive.url,
      { operationName: 'GoldenPatient', query: GOLDEN_PATIENT, variables: { id: rows[0]!.golden_id } },
      { authorization: `Bearer ${token}`, traceparent: CLIENT_TRACEPARENT },
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    await stack.tracing!.flush();
    const request = receiver.spans.find((s) => s.attributes['pgw.component'] === 'hive-gateway' && s.kind === SERVER);
    assert.ok(request, 'the Hive Gateway request span');
    assert.equal(request.attributes['graphql.operation.name'], 'GoldenPatient');
    assert.notEqual(request.traceId, traceIdOf(CLIENT_TRACEPARENT));
    assert.deepEqual(request.links, [{ traceId: traceIdOf(CLIENT_TRACEPARENT), spanId: '00f067aa0ba902b7' }]);
    const served = receiver.spans.filter((s) => s.kind === SERVER && s.parentSpanId === request.spanId);
    assert.deepEqual([...new Set(served.map((s) => s.attributes['pgw.component']))].sort(), ['cerner', 'epic', 'mpi']);
    const audit = await stack.db.query<{ traceparent: string | null }>('SELECT traceparent FROM audit_event WHERE actor_sub = $1', [sub]);
    assert.ok(audit.rows.length >= 3);
    for (const row of audit.rows) assert.equal(traceIdOf(row.traceparent), request.traceId);
  } finally {
    await hive.close();
  }
});

test("a subgraph does not continue a trace for a caller without the gateway's identity", async () => {
  const forged = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';
  const res = await post(stack.subgraphs.mpi!.url, { query: '{ __typename }' }, { traceparent: forged });
  assert.equal(res.status, 401);
  await stack.tracing!.flush();
  const refused = receiver.spans.filter(
    (s) => s.attributes['pgw.component'] === 'mpi' && s.attributes['http.response.status_code'] === 401,
  );
  assert.equal(refused.length, 1);
  assert.notEqual(refused[0]!.traceId, traceIdOf(forged));
  assert.equal(refused[0]!.parentSpanId, undefined);
  assert.deepEqual(refused[0]!.links, []);
  assert.deepEqual(refused[0]!.attributes['pgw.error.codes'], ['UNAUTHENTICATED']);
});
