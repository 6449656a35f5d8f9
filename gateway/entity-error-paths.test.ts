// The index of a subgraph's entity error, as @apollo/gateway will read it: the entity's position
// among all those at the fetch's path, not among the representations of one subgraph's types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entitiesAt, entityErrorPath } from './entity-error-paths.ts';

const data = {
  patients: {
    edges: [
      { node: { sourceRecords: [{ __typename: 'EpicRecord', id: 'epic-main:a' }] } },
      { node: null },
      {
        node: {
          sourceRecords: [
            { __typename: 'EpicRecord', id: 'epic-main:b' },
            { __typename: 'CernerRecord', id: 'cerner-main:1' },
          ],
        },
      },
      { node: { sourceRecords: [{ __typename: 'CernerRecord', id: 'cerner-main:2' }] } },
    ],
  },
};
const PATH = ['patients', 'edges', '@', 'node', 'sourceRecords', '@'];
const cerner = [
  { __typename: 'CernerRecord', id: 'cerner-main:1' },
  { __typename: 'CernerRecord', id: 'cerner-main:2' },
];

test('entities at a path, in order, nulls skipped', () => {
  assert.deepEqual(
    entitiesAt(data, PATH).map((e) => (e as { id: string }).id),
    ['epic-main:a', 'epic-main:b', 'cerner-main:1', 'cerner-main:2'],
  );
});

test("a subgraph's i-th representation becomes that entity's index among all of them", () => {
  const error = (i: number) => ({ message: 'm', path: ['_entities', i, 'observations'] });
  assert.deepEqual(entityErrorPath(error(0), cerner, PATH, data), ['_entities', 2, 'observations']);
  assert.deepEqual(entityErrorPath(error(1), cerner, PATH, data), ['_entities', 3, 'observations']);
  // Representations that do not match the data (another fetch's, or data not from the root fetch): left alone.
  assert.equal(entityErrorPath(error(1), [cerner[0]!, { __typename: 'CernerRecord', id: 'cerner-main:9' }], PATH, data), undefined);
  assert.equal(entityErrorPath(error(5), cerner, PATH, data), undefined);
  assert.equal(entityErrorPath({ message: 'm', path: ['patient'] }, cerner, PATH, data), undefined);
  assert.equal(entityErrorPath(error(0), cerner, ['nowhere', '@'], data), undefined);
});
