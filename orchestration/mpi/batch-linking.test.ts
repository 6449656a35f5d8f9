// Batch linking on a real database (PostgreSQL when DATABASE_URL is set, else PGlite): on
// PostgreSQL chunk n+1 is decided while chunk n is still being written, so a duplicate of a record
// of chunk n must be found in memory when the database cannot show it yet.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { person, toPatient } from '../../bench/mpi/synthetic.ts';
import { loadVendorProfile } from '../../platform/config.ts';
import { sourceDemographics, sourceScope, type SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import { BATCH_CHUNK, linkBatch } from './batch-linking.ts';
import { openMpiTestDb, type MpiTestDb } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => (t = await openMpiTestDb()));
after(() => t.close());

const profile = loadVendorProfile('fhir-r4');
const SEED = 11;

function record(index: number, source: string): SourceDemographics {
  const translated = sourceDemographics(
    toPatient(person(SEED, index), `${source}-${index}`, `M${index}`) as never,
    sourceScope({ id: source }),
    profile,
  );
  if (!translated.ok) throw new Error(`synthetic person ${index} did not translate`);
  return translated.value;
}

test('a duplicate in a later chunk joins its person, whether the chunk before it is committed or still being written', async () => {
  // Chunk 0: people 0..499. Chunk 1: people 500..949, then a second-source copy of each of people
  // 450..499 (the end of chunk 0: the records least likely to be committed when chunk 1 is read).
  // Chunk 2: copies of people 500..549 (chunk 1).
  const copiesOfChunk0 = Array.from({ length: 50 }, (_, k) => 450 + k);
  const copiesOfChunk1 = Array.from({ length: 50 }, (_, k) => 500 + k);
  const records = [
    ...Array.from({ length: BATCH_CHUNK + 450 }, (_, i) => record(i, 'epic')),
    ...copiesOfChunk0.map((i) => record(i, 'lab')),
    ...copiesOfChunk1.map((i) => record(i, 'lab')),
  ];
  const outcomes = await linkBatch(t.db, records, t.protection);
  const originals = outcomes.slice(0, BATCH_CHUNK + 450);
  assert.equal(new Set(originals.map((o) => o.goldenId)).size, originals.length, 'every person once: one golden record each');
  [...copiesOfChunk0, ...copiesOfChunk1].forEach((person, k) => {
    const copy = outcomes[BATCH_CHUNK + 450 + k]!;
    assert.equal(copy.decision, 'MATCH', `copy of person ${person}`);
    assert.equal(copy.goldenId, originals[person]!.goldenId, `copy of person ${person} joins them`);
  });
  const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_record');
  assert.equal(rows[0]!.n, records.length, 'every record stored once');
});
