import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, specifiedRules, validate, type GraphQLError } from 'graphql';
import { documentLimitsRule, measureDocument } from './document-limits.ts';
import { DEFAULT_OPERATION_LIMITS, operationLimits, type LimitName, type OperationLimits } from './limits.ts';
import { nestedFriends, testSchema } from './test-schema.ts';

const schema = testSchema();
const check = (query: string, limits: OperationLimits = DEFAULT_OPERATION_LIMITS): readonly GraphQLError[] =>
  validate(schema, parse(query), [...specifiedRules, documentLimitsRule(limits)]);
const limitsOf = (errors: readonly GraphQLError[]): (LimitName | undefined)[] =>
  errors.map((e) => e.extensions.limit as LimitName | undefined).filter(Boolean);
const measure = (query: string) => [...measureDocument(parse(query)).values()][0]!;

test('a product-like query passes every limit', () => {
  assert.deepEqual(
    check(
      'query Page($n: Int) { patients(first: $n) { totalCount pageInfo { hasNextPage } edges { cursor node { id name records { id codes } } } } }',
    ),
    [],
  );
});

test('depth counts fields only, through named and inline fragments', () => {
  const inline = measure('{ patient(id: "1") { friends { friends { id } } } }');
  const named = measure(
    '{ patient(id: "1") { ...A } } fragment A on Patient { friends { ...B } } fragment B on Patient { friends { id } }',
  );
  const inlineFragments = measure('{ patient(id: "1") { ... on Patient { friends { ... { friends { ... on Patient { id } } } } } } }');
  assert.deepEqual([inline.depth, named.depth, inlineFragments.depth], [4, 4, 4]);
});

test('depth bombs are refused: written inline, with named fragments, with inline fragments', () => {
  const max = DEFAULT_OPERATION_LIMITS.maxDepth;
  assert.deepEqual(check(nestedFriends(max - 2)), [], 'at the limit');
  assert.deepEqual(limitsOf(check(nestedFriends(max - 1))), ['depth']);
  const fragments = Array.from(
    { length: 30 },
    (_, i) => `fragment F${i} on Patient { friends { ${i < 29 ? `...F${i + 1}` : 'id'} } }`,
  ).join('\n');
  assert.deepEqual(limitsOf(check(`{ patient(id: "1") { ...F0 } }\n${fragments}`)), ['depth']);
  const inlineFragments = `{ patient(id: "1") { ${'... on Patient { friends { '.repeat(30)}id${' } }'.repeat(30)} } }`;
  const errors = check(inlineFragments);
  assert.deepEqual(limitsOf(errors), ['depth']);
  assert.equal(errors[0]!.extensions.max, max);
  assert.equal(errors[0]!.extensions.actual, 32);
  assert.equal(errors[0]!.extensions.code, 'GRAPHQL_VALIDATION_FAILED');
});

test('circular fragments are refused by graphql-js and measured without looping', () => {
  for (const query of [
    '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }',
    '{ patient(id: "1") { ...A } } fragment A on Patient { friends { ...A } }',
    '{ patient(id: "1") { ...A } } fragment A on Patient { ... on Patient { ...A } }',
  ]) {
    assert.ok(Number.isFinite(measure(query).depth));
    const errors = check(query);
    assert.ok(
      errors.some((e) => /Cannot spread fragment "A" within itself/.test(e.message)),
      query,
    );
  }
});

test('aliases: `__typename` aliases count, and a fragment counts wherever it is spread', () => {
  const typenames = `{ ${Array.from({ length: 150 }, (_, i) => `t${i}: __typename`).join(' ')} }`;
  assert.ok(limitsOf(check(typenames)).includes('aliases'));
  assert.equal(measure(typenames).aliases, 150);
  const fragment = `fragment F on Patient { ${Array.from({ length: 30 }, (_, i) => `n${i}: name`).join(' ')} }`;
  assert.deepEqual(check(`{ patient(id: "1") { ...F } } ${fragment}`), []);
  const twice = `{ a: patient(id: "1") { ...F } b: patient(id: "2") { ...F } } ${fragment}`;
  assert.equal(measure(twice).aliases, 62);
  assert.deepEqual(limitsOf(check(twice)), ['aliases']);
});

test('directives: on the operation, variables, fields, spreads and fragment definitions', () => {
  const query =
    'query Q($a: Boolean = true) @skip(if: false) { patient(id: "1") @include(if: $a) { ...F @skip(if: false) ... @include(if: true) { id } } } fragment F on Patient { name @skip(if: false) }';
  assert.equal(measure(query).directives, 5);
  const many = `{ ${Array.from({ length: 100 }, () => '...F @include(if: true)').join(' ')} } fragment F on Query { __typename }`;
  assert.deepEqual(limitsOf(check(many)), ['directives']);
  assert.equal(measure(many).directives, 100);
});

test('root fields: distinct response names, through fragments', () => {
  const lookups = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `p${i}: patient(id: "${i}") { id }`).join(' ')} }`;
  assert.equal(measure(`{ patient(id: "1") { id } ...R } fragment R on Query { patient(id: "1") { name } search { id } }`).rootFields, 2);
  const limits = operationLimits({ maxAliases: 10_000 });
  assert.deepEqual(check(lookups(50), limits), []);
  assert.deepEqual(limitsOf(check(lookups(51), limits)), ['rootFields']);
});

test('repeated fields: counted where execution merges them, each named fragment once', () => {
  const dupes = `{ patients { ${'totalCount '.repeat(500)} } }`;
  const errors = check(dupes);
  assert.deepEqual(limitsOf(errors), ['fieldRepeats']);
  assert.equal(errors[0]!.extensions.field, 'totalCount');
  assert.equal(errors[0]!.extensions.actual, 500);
  // Colocated fragments that each select id and __typename are normal client code.
  const colocated = Array.from({ length: 20 }, (_, i) => `fragment C${i} on Patient { id __typename name }`).join(' ');
  assert.deepEqual(check(`{ patient(id: "1") { ${Array.from({ length: 20 }, (_, i) => `...C${i}`).join(' ')} } } ${colocated}`), []);
  // The same fragment spread many times is collected once, as graphql-js executes it.
  assert.equal(measure(`{ patient(id: "1") { ${'...C '.repeat(100)} } } fragment C on Patient { id }`).repeats, 1);
  // Inline fragments are merged into their selection set.
  assert.equal(measure(`{ patient(id: "1") { ${'... on Patient { id } '.repeat(40)} } }`).repeats, 40);
});

test('a fragment bomb is measured, not expanded', () => {
  const levels = 40; // 2^40 paths if expanded
  const fragments = Array.from(
    { length: levels },
    (_, i) =>
      `fragment F${i} on Patient { a: friends { ${i < levels - 1 ? `...F${i + 1}` : 'id'} } b: friends { ${i < levels - 1 ? `...F${i + 1}` : 'id'} } }`,
  ).join('\n');
  const started = performance.now();
  const m = measure(`{ patient(id: "1") { ...F0 } }\n${fragments}`);
  assert.ok(performance.now() - started < 100);
  assert.equal(m.depth, levels + 2);
  assert.equal(m.aliases, 2 ** (levels + 1) - 2);
  const errors = check(`{ patient(id: "1") { ...F0 } }\n${fragments}`);
  assert.deepEqual(limitsOf(errors).sort(), ['aliases', 'depth']);
});

test('errors are located at the operation and carry the limit and its bound, not the document', () => {
  const [error] = check(`query Big { ${Array.from({ length: 51 }, (_, i) => `t${i}: __typename`).join(' ')} }`);
  assert.deepEqual(error!.locations, [{ line: 1, column: 1 }]);
  assert.deepEqual({ ...error!.extensions }, { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'aliases', max: 50, actual: 51 });
});
