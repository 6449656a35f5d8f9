// In-memory linking simulation over labelled records (FEBRL), mirroring what the store does online:
// each new record is blocked (union of its keys, capped per key and in total), compared with every
// candidate, and linked to the cluster of the best MATCH candidate, else it starts a new cluster.
// Pairwise precision/recall/F1 over the resulting clusters; POSSIBLE_MATCH only counts as review.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceDemographics } from '../../../translation/fhir-r4/patient.ts';
import { isCalendarDate } from '../../../translation/fhir-r4/patient.ts';
import type { MatchingConfig } from './config.ts';
import { matchFeatures, blockingKeys, frequencyTerms, type MatchFeatures } from './features.ts';
import { compareFeatures, conflictsWithGolden, decide, DECISIONS, levelsOf, type Comparison, type NameFrequencies } from './compare.ts';

export type LabelledRecord = { readonly id: string; readonly entity: string; readonly demographics: SourceDemographics };

const FEBRL_COLUMNS = [
  'rec_id',
  'given_name',
  'surname',
  'street_number',
  'address_1',
  'address_2',
  'suburb',
  'postcode',
  'state',
  'date_of_birth',
  'soc_sec_id',
] as const;
type FebrlRow = Record<(typeof FEBRL_COLUMNS)[number], string>;

/** A FEBRL row as source demographics (the mapping the benchmark uses). */
export function febrlToDemographics(row: FebrlRow, source: string): SourceDemographics {
  const raw = row.date_of_birth.trim();
  const iso = raw.length === 8 ? `${raw.slice(0, 4)}-${raw.slice(4, 6)}-${raw.slice(6, 8)}` : '';
  const valid = isCalendarDate(iso);
  return {
    source,
    sourcePatientId: row.rec_id,
    mrn: null,
    name: { use: null, family: row.surname || null, given: row.given_name ? [row.given_name] : [], prefix: [], suffix: [], text: null },
    birthDate: valid ? iso : null,
    birthDateAsRecorded: valid || !raw ? null : raw,
    gender: null,
    identifiers: row.soc_sec_id ? [{ system: 'http://hl7.org/fhir/sid/us-ssn', value: row.soc_sec_id, type: 'SS', source: null }] : [],
    addresses: [
      {
        use: null,
        line: [`${row.street_number} ${row.address_1}`.trim(), row.address_2].filter(Boolean),
        city: row.suburb || null,
        state: row.state || null,
        postalCode: row.postcode || null,
        country: null,
      },
    ],
    telecom: [],
    lastUpdated: null,
  };
}

/** Parse a FEBRL CSV (comma + space separators); the entity is N of rec-N-org / rec-N-dup-k. */
export function parseFebrl(text: string, source: string): LabelledRecord[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  return lines.slice(1).map((line) => {
    const cells = line.split(',').map((c) => c.replace(/^ /, '').trim());
    const row = Object.fromEntries(FEBRL_COLUMNS.map((c, i) => [c, cells[i] ?? ''])) as FebrlRow;
    const entity = /^rec-(\d+)-/.exec(row.rec_id)?.[1] ?? row.rec_id;
    return { id: row.rec_id, entity, demographics: febrlToDemographics(row, source) };
  });
}

export const readFebrl = (file: string, source: string): LabelledRecord[] => parseFebrl(readFileSync(file, 'utf8'), source);

export type LinkingMetrics = {
  readonly records: number;
  readonly truePairs: number;
  readonly predictedPairs: number;
  readonly truePositivePairs: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** MATCH links into a cluster holding no record of the same person. */
  readonly falseMerges: number;
  /** Records whose best candidate was POSSIBLE_MATCH (left in their own cluster, queued for review). */
  readonly reviewCount: number;
  readonly comparisons: number;
  readonly elapsedMs: number;
};
export type LinkingTrace = {
  readonly falseMerges: { record: string; linkedTo: string; comparison: Comparison }[];
  /** Records with an earlier true match that were not linked to it: best comparison with one, and whether blocking found it. */
  readonly missed: { record: string; truth: string; blocked: boolean; decision: string; comparison: Comparison }[];
  /** Level vectors of every compared candidate pair (for EM). */
  readonly candidateVectors: Record<string, string>[];
  /** The cluster of each record, in ingestion order (filled when present). */
  readonly clusters?: number[];
  /** Records whose MATCH the chain guard held for review, with the conflict (filled when present). */
  readonly chainHeld?: { record: string; conflict: string }[];
};
export type SimulationOptions = {
  /** Which records a capped blocking key keeps: the first inserted (default) or the most recent. */
  readonly keep?: 'first' | 'recent';
  /** Fill `trace` with false merges, missed links and candidate vectors (slower). */
  readonly trace?: LinkingTrace;
};

const pairs = (n: number): number => (n * (n - 1)) / 2;

/**
 * Name counts over the records ingested so far, as the store keeps them. The store reads the counts of the
 * incoming record's own values only (linking.ts frequenciesFor): `viewOf` gives that view (null for other values).
 */
function frequencyTable(): { frequencies: NameFrequencies; viewOf(f: MatchFeatures): NameFrequencies; add(f: MatchFeatures): void } {
  const counts = new Map<string, number>();
  let total = 0;
  const frequencies: NameFrequencies = {
    get total() {
      return total;
    },
    count: (field, value) => counts.get(`${field}\u0000${value}`) ?? 0,
  };
  return {
    frequencies,
    viewOf(f) {
      const own = new Set(frequencyTerms(f).map((t) => `${t.field}\u0000${t.value}`));
      return { total, count: (field, value) => (own.has(`${field}\u0000${value}`) ? frequencies.count(field, value) : null) };
    },
    add(f) {
      total++;
      for (const t of frequencyTerms(f)) counts.set(`${t.field}\u0000${t.value}`, (counts.get(`${t.field}\u0000${t.value}`) ?? 0) + 1);
    },
  };
}

/** Candidate record indexes for one record's keys: per-key cap, total cap, deduplicated. */
function candidates(keys: readonly string[], index: Map<string, number[]>, config: MatchingConfig, keep: 'first' | 'recent'): number[] {
  const out = new Set<number>();
  for (const k of keys) {
    const list = index.get(k);
    if (!list) continue;
    const capped = keep === 'first' ? list.slice(0, config.blocking.capPerKey) : list.slice(-config.blocking.capPerKey).reverse();
    for (const i of capped) {
      if (out.size >= config.blocking.capTotal) return [...out];
      out.add(i);
    }
  }
  return [...out];
}

/** Ingest records one by one and measure the clusters against the truth. */
export function simulateLinking(
  records: readonly LabelledRecord[],
  config: MatchingConfig,
  options: SimulationOptions = {},
): LinkingMetrics {
  const started = performance.now();
  const keep = options.keep ?? 'first';
  const trace = options.trace;
  const features = records.map((r) => matchFeatures(r.demographics, config));
  const index = new Map<string, number[]>();
  const cluster: number[] = [];
  const freq = frequencyTable();
  let falseMerges = 0;
  let reviewCount = 0;
  let comparisons = 0;
  const seenEntity = new Map<string, number>();
  const clusterEntities = new Map<number, Set<string>>();
  records.forEach((record, i) => {
    const f = features[i]!;
    const keys = blockingKeys(f, config);
    const found = candidates(keys, index, config, keep);
    const frequencies = freq.viewOf(f);
    let best: { j: number; c: Comparison } | null = null;
    let review = false;
    for (const j of found) {
      const c = compareFeatures(f, features[j]!, config, frequencies);
      comparisons++;
      trace?.candidateVectors.push(levelsOf(c));
      const d = decide(c, f, features[j]!, config);
      if (d === DECISIONS.MATCH && (!best || c.probability > best.c.probability)) best = { j, c };
      else if (d === DECISIONS.POSSIBLE_MATCH) review = true;
    }
    // Chains, as the store does: a MATCH conflicting with another candidate record of the same golden record goes to review.
    if (best) {
      const golden = cluster[best.j];
      const others = found.filter((j) => j !== best!.j && cluster[j] === golden).map((j) => features[j]!);
      const conflict = conflictsWithGolden(f, others, config, frequencies, features[best.j]!);
      if (conflict) {
        trace?.chainHeld?.push({ record: record.id, conflict });
        [best, review] = [null, true];
      }
    }
    const id = best ? cluster[best.j]! : i;
    cluster.push(id);
    trace?.clusters?.push(id);
    const members = clusterEntities.get(id) ?? new Set<string>();
    if (best && !members.has(record.entity)) {
      falseMerges++;
      trace?.falseMerges.push({ record: record.id, linkedTo: records[best.j]!.id, comparison: best.c });
    }
    members.add(record.entity);
    clusterEntities.set(id, members);
    if (!best && review) reviewCount++;
    const earlier = seenEntity.get(record.entity);
    if (trace && earlier !== undefined && cluster[i] !== cluster[earlier]) {
      const c = compareFeatures(f, features[earlier]!, config, frequencies);
      trace.missed.push({
        record: record.id,
        truth: records[earlier]!.id,
        blocked: found.includes(earlier),
        decision: decide(c, f, features[earlier]!, config),
        comparison: c,
      });
    }
    if (earlier === undefined) seenEntity.set(record.entity, i);
    for (const k of keys) {
      const list = index.get(k);
      if (list) list.push(i);
      else index.set(k, [i]);
    }
    freq.add(f);
  });
  return {
    ...pairMetrics(records, cluster),
    falseMerges,
    reviewCount,
    comparisons,
    records: records.length,
    elapsedMs: performance.now() - started,
  };
}

/** Pairwise precision, recall and F1 of predicted clusters against the entities. */
export function pairMetrics(
  records: readonly LabelledRecord[],
  cluster: readonly number[],
): Pick<LinkingMetrics, 'truePairs' | 'predictedPairs' | 'truePositivePairs' | 'precision' | 'recall' | 'f1'> {
  const bySize = (key: (i: number) => string): number => {
    const sizes = new Map<string, number>();
    records.forEach((_, i) => sizes.set(key(i), (sizes.get(key(i)) ?? 0) + 1));
    let total = 0;
    for (const n of sizes.values()) total += pairs(n);
    return total;
  };
  const truePairs = bySize((i) => records[i]!.entity);
  const predictedPairs = bySize((i) => String(cluster[i]));
  const truePositivePairs = bySize((i) => `${cluster[i]}\u0000${records[i]!.entity}`);
  const precision = predictedPairs === 0 ? 1 : truePositivePairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : truePositivePairs / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { truePairs, predictedPairs, truePositivePairs, precision, recall, f1 };
}

/** FEBRL datasets as the benchmark ingests them (dataset 4 as two sources, 4a first). */
export function febrlDatasets(dir: string): Record<'febrl1' | 'febrl2' | 'febrl3' | 'febrl4', () => LabelledRecord[]> {
  const read = (file: string, source: string) => () => readFebrl(join(dir, file), source);
  return {
    febrl1: read('dataset1.csv', 'febrl'),
    febrl2: read('dataset2.csv', 'febrl'),
    febrl3: read('dataset3.csv', 'febrl'),
    febrl4: () => [...readFebrl(join(dir, 'dataset4a.csv'), 'febrl-a'), ...readFebrl(join(dir, 'dataset4b.csv'), 'febrl-b')],
  };
}
