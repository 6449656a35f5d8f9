// The review queue as stewards work it (the console's first screen): every order pages through the
// whole filtered queue exactly once, filters by reason, kind and source hold together, counts agree
// with what the filters select, and a 10,000-item queue answers a page quickly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { REVIEW_ORDERS, reviewQueueCounts, reviewQueuePage, type ReviewFilter, type ReviewItem, type ReviewOrder } from './store.ts';
import { openMpiTestDb, type MpiTestDb } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => (t = await openMpiTestDb()));
after(() => t.close());

const REASONS = ['BELOW_AUTO_LINK', 'SSN_ONLY', 'TWIN_GUARD'] as const;
const SOURCES = ['epic-main', 'cerner-main'] as const;

/**
 * `n` open pairs in one statement each kind: item i pairs two fresh golden patients with a record at
 * SOURCES[i % 2]; scores repeat (ties must page by queue position), reasons cycle, every 7th item
 * has no recorded reason (queued before reasons were recorded: UNKNOWN). Closed items are never shown.
 */
async function queue(n: number): Promise<void> {
  const goldens = Array.from({ length: n * 2 }, () => randomUUID());
  await t.db.query(`INSERT INTO golden_patient (id) SELECT unnest($1::uuid[])`, [goldens]);
  await t.db.query(
    `INSERT INTO source_record (source, source_patient_id, golden_id, demographics)
     SELECT CASE WHEN i % 2 = 0 THEN 'epic-main' ELSE 'cerner-main' END, 'Q' || g, g, '{}'::jsonb
       FROM unnest($1::uuid[]) WITH ORDINALITY AS x(g, i)`,
    [goldens.filter((_, i) => i % 2 === 0)],
  );
  await t.db.query(
    `INSERT INTO review_item (id, kind, golden_id, candidate_id, score, match_reason, status)
     SELECT gen_random_uuid(), CASE WHEN i % 3 = 0 THEN 'POSSIBLE_DUPLICATE' ELSE 'POSSIBLE_MATCH' END,
            ($1::uuid[])[2 * i - 1], ($1::uuid[])[2 * i], (i % 10) / 10.0,
            CASE WHEN i % 7 = 0 THEN NULL ELSE ($2::text[])[1 + i % 3] END,
            CASE WHEN i % 11 = 0 THEN 'RESOLVED' ELSE 'OPEN' END
       FROM generate_series(1, $3::int) AS i`,
    [goldens, REASONS, n],
  );
}

async function pageAll(order: ReviewOrder, filter: ReviewFilter, size: number): Promise<ReviewItem[]> {
  const seen: ReviewItem[] = [];
  for (let after: ReviewItem | undefined, guard = 0; guard < 1000; guard++) {
    const page = await reviewQueuePage(t.db, size, after && { seq: after.seq, score: after.score }, { order, filter });
    seen.push(...page.items);
    if (!page.hasNextPage) return seen;
    after = page.items.at(-1);
  }
  throw new Error('paging did not end');
}

const sortedBy = (items: readonly ReviewItem[], order: ReviewOrder): boolean =>
  items.every((x, i) => {
    const y = items[i - 1];
    if (!y) return true;
    const [a, b] = [BigInt(y.seq), BigInt(x.seq)];
    if (order === 'OLDEST') return a < b;
    if (order === 'NEWEST') return a > b;
    if (order === 'HIGHEST_SCORE') return y.score > x.score || (y.score === x.score && a < b);
    return y.score < x.score || (y.score === x.score && a < b);
  });

test('every order pages each open item once, in order, with filters holding together', async () => {
  await queue(200);
  const all = await pageAll('OLDEST', {}, 1000);
  assert.equal(all.length, 200 - Math.floor(200 / 11), 'closed items are not in the queue');
  for (const order of Object.keys(REVIEW_ORDERS) as ReviewOrder[]) {
    const seen = await pageAll(order, {}, 7);
    assert.equal(new Set(seen.map((i) => i.id)).size, all.length, `${order}: every item once`);
    assert.ok(sortedBy(seen, order), `${order}: sorted`);
  }
  const filter = { reason: 'SSN_ONLY', kind: 'POSSIBLE_MATCH', source: 'cerner-main' } as const;
  const some = await pageAll('HIGHEST_SCORE', filter, 5);
  const expected = all.filter((i) => i.matchReason === 'SSN_ONLY' && i.kind === 'POSSIBLE_MATCH' && BigInt(i.seq) % 2n === 1n);
  assert.ok(some.length > 0);
  assert.deepEqual(new Set(some.map((i) => i.id)), new Set(expected.map((i) => i.id)));
  const first = await reviewQueuePage(t.db, 1, undefined, { filter });
  assert.equal(first.totalCount, some.length, 'totalCount counts what the filter selects');
  const unknown = await pageAll('OLDEST', { reason: 'UNKNOWN' }, 50);
  assert.ok(unknown.length > 0 && unknown.every((i) => i.matchReason === 'UNKNOWN'));
});

test('counts by reason, kind and source agree with the filters', async () => {
  for (const facet of ['reason', 'kind', 'source'] as const) {
    const counts = await reviewQueueCounts(t.db, facet);
    assert.ok(counts.length > 0);
    for (const { key, count } of counts) {
      const { totalCount } = await reviewQueuePage(t.db, 0, undefined, { filter: { [facet]: key } });
      assert.equal(count, totalCount, `${facet} ${key}`);
    }
  }
  const bySource = await reviewQueueCounts(t.db, 'source');
  assert.deepEqual(
    bySource.map((c) => c.key),
    [...SOURCES].sort(),
  );
});

// Embedded PGlite takes half a minute to fill 10,000 items: the figure is PostgreSQL's (CI's storage).
const SKIP_EMBEDDED = !process.env.DATABASE_URL && 'the 10,000-item queue is measured on PostgreSQL (DATABASE_URL)';
test('a page of a 10,000-item queue, sorted by score and filtered by source, answers quickly', { skip: SKIP_EMBEDDED }, async (ctx) => {
  await queue(10_000);
  const started = performance.now();
  const page = await reviewQueuePage(t.db, 50, undefined, { order: 'HIGHEST_SCORE', filter: { source: 'epic-main' } });
  const counts = await reviewQueueCounts(t.db, 'source');
  const ms = performance.now() - started;
  ctx.diagnostic(`page and source counts of 10,000 open items: ${ms.toFixed(0)} ms`);
  assert.equal(page.items.length, 50);
  assert.ok(counts.every((c) => c.count > 4000));
  // Generous for a shared CI machine; BENCHMARKS.md has the measured figure.
  assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
});
