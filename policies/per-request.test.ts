// Rules that read only the caller are decided once per request, and answer as shield does: a
// granted field resolves (synchronously when its resolver does), a refused one is FORBIDDEN for
// every object and audited; a rule that reads the row is still asked for every row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSchema, executeSync, graphql, parse, printSchema, type GraphQLSchema } from 'graphql';
import { auditCollector } from '../orchestration/audit/collector.ts';
import { allow, and, applyMiddleware, not, or, rule } from './shield.ts';
import { decidedPerRequest, policyMiddleware, type PolicySet } from './policy-set.ts';

const schema = buildSchema(`
  type Query { rows: [Row!]! }
  type Row { id: ID! secret: String public: String mine: String unlisted: String }
`);
const rows = Array.from({ length: 50 }, (_, i) => ({ id: String(i), secret: `s${i}`, public: `p${i}`, mine: `m${i}`, unlisted: 'u' }));

function build(calls: Map<string, number>): { schema: GraphQLSchema; policies: PolicySet } {
  const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);
  const admin = rule('admin', { cache: 'contextual' })((_p, _a, ctx: { admin: boolean }) => (count('admin'), ctx.admin));
  const reader = rule('reader', { cache: 'contextual' })(() => (count('reader'), true));
  const message = rule('message', { cache: 'contextual' })(() => (count('message'), 'not today'));
  // Reads the row: must never be decided once for all rows.
  const owner = rule('owner', { cache: 'no_cache' })((p: { id: string }) => (count('owner'), Number(p.id) % 2 === 0));
  const policies = {
    Query: { rows: or(admin, reader) },
    Row: { id: allow, secret: and(admin, reader), public: and(reader, not(admin)), mine: and(reader, owner), unlisted: message },
  } satisfies PolicySet;
  const withRows = buildSchema(printSchema(schema));
  withRows.getQueryType()!.getFields().rows!.resolve = () => rows;
  return { schema: applyMiddleware(withRows, policyMiddleware(withRows, [policies])), policies };
}

const run = async (admin: boolean) => {
  const calls = new Map<string, number>();
  const built = build(calls);
  const audit = auditCollector({ Row: (r) => `Row/${(r as { id: string }).id}` });
  const result = await graphql({
    schema: built.schema,
    source: '{ rows { id secret public mine unlisted } }',
    contextValue: { admin, audit },
  });
  return { result, calls, audit, policies: built.policies };
};

test('which rules are decided per request: only trees of contextual rules, allow and deny', async () => {
  const { policies } = await run(false);
  assert.equal(decidedPerRequest(policies.Row!.secret!), true);
  assert.equal(decidedPerRequest(policies.Row!.public!), true);
  assert.equal(decidedPerRequest(policies.Row!.mine!), false);
});

test('a caller rule is evaluated once per request, a row rule once per row, with shield semantics', async () => {
  for (const admin of [false, true]) {
    const { result, calls, audit } = await run(admin);
    const data = result.data as { rows: Record<string, string | null>[] };
    assert.equal(data.rows.length, 50);
    assert.equal(calls.get('admin'), 1, 'contextual rule once per request');
    assert.equal(calls.get('reader'), 1);
    assert.equal(calls.get('message'), 1);
    assert.equal(calls.get('owner'), 50, 'a rule reading the row is asked for each row');
    data.rows.forEach((row, i) => {
      assert.equal(row.secret, admin ? `s${i}` : null);
      assert.equal(row.public, admin ? null : `p${i}`);
      assert.equal(row.mine, i % 2 === 0 ? `m${i}` : null);
      assert.equal(row.unlisted, null);
    });
    const errors = result.errors ?? [];
    const at = (field: string) => errors.filter((e) => e.path?.[2] === field);
    assert.equal(at(admin ? 'public' : 'secret').length, 50);
    assert.ok(at(admin ? 'public' : 'secret').every((e) => e.extensions?.code === 'FORBIDDEN'));
    assert.equal(at('mine').length, 25);
    // A rule's own message is its error, as shield returns it (no FORBIDDEN, no denial row).
    assert.ok(at('unlisted').every((e) => e.message === 'not today'));
    const denied = audit.denials();
    assert.equal(denied.length, 50, 'every refused row audited');
    assert.ok(denied.every((d) => !d.fields.includes('Row.unlisted')));
  }
});

test('fields decided per request resolve synchronously: no promise per field of a large answer', () => {
  const { schema: guarded } = build(new Map());
  const audit = auditCollector({});
  for (const admin of [false, true]) {
    // executeSync throws when any field completes asynchronously (as every shield-wrapped field does).
    const result = executeSync({ schema: guarded, document: parse('{ rows { id secret public } }'), contextValue: { admin, audit } });
    assert.equal((result.data as { rows: unknown[] }).rows.length, 50);
  }
});
