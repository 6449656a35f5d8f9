// Operation limits across the federation (issue 12, finding 7): the part of a query plan the
// gateway sends a subgraph costs more than the client's operation (key fields, __typename, one
// inline fragment per vendor record type), and each subgraph applies the same cost limit. An
// operation the gateway accepts is never refused downstream for cost: the gateway costs every
// fetch of its plan and refuses up front, naming the subgraph. A refusal that does happen
// downstream reaches the client with its code and bound (not `internal error`) and is logged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readCommittedSupergraph } from '../../gateway/compose.ts';
import { startGateway } from '../../gateway/server.ts';
import { loadAdapters } from '../../platform/config.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../platform/keys.ts';
import type { RunningHttpServer } from '../../platform/graphql-http.ts';
import { operationLimits } from '../../platform/operation-limits/index.ts';
import type { Stack } from '../../runtime/stack.ts';
import { identitySigner } from '../../security/identity-token.ts';
import { userTokenVerifier } from '../../security/user-token.ts';
import { startTestStack, TEST_IDP, tokenFor } from '../support/stack.ts';
import { assertRefused, patientValues, send, stillServes, type Door } from './operation-limits-support.ts';

let stack: Stack;
let gateway: Door;
let sub: string;
let forbidden: string[] = [];
before(async () => {
  stack = await startTestStack({ production: true });
  const minted = await tokenFor(stack, ['clinician']);
  sub = minted.sub;
  gateway = {
    name: 'gateway',
    url: stack.gateway.url,
    sample:
      '{ patients(first: 3) { totalCount edges { node { id name { family given } birthDate sourceRecords { source observations { id } } } } } }',
    headers: async () => ({ authorization: `Bearer ${minted.token}` }),
  };
  forbidden = patientValues(await stillServes(gateway, 'before'));
  // Every clinical list of the first 100 patients in the cache: the aliased queries below send the
  // vendor subgraphs one fetch per alias, which would otherwise each search the EHRs.
  const warm = await send(gateway, { query: '{ patients(first: 100) { edges { node { sourceRecords { observations { id } } } } } }' });
  assert.equal(warm.body.errors, undefined, warm.text.slice(0, 300));
});
after(() => stack?.close());

/** `aliases` aliased `sourceRecords { observations { id } }` on a page of `first` patients. */
const aliasedRecords = (first: number, aliases: number): string =>
  `{ patients(first: ${first}) { edges { node { ${Array.from({ length: aliases }, (_, i) => `r${i}: sourceRecords { observations { id } }`).join(' ')} } } } }`;
// At the gateway: 1 + first × (2 + 3 × aliases). At the MPI, each alias becomes
// `sourceRecords { __typename id ... on EpicRecord { __typename id } ... on CernerRecord { __typename id } ... }`,
// one fragment per vendor record type (config/adapters.json: Epic, Cerner, HL7 feed):
// 1 + first × (2 + (2 + 2 × record types) × aliases).
const RECORD_TYPES = loadAdapters().length;
const gatewayCost = (first: number, aliases: number) => 1 + first * (2 + 3 * aliases);
const mpiCost = (first: number, aliases: number) => 1 + first * (2 + (2 + 2 * RECORD_TYPES) * aliases);
/** The largest page of patients whose 25 aliased record lists the MPI still accepts. */
const BOUNDARY = Math.floor((15_000 - 1) / (2 + (2 + 2 * RECORD_TYPES) * 25));

const auditRowsOf = async (subject: string): Promise<number> =>
  Number((await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_event WHERE actor_sub = $1', [subject])).rows[0]!.n);

test("the review's query (cost 7,701, 20,201 at the MPI) is refused up front, naming the subgraph; no subgraph is called", async () => {
  assert.equal(gatewayCost(100, 25), 7_701);
  assert.equal(mpiCost(100, 25), 20_201);
  const before = await auditRowsOf(sub);
  const res = await send(gateway, { query: aliasedRecords(100, 25) });
  assertRefused(
    res,
    { status: 400, code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', message: /subgraph mpi/ },
    forbidden,
    'aliased records',
  );
  const error = res.body.errors!.find((e) => e.extensions?.limit === 'cost')!;
  assert.deepEqual(
    { max: error.extensions?.max, actual: error.extensions?.actual, subgraph: error.extensions?.subgraph },
    { max: 15_000, actual: 20_201, subgraph: 'mpi' },
  );
  assert.equal(await auditRowsOf(sub), before, 'refused before any subgraph was called (no subgraph wrote an audit row)');
  await stillServes(gateway, 'after the refusal');
});

test("at the boundary the gateway's cost of the MPI's part is the MPI's own: one patient less is answered in full", async () => {
  // 74 patients: 14,949 at the MPI, answered; 75 patients: 15,151, refused by the gateway.
  assert.deepEqual([BOUNDARY, mpiCost(BOUNDARY, 25), mpiCost(BOUNDARY + 1, 25)], [74, 14_949, 15_151]);
  const accepted = await send(gateway, { query: aliasedRecords(BOUNDARY, 25) });
  assert.equal(accepted.status, 200, accepted.text.slice(0, 300));
  assert.equal(accepted.body.errors, undefined, JSON.stringify(accepted.body.errors)?.slice(0, 500));
  const edges = (accepted.body.data as { patients: { edges: { node: Record<string, { observations: unknown[] | null }[]> }[] } }).patients
    .edges;
  assert.equal(edges.length, BOUNDARY);
  assert.ok(edges.some((e) => e.node.r24!.some((r) => (r.observations?.length ?? 0) > 0)));
  const refused = await send(gateway, { query: aliasedRecords(BOUNDARY + 1, 25) });
  assertRefused(refused, { status: 400, code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' }, forbidden, `${BOUNDARY + 1} patients`);
  assert.equal(refused.body.errors![0]!.extensions?.actual, mpiCost(BOUNDARY + 1, 25));
});

test('whatever the gateway accepts, no subgraph refuses for cost (page sizes × aliases around the limit)', async () => {
  for (const first of [20, 100]) {
    for (const aliases of [1, 16, 24, 25, 40]) {
      const res = await send(gateway, { query: aliasedRecords(first, aliases) });
      const label = `first ${first}, ${aliases} aliases`;
      if (res.status === 400) {
        assertRefused(res, { status: 400, code: 'GRAPHQL_VALIDATION_FAILED', limit: ['cost', 'aliases'] }, forbidden, label);
        continue;
      }
      assert.equal(res.status, 200, `${label}: ${res.text.slice(0, 300)}`);
      assert.equal(
        res.body.errors,
        undefined,
        `${label}: accepted, then refused downstream? ${JSON.stringify(res.body.errors)?.slice(0, 300)}`,
      );
      assert.ok(mpiCost(first, aliases) <= 15_000, `${label}: the gateway accepted what the MPI would refuse`);
    }
  }
});

test('a refusal downstream reaches the client with its code, limit and subgraph, and is logged without PHI', async () => {
  // A gateway whose own cost limit is looser than its subgraphs' (a misconfiguration the product
  // must survive): the MPI refuses the part it is sent.
  const keys = stack.keys;
  let loose: RunningHttpServer | undefined;
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  try {
    loose = await startGateway({
      supergraphSdl: readCommittedSupergraph(),
      subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
      signIdentity: identitySigner(await loadKeyPair(keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity)),
      // A production gateway: it trusts the test identity provider the stack's tokens come from.
      verifyUserToken: userTokenVerifier([TEST_IDP]),
      port: 0,
      production: true,
      operationLimits: operationLimits({ maxCost: 100_000 }),
    });
    const door: Door = { ...gateway, url: loose.url };
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      lines.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    const res = await send(door, { query: aliasedRecords(100, 25) });
    process.stderr.write = write;
    assert.doesNotMatch(res.text, /internal error/);
    const errors = res.body.errors ?? [];
    const refusal = errors.find((e) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED');
    assert.ok(refusal, `the subgraph's refusal is relayed: ${res.text.slice(0, 500)}`);
    assert.deepEqual(
      {
        limit: refusal.extensions?.limit,
        max: refusal.extensions?.max,
        actual: refusal.extensions?.actual,
        subgraph: refusal.extensions?.subgraph,
      },
      { limit: 'cost', max: 15_000, actual: 20_201, subgraph: 'mpi' },
    );
    assert.ok(!errors.some((e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR'), JSON.stringify(errors));
    assert.ok(!res.body.data, 'no data');
    for (const value of forbidden) assert.ok(!res.text.includes(value), 'no patient value in the body');
    const logged = lines.filter((l) => l.includes('"subgraph_refused"'));
    assert.equal(logged.length, 1, `one log line for the refusal: ${lines.join('')}`);
    const entry = JSON.parse(logged[0]!) as Record<string, unknown>;
    assert.deepEqual(
      { subgraph: entry.subgraph, code: entry.code, limit: entry.limit, max: entry.max, actual: entry.actual },
      { subgraph: 'mpi', code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', max: 15_000, actual: 20_201 },
    );
    for (const value of forbidden) assert.ok(!logged[0]!.includes(value), 'no patient value in the log');
  } finally {
    process.stderr.write = write;
    await loose?.close();
  }
});
