import { loadMatchingConfig } from '/work/main/orchestration/mpi/matching/index.ts';
import { readFebrl, simulateLinking, type LinkingTrace } from '/work/main/orchestration/mpi/matching/febrl-harness.ts';
const D = '/work/shared/data/mpi/febrl/';
const config = loadMatchingConfig(process.env.CFG);
const sets: Record<string, ReturnType<typeof readFebrl>> = {
  febrl1: readFebrl(D + 'dataset1.csv', 'a'),
  febrl2: readFebrl(D + 'dataset2.csv', 'a'),
  febrl3: readFebrl(D + 'dataset3.csv', 'a'),
  febrl4: [...readFebrl(D + 'dataset4a.csv', 'a'), ...readFebrl(D + 'dataset4b.csv', 'b')],
};
const only = process.argv[2];
for (const [name, recs] of Object.entries(sets)) {
  if (only && only !== name) continue;
  const trace: LinkingTrace = { falseMerges: [], missed: [], candidateVectors: [] };
  const m = simulateLinking(recs, config, { trace });
  console.log(name, JSON.stringify({ P: m.precision.toFixed(5), R: m.recall.toFixed(5), F1: m.f1.toFixed(5), fm: m.falseMerges, review: m.reviewCount, cmp: m.comparisons, ms: Math.round(m.elapsedMs), missedBlocking: trace.missed.filter((x) => !x.blocked).length, missed: trace.missed.length }));
  if (process.env.V) {
    for (const f of trace.falseMerges) console.log('FM', f.record, f.linkedTo, f.comparison.probability.toFixed(4), f.comparison.evidence.filter(e=>e.level!=='missing').map((e) => `${e.field}:${e.level}:${e.weight.toFixed(1)}`).join(' '));
    for (const f of trace.missed.slice(0, Number(process.env.V))) console.log('MISS', f.record, f.truth, f.blocked, f.decision, f.comparison.probability.toFixed(4), f.comparison.weight.toFixed(1), f.comparison.evidence.filter(e=>e.level!=='missing').map((e) => `${e.field}:${e.level}:${e.weight.toFixed(1)}`).join(' '));
  }
}
