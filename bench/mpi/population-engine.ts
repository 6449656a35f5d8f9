// The evaluation population through the matching engine alone, in memory (the model developer's loop):
//   node bench/mpi/population-engine.ts [--seed 7] [--people 20000] [--trace] [--calibrated]
// Records are translated as mpi:link translates them and linked in file order by simulateLinking (the
// store's decision path: blocking, compare, decide, the chain guard). Prints pairwise figures, false-merge
// pairs by trap and, with --trace, each false merge and missed record with its evidence and the record's traps.
import { parseArgs } from 'node:util';
import { loadVendorProfile } from '../../platform/config.ts';
import { DEFAULT_PROFILE, prepareRecord } from '../../orchestration/mpi/ndjson-linking.ts';
import { sourceScope } from '../../translation/fhir-r4/patient.ts';
import { calibrate, loadMatchingConfig, matchFeatures } from '../../orchestration/mpi/matching/index.ts';
import type { Comparison } from '../../orchestration/mpi/matching/compare.ts';
import { simulateLinking, type LabelledRecord, type LinkingTrace } from '../../orchestration/mpi/matching/febrl-harness.ts';
import { falseMergePairsBy } from './metrics.ts';
import { generatePopulation, relationOf, type PopulationRecord } from './population.ts';

const explain = (c: Comparison): string =>
  c.evidence
    .filter((e) => e.level !== 'missing' && e.level !== 'none')
    .map((e) => `${e.field}:${e.level}:${e.weight.toFixed(1)}`)
    .join(' ');

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '7' },
    people: { type: 'string', default: '20000' },
    trace: { type: 'boolean' },
    calibrated: { type: 'boolean' },
  },
});
const population = generatePopulation({ seed: Number(values.seed), people: Number(values.people) });
const profile = loadVendorProfile(DEFAULT_PROFILE);
const today = '9999-12-31';
const byId = new Map<string, PopulationRecord>();
const records: LabelledRecord[] = [];
for (const s of population.sources)
  s.records.forEach((r, i) => {
    const p = prepareRecord(JSON.stringify(r.patient), i + 1, sourceScope({ id: s.name }), profile, today);
    byId.set(r.id, r);
    records.push({ id: r.id, entity: r.person, demographics: p.demographics });
  });
const base = loadMatchingConfig();
const config = values.calibrated
  ? calibrate(
      records.map((r) => matchFeatures(r.demographics, base)),
      base,
      { populationSize: records.length },
    ).config
  : base;
const trace: LinkingTrace = { falseMerges: [], missed: [], candidateVectors: [], clusters: [], chainHeld: [] };
const m = simulateLinking(records, config, { trace });
const assignments = records.map((r, i) => ({ record: r.id, entity: r.entity, cluster: String(trace.clusters![i]) }));
const byTrap = falseMergePairsBy(assignments, relationOf(population));
console.log(
  JSON.stringify({
    seed: values.seed,
    calibrated: !!values.calibrated,
    precision: +m.precision.toFixed(5),
    recall: +m.recall.toFixed(5),
    f1: +m.f1.toFixed(5),
    falsePairs: m.predictedPairs - m.truePositivePairs,
    missedPairs: m.truePairs - m.truePositivePairs,
    falseMergeRecords: m.falseMerges,
    missedRecords: trace.missed.length,
    review: m.reviewCount,
    seconds: Math.round(m.elapsedMs / 1000),
  }),
);
console.log('false pairs by trap', JSON.stringify(byTrap));
if (values.trace) {
  for (const h of trace.chainHeld!) console.log('HELD', h.record, h.conflict);
  const traps = (id: string) => {
    const p = byId.get(id)!.patient;
    return `${byId.get(id)!.traps.join(',')} ${p.name?.[0]?.given?.join(' ') ?? ''} ${p.birthDate ?? '-'} ${p.gender ?? '-'}`;
  };
  for (const f of trace.falseMerges)
    console.log(
      'FALSE',
      relationOf(population)(f.record, f.linkedTo),
      f.record,
      `[${traps(f.record)}]`,
      '->',
      f.linkedTo,
      `[${traps(f.linkedTo)}]`,
      f.comparison.probability.toFixed(4),
      explain(f.comparison),
    );
  for (const f of trace.missed)
    console.log(
      'MISSED',
      f.record,
      `[${traps(f.record)}]`,
      f.truth,
      `[${traps(f.truth)}]`,
      f.blocked ? f.decision : 'NOT_BLOCKED',
      f.comparison.probability.toFixed(4),
      explain(f.comparison),
    );
}
