// The review queue: open pairs sorted by score or age, filtered by source, reason and kind, paged
// with the API's cursors, with counts. Rows show ids, scores and reasons only (no demographics).
import { useState } from 'preact/hooks';
import { gql } from './api.ts';
import { Empty, Errors, fmtScore, fmtTime, Loading, Pager, useCursors, useLoad } from './ui.tsx';

export type QueueItem = {
  id: string;
  kind: 'POSSIBLE_MATCH' | 'POSSIBLE_DUPLICATE';
  score: number;
  createdAt: string;
  matchReason: { code: string; description: string };
  evidence: { field: string; level: string; weight: number }[];
  record: { id: string; source: string } | null;
  patient: { id: string } | null;
  candidate: { id: string } | null;
};

/** Items the steward has listed, for the compare screen (a reload signs out anyway: the token is in memory only). */
export const knownItems = new Map<string, QueueItem>();

type Count = { key: string; count: number };
type QueueAnswer = {
  reviewQueue: {
    totalCount: number;
    counts: { byReason: Count[]; byKind: Count[]; bySource: Count[] };
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: QueueItem }[];
  };
};

const QUERY = `query ReviewQueue($first: Int, $after: String, $filter: ReviewQueueFilter, $orderBy: ReviewQueueOrder) {
  reviewQueue(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    counts { byReason { key count } byKind { key count } bySource { key count } }
    pageInfo { hasNextPage endCursor }
    edges { node { id kind score createdAt matchReason { code description } evidence { field level weight }
      record { id source } patient { id } candidate { id } } }
  }
}`;

const ORDERS = { OLDEST: 'Oldest first', NEWEST: 'Newest first', HIGHEST_SCORE: 'Highest score', LOWEST_SCORE: 'Lowest score' } as const;
const PAGE = 25;

export function Queue() {
  const [order, setOrder] = useState<keyof typeof ORDERS>('OLDEST');
  const [reason, setReason] = useState('');
  const [source, setSource] = useState('');
  const [kind, setKind] = useState('');
  const paging = useCursors();
  const after = paging.after;
  const filter = { ...(reason ? { reason } : {}), ...(source ? { source } : {}), ...(kind ? { kind } : {}) };
  const { data, errors, loading } = useLoad(async () => {
    const { data } = await gql<QueueAnswer>(QUERY, { first: PAGE, after, filter, orderBy: order });
    for (const { node } of data.reviewQueue.edges) knownItems.set(node.id, node);
    return data.reviewQueue;
  }, [order, reason, source, kind, after]);
  const reset =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      paging.reset();
    };
  const counts = data?.counts;
  const option = (c: Count) => (
    <option key={c.key} value={c.key}>
      {c.key} ({c.count})
    </option>
  );
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Review queue</h1>
      <form class="filters" aria-label="Sort and filter" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="queue-order">Sort</label>
          <select
            id="queue-order"
            value={order}
            onChange={(e) => reset(setOrder)((e.target as HTMLSelectElement).value as keyof typeof ORDERS)}
          >
            {Object.entries(ORDERS).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="queue-reason">Reason</label>
          <select id="queue-reason" value={reason} onChange={(e) => reset(setReason)((e.target as HTMLSelectElement).value)}>
            <option value="">Any reason</option>
            {counts?.byReason.map(option)}
          </select>
        </div>
        <div class="field">
          <label for="queue-source">Source</label>
          <select id="queue-source" value={source} onChange={(e) => reset(setSource)((e.target as HTMLSelectElement).value)}>
            <option value="">Any source</option>
            {counts?.bySource.map(option)}
          </select>
        </div>
        <div class="field">
          <label for="queue-kind">Kind</label>
          <select id="queue-kind" value={kind} onChange={(e) => reset(setKind)((e.target as HTMLSelectElement).value)}>
            <option value="">Any kind</option>
            {counts?.byKind.map(option)}
          </select>
        </div>
      </form>
      <Errors errors={errors} />
      {loading && <Loading what="the review queue" />}
      {data && (
        <>
          <p class="count" aria-live="polite">
            <strong data-testid="queue-total">{data.totalCount}</strong> open {data.totalCount === 1 ? 'item' : 'items'}
            {Object.keys(filter).length > 0 ? ' match the filter' : ''}
          </p>
          {data.edges.length === 0 ? (
            <Empty>No open review items{Object.keys(filter).length > 0 ? ' match the filter' : ''}.</Empty>
          ) : (
            <table class="queue">
              <caption class="visually-hidden">Open review items</caption>
              <thead>
                <tr>
                  <th scope="col">Score</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Record</th>
                  <th scope="col">Waiting since</th>
                  <th scope="col">
                    <span class="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.edges.map(({ node }) => (
                  <tr key={node.id}>
                    <td class="num">{fmtScore(node.score)}</td>
                    <td>
                      <abbr title={node.matchReason.description}>{node.matchReason.code}</abbr>
                    </td>
                    <td>{node.kind === 'POSSIBLE_MATCH' ? 'Possible match' : 'Possible duplicate'}</td>
                    <td class="mono">{node.record?.id ?? '—'}</td>
                    <td>{fmtTime(node.createdAt)}</td>
                    <td>
                      <a class="button" href={`#/compare/${node.id}`}>
                        Compare
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager paging={paging} pageInfo={data.pageInfo} />
        </>
      )}
    </section>
  );
}
