// The chain guard as the linkers apply it (scoreCandidates): the record a MATCH was scored against counts in the
// golden record's vote, so one odd member does not hold a record that matches the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINK_STATES } from './golden.ts';
import { scoreCandidates, type Candidate, type Prepared } from './linking.ts';
import { matchFeatures } from './matching/index.ts';
import { config, person } from './matching/test-helpers.ts';

const home = { line: ['12 Main Street'], city: 'Springfield', postalCode: '62701', phone: '2175550142' };
const adult = (given: string, ssn: string, line = home.line) =>
  matchFeatures(person({ ...home, line, family: 'Walker', given: [given], birthDate: '1992-07-06', ssn }), config);
const candidate = (id: string, features: Candidate['features']): Candidate => ({
  source: 'ehr',
  sourcePatientId: id,
  goldenId: 'g1',
  features,
});
const golden = [
  candidate('a', adult('Liam', '900112233')),
  candidate('b', adult('Liam', '900112233', ['12 Main St'])),
  // Joined through the SSN and birth date it shares with the others, its given name re-keyed.
  candidate('c', adult('Ethan', '900112233')),
];
const incoming = (features: Prepared['features']) => ({ features }) as Prepared;

test("a record matching most of a golden record's records joins it despite one re-keyed member", () => {
  const [s] = scoreCandidates(incoming(adult('Liam', '900556677')), golden, config, undefined);
  assert.equal(s?.decision, LINK_STATES.MATCH);
});

test('a record matching one record and conflicting with another is held for review (GOLDEN_CONFLICT)', () => {
  const [s] = scoreCandidates(incoming(adult('Liam', '900556677')), [golden[0]!, golden[2]!], config, undefined);
  assert.equal(s?.decision, LINK_STATES.POSSIBLE_MATCH);
  assert.equal(s?.reason, 'GOLDEN_CONFLICT');
});

test('equal scores are ordered by the records that scored them, never by the random golden ids', () => {
  const twin = (source: string, goldenId: string): Candidate => ({
    source,
    sourcePatientId: 'p1',
    goldenId,
    features: adult('Liam', '900112233'),
  });
  // The golden ids sort the other way round from the source records: the order must follow the records.
  const [first, second] = scoreCandidates(
    incoming(adult('Liam', '900112233')),
    [twin('clinic-b', 'g-a'), twin('clinic-a', 'g-z')],
    config,
    undefined,
  );
  assert.equal(first?.comparison.probability, second?.comparison.probability);
  assert.deepEqual([first?.goldenId, second?.goldenId], ['g-z', 'g-a']);
});
