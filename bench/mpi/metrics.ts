// Pure accuracy and latency figures for the MPI benchmarks. Clusters are what the MPI produced
// (golden id per record); entities are the ground truth (one id per real person).
//
// Pairwise measures, the usual ones for record linkage: every pair of records in one predicted
// cluster is a predicted link, every pair of records of one entity a true link. They weigh big
// clusters quadratically, which is the point for an MPI: one wrong merge of two large clusters
// mixes many charts.

export type Assignment = { readonly entity: string; readonly cluster: string };

export type PairwiseMetrics = {
  readonly records: number;
  readonly entities: number;
  readonly clusters: number;
  /** Pairs of records of the same entity. */
  readonly truePairs: number;
  /** Pairs of records in the same predicted cluster. */
  readonly predictedPairs: number;
  /** Predicted pairs that are true pairs. */
  readonly correctPairs: number;
  /** Predicted pairs that are not true pairs: records of different people in one golden record. */
  readonly falseMergePairs: number;
  /** True pairs the MPI left in different golden records (duplicates still to resolve). */
  readonly missedPairs: number;
  /** Clusters holding records of more than one entity. */
  readonly impureClusters: number;
  /** null when nothing was linked (no predicted pair): precision is undefined, not perfect. */
  readonly precision: number | null;
  /** null when the truth has no pair. */
  readonly recall: number | null;
  readonly f1: number | null;
};

/** Pairs among n items. */
export const pairs = (n: number): number => (n * (n - 1)) / 2;

function tally(keys: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}

const sumPairs = (counts: Map<string, number>): number => {
  let total = 0;
  for (const n of counts.values()) total += pairs(n);
  return total;
};

export function pairwiseMetrics(assignments: readonly Assignment[]): PairwiseMetrics {
  const byEntity = tally(assignments.map((a) => a.entity));
  const byCluster = tally(assignments.map((a) => a.cluster));
  // A pair is correct when both records share entity AND cluster: count pairs per (cluster, entity) cell.
  const cells = tally(assignments.map((a) => `${a.cluster}\u0000${a.entity}`));
  const entitiesPerCluster = tally([...cells.keys()].map((k) => k.slice(0, k.indexOf('\u0000'))));
  const truePairs = sumPairs(byEntity);
  const predictedPairs = sumPairs(byCluster);
  const correctPairs = sumPairs(cells);
  const precision = predictedPairs > 0 ? correctPairs / predictedPairs : null;
  const recall = truePairs > 0 ? correctPairs / truePairs : null;
  const f1 = precision === null || recall === null ? null : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    records: assignments.length,
    entities: byEntity.size,
    clusters: byCluster.size,
    truePairs,
    predictedPairs,
    correctPairs,
    falseMergePairs: predictedPairs - correctPairs,
    missedPairs: truePairs - correctPairs,
    impureClusters: [...entitiesPerCluster.values()].filter((n) => n > 1).length,
    precision,
    recall,
    f1,
  };
}

/** Nearest-rank percentile (p in 0..100) of values already sorted ascending; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** 0.98765 -> "0.9877"; null -> "n/a". */
export const ratio4 = (x: number | null): string => (x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(4));

/** A GitHub markdown table; numeric-looking columns right-aligned. */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  // Right-aligned when every non-empty cell is a number (bold totals included).
  const numeric = header.map(
    (_h, i) =>
      rows.some((r) => r[i] !== '') &&
      rows.every((r) => typeof r[i] === 'number' || /^(\*\*)?(-?[\d.,]+%?|n\/a|)(\*\*)?$/.test(String(r[i] ?? ''))),
  );
  const line = (r: readonly string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map((_h, i) => (numeric[i] ? '---:' : '---'))), ...cells.map(line)].join('\n');
}

/**
 * False-merge pairs (two records of different people in one cluster) counted by `classify(recordA,
 * recordB)`, e.g. the relation of the two people (twins, spouses, ...). Sums to falseMergePairs.
 */
export function falseMergePairsBy(
  assignments: readonly (Assignment & { readonly record: string })[],
  classify: (a: string, b: string) => string,
): Record<string, number> {
  const clusters = new Map<string, (Assignment & { readonly record: string })[]>();
  for (const a of assignments) {
    const members = clusters.get(a.cluster);
    if (members) members.push(a);
    else clusters.set(a.cluster, [a]);
  }
  const counts: Record<string, number> = {};
  for (const members of clusters.values())
    for (let i = 0; i < members.length; i++)
      for (let j = i + 1; j < members.length; j++)
        if (members[i]!.entity !== members[j]!.entity) {
          const label = classify(members[i]!.record, members[j]!.record);
          counts[label] = (counts[label] ?? 0) + 1;
        }
  return counts;
}
