// Default deny, proven on the real subgraph plumbing: a field that no policy mentions is
// FORBIDDEN to every role, even the most privileged, while listed fields keep working.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { graphql } from 'graphql';
import { auditCollector } from '../orchestration/audit/collector.ts';
import { MPI_MIGRATIONS } from '../orchestration/mpi/store.ts';
import { loadAdapters } from '../platform/config.ts';
import { dropSchema, migrate, openDatabase } from '../platform/db.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';
import { vendorAdapterSubgraph } from '../subgraphs/vendor-adapter/subgraph.ts';
import { buildSubgraph } from '../subgraphs/shared/subgraph-server.ts';
import type { SubgraphContext } from '../subgraphs/shared/context.ts';
import type { Role } from '../security/principal.ts';

const adapter = loadAdapters()[0]!;
// One known connection, never called: only keys and unlisted fields are resolved here. Its record
// conn-a:123 is linked to a golden patient (a vendor subgraph resolves linked records only).
const connections = new Map([['conn-a', { config: null as never, client: null as never, ingest: null as never }]]);
const db = await openDatabase({ url: databaseUrl(), schema: uniqueSchema('policy') });
after(async () => {
  await dropSchema(db);
  await db.close();
});
await migrate(db, MPI_MIGRATIONS);
await db.query(`INSERT INTO golden_patient (id) VALUES ('00000000-0000-4000-8000-000000000123')`);
await db.query(
  `INSERT INTO source_record (source, source_patient_id, golden_id, demographics) VALUES ('conn-a', '123', '00000000-0000-4000-8000-000000000123', '{}')`,
);
const base = vendorAdapterSubgraph(adapter, {
  connections,
  db,
  protection: null as never,
  profile: null as never,
  ttlSeconds: 1,
});
const withUnlistedFields = buildSubgraph({
  ...base,
  typeDefs: `${base.typeDefs}\nextend type Query { unlistedQuery: String }\nextend type ${adapter.recordType} { unlistedField: String }`,
  resolvers: {
    ...base.resolvers,
    Query: { unlistedQuery: () => 'secret' },
    [adapter.recordType]: { ...(base.resolvers[adapter.recordType] as object), unlistedField: () => 'secret' },
  },
});

const context = (roles: Role[]): SubgraphContext => ({
  principal: {
    sub: 'u',
    roles,
    purposeOfUse: 'TREAT',
    clientId: null,
    scopes: ['user/*.rs'],
    patientContext: null,
    breakGlassReason: null,
    clientIp: null,
    requestId: 'r',
  },
  audit: auditCollector(base.auditSubjects),
  subgraph: base.name,
  client: { operationName: null, documentHash: null, traceparent: null },
  perRequest: new Map(),
});

test('a field no policy mentions is denied to every role', async () => {
  for (const roles of [
    ['clinician'],
    ['steward'],
    ['analyst'],
    ['security'],
    ['integration'],
    ['clinician', 'steward', 'analyst', 'security', 'integration'],
  ] as Role[][]) {
    const ctx = context(roles);
    const res = await graphql({ schema: withUnlistedFields, source: '{ unlistedQuery }', contextValue: ctx });
    assert.equal(res.data?.unlistedQuery, null);
    assert.equal(res.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.equal(res.errors?.[0]?.message, 'Not authorized');
    assert.deepEqual(ctx.audit.denials(), [{ patientRef: '', fields: ['Query.unlistedQuery'], rules: ['default-deny'] }]);
  }
});

/** graphql-js returns null-prototype objects; compare plain data. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const entities = (ctx: SubgraphContext, id: string) =>
  graphql({
    schema: withUnlistedFields,
    source: `query ($r: [_Any!]!) { _entities(representations: $r) { ... on ${adapter.recordType} { id unlistedField } } }`,
    variableValues: { r: [{ __typename: adapter.recordType, id }] },
    contextValue: ctx,
  });

test('an unlisted field on a patient-data type is denied while listed siblings resolve', async () => {
  const ctx = context(['clinician']);
  const res = await entities(ctx, 'conn-a:123');
  assert.deepEqual(plain(res.data), { _entities: [{ id: 'conn-a:123', unlistedField: null }] });
  assert.equal(res.errors?.length, 1);
  assert.equal(res.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.deepEqual(
    ctx.audit.accesses().map((a) => ({ ...a, rules: undefined })),
    [{ patientRef: 'SourceRecord/conn-a:123', fields: [`${adapter.recordType}.id`], rules: undefined }],
  );
  assert.deepEqual(ctx.audit.denials(), [
    { patientRef: 'SourceRecord/conn-a:123', fields: [`${adapter.recordType}.unlistedField`], rules: ['default-deny'] },
  ]);
});

test('entity lookups pass the object-level check: unknown connections and other roles get null', async () => {
  const unknown = context(['clinician']);
  assert.deepEqual(plain((await entities(unknown, 'other-conn:123')).data), { _entities: [null] });
  const analyst = context(['analyst']);
  assert.deepEqual(plain((await entities(analyst, 'conn-a:123')).data), { _entities: [null] });
  // A well-formed id of a known connection that the MPI does not link: null for a clinician too.
  const unlinked = context(['clinician']);
  assert.deepEqual(plain((await entities(unlinked, 'conn-a:456')).data), { _entities: [null] });
  assert.deepEqual([...unknown.audit.accesses(), ...analyst.audit.accesses(), ...unlinked.audit.accesses()], []);
});
