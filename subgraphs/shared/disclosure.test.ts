// The disclosure audit, on the real subgraph plumbing (policies, audit middleware, federation):
// a field that returns patient data, a Relay connection of it, or an entity lookup records the
// patients it returned under its own coordinate, whatever is selected below it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphql } from 'graphql';
import { auditCollector, type AuditAccess } from '../../orchestration/audit/collector.ts';
import { federationPolicies } from '../../policies/federation.ts';
import { allow } from '../../policies/shield.ts';
import { buildSubgraph, type SubgraphDefinition } from './subgraph-server.ts';
import type { SubgraphContext } from './context.ts';

const people = new Map([
  ['p1', { id: 'p1', name: 'one' }],
  ['p2', { id: 'p2', name: 'two' }],
]);
const def: SubgraphDefinition = {
  name: 'test',
  typeDefs: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
    type Query { person(id: ID!): Person people: PersonConnection! failing: Person }
    type Person @key(fields: "id") { id: ID! name: String }
    type PersonConnection { edges: [PersonEdge!]! totalCount: Int! }
    type PersonEdge { cursor: String! node: Person! }`,
  resolvers: {
    Query: {
      person: (_p: unknown, { id }: { id: string }) => people.get(id) ?? null,
      people: () => ({ edges: [...people.values()].map((node) => ({ cursor: `c-${node.id}`, node })), totalCount: people.size }),
      failing: () => Promise.reject(new Error('source down')),
    },
    Person: { __resolveReference: (ref: { id: string }) => Promise.resolve(people.get(ref.id) ?? null) },
  } as SubgraphDefinition['resolvers'],
  policies: [
    federationPolicies,
    {
      Query: { person: allow, people: allow, failing: allow },
      Person: { id: allow, name: allow },
      PersonConnection: { edges: allow, totalCount: allow },
      PersonEdge: { cursor: allow, node: allow },
    },
  ],
  auditSubjects: { Person: (p) => `Patient/${(p as { id: string }).id}` },
};
const schema = buildSubgraph(def);

async function run(source: string, variableValues?: Record<string, unknown>): Promise<AuditAccess[]> {
  const ctx: SubgraphContext = {
    principal: {
      sub: 'u',
      roles: ['clinician'],
      purposeOfUse: 'TREAT',
      clientId: null,
      scopes: [],
      patientContext: null,
      breakGlassReason: null,
      clientIp: null,
      requestId: 'r',
    },
    audit: auditCollector(def.auditSubjects),
    subgraph: def.name,
    client: { operationName: null, documentHash: null, traceparent: null },
    perRequest: new Map(),
  };
  await graphql({ schema, source, variableValues, contextValue: ctx });
  return ctx.audit.accesses().map(({ patientRef, fields }) => ({ patientRef, fields }));
}

test('a field returning a patient records it under its coordinate, even for __typename alone', async () => {
  assert.deepEqual(await run('{ person(id: "p1") { __typename } }'), [{ patientRef: 'Patient/p1', fields: ['Query.person'] }]);
  assert.deepEqual(await run('{ person(id: "p1") { name } }'), [{ patientRef: 'Patient/p1', fields: ['Person.name', 'Query.person'] }]);
});

test('nothing found, or a resolver that failed, records nobody', async () => {
  assert.deepEqual(await run('{ person(id: "nobody") { __typename } failing { __typename } }'), []);
});

test('a connection records every node on the page, whatever is selected', async () => {
  for (const selection of ['totalCount', 'edges { cursor }'])
    assert.deepEqual(await run(`{ people { ${selection} } }`), [
      { patientRef: 'Patient/p1', fields: ['Query.people'] },
      { patientRef: 'Patient/p2', fields: ['Query.people'] },
    ]);
});

test('an entity lookup is recorded only when nothing else names the patient', async () => {
  const entities = (selection: string) =>
    run(`query ($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`, {
      r: [
        { __typename: 'Person', id: 'p1' },
        { __typename: 'Person', id: 'nobody' },
      ],
    });
  assert.deepEqual(await entities('__typename'), [{ patientRef: 'Patient/p1', fields: ['Query._entities'] }]);
  assert.deepEqual(await entities('... on Person { name }'), [{ patientRef: 'Patient/p1', fields: ['Person.name'] }]);
});
