// A steward finds a patient by the first letters of the family name (the console's patient search):
// case aside, narrowed by given name and birth date, merged-away records left out, and what the
// steward types is a prefix, never a LIKE pattern (`%` and `_` match themselves only).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { goldenIdsByName } from './store.ts';
import { openMpiTestDb, type MpiTestDb } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => (t = await openMpiTestDb()));
after(() => t.close());

const ids: Record<string, string> = {};
async function golden(key: string, family: string, given: string[], birthDate: string, status = 'ACTIVE'): Promise<void> {
  ids[key] = randomUUID();
  await t.db.query(`INSERT INTO golden_patient (id, name, birth_date, status) VALUES ($1, $2::jsonb, $3, $4)`, [
    ids[key],
    JSON.stringify({ family, given }),
    birthDate,
    status,
  ]);
}

test('prefix of the family name, case aside, narrowed by given name and birth date', async () => {
  await golden('a', 'Vandermolen', ['Perpetua', 'Anne'], '1966-06-16');
  await golden('b', 'vanderMOLEN', ['Casimir'], '1971-01-02');
  await golden('c', 'Vance', ['Perpetua'], '1966-06-16');
  await golden('merged', 'Vandermolen', ['Perpetua'], '1966-06-16', 'MERGED');
  await golden('pct', 'Va%l_x', ['Odo'], '1950-05-05');
  const find = async (q: Parameters<typeof goldenIdsByName>[1], limit = 50) =>
    (await goldenIdsByName(t.db, q, limit)).map((id) => Object.keys(ids).find((k) => ids[k] === id));
  assert.deepEqual(new Set(await find({ family: 'vandermo' })), new Set(['a', 'b']), 'case aside; a merged record is not found');
  assert.deepEqual(await find({ family: 'Van', given: 'ann' }), ['a'], 'any given name (the second one too)');
  assert.deepEqual(await find({ family: 'Van', birthDate: '1966-06-16' }).then((r) => r.sort()), ['a', 'c']);
  assert.deepEqual(await find({ family: 'Va%' }), ['pct'], '% is a character, not a wildcard');
  assert.deepEqual(await find({ family: 'Va_' }), [], '_ is a character, not a wildcard');
  assert.deepEqual(await find({ family: 'Vandermolen', given: '%' }), [], 'a wildcard given name matches nothing');
  assert.equal((await find({ family: 'Va' }, 2)).length, 2, 'at most the limit');
});
