import assert from 'node:assert/strict';
import { test } from 'node:test';
import { falseMergePairsBy, pairwiseMetrics } from './metrics.ts';

test('falseMergePairsBy counts every pair of two people in one cluster, by label, and sums to falseMergePairs', () => {
  const assignments = [
    { record: 'a1', entity: 'A', cluster: 'g1' },
    { record: 'a2', entity: 'A', cluster: 'g1' },
    { record: 'b1', entity: 'B', cluster: 'g1' },
    { record: 'c1', entity: 'C', cluster: 'g2' },
    { record: 'd1', entity: 'D', cluster: 'g2' },
    { record: 'e1', entity: 'E', cluster: 'g3' },
  ];
  const label = (x: string, y: string) => ([x, y].sort().join() === 'c1,d1' ? 'twins' : 'other');
  const byLabel = falseMergePairsBy(assignments, label);
  assert.deepEqual(byLabel, { other: 2, twins: 1 });
  assert.equal(
    Object.values(byLabel).reduce((s, n) => s + n, 0),
    pairwiseMetrics(assignments).falseMergePairs,
  );
});
