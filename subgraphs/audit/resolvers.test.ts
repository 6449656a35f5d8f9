// The audit subgraph counts the log only when the count is selected: a page costs a page, not a
// scan of every matching row (BENCHMARKS.md, "Reading the audit log"). Runs the subgraph schema
// (policies and audit included) on a real database, recording the statements it sends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execute, parse } from 'graphql';
import { dropSchema, type Database, type Queryable } from '../../platform/db.ts';
import { auditCollector } from '../../orchestration/audit/collector.ts';
import { writeAuditEvents } from '../../orchestration/audit/audit-log.ts';
import { openAuditDb, testPrincipal } from '../../orchestration/audit/test-helpers.ts';
import { databaseUrl } from '../../test/support/env.ts';
import { buildSubgraph } from '../shared/subgraph-server.ts';
import type { SubgraphContext } from '../shared/context.ts';
import { auditSubgraph } from './subgraph.ts';

let db: Database;
const sent: string[] = [];
before(async () => {
  db = await openAuditDb(databaseUrl());
  for (let i = 0; i < 3; i++)
    await writeAuditEvents(
      db,
      { principal: testPrincipal({ sub: 'dr-count' }), subgraph: 'mpi', operationName: null },
      [{ patientRef: `Patient/p${i}`, fields: ['Patient.name'] }],
      [],
    );
});
after(async () => {
  await dropSchema(db);
  await db.close();
});

const recording: Queryable = {
  query: (text, params) => {
    sent.push(text);
    return db.query(text, params);
  },
};
const schema = () => {
  const def = auditSubgraph({ db: { ...db, query: recording.query } });
  return { def, schema: buildSubgraph(def) };
};

async function run(document: string): Promise<{ data: unknown; statements: string[] }> {
  const { def, schema: s } = schema();
  sent.length = 0;
  const contextValue: SubgraphContext = {
    principal: testPrincipal({ roles: ['security'], purposeOfUse: null }),
    audit: auditCollector(def.auditSubjects),
    subgraph: 'audit',
    client: { operationName: null, documentHash: null, traceparent: null },
    perRequest: new Map(),
  };
  const result = await execute({ schema: s, document: parse(document), contextValue });
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return { data: result.data, statements: [...sent] };
}

const counts = (statements: string[]) => statements.filter((s) => /count\(\*\)|min\(seq\)/.test(s));

test('a page without totalCount counts nothing; with it (directly or through a fragment), one count', async () => {
  const plain = await run('{ auditEvents(actor: "dr-count", first: 2) { edges { node { seq } } pageInfo { hasNextPage } } }');
  assert.equal(counts(plain.statements).length, 0, plain.statements.join('\n---\n'));
  const direct = await run('{ auditEvents(actor: "dr-count", first: 2) { totalCount edges { node { seq } } } }');
  assert.equal(counts(direct.statements).length, 1);
  assert.deepEqual((direct.data as { auditEvents: { totalCount: number } }).auditEvents.totalCount, 3);
  const fragment = await run(
    '{ auditEvents(first: 1) { ... on AuditEventConnection { ...C } } } fragment C on AuditEventConnection { totalCount totalCountExact }',
  );
  assert.equal(counts(fragment.statements).length, 1);
  assert.deepEqual(JSON.parse(JSON.stringify(fragment.data)), { auditEvents: { totalCount: 3, totalCountExact: true } });
});
