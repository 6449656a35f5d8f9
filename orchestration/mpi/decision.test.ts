// One decision path: decideLink on its own (pure), and the online linker (linkSourceRecord) and the
// batch linker (linkBatch, the pair in one chunk or in two calls) deciding the same pair the same
// way: the same link state, score, evidence and reason, the same history entry, the same review items.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import { decideLink, joinedAs } from './decision.ts';
import { compareFeatures, loadMatchingConfig, matchFeatures, type Comparison, type MatchingConfig } from './matching/index.ts';
import { linkBatch } from './batch-linking.ts';
import { linkSourceRecord, type LinkOutcome, type Scored } from './linking.ts';
import { openMpiTestDb, person, type MpiTestDb } from './test-helpers.ts';

const scored = (goldenId: string, probability: number, decision: Scored['decision']): Scored => ({
  goldenId,
  via: { source: 's', sourcePatientId: goldenId, goldenId, features: {} as never },
  comparison: { probability, weight: 0, evidence: [] } as unknown as Comparison,
  decision,
  reason: decision === 'MATCH' ? 'ABOVE_AUTO_LINK' : decision === 'POSSIBLE_MATCH' ? 'BELOW_AUTO_LINK' : 'BELOW_REVIEW',
});

test('decideLink: the best candidate decides; a MATCH lists the other golden records it matches as possible duplicates', () => {
  const [a, b, c, d] = [
    scored('a', 0.999, 'MATCH'),
    scored('b', 0.99, 'MATCH'),
    scored('c', 0.9, 'POSSIBLE_MATCH'),
    scored('d', 0.1, 'NO_MATCH'),
  ];
  assert.deepEqual(decideLink([a, b, c, d]), { state: 'MATCH', target: a, joins: 'a', reason: 'ABOVE_AUTO_LINK', duplicates: [b, c] });
  assert.deepEqual(decideLink([c, d]), { state: 'POSSIBLE_MATCH', target: c, joins: null, reason: 'BELOW_AUTO_LINK', duplicates: [] });
  assert.deepEqual(decideLink([d]), { state: 'NO_MATCH', target: d, joins: null, reason: 'BELOW_REVIEW', duplicates: [] });
  assert.deepEqual(decideLink([]), { state: 'NO_MATCH', target: undefined, joins: null, reason: 'NO_CANDIDATE', duplicates: [] });
  // A record leaving golden record a (an update): decided among the others; a may still be the same person.
  assert.deepEqual(decideLink([a, b, c], 'a'), { state: 'MATCH', target: b, joins: 'b', reason: 'ABOVE_AUTO_LINK', duplicates: [a, c] });
});

test('joinedAs: a golden record merged meanwhile is joined through its survivor; one gone leaves the pair to a steward', () => {
  const match = decideLink([scored('a', 0.999, 'MATCH'), scored('b', 0.99, 'MATCH')]);
  assert.equal(joinedAs(match, 'a'), match);
  assert.deepEqual(joinedAs(match, 'b'), { ...match, joins: 'b', duplicates: [] });
  assert.deepEqual(joinedAs(match, undefined), {
    ...match,
    state: 'POSSIBLE_MATCH',
    joins: null,
    reason: 'CANDIDATE_UNAVAILABLE',
    duplicates: [],
  });
});

const stores: MpiTestDb[] = [];
before(async () => stores.push(await openMpiTestDb(), await openMpiTestDb(), await openMpiTestDb()));
after(() => Promise.all(stores.map((s) => s.close())));

const shipped = loadMatchingConfig();
const home = { line: '18 Quarry Lane', postalCode: '62704', phone: '217-555-0188' };
/** Pairs of every outcome; the middle band is set around the pair's own score, so the model's weights do not matter. */
const PAIRS: { label: string; a: SourceDemographics; b: SourceDemographics; middle?: boolean }[] = [
  {
    label: 'the same person from two EHRs',
    a: person({ id: 'P1', family: 'Marchetti', given: ['Oriana'], birthDate: '1966-05-04', ssn: '561002233', ...home }),
    b: person({
      source: 'cerner-main',
      id: 'P1',
      family: 'Marchetti',
      given: ['Oriana'],
      birthDate: '1966-05-04',
      ssn: '561002233',
      ...home,
    }),
  },
  {
    label: 'a pair in the review band',
    a: person({ id: 'P2', family: 'Thistlewood', given: ['Lucinda'], birthDate: '1978-02-03' }),
    b: person({ source: 'cerner-main', id: 'P2', family: 'Thistlewood', given: ['Lucinda'], birthDate: '1978-11-23' }),
    middle: true,
  },
  {
    label: 'father and son with the same name and home',
    a: person({ id: 'P3', family: 'Abernethy', given: ['Cornelius'], gender: 'male', birthDate: '1958-02-11', ...home }),
    b: person({
      source: 'cerner-main',
      id: 'P3',
      family: 'Abernethy',
      given: ['Cornelius'],
      gender: 'male',
      birthDate: '1988-09-30',
      ...home,
    }),
  },
  {
    label: 'unrelated people',
    a: person({ id: 'P4', family: 'Okonjo', given: ['Adaeze'], birthDate: '1990-01-01' }),
    b: person({ source: 'cerner-main', id: 'P4', family: 'Lindqvist', given: ['Sven'], gender: 'male', birthDate: '1940-12-12' }),
  },
];

const configFor = (pair: (typeof PAIRS)[number]): MatchingConfig => {
  if (!pair.middle) return shipped;
  const s = compareFeatures(matchFeatures(pair.a, shipped), matchFeatures(pair.b, shipped), shipped).probability;
  return { ...shipped, thresholds: { autoLink: Math.min(s + 0.001, 1), review: s - 0.001 } };
};

/** Everything the store says about how record b was linked, golden ids named by whose they are. */
async function decisionOf(t: MpiTestDb, a: LinkOutcome, b: LinkOutcome, ref: SourceDemographics) {
  const name = (id: unknown) => (id === a.goldenId ? 'a' : id === b.goldenId ? 'b' : id === null ? null : 'other');
  const row = (
    await t.db.query(
      'SELECT golden_id, link_state, link_origin, link_score, link_evidence, matched_via, match_reason FROM source_record WHERE source = $1 AND source_patient_id = $2',
      [ref.source, ref.sourcePatientId],
    )
  ).rows[0]!;
  const events = (
    await t.db.query(
      'SELECT golden_id, previous_golden_id, state, origin, score, evidence, action, match_reason FROM link_event WHERE source = $1 AND source_patient_id = $2 ORDER BY seq',
      [ref.source, ref.sourcePatientId],
    )
  ).rows;
  const reviews = (
    await t.db.query(
      'SELECT kind, golden_id, candidate_id, score, evidence, match_reason, thresholds, record_id FROM review_item ORDER BY kind',
    )
  ).rows;
  return {
    outcome: { ...b, goldenId: name(b.goldenId) },
    row: { ...row, golden_id: name(row.golden_id) },
    events: events.map((e) => ({ ...e, golden_id: name(e.golden_id), previous_golden_id: name(e.previous_golden_id) })),
    reviews: reviews.map((r) => ({ ...r, golden_id: name(r.golden_id), candidate_id: name(r.candidate_id) })),
  };
}

test('the online and the batch linker decide a pair the same way: state, score, evidence, reason, history and review items', async () => {
  const [online, oneChunk, twoCalls] = stores as [MpiTestDb, MpiTestDb, MpiTestDb];
  const states = new Set<string>();
  for (const pair of PAIRS) {
    const matching = configFor(pair);
    const viaOnline = [
      await linkSourceRecord(online.db, pair.a, online.protection, { matching }),
      await linkSourceRecord(online.db, pair.b, online.protection, { matching }),
    ] as const;
    const viaChunk = await linkBatch(oneChunk.db, [pair.a, pair.b], oneChunk.protection, { matching });
    const viaCalls = [
      ...(await linkBatch(twoCalls.db, [pair.a], twoCalls.protection, { matching })),
      ...(await linkBatch(twoCalls.db, [pair.b], twoCalls.protection, { matching })),
    ];
    const expected = await decisionOf(online, ...viaOnline, pair.b);
    assert.deepEqual(await decisionOf(oneChunk, viaChunk[0]!, viaChunk[1]!, pair.b), expected, `${pair.label}: batch, one chunk`);
    assert.deepEqual(await decisionOf(twoCalls, viaCalls[0]!, viaCalls[1]!, pair.b), expected, `${pair.label}: batch, two calls`);
    states.add(viaOnline[1].decision);
    for (const s of stores) await s.db.query('TRUNCATE review_item, link_event');
  }
  assert.deepEqual([...states].sort(), ['MATCH', 'NO_MATCH', 'POSSIBLE_MATCH'], 'every outcome is compared');
});
