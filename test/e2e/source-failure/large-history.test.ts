// A patient with a very long history (issue 12, finding 9): one patient of each simulated EHR has
// 10,100 more observations than the population gives them, more than a search reads (50 pages of
// 200 at Epic by default, 2 pages configured at Cerner). The initial load reads every page into the
// clinical store, so within the TTL the whole history is answered from it. Once the TTL has passed,
// the read-through asks the EHR again: the other patients asked for in the same request (one
// DataLoader batch, one FHIR search) are read complete; that patient's search stops at the bound, and
// the list (the store's: what was read now, the rest as stored before) comes with a RESULT_TRUNCATED
// warning at its path for as long as that retrieval is the last; the EHR is not marked unavailable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConnections } from '../../../platform/config.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, startTestStack, tokenFor, type GraphQLResponse } from '../../support/stack.ts';

const EXTRA = 10_100;
const MAX_PAGES = { 'epic-main': 50, 'cerner-main': 2 } as const;
let stack: Stack;
let token: string;
const longHistoryRecords = new Set<string>();

before(async () => {
  stack = await startTestStack({
    simulators: { seed: 7, size: 150, largeHistory: EXTRA },
    // The load has its own bounds (LOADING_TIMEOUTS); the serving reads of this test list 10,000 items of one
    // patient, which on a machine busy with other suites can outlast the serving 3 s statement timeout.
    databaseTimeouts: { connectMs: 10_000, statementMs: 30_000, idleInTransactionMs: 60_000, queryMs: 30_500 },
    // Epic keeps the default page bound (50), Cerner's is configured lower. The time budget is
    // raised (under the gateway's 10 s) so that on a loaded machine the page bound, not the
    // deadline, is what stops the long search.
    // A TTL longer than a load takes on a busy machine (minutes): the first test asks within it whatever the
    // load's duration; the second moves the retrievals an hour back, past it.
    connections: loadConnections().map((c) => ({
      ...c,
      timeoutMs: 9_000,
      clinicalTtlSeconds: 1800,
      ...(c.id === 'cerner-main' ? { maxPages: MAX_PAGES['cerner-main'] } : {}),
    })),
  });
  token = (await tokenFor(stack, ['clinician'])).token;
  for (const source of Object.keys(MAX_PAGES)) longHistoryRecords.add(`${source}:${stack.population!.sites[source]!.patients[0]!.id}`);
});
after(() => stack?.close());

type Records = { id: string; source: string; observations: { id: string }[] | null }[];
type Res = {
  patients: { pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: { id: string; sourceRecords: Records } }[] };
};
// One page: every record of a vendor is one DataLoader batch, one FHIR search.
const QUERY = `query ($after: String) { patients(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { id sourceRecords { id source observations { id } } } } } }`;

/** Observations the simulator serves for a record (`<connection>:<FHIR id>`): the population's, and the long history's. */
const simulated = (recordId: string): number => {
  const [source, id] = recordId.split(':') as [string, string];
  const generated = stack.population!.sites[source]!.resources.Observation.filter((o) => o.subject.reference === `Patient/${id}`).length;
  return generated + (longHistoryRecords.has(recordId) ? EXTRA : 0);
};

/** Checks one page; returns the long-history records it held (with a warning, when `truncated`). */
function check(res: GraphQLResponse<Res>, label: string, truncated = true): string[] {
  assert.equal(res.status, 200, label);
  const data = res.body.data!;
  const errors = res.body.errors ?? [];
  assert.ok(
    !errors.some((e) => e.extensions?.code === 'SOURCE_UNAVAILABLE'),
    `${label}: no EHR marked unavailable: ${JSON.stringify(errors).slice(0, 400)}`,
  );
  assert.ok(
    errors.every((e) => e.extensions?.code === 'RESULT_TRUNCATED'),
    `${label}: only truncation warnings: ${JSON.stringify(errors).slice(0, 400)}`,
  );
  const records = data.patients.edges.flatMap((e, n) =>
    e.node.sourceRecords.map((r, i) => ({ r, path: ['patients', 'edges', n, 'node', 'sourceRecords', i, 'observations'] })),
  );
  const long: string[] = [];
  for (const { r, path } of records) {
    const warnings = errors.filter((e) => JSON.stringify(e.path) === JSON.stringify(path));
    assert.ok(Array.isArray(r.observations), `${label}: ${r.id} has its list`);
    // Every page of every history is in the store (the initial load reads them all).
    assert.equal(r.observations!.length, simulated(r.id), `${label}: ${r.id} complete`);
    assert.equal(new Set(r.observations!.map((o) => o.id)).size, r.observations!.length, 'no duplicates');
    if (longHistoryRecords.has(r.id)) long.push(r.id);
    if (!longHistoryRecords.has(r.id) || !truncated) {
      assert.equal(warnings.length, 0, `${label}: no warning for ${r.id}: ${JSON.stringify(warnings)}`);
      continue;
    }
    const source = r.source as keyof typeof MAX_PAGES;
    assert.equal(warnings.length, 1, `${label}: one warning at ${path.join('.')}: ${JSON.stringify(errors).slice(0, 400)}`);
    const w = warnings[0]!;
    const read = MAX_PAGES[source] * 200;
    assert.deepEqual(
      { source: w.extensions?.source, returned: w.extensions?.returned, total: w.extensions?.total, maxPages: w.extensions?.maxPages },
      { source, returned: read, total: simulated(r.id), maxPages: MAX_PAGES[source] },
    );
    assert.match(
      w.message,
      new RegExp(
        `^Source ${source} returned the first ${read} of ${simulated(r.id)} Observation resources of this record: the connection reads at most ${MAX_PAGES[source]} pages per search; the rest are as stored before$`,
      ),
    );
  }
  assert.equal(errors.length, truncated ? long.length : 0, `${label}: a warning for each long history and nothing else`);
  return long;
}

let pageWithEpicHistory: string | undefined;
const requests = () => Object.values(stack.simulators!.servers).reduce((n, s) => n + s.requestCount(), 0);

/** Reads every page of patients; returns the long-history records seen. */
async function readAll(label: string, truncated: boolean): Promise<string[]> {
  const seen: string[] = [];
  let after: string | undefined;
  for (let page = 0; ; page++) {
    const res = await gql<Res>(stack, token, QUERY, { after });
    const long = check(res, `${label}, page ${page}`, truncated);
    if (long.some((id) => id.startsWith('epic-main:'))) pageWithEpicHistory = after ?? '';
    seen.push(...long);
    if (!res.body.data!.patients.pageInfo.hasNextPage) break;
    after = res.body.data!.patients.pageInfo.endCursor;
  }
  return seen.sort();
}

test('the initial load read every page: within the TTL, the long histories come whole from the store, no EHR asked', async () => {
  const before = requests();
  assert.deepEqual(await readAll('from the store', false), [...longHistoryRecords].sort());
  assert.equal(requests(), before, 'served from the store');
});

test('once the TTL has passed, a long history is read again in part with a warning on its own list; the rest of its batch is complete', async () => {
  await stack.db.query("UPDATE clinical_retrieval SET retrieved_at = retrieved_at - interval '1 hour'");
  const before = requests();
  assert.deepEqual(
    await readAll('refreshed', true),
    [...longHistoryRecords].sort(),
    'both long histories were read, each among a page of others',
  );
  assert.ok(requests() > before, 'the EHRs were asked');
});

test('read again within the TTL: the same data and the same warning, from the store', async () => {
  assert.notEqual(pageWithEpicHistory, undefined);
  const before = requests();
  const long = check(await gql<Res>(stack, token, QUERY, { after: pageWithEpicHistory || undefined }), 'stored read');
  assert.ok(long.some((id) => id.startsWith('epic-main:')));
  assert.equal(requests(), before, 'served from the store');
});
