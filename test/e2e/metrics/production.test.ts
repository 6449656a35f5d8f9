// A production stack started without METRICS_TOKEN: /metrics is refused on the gateway and on
// every subgraph (403 FORBIDDEN, no figure), while GraphQL serves as usual. With the token:
// test/e2e/metrics/metrics.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
before(async () => {
  delete process.env.METRICS_TOKEN;
  // Nothing but the servers: no EHRs, no load, no sync, no MLLP listener.
  stack = await startTestStack({ production: true, simulators: undefined, skipInitialLoad: true, sync: false, ingestMllpPort: null });
});
after(() => stack?.close());

test('production without METRICS_TOKEN: /metrics is FORBIDDEN on every port, whatever the caller sends', async () => {
  const { token } = await tokenFor(stack, ['clinician']);
  assert.equal((await gql(stack, token, 'query Ping { __typename }')).status, 200);
  for (const url of [stack.gateway.url, ...Object.values(stack.subgraphs).map((s) => s.url)]) {
    for (const headers of [{}, { authorization: `Bearer ${token}` }, { authorization: 'Bearer ' }] as Record<string, string>[]) {
      const res = await fetch(new URL('/metrics', url), { headers });
      const text = await res.text();
      assert.equal(res.status, 403, url);
      assert.equal(JSON.parse(text).errors[0].extensions.code, 'FORBIDDEN');
      assert.doesNotMatch(text, /pgw_|process_/);
    }
  }
});
