// FEBRL 1-4 through the matching engine alone, in memory, with the configured parameters:
//   node bench/mpi/febrl-engine.ts [--trace] [--dataset febrl4]
// --trace lists each false merge and missed link with its per-field evidence (FEBRL is public synthetic data).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMatchingConfig } from '../../orchestration/mpi/matching/config.ts';
import type { Comparison } from '../../orchestration/mpi/matching/compare.ts';
import { febrlDatasets, simulateLinking, type LinkingTrace } from '../../orchestration/mpi/matching/febrl-harness.ts';
import { SHARED_DATA } from '../../test/support/env.ts';

const explain = (c: Comparison): string =>
  c.evidence
    .filter((e) => e.level !== 'missing' && e.level !== 'none')
    .map((e) => `${e.field}:${e.level}:${e.weight.toFixed(1)}`)
    .join(' ');

const { values } = parseArgs({ options: { trace: { type: 'boolean' }, dataset: { type: 'string' } } });
const config = loadMatchingConfig();
for (const [name, load] of Object.entries(febrlDatasets(join(SHARED_DATA, 'mpi', 'febrl')))) {
  if (values.dataset && values.dataset !== name) continue;
  const trace: LinkingTrace = { falseMerges: [], missed: [], candidateVectors: [] };
  const m = simulateLinking(load(), config, { trace });
  console.log(
    name,
    JSON.stringify({
      ...m,
      precision: +m.precision.toFixed(5),
      recall: +m.recall.toFixed(5),
      f1: +m.f1.toFixed(5),
      elapsedMs: Math.round(m.elapsedMs),
    }),
  );
  if (!values.trace) continue;
  for (const f of trace.falseMerges)
    console.log('  false merge', f.record, '->', f.linkedTo, f.comparison.probability.toFixed(4), explain(f.comparison));
  for (const f of trace.missed)
    console.log(
      '  missed',
      f.record,
      f.truth,
      f.blocked ? f.decision : 'NOT BLOCKED',
      f.comparison.probability.toFixed(4),
      explain(f.comparison),
    );
}
