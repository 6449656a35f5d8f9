// A product team's first query: golden patients with data from both simulated EHRs, through the
// gateway, read through the clinical store (once the TTL has passed, one FHIR search per connection
// and resource type per request).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
let clinician: string;
before(async () => {
  stack = await startTestStack();
  clinician = (await tokenFor(stack, ['clinician'])).token;
});
after(() => stack?.close());

type Record = {
  source: string;
  mrn: string | null;
  observations:
    | {
        code: { coding: { system: string | null; code: string | null }[] };
        valueQuantity: { value: number | null } | null;
        provenance: { source: string };
      }[]
    | null;
  conditions: { code: { coding: { system: string | null }[] } }[] | null;
  medications: unknown[] | null;
};
type Node = {
  id: string;
  name: { family: string; given: string[] } | null;
  birthDate: string | null;
  gender: string | null;
  identifiers: { system: string; value: string }[];
  sourceRecords: Record[];
};
type Page = {
  patients: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { cursor: string; node: Node }[] };
};

const PAGE = `query Page($first: Int, $after: String) {
  patients(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id name { family given } birthDate gender identifiers { system value }
      sourceRecords { source mrn
        observations { code { coding { system code } } valueQuantity { value } provenance { source } }
        conditions { code { coding { system } } }
        medications { id }
      }
    } }
  }
}`;

async function allPatients(): Promise<Node[]> {
  const nodes: Node[] = [];
  let after: string | null = null;
  do {
    const res: Awaited<ReturnType<typeof gql<Page>>> = await gql<Page>(stack, clinician, PAGE, { first: 100, after });
    assert.equal(res.status, 200);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    const page = res.body.data!.patients;
    nodes.push(...page.edges.map((e) => e.node));
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return nodes;
}

test('the initial load linked every simulated record, and linked the same person across EHRs', async () => {
  const truth = stack.population!.truth;
  const loaded = stack.loadReports.reduce((n, r) => n + r.linked + r.quarantined, 0);
  assert.equal(loaded, truth.length);
  for (const r of stack.loadReports) assert.equal(r.failed, undefined);
  const nodes = await allPatients();
  const goldenOf = new Map<string, string>();
  for (const n of nodes) for (const r of n.sourceRecords) goldenOf.set(`${r.source}|${r.mrn}`, n.id);
  assert.equal(goldenOf.size, truth.length, 'every source record is linked to exactly one golden patient');
  // Precision: a golden record never mixes two people.
  const personOf = new Map(truth.map((t) => [`${t.siteId}|${t.mrn}`, t.personId]));
  const peopleInGolden = new Map<string, Set<string>>();
  for (const [key, golden] of goldenOf)
    (peopleInGolden.get(golden) ?? peopleInGolden.set(golden, new Set()).get(golden)!).add(personOf.get(key)!);
  for (const people of peopleInGolden.values()) assert.equal(people.size, 1);
  // Recall: a person whose name and birth date agree at both sites is linked, or (when nothing else
  // agrees: another address, another phone) waits in the steward's review queue; never silently apart.
  const { rows: open } = await stack.db.query<{ golden_id: string; candidate_id: string }>(
    "SELECT golden_id, candidate_id FROM review_item WHERE status = 'OPEN'",
  );
  const queued = new Set(open.map((r) => [r.golden_id, r.candidate_id].sort().join()));
  const undisturbed = truth.filter((t) => t.discrepancy === null);
  const byPerson = Map.groupBy(undisturbed, (t) => t.personId);
  let pairs = 0;
  let linkedPairs = 0;
  for (const rows of byPerson.values()) {
    if (rows.length < 2) continue;
    pairs++;
    const goldens = [...new Set(rows.map((t) => goldenOf.get(`${t.siteId}|${t.mrn}`)!))];
    if (goldens.length === 1) linkedPairs++;
    else assert.ok(queued.has(goldens.sort().join()), 'an unlinked pair of one person is in the review queue');
  }
  assert.ok(linkedPairs > pairs * 0.8, `most undisturbed pairs are linked automatically (${linkedPairs} of ${pairs})`);
  assert.ok(pairs > 10, `expected overlapping people in the population, got ${pairs}`);
});

test('one query returns a golden patient with observations from both EHRs, in standard codes', async () => {
  const nodes = await allPatients();
  const both = nodes.find(
    (n) => new Set(n.sourceRecords.map((r) => r.source)).size === 2 && n.sourceRecords.every((r) => (r.observations?.length ?? 0) > 0),
  );
  assert.ok(both, 'a golden patient linked to both EHRs with observations in each');
  assert.ok(both.name?.family && both.birthDate && both.gender);
  for (const record of both.sourceRecords) {
    for (const o of record.observations!) {
      assert.equal(o.code.coding[0]?.system, 'http://loinc.org');
      assert.equal(o.provenance.source, record.source);
      if (o.valueQuantity) assert.equal(typeof o.valueQuantity.value, 'number');
    }
  }
  assert.ok(both.identifiers.some((i) => i.system === 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14'));
  assert.ok(both.identifiers.some((i) => i.system === 'urn:oid:2.16.840.1.113883.6.1000'));
});

test('patient(id) and patientByIdentifier(system, value) find the same golden patient', async () => {
  const first = (await gql<Page>(stack, clinician, PAGE, { first: 1 })).body.data!.patients.edges[0]!.node;
  // A hospital's own identifier (an SSN may be on two golden patients: one person's records waiting for a steward).
  const mrn = first.identifiers.find((i) => i.system !== 'http://hl7.org/fhir/sid/us-ssn')!;
  const res = await gql<{ a: { id: string } | null; b: { id: string } | null }>(
    stack,
    clinician,
    'query ($id: ID!, $s: String!, $v: String!) { a: patient(id: $id) { id } b: patientByIdentifier(system: $s, value: $v) { id } }',
    { id: first.id, s: mrn.system, v: mrn.value },
  );
  assert.deepEqual(res.body.data, { a: { id: first.id }, b: { id: first.id } });
});

test('the store answers after the initial load; past the TTL, one FHIR search per connection and resource type per request', async () => {
  const counts = () => Object.fromEntries(Object.entries(stack.simulators!.servers).map(([id, s]) => [id, s.requestCount()]));
  const query = 'query { patients(first: 10) { edges { node { sourceRecords { source observations { id } conditions { id } } } } } }';
  const before = counts();
  const first = await gql(stack, clinician, query);
  assert.equal(first.body.errors, undefined, JSON.stringify(first.body.errors));
  assert.deepEqual(counts(), before, 'the initial load filled the store: no EHR asked within the TTL');
  // The TTL passes (every retrieval made an hour older).
  await stack.db.query("UPDATE clinical_retrieval SET retrieved_at = retrieved_at - interval '1 hour'");
  const res = await gql(stack, clinician, query);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.deepEqual(res.body.data, first.body.data, 'unchanged at the source: the same answer');
  const afterRefresh = counts();
  for (const id of Object.keys(before)) {
    const calls = afterRefresh[id]! - before[id]!;
    assert.ok(calls >= 1 && calls <= 2, `${id}: ${calls} FHIR calls for 10 patients (one Observation and one Condition search expected)`);
  }
  await gql(stack, clinician, query);
  assert.deepEqual(counts(), afterRefresh, 'the second identical request is served from the store');
});

test('bad input: unknown id is null, malformed arguments are BAD_USER_INPUT', async () => {
  const unknown = await gql(stack, clinician, '{ patient(id: "00000000-0000-4000-8000-000000000000") { id name { family } } }');
  assert.deepEqual(unknown.body, { data: { patient: null } });
  const malformed = await gql(stack, clinician, '{ patient(id: "not-a-uuid") { id } }');
  assert.equal(malformed.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const tooMany = await gql(stack, clinician, '{ patients(first: 100000000) { totalCount } }');
  assert.equal(tooMany.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const badCursor = await gql(stack, clinician, '{ patients(first: 1, after: "garbage") { totalCount } }');
  assert.equal(badCursor.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const wrongType = await gql(stack, clinician, 'query ($n: Int) { patients(first: $n) { totalCount } }', { n: 'ten' });
  assert.equal(wrongType.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
});
