// Operation limits (platform/operation-limits) against the running product in production mode,
// at the gateway and directly at the MPI subgraph with a genuine gateway identity (defense in
// depth: the same limits hold behind the gateway). Each abusive request is refused with a
// specific error, returns no patient value, and the door still answers the README's query
// afterwards. Documents that would return patient data if a limit failed use real patient ids.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../runtime/stack.ts';
import { startTestStack } from '../support/stack.ts';
import { assertRefused, doors, patientValues, send, stillServes, type Door } from './operation-limits-support.ts';

let stack: Stack;
let gateway: Door;
let mpi: Door;
let ids: string[] = [];
let forbidden: string[] = [];
before(async () => {
  stack = await startTestStack({ production: true });
  ({ gateway, mpi } = await doors(stack));
  const edges = await stillServes(gateway, 'before the attacks');
  ids = edges.map((e) => e.node.id);
  forbidden = patientValues(edges);
});
after(() => stack?.close());

const VALIDATION = 'GRAPHQL_VALIDATION_FAILED';
const PAGE = 'patients(first: 3) { edges { node { id name { family } birthDate } } }';
const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');

type Case = { body: () => unknown; status?: number; code?: string; limit?: string | readonly string[]; message?: RegExp };
const CASES: Record<string, Case> = {
  'depth bomb written inline': {
    body: () => ({ query: `{ ${PAGE} __schema { types { ${'fields { type { '.repeat(10)}name${' } }'.repeat(10)} } } }` }),
    limit: 'depth',
  },
  'depth bomb with named fragments': {
    body: () => ({
      query: `{ ${PAGE} __schema { types { ...T0 } } } ${Array.from({ length: 10 }, (_, i) => `fragment T${i} on __Type { fields { type { ${i < 9 ? `...T${i + 1}` : 'name'} } } }`).join(' ')}`,
    }),
    limit: 'depth',
  },
  'depth bomb with inline fragments': {
    body: () => ({
      query: `{ ${PAGE} __schema { types { ${'... on __Type { fields { ... on __Field { type { '.repeat(10)}name${' } } } }'.repeat(10)} } } }`,
    }),
    limit: 'depth',
  },
  'circular fragments': {
    body: () => ({
      query:
        '{ patients(first: 3) { ...A } } fragment A on PatientConnection { edges { node { id name { family } } } ...B } fragment B on PatientConnection { ...A }',
    }),
    message: /Cannot spread fragment "A" within itself/,
  },
  '150 aliases of a field': {
    body: () => ({ query: `{ patients(first: 3) { edges { node { ${aliases(150, 'id')} } } } }` }),
    limit: 'aliases',
  },
  '150 aliases of __typename': { body: () => ({ query: `{ ${PAGE} ${aliases(150, '__typename')} }` }), limit: 'aliases' },
  '500 duplicate fields': {
    body: () => ({ query: `{ patients(first: 3) { edges { node { ${'id '.repeat(500)}name { family } } } } }` }),
    limit: 'fieldRepeats',
  },
  '100 directives': {
    body: () => ({
      query: `{ patients(first: 3) { edges { node { id ${'...N @include(if: true) '.repeat(100)}} } } } fragment N on Patient { name { family } }`,
    }),
    limit: 'directives',
  },
  'JSON batching': { body: () => [{ query: `{ ${PAGE} }` }, { query: `{ ${PAGE} }` }], code: 'BAD_REQUEST', message: /batching disabled/ },
  '1,000 aliased patient(id:) lookups': {
    body: () => ({
      query: `{ ${Array.from({ length: 1_000 }, (_, i) => `p${i}: patient(id: "${ids[i % ids.length]}") { id name { family } }`).join(' ')} }`,
    }),
    limit: 'characters',
  },
  '60 aliased lookups, within the character limit': {
    body: () => ({
      query: `query ($id: ID!) { ${Array.from({ length: 60 }, (_, i) => `p${i}: patient(id: $id) { id name { family } }`).join(' ')} }`,
      variables: { id: ids[0] },
    }),
    limit: ['aliases', 'rootFields'],
  },
  'first: 100000000': {
    body: () => ({ query: '{ patients(first: 100000000) { edges { node { id name { family } } } } }' }),
    code: 'BAD_USER_INPUT',
    limit: 'pageSize',
  },
  'first: 100000000 as a variable': {
    body: () => ({
      query: 'query ($n: Int) { patients(first: $n) { edges { node { id name { family } } } } }',
      variables: { n: 100_000_000 },
    }),
    code: 'BAD_USER_INPUT',
    limit: 'pageSize',
  },
  'ten aliased pages of 100 (cost)': {
    body: () => ({
      query: `{ ${Array.from({ length: 10 }, (_, i) => `p${i}: patients(first: 100) { totalCount edges { node { id name { family given } birthDate gender identifiers { system value } sourceRecords { id source mrn } } } }`).join(' ')} }`,
    }),
    limit: 'cost',
  },
  'over 2,000 tokens': { body: () => ({ query: `{ patients(first: 3) { edges { node { ${'id '.repeat(2_100)}} } } }` }), limit: 'tokens' },
  'a 900 KB query': { body: () => ({ query: `{ ${PAGE} ${' '.repeat(900_000)}}` }), limit: 'characters' },
  'a 1 MB query': { body: () => ({ query: `{ ${PAGE} ${' '.repeat(1024 * 1024)}}` }), status: 413, code: 'PAYLOAD_TOO_LARGE' },
};

for (const door of ['gateway', 'mpi subgraph'] as const) {
  test(`${door}: every abusive operation is refused, leaks nothing, and the door still serves`, async () => {
    const target = door === 'gateway' ? gateway : mpi;
    await stillServes(target, 'before');
    for (const [name, c] of Object.entries(CASES)) {
      const started = Date.now();
      const res = await send(target, c.body());
      assertRefused(
        res,
        { status: c.status ?? 400, code: c.code ?? VALIDATION, limit: c.limit, message: c.message },
        forbidden,
        `${door}, ${name}`,
      );
      assert.ok(Date.now() - started < 2_000, `${door}, ${name}: refused quickly (${Date.now() - started} ms)`);
      await stillServes(target, `after: ${name}`);
    }
  });
}

test('the gateway and the subgraph refuse in the same words (one set of limits)', async () => {
  for (const name of ['150 aliases of __typename', '500 duplicate fields', 'first: 100000000', 'over 2,000 tokens', 'a 900 KB query']) {
    const body = CASES[name]!.body();
    const [atGateway, atSubgraph] = await Promise.all([send(gateway, body), send(mpi, body)]);
    assert.equal(atGateway.status, atSubgraph.status, name);
    const limitErrors = (r: typeof atGateway) => r.body.errors?.filter((e) => e.extensions?.limit).map((e) => e.extensions);
    assert.deepEqual(limitErrors(atGateway), limitErrors(atSubgraph), name);
  }
});

test('the golden-patient page of 100 with clinical data, and the full record, pass every limit', async () => {
  const full = `query Full($first: Int) { patients(first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
    id name { use family given } birthDate birthYear gender postalCodePrefix
    identifiers { system value type source } addresses { use line city state postalCode country } telecom { system value use }
    sourceRecords { id source mrn
      observations { id status category { coding { system code display } text } code { coding { system code display } text } effective valueQuantity { value unit system code } valueString valueCodeableConcept { coding { system code display } text } provenance { source resourceType resourceId retrievedAt } }
      conditions { id clinicalStatus verificationStatus code { coding { system code display } text } onset recordedDate provenance { source resourceType resourceId retrievedAt } }
      medications { id status intent medication { coding { system code display } text } authoredOn dosageText provenance { source resourceType resourceId retrievedAt } } } } } } }`;
  const res = await send(gateway, { query: full, variables: { first: 100 } });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const page = (res.body.data as { patients: { edges: { node: { sourceRecords: { observations: unknown[] | null }[] } }[] } }).patients;
  assert.equal(page.edges.length, 100);
  assert.ok(page.edges.some((e) => e.node.sourceRecords.some((r) => (r.observations?.length ?? 0) > 0)));
});
