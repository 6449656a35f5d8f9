// Order-stable linking, measured: a small set of the traps a regional hospital has (twins,
// father and son, spouses, namesakes on one street, one person in three sources) linked forward
// and reversed, one record at a time and in batch, gives the same clusters. And the one case
// where order matters (README, "Linking order"): a chain, where a record matches two records
// that do not match each other. Which clusters come out then depends on which record came
// first, and the pair left apart is always in the review queue.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import { linkBatch } from './batch-linking.ts';
import { compareFeatures, loadMatchingConfig, matchFeatures, type MatchingConfig } from './matching/index.ts';
import { linkSourceRecord, type LinkOutcome } from './linking.ts';
import { openMpiTestDb, person, type MpiTestDb } from './test-helpers.ts';

const stores: MpiTestDb[] = [];
before(async () => {
  for (let i = 0; i < 4; i++) stores.push(await openMpiTestDb());
});
after(() => Promise.all(stores.map((s) => s.close())));

type Linker = (t: MpiTestDb, records: readonly SourceDemographics[], matching: MatchingConfig) => Promise<LinkOutcome[]>;
const online: Linker = async (t, records, matching) => {
  const outcomes: LinkOutcome[] = [];
  for (const r of records) outcomes.push(await linkSourceRecord(t.db, r, t.protection, { matching }));
  return outcomes;
};
const batch: Linker = (t, records, matching) => linkBatch(t.db, records, t.protection, { matching });

/** Clusters as sets of record ids, comparable whatever the golden ids. */
function clusters(records: readonly SourceDemographics[], outcomes: readonly LinkOutcome[]): string[][] {
  const byGolden = Map.groupBy(
    records.map((r, i) => ({ id: `${r.source}/${r.sourcePatientId}`, golden: outcomes[i]!.goldenId })),
    (x) => x.golden,
  );
  return [...byGolden.values()].map((xs) => xs.map((x) => x.id).sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
}

const SOURCES = ['epic-main', 'cerner-main', 'lab'] as const;
const home = (line: string, phone: string) => ({ line, phone, postalCode: '62704', city: 'Springfield' });
const familyHome = home('41 Larkspur Drive', '217-555-0141');
/** Each person in two or three sources, with the small differences sources have. */
const TRAPS: SourceDemographics[] = [
  // One person in three sources: a typo in the street, a missing phone.
  ...SOURCES.map((source, k) =>
    person({
      source,
      id: 'one',
      family: 'Ravensworth',
      given: ['Philippa'],
      birthDate: '1972-08-19',
      ssn: '571223344',
      ...home(k === 1 ? '7 Heathr Close' : '7 Heather Close', k === 2 ? '' : '217-555-0107'),
    }),
  ),
  // Twins: same family name, birth date, home and phone; sound-alike given names; different SSNs.
  ...(['Emma', 'Emily'] as const).flatMap((given, t) =>
    SOURCES.slice(0, 2).map((source) =>
      person({
        source,
        id: `twin-${t}`,
        family: 'Castellano',
        given: [given],
        birthDate: '2001-04-12',
        ssn: `58100220${t}`,
        ...familyHome,
      }),
    ),
  ),
  // Father and son: same name, home and phone; born 30 years apart, one digit apart; the son's "Jr" in one source only.
  ...[0, 1].flatMap((generation) =>
    SOURCES.slice(0, 2).map((source, k) =>
      person({
        source,
        id: `gen-${generation}`,
        family: 'Whitcombe',
        given: ['Harold'],
        gender: 'male',
        birthDate: generation === 0 ? '1960-03-05' : '1990-03-05',
        suffix: generation === 1 && k === 0 ? ['Jr'] : [],
        ...home('3 Millbrook Road', '217-555-0133'),
      }),
    ),
  ),
  // Spouses: one home, different given names, genders and birth dates.
  ...[
    { given: ['Margaret'], gender: 'female', birthDate: '1955-10-02' },
    { given: ['Leonard'], gender: 'male', birthDate: '1953-01-28' },
  ].flatMap((spouse, s) =>
    SOURCES.slice(1).map((source) =>
      person({ source, id: `spouse-${s}`, family: 'Okafor', ...spouse, ...home('90 Quince Street', '217-555-0190') }),
    ),
  ),
  // Namesakes: a common name on one street of one town, born 13 years apart, different SSNs and houses.
  ...[0, 1].flatMap((n) =>
    SOURCES.slice(0, 2).map((source) =>
      person({
        source,
        id: `namesake-${n}`,
        family: 'Johnson',
        given: ['Mary'],
        birthDate: n === 0 ? '1961-07-07' : '1974-02-15',
        ssn: `59300110${n}`,
        ...home(`${n === 0 ? 12 : 48} Main Street`, `217-555-01${n === 0 ? 12 : 48}`),
      }),
    ),
  ),
];

const truncate = (t: MpiTestDb) =>
  t.db.query('TRUNCATE source_record, golden_patient, match_block, link_event, review_item, patient_identifier, name_frequency CASCADE');

test('the trap set gives the same clusters linked forward or reversed, one at a time or in batch', async () => {
  const shipped = loadMatchingConfig();
  const reversed = [...TRAPS].reverse();
  const results = await Promise.all(
    [
      [online, TRAPS],
      [online, reversed],
      [batch, TRAPS],
      [batch, reversed],
    ].map(async ([link, records], i) => {
      const t = stores[i]!;
      const out = clusters(records as SourceDemographics[], await (link as Linker)(t, records as SourceDemographics[], shipped));
      await truncate(t);
      return out;
    }),
  );
  for (const other of results.slice(1)) assert.deepEqual(other, results[0]);
  // Sanity: the person in three sources is one cluster, and nobody else is.
  assert.ok(results[0]!.some((c) => c.length === 3 && c.every((id) => id.endsWith('/one'))));
});

test('a chain (A~B and B~C, A and C not a match) depends on order; the pair left apart waits in the review queue', async () => {
  const base = { family: 'Vandermolen', given: ['Theodora'], birthDate: '1984-06-21' };
  const a = person({ source: 'epic-main', id: 'A', ...base, line: '5 Orchard Row' });
  const b = person({ source: 'cerner-main', id: 'B', ...base, line: '5 Orchard Row', phone: '217-555-0123' });
  const c = person({
    source: 'lab',
    id: 'C',
    ...base,
    line: '900 Canal Street',
    postalCode: '60601',
    city: 'Chicago',
    phone: '217-555-0123',
  });
  // Thresholds around the pairs' own scores, so that only the chain's shape matters, not the model's weights.
  const shipped = loadMatchingConfig();
  const score = (x: SourceDemographics, y: SourceDemographics) =>
    compareFeatures(matchFeatures(x, shipped), matchFeatures(y, shipped), shipped).probability;
  const [ab, bc, ac] = [score(a, b), score(b, c), score(a, c)];
  assert.ok(ac < Math.min(ab, bc), `a chain: ${ab} ${bc} ${ac}`);
  const matching = { ...shipped, thresholds: { autoLink: (ac + Math.min(ab, bc)) / 2, review: ac / 2 } };
  for (const [i, link] of [online, batch].entries()) {
    const t = stores[i]!;
    // B first, or in the middle: B joins A, and C then matches B's golden record: one cluster.
    assert.deepEqual(clusters([a, b, c], await link(t, [a, b, c], matching)), [['cerner-main/B', 'epic-main/A', 'lab/C']]);
    await truncate(t);
    // A and C first: they do not match, so each starts a golden record (queued for review as a
    // possible match); B matches both and joins the better one.
    const order = [a, c, b];
    const outcomes = await link(t, order, matching);
    assert.deepEqual(clusters(order, outcomes), [['cerner-main/B', 'epic-main/A'], ['lab/C']]);
    const { rows } = await t.db.query<{ pair: string[] }>(
      "SELECT ARRAY[golden_id::text, candidate_id::text] AS pair FROM review_item WHERE status = 'OPEN'",
    );
    assert.deepEqual(
      rows.map((r) => r.pair.sort()),
      [[outcomes[0]!.goldenId, outcomes[1]!.goldenId].sort()],
      'the two golden records of the chain are one open review item',
    );
    await truncate(t);
  }
});
