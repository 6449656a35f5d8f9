import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAdapters } from '../platform/config.ts';
import { composeSupergraph, readCommittedSupergraph } from './compose.ts';

test('the committed supergraph is what the subgraphs compose to (run `npm run compose` if not)', () => {
  assert.equal(composeSupergraph(), readCommittedSupergraph(), 'gateway/supergraph.graphql is stale: run `npm run compose` and commit it');
});

test('the staleness check notices a changed subgraph', () => {
  const withNewAdapter = composeSupergraph([...loadAdapters(), { name: 'athena', recordType: 'AthenaRecord', profile: 'epic' }]);
  assert.notEqual(withNewAdapter, readCommittedSupergraph());
  assert.match(withNewAdapter, /type AthenaRecord implements SourceRecord/);
});

test('clients read clinical data through the vendor-neutral interface', () => {
  const sdl = readCommittedSupergraph();
  const iface = /interface SourceRecord[^{]*\{([^}]*)\}/.exec(sdl)?.[1] ?? '';
  for (const field of ['id', 'source', 'observations', 'conditions', 'medications']) assert.match(iface, new RegExp(`\\b${field}\\b`));
});
