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

test('a batch sent again unchanged writes nothing: no link event, no review item, no golden record rewritten', async () => {
  const records = Array.from({ length: 120 }, (_, i) => record(2000 + (i % 100), i < 100 ? 'epic' : 'lab'));
  const first = await linkBatch(t.db, records, t.protection);
  const state = async () => ({
    records: (await t.db.query('SELECT source, source_patient_id, golden_id, xmin::text FROM source_record ORDER BY 1, 2')).rows,
    goldens: (await t.db.query('SELECT id, xmin::text FROM golden_patient ORDER BY id')).rows,
    events: (await t.db.query('SELECT count(*)::int AS n FROM link_event')).rows[0],
    reviews: (await t.db.query('SELECT count(*)::int AS n FROM review_item')).rows[0],
  });
  const before = await state();
  const again = await linkBatch(
    t.db,
    records.map((r) => structuredClone(r)),
    t.protection,
  );
  assert.deepEqual(
    again,
    first.map((o) => ({ ...o, created: false })),
  );
  assert.deepEqual(await state(), before);
});

test('records the store knows are read once: changed ones take the online path, unchanged ones nothing', async () => {
  const records = Array.from({ length: 30 }, (_, i) => record(3000 + i, 'epic'));
  const first = await linkBatch(t.db, records, t.protection);
  const reads: string[] = [];
  const counted = new Proxy(t.db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'query')
        return (text: string, ...rest: unknown[]) => {
          if (/FROM source_record\s+WHERE \(source, source_patient_id\) IN/.test(text)) reads.push(text);
          return (value as (...a: unknown[]) => unknown).call(target, text, ...rest);
        };
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  // Two records changed (a new phone), the rest sent again as stored.
  const changed = records.map((r, i) => (i < 2 ? { ...r, telecom: [{ system: 'phone', value: `217-555-01${10 + i}`, use: 'home' }] } : r));
  const again = await linkBatch(counted, changed as SourceDemographics[], t.protection);
  assert.equal(reads.length, 1, 'one read of the stored records');
  assert.deepEqual(
    again.slice(2),
    first.slice(2).map((o) => ({ ...o, created: false })),
  );
  again.slice(0, 2).forEach((o, i) => assert.equal(o.goldenId, first[i]!.goldenId, 'a changed record keeps its golden record'));
  const { rows } = await t.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM link_event WHERE source = 'epic' AND source_patient_id = ANY($1::text[]) AND action <> 'CREATED'",
    [changed.slice(0, 2).map((r) => r.sourcePatientId)],
  );
  assert.equal(rows[0]!.n, 2, 'the changed records were updated through the online path');
});
