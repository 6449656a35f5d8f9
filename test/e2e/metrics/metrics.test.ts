// Issue 17's metrics and issue 15's breaker state in metrics, on the real stack: patients with
// distinctive invented names and identifiers arrive over MLLP and through FHIR sync, are queried
// through the gateway (also by a role refused their names), an EHR goes down until its breaker
// opens; then /metrics on the gateway and every subgraph port shows requests, latency buckets,
// errors by code, subgraph and EHR calls, the breaker as GraphQL's ingestionStatus reports it,
// the inbox, the audit commits, while none of those names, identifiers or ids appears anywhere
// in it. 500 distinct operation names leave the label set bounded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hl7Feeds, loadVendorProfile, localIdentifierSystems } from '../../../platform/config.ts';
import { DEFAULT_MAX_OPERATIONS } from '../../../platform/metrics.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { sendOverMllp } from '../../support/hl7-messages.ts';
import type { FhirPatient } from '../../../simulators/fhir-types.ts';
import { DEV_PATH } from '../../../simulators/index.ts';
import { inboxDrained } from '../../support/inbox.ts';
import { labelValues, sample } from '../../support/metrics.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const TOKEN = 'e2e-metrics-scrape-token';
const FEED = 'community-feed';
// Invented, and unlike anything else in the population, so a leak cannot hide among other text.
const HL7_FAMILY = 'QUIXOTICZYX';
const HL7_GIVEN = 'VALKYRION';
const HL7_MRN = 'MTXQZ424242';
const FHIR_FAMILY = 'Zephyrquillan';
const FHIR_GIVEN = 'Orvandiel';

let stack: Stack;
/** Everything that must never appear in a scrape: names, identifiers, ids learned along the way. */
const secrets = new Set<string>([HL7_FAMILY, HL7_GIVEN, HL7_MRN, FHIR_FAMILY, FHIR_GIVEN]);

before(async () => {
  // A small population and no initial load: sync reads the simulated EHRs, the feed brings the rest.
  stack = await startTestStack({ skipInitialLoad: true, simulators: { seed: 7, size: 20, devWrites: true }, metricsToken: TOKEN });
});
after(() => stack?.close());

const scrape = async (url: string, token: string | undefined = TOKEN) => {
  const res = await fetch(new URL('/metrics', url), token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

const sendHl7 = (text: string): Promise<string> => sendOverMllp(stack.ingestion!.port!, text);

const FIND = `query FindPatient($s: String!, $v: String!) {
  patientByIdentifier(system: $s, value: $v) { id name { family given } identifiers { value } sourceRecords { id source mrn } }
}`;
type Found = {
  patientByIdentifier: {
    id: string;
    name: { family: string } | null;
    identifiers: { value: string }[];
    sourceRecords: { id: string; source: string; mrn: string | null }[];
  } | null;
};

test('metrics on every port: requests, latency, errors by code, calls, breaker, inbox, audit; no PHI anywhere', async () => {
  // A patient over the HL7 feed: AA, applied; the same message again gets its stored ACK; garbage gets AR.
  const a01 =
    `MSH|^~\\&|COMMUNITY_ADT|COMMUNITY|PGW|PGW|20261201101500||ADT^A01^ADT_A01|METRICS-A01-1|P|2.5.1\r` +
    `EVN|A01|20261201101500\r` +
    `PID|1||${HL7_MRN}^^^COMMUNITY^MR||${HL7_FAMILY}^${HL7_GIVEN}||19710203|F|||1 TEST ST^^SPRINGFIELD^CO^80000\r`;
  const ack = await sendHl7(a01);
  assert.match(ack, /\rMSA\|AA\|METRICS-A01-1/);
  assert.equal(await sendHl7(a01), ack);
  assert.match(await sendHl7(`not hl7 ${HL7_FAMILY}`), /\rMSA\|AR(\||\r)/);
  // A patient added at the simulated Epic, brought in by a sync cycle.
  const epic = stack.simulators!.servers['epic-main']!;
  const added = await fetch(`${new URL(epic.url).origin}${DEV_PATH}/Patient`, {
    method: 'POST',
    body: JSON.stringify({ family: FHIR_FAMILY, given: FHIR_GIVEN, birthDate: '1966-07-08', gender: 'male' }),
  });
  assert.equal(added.status, 201);
  const fhirMrn = ((await added.json()) as FhirPatient).identifier.find(
    (i) => i.system === loadVendorProfile('epic').mrnIdentifier.system,
  )!.value!;
  secrets.add(fhirMrn);
  await stack.sync!.runNow('epic-main');
  await inboxDrained(stack.db);

  const clinician = (await tokenFor(stack, ['clinician'])).token;
  const feedSystem = localIdentifierSystems(hl7Feeds(stack.connections).find((f) => f.id === FEED)!).MR;
  const epicSystem = stack.connections.find((c) => c.id === 'epic-main')!.identifierSystems!.MR!;
  for (const [system, value, family] of [
    [feedSystem, HL7_MRN, HL7_FAMILY],
    [epicSystem, fhirMrn, FHIR_FAMILY],
  ] as const) {
    const res = await gql<Found>(stack, clinician, FIND, { s: system, v: value });
    const found = res.body.data?.patientByIdentifier;
    assert.equal(found?.name?.family.toUpperCase(), family.toUpperCase(), JSON.stringify(res.body));
    secrets.add(found.id);
    for (const r of found.sourceRecords) secrets.add(r.id);
  }
  // A role refused the names: FORBIDDEN, counted by code.
  const analyst = (await tokenFor(stack, ['analyst'])).token;
  const refused = await gql(stack, analyst, FIND, { s: feedSystem, v: HL7_MRN });
  assert.ok(
    refused.body.errors?.some((e) => e.extensions?.code === 'FORBIDDEN'),
    JSON.stringify(refused.body),
  );
  // No token: refused before GraphQL.
  assert.equal((await gql(stack, undefined, FIND, { s: feedSystem, v: HL7_MRN })).status, 401);

  // The Cerner EHR down until its breaker opens (recorded in connection_health, as ingestionStatus reads it).
  const cerner = stack.simulators!.servers['cerner-main']!;
  cerner.setFault({ status: 503 });
  try {
    for (let i = 0; i < 3; i++) await assert.rejects(stack.sync!.runNow('cerner-main'));
  } finally {
    cerner.setFault(null);
  }
  const integration = (await tokenFor(stack, ['integration'])).token;
  const status = await gql<{ ingestionStatus: { connectionId: string; breakerState: string | null; inboxDepth: number }[] }>(
    stack,
    integration,
    'query Health { ingestionStatus { connectionId breakerState inboxDepth } }',
  );
  const byConnection = new Map(status.body.data!.ingestionStatus.map((s) => [s.connectionId, s]));
  assert.equal(byConnection.get('cerner-main')?.breakerState, 'OPEN');

  // Every port answers with the one registry of this process (README, "Metrics").
  const ports = { gateway: stack.gateway.url, ...Object.fromEntries(Object.entries(stack.subgraphs).map(([n, s]) => [n, s.url])) };
  const scrapes = await Promise.all(Object.values(ports).map((url) => scrape(url)));
  for (const s of scrapes) {
    assert.equal(s.status, 200);
    assert.match(s.type ?? '', /^text\/plain; version=0\.0\.4/);
  }
  const text = scrapes[0]!.text;
  for (const s of scrapes) assert.ok(s.text.includes('pgw_graphql_requests_total{component="mpi"'), 'one registry behind every port');
  // The components this test called (the vendor adapters were not: sourceRecords' fields here are the MPI's).
  for (const name of ['gateway', 'mpi', 'integration'])
    assert.ok(text.includes(`pgw_graphql_requests_total{component="${name}"`), `${name}: its requests are counted`);

  // Requests and latency per operation, at the gateway and at the subgraph it called (client's name).
  const found = sample(text, 'pgw_graphql_requests_total', { component: 'gateway', operation: 'FindPatient', result: 'ok' });
  assert.ok(found !== undefined && found >= 2, `FindPatient ok: ${found}`);
  const count = sample(text, 'pgw_graphql_request_duration_seconds_count', { component: 'gateway', operation: 'FindPatient' })!;
  assert.equal(
    sample(text, 'pgw_graphql_request_duration_seconds_bucket', { component: 'gateway', operation: 'FindPatient', le: '+Inf' }),
    count,
  );
  assert.ok(count >= 3, 'the refused analyst request counts too');
  assert.ok(sample(text, 'pgw_graphql_request_duration_seconds_sum', { component: 'gateway', operation: 'FindPatient' })! > 0);
  assert.ok(sample(text, 'pgw_graphql_requests_total', { component: 'mpi', operation: 'FindPatient', result: 'ok' })! >= 2);
  // Errors by code: the analyst's FORBIDDEN at the gateway and at the MPI, the missing token's UNAUTHENTICATED.
  assert.ok(sample(text, 'pgw_graphql_errors_total', { component: 'gateway', code: 'FORBIDDEN' })! >= 1);
  assert.ok(sample(text, 'pgw_graphql_errors_total', { component: 'mpi', code: 'FORBIDDEN' })! >= 1);
  assert.ok(sample(text, 'pgw_graphql_errors_total', { component: 'gateway', code: 'UNAUTHENTICATED' })! >= 1);
  assert.ok(sample(text, 'pgw_graphql_requests_total', { component: 'gateway', operation: 'none', result: 'error' })! >= 1);
  // The gateway's calls to each subgraph.
  assert.ok(sample(text, 'pgw_gateway_subgraph_request_duration_seconds_count', { subgraph: 'mpi', outcome: 'ok' })! >= 2);
  // EHR calls by connection and outcome: Epic answered, Cerner failed with 503s then its breaker refused.
  assert.ok(sample(text, 'pgw_ehr_call_duration_seconds_count', { connection: 'epic-main', outcome: 'ok' })! >= 1);
  assert.ok(sample(text, 'pgw_ehr_call_duration_seconds_count', { connection: 'cerner-main', outcome: 'HTTP_ERROR' })! >= 1);
  assert.ok(sample(text, 'pgw_ehr_call_duration_seconds_count', { connection: 'cerner-main', outcome: 'CIRCUIT_OPEN' })! >= 1);
  // The breaker as GraphQL reports it: 2 = open; none recorded for the feed.
  assert.equal(sample(text, 'pgw_connection_breaker_state', { connection: 'cerner-main' }), 2);
  assert.equal(sample(text, 'pgw_connection_breaker_state', { connection: 'epic-main' }), 0);
  assert.equal(sample(text, 'pgw_connection_breaker_state', { connection: FEED }), undefined);
  // Ingestion: the inbox as ingestionStatus reads it, the HL7 message by feed and ACK code, its apply.
  for (const c of ['epic-main', 'cerner-main', FEED])
    assert.equal(sample(text, 'pgw_ingest_inbox_depth', { connection: c }), byConnection.get(c)!.inboxDepth, c);
  assert.equal(sample(text, 'pgw_ingest_dead_letters', { connection: FEED }), 0);
  assert.equal(sample(text, 'pgw_hl7_messages_total', { connection: FEED, ack: 'AA', outcome: 'accepted' }), 1);
  assert.equal(sample(text, 'pgw_hl7_messages_total', { connection: FEED, ack: 'AA', outcome: 'duplicate' }), 1);
  assert.equal(sample(text, 'pgw_hl7_messages_total', { connection: 'unrouted', ack: 'AR', outcome: 'refused' }), 1);
  assert.ok(sample(text, 'pgw_ingest_apply_duration_seconds_count', { connection: FEED, outcome: 'applied' })! >= 1);
  assert.ok(sample(text, 'pgw_ingest_apply_duration_seconds_count', { connection: 'epic-main', outcome: 'applied' })! >= 1);
  // Audit: rows committed, commits timed, nothing left waiting.
  assert.ok(sample(text, 'pgw_audit_rows_total')! >= 2);
  assert.ok(sample(text, 'pgw_audit_commit_duration_seconds_count', { result: 'ok' })! >= 1);
  assert.equal(sample(text, 'pgw_audit_queue_depth'), 0);
  if (stack.db.kind === 'postgres') assert.ok(sample(text, 'pgw_db_pool_max_connections')! > 0);
  assert.ok(sample(text, 'pgw_process_cpu_seconds_total')! > 0);

  // Nothing about a patient, anywhere, on any port.
  for (const [i, s] of scrapes.entries())
    for (const secret of secrets) assert.ok(!s.text.toUpperCase().includes(secret.toUpperCase()), `port ${i}: a scrape shows ${secret}`);
});

test('500 distinct operation names: the operation label set stays bounded', async () => {
  const { token } = await tokenFor(stack, ['clinician']);
  // Twenty at a time: the label set is what is tested, not the gateway's throughput.
  for (let i = 0; i < 500; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => gql(stack, token, `query Probe${i + j} { __typename }`)));
    assert.deepEqual(new Set(batch.map((r) => r.status)), new Set([200]));
  }
  const { text } = await scrape(stack.gateway.url);
  const gateway = text
    .split('\n')
    .filter((l) => l.startsWith('pgw_graphql_requests_total{component="gateway"'))
    .join('\n');
  const names = labelValues(gateway, 'pgw_graphql_requests_total', 'operation');
  // At most DEFAULT_MAX_OPERATIONS names, plus none, anonymous, invalid and other.
  assert.ok(names.size <= DEFAULT_MAX_OPERATIONS + 4, `${names.size} operation labels`);
  assert.ok(names.has('other'));
  const probes = [...names].filter((n) => n.startsWith('Probe'));
  assert.ok(probes.length > 0 && probes.length <= DEFAULT_MAX_OPERATIONS, `${probes.length} Probe labels`);
  const other = sample(text, 'pgw_graphql_requests_total', { component: 'gateway', operation: 'other', result: 'ok' })!;
  assert.ok(other >= 500 - DEFAULT_MAX_OPERATIONS, `${other} counted as other`);
});

test('/metrics asks for its token: 401 without, 401 with another', async () => {
  for (const url of [stack.gateway.url, stack.subgraphs.mpi!.url]) {
    const none = await scrape(url, '');
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.text).errors[0].extensions.code, 'UNAUTHENTICATED');
    assert.equal((await scrape(url, 'not-the-token')).status, 401);
  }
});
