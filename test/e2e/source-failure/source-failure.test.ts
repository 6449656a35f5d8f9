// An EHR that is down or slow: the rest of the answer arrives within the timeout; that EHR's lists
// come from the clinical store with a warning saying how old they are (or null, with an error
// naming the source, when it never answered for them); nothing hangs.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { loadConnections } from '../../../platform/config.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

// Also the budget of each page of the initial load: at 800 ms a loaded machine sometimes lost Epic's load.
const TIMEOUT_MS = 2000;
let stack: Stack;
let token: string;
before(async () => {
  stack = await startTestStack({ connections: loadConnections().map((c) => ({ ...c, timeoutMs: TIMEOUT_MS })), cacheTtlSeconds: 0 });
  token = (await tokenFor(stack, ['clinician'])).token;
  for (const r of stack.loadReports) assert.equal(r.failed, undefined, `initial load of ${r.source} failed: ${r.failed}`);
});
beforeEach(() => {
  for (const s of Object.values(stack.simulators!.servers)) s.setFault(null);
});
after(() => stack?.close());

type Res = { patients: { edges: { node: { sourceRecords: { source: string; observations: unknown[] | null }[] } }[] } };
const QUERY = '{ patients(first: 20) { edges { node { name { family } sourceRecords { source observations { id } } } } } }';

// The TTL is 0 (cacheTtlSeconds above): every request asks the EHRs, so a fault is always met.
for (const [fault, kind] of [
  [{ status: 503 }, 'down'],
  [{ delayMs: TIMEOUT_MS * 3 }, 'slow'],
] as const) {
  test(`cerner ${kind}: Epic data fresh, Cerner lists from the store with a warning saying when they were retrieved`, async () => {
    const retrieved = await stack.db.query<{ at: Date }>(
      "SELECT max(retrieved_at) AS at FROM clinical_retrieval WHERE source = 'cerner-main' AND resource_type = 'Observation'",
    );
    stack.simulators!.servers['cerner-main']!.setFault(fault);
    const started = Date.now();
    const res = await gql<Res>(stack, token, QUERY);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < TIMEOUT_MS * 2 + 1000, `answered in ${elapsed} ms`);
    const records = res.body.data!.patients.edges.flatMap((e) => e.node.sourceRecords);
    assert.ok(records.some((r) => r.source === 'epic-main' && Array.isArray(r.observations)));
    const cerner = records.filter((r) => r.source === 'cerner-main');
    assert.ok(cerner.length > 0);
    assert.ok(
      cerner.every((r) => Array.isArray(r.observations)),
      'the stored lists',
    );
    assert.ok(cerner.some((r) => r.observations!.length > 0));
    const errors = res.body.errors ?? [];
    assert.equal(errors.length, cerner.length, 'one warning per Cerner list');
    for (const e of errors) {
      assert.equal(e.extensions?.code, 'STALE_DATA', JSON.stringify(e));
      assert.equal(e.extensions?.source, 'cerner-main');
      assert.equal(e.extensions?.failure, kind === 'down' ? 'HTTP_ERROR' : 'TIMEOUT');
      // Retrieved by the initial load, or by an earlier test's request: never later than the newest retrieval.
      const at = Date.parse(String(e.extensions?.retrievedAt));
      assert.ok(at <= retrieved.rows[0]!.at.getTime(), String(e.extensions?.retrievedAt));
      assert.match(e.message, /^Source cerner-main is unavailable: .*; these Observation resources are as retrieved at \S+Z$/);
    }
  });
}

test('cerner down and a list never retrieved: null, with an error naming the source', async () => {
  // As if the initial load had not reached Cerner's clinical data.
  await stack.db.query("DELETE FROM clinical_retrieval WHERE source = 'cerner-main'");
  stack.simulators!.servers['cerner-main']!.setFault({ status: 503 });
  const res = await gql<Res>(stack, token, QUERY);
  const records = res.body.data!.patients.edges.flatMap((e) => e.node.sourceRecords);
  assert.ok(records.some((r) => r.source === 'epic-main' && Array.isArray(r.observations)));
  assert.ok(records.filter((r) => r.source === 'cerner-main').every((r) => r.observations === null));
  const errors = res.body.errors ?? [];
  assert.ok(errors.length > 0);
  for (const e of errors) {
    assert.equal(e.extensions?.code, 'SOURCE_UNAVAILABLE', JSON.stringify(e));
    assert.equal(e.extensions?.source, 'cerner-main');
    assert.match(e.message, /cerner-main/);
  }
});
