import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { costLimitError, operationCost } from './cost.ts';
import { DEFAULT_OPERATION_LIMITS, operationLimits, type OperationLimits } from './limits.ts';
import { testSchema } from './test-schema.ts';

const schema = testSchema();
const cost = (query: string, variables?: Record<string, unknown>, limits: OperationLimits = DEFAULT_OPERATION_LIMITS) => {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return operationCost(schema, document, operation, variables, limits);
};
// patients(first: n) { totalCount edges { node { id } } }: 1 + n × (1 + (1 + 1 × (1 + 1))) = 1 + 4n
const PAGE = 'totalCount edges { node { id } }';

test('every field costs 1 and a page multiplies what it selects', () => {
  assert.equal(cost(`{ patients(first: 10) { ${PAGE} } }`).cost, 41);
  assert.equal(cost('{ __typename patient(id: "1") { id name } }').cost, 4);
});

test('the page size: literal, variable, variable default, schema default, configured default', () => {
  assert.equal(cost(`query ($n: Int) { patients(first: $n) { ${PAGE} } }`, { n: 50 }).cost, 201);
  assert.equal(cost(`query ($n: Int = 5) { patients(first: $n) { ${PAGE} } }`, {}).cost, 21);
  assert.equal(cost(`query ($n: Int) { patients(first: $n) { ${PAGE} } }`, { n: null }).cost, 81, 'null: the SDL default (20)');
  assert.equal(cost(`{ patients { ${PAGE} } }`).cost, 81, 'absent: the SDL default (20)');
  assert.equal(cost('{ search { id } }').cost, 1 + 20, 'no SDL default: defaultPageSize');
  assert.equal(cost('{ search(first: 3, last: 7) { id } }').cost, 1 + 7, 'the larger of first and last');
  assert.equal(cost(`{ patients(first: 0) { ${PAGE} } }`).cost, 5, 'an empty page still resolves what it selects once');
  assert.equal(
    cost(`query ($n: Int) { patients(first: $n) { ${PAGE} } }`, { n: 'ten' }).cost,
    81,
    'a malformed value is refused by coercion, costed at the default',
  );
});

test('lists without a page size count assumedListSize times', () => {
  assert.equal(cost('{ patient(id: "1") { friends { records { codes } } } }').cost, 4);
  assert.equal(
    cost('{ patient(id: "1") { friends { records { codes } } } }', undefined, operationLimits({ assumedListSize: 10 })).cost,
    1 + 1 + 10 * (1 + 10 * 1),
  );
});

test('a page size above its cap is refused before execution, literal or variable', () => {
  for (const [query, variables] of [
    ['{ patients(first: 100000000) { totalCount } }', undefined],
    ['query ($n: Int) { patients(first: $n) { totalCount } }', { n: 100_000_000 }],
    ['query ($n: Int = 1001) { patients(first: $n) { totalCount } }', {}],
  ] as const) {
    const report = cost(query, variables);
    const error = costLimitError(report, DEFAULT_OPERATION_LIMITS);
    assert.ok(error, query);
    assert.deepEqual(
      { ...error.extensions },
      { code: 'BAD_USER_INPUT', limit: 'pageSize', max: 1000, field: 'Query.patients', argument: 'first' },
    );
  }
  assert.equal(costLimitError(cost('{ patients(first: 1000) { totalCount } }'), DEFAULT_OPERATION_LIMITS), undefined);
  assert.equal(costLimitError(cost('{ search(first: 101) { id } }'), DEFAULT_OPERATION_LIMITS)?.extensions.max, 100, 'other fields: 100');
  // Per-field caps, by schema coordinate.
  const limits = operationLimits({ pageSizeCaps: { 'Query.search': 10 } });
  assert.equal(costLimitError(cost('{ search(first: 11) { id } }', undefined, limits), limits)?.extensions.max, 10);
  assert.equal(
    costLimitError(cost('{ search(first: 100) { id } }'), DEFAULT_OPERATION_LIMITS),
    undefined,
    'maxPageSize for fields without their own cap',
  );
});

test('fragments are costed once and multiplied where spread', () => {
  const query = `{ patients(first: 10) { ...P } again: patients(first: 10) { ...P } } fragment P on PatientConnection { ${PAGE} }`;
  assert.equal(cost(query).cost, 82);
  const inline = `{ patients(first: 10) { ... on PatientConnection { ${PAGE} } } }`;
  assert.equal(cost(inline).cost, 41);
});

test('a cost over the limit is refused; huge costs from fragment bombs are reported, not computed by expansion', () => {
  const aliased = `{ ${Array.from({ length: 40 }, (_, i) => `p${i}: patients(first: 100) { ${PAGE} }`).join(' ')} }`;
  const error = costLimitError(cost(aliased), DEFAULT_OPERATION_LIMITS);
  assert.deepEqual({ ...error?.extensions }, { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', max: 15_000, actual: 40 * 401 });
  const levels = 60;
  const fragments = Array.from(
    { length: levels },
    (_, i) =>
      `fragment F${i} on Patient { a: friends { ${i < levels - 1 ? `...F${i + 1}` : 'id'} } b: friends { ${i < levels - 1 ? `...F${i + 1}` : 'id'} } }`,
  ).join(' ');
  const started = performance.now();
  const bomb = cost(`{ patient(id: "1") { ...F0 } } ${fragments}`);
  assert.ok(performance.now() - started < 100);
  assert.ok(bomb.cost > 2 ** 60);
  assert.equal(costLimitError(bomb, DEFAULT_OPERATION_LIMITS)?.extensions.limit, 'cost');
});

test('introspection and cycles do not break the computation', () => {
  assert.ok(cost('{ __schema { types { name fields { name } } } __type(name: "Patient") { name } }').cost > 0);
  assert.equal(cost('{ patient(id: "1") { ...A } } fragment A on Patient { friends { ...A } }').cost, 2, 'the cycle is not followed');
});
