// Writes against a real database (PostgreSQL when DATABASE_URL is set, else PGlite): idempotent,
// history on update, late versions ignored, concurrent writers, protected identifiers sealed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { toCanonicalItem, type CanonicalItem } from '../../translation/fhir-r4/clinical-item.ts';
import { retireAbsent, storeItems } from './write.ts';
import { context, counting, EPIC, observation, openClinicalTestDb, type ClinicalTestDb } from './test-helpers.ts';

let t: ClinicalTestDb;
before(async () => {
  t = await openClinicalTestDb();
});
after(async () => t.close());

const item = (resource: Record<string, unknown>, retrievedAt?: string): CanonicalItem => {
  const r = toCanonicalItem(resource, { ...context(EPIC, retrievedAt), softwareVersion: 'test-1' });
  assert.ok(r.ok, JSON.stringify(r.issues));
  return r.value;
};

const snapshot = async (id: string) =>
  (
    await t.db.query<{ xmin: string; xmax: string; version: string; value_num: string }>(
      'SELECT xmin::text AS xmin, xmax::text AS xmax, version, value_num::text FROM clinical_item WHERE resource_id = $1',
      [id],
    )
  ).rows;
const history = async (id: string) =>
  (
    await t.db.query<{ version: string }>('SELECT version FROM clinical_item_history WHERE resource_id = $1 ORDER BY version', [id])
  ).rows.map((r) => r.version);
const sequence = async () => (await t.db.query<{ v: string }>('SELECT last_value::text AS v FROM clinical_item_id_seq')).rows[0]!.v;

test('the same version twice is one item: the second write inserts, updates, locks and draws nothing', async () => {
  const a = item(observation({ id: 'w1', patient: 'p1', versionId: '1' }));
  assert.deepEqual(await storeItems(t.db, [a], t.protection), { inserted: 1, updated: 0, unchanged: 0 });
  const before = await snapshot('w1');
  const seq = await sequence();
  const counted = counting(t.db);
  // Retrieved again later: still the same version.
  const again = item(observation({ id: 'w1', patient: 'p1', versionId: '1' }), '2026-12-02T10:00:00Z');
  assert.deepEqual(await storeItems(counted, [again, again], t.protection), { inserted: 0, updated: 0, unchanged: 2 });
  assert.equal(counted.count, 3, 'three statements per batch');
  assert.deepEqual(await snapshot('w1'), before, 'same row, same xmin, not locked (xmax)');
  assert.deepEqual(await history('w1'), []);
  assert.equal(await sequence(), seq, 'no id drawn for an item already stored');
});

const tokens = async () =>
  (await t.db.query<{ token: string; xmin: string }>('SELECT token, xmin::text AS xmin FROM clinical_code_token ORDER BY token')).rows;

test('the writer keeps the stored code tokens current: new ones added once, known ones not written again', async () => {
  const code = (c: string) => ({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: c });
  const condition = (id: string, codes: { system: string; code: string }[]) =>
    item({ resourceType: 'Condition', id, subject: { reference: 'Patient/p9' }, code: { coding: codes } });
  await storeItems(t.db, [condition('tk1', [code('E11.9'), { system: 'http://snomed.info/sct', code: '44054006' }])], t.protection);
  const first = await tokens();
  for (const token of ['http://hl7.org/fhir/sid/icd-10-cm|E11.9', 'http://snomed.info/sct|44054006'])
    assert.ok(
      first.some((r) => r.token === token),
      `${token} is stored: ${JSON.stringify(first)}`,
    );
  // Another item with a known token, another with a new one.
  await storeItems(t.db, [condition('tk2', [code('E11.9')]), condition('tk3', [code('E11.65')])], t.protection);
  const second = await tokens();
  assert.deepEqual(
    second.filter((r) => first.some((f) => f.token === r.token)),
    first,
    'known tokens untouched (same xmin)',
  );
  assert.ok(second.some((r) => r.token === 'http://hl7.org/fhir/sid/icd-10-cm|E11.65'));
  assert.equal(second.length, new Set(second.map((r) => r.token)).size, 'each token once');
});

test('a newer version replaces the item and keeps the old one in history; an older one arriving late is ignored', async () => {
  await storeItems(t.db, [item(observation({ id: 'w2', patient: 'p1', versionId: '1', value: 90 }))], t.protection);
  const r = await storeItems(t.db, [item(observation({ id: 'w2', patient: 'p1', versionId: '2', value: 95 }))], t.protection);
  assert.deepEqual(r, { inserted: 0, updated: 1, unchanged: 0 });
  assert.deepEqual(
    (await snapshot('w2')).map((s) => [s.version, Number(s.value_num)]),
    [['2', 95]],
  );
  assert.deepEqual(await history('w2'), ['1']);
  // Version 1 again, retrieved later (a replayed message): not newer than version 2.
  const late = await storeItems(
    t.db,
    [item(observation({ id: 'w2', patient: 'p1', versionId: '1', value: 90 }), '2026-12-03T00:00:00Z')],
    t.protection,
  );
  assert.deepEqual(late, { inserted: 0, updated: 0, unchanged: 1 });
  assert.equal((await snapshot('w2'))[0]!.version, '2');
  assert.deepEqual(await history('w2'), ['1']);
});

test('in one batch, the newest version of a resource wins', async () => {
  const r = await storeItems(
    t.db,
    [item(observation({ id: 'w3', patient: 'p1', versionId: '3' })), item(observation({ id: 'w3', patient: 'p1', versionId: '2' }))],
    t.protection,
  );
  assert.equal(r.inserted, 1);
  assert.equal((await snapshot('w3'))[0]!.version, '3');
});

test('without versionId, changed content is a new version (ordered by retrieval); the same content is not', async () => {
  await storeItems(t.db, [item(observation({ id: 'w4', patient: 'p1', value: 80 }), '2026-12-01T00:00:00Z')], t.protection);
  assert.equal(
    (await storeItems(t.db, [item(observation({ id: 'w4', patient: 'p1', value: 80 }), '2026-12-02T00:00:00Z')], t.protection)).unchanged,
    1,
  );
  assert.equal(
    (await storeItems(t.db, [item(observation({ id: 'w4', patient: 'p1', value: 81 }), '2026-12-03T00:00:00Z')], t.protection)).updated,
    1,
  );
  assert.equal((await history('w4')).length, 1);
});

test('concurrent writers of the same items: the newest version is stored and every superseded one is in history', async () => {
  for (let round = 0; round < 10; round++) {
    const id = `c${round}`;
    const versions = ['1', '2', '3', '4'].map((v) => item(observation({ id, patient: 'p2', versionId: v, value: Number(v) })));
    const reports = await Promise.all(versions.map((v) => storeItems(t.db, [v], t.protection)));
    const [current] = await snapshot(id);
    assert.equal(current!.version, '4');
    // A version that arrived after a newer one was ignored; each one replaced is in history, none lost.
    assert.equal(
      reports.reduce((n, r) => n + r.inserted, 0),
      1,
    );
    assert.equal(
      (await history(id)).length,
      reports.reduce((n, r) => n + r.updated, 0),
    );
    for (const v of await history(id)) assert.ok(Number(v) < 4);
    const total = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clinical_item WHERE resource_id = $1', [id]);
    assert.equal(total.rows[0]!.n, 1);
  }
});

test('protected identifiers inside a resource are stored sealed', async () => {
  const ssn = { system: 'http://hl7.org/fhir/sid/us-ssn', value: '999-00-1234' };
  await storeItems(
    t.db,
    [
      item(
        observation({ id: 'w5', patient: 'p1', extra: { identifier: [ssn, { system: 'urn:x', value: 'lab-1' }, { system: ssn.system }] } }),
      ),
    ],
    t.protection,
  );
  const stored = (
    await t.db.query<{ resource: { identifier: { system: string; value: string }[] } }>(
      "SELECT resource FROM clinical_item WHERE resource_id = 'w5'",
    )
  ).rows[0]!;
  assert.notEqual(stored.resource.identifier[0]!.value, ssn.value);
  assert.equal(t.protection.reveal([stored.resource.identifier[0]!])[0]!.value, ssn.value);
  assert.equal(stored.resource.identifier[1]!.value, 'lab-1');
});

test('a resource its source no longer returns is marked deleted; returned again, it is back', async () => {
  const kept = item(observation({ id: 'r-kept', patient: 'r1', versionId: '1' }));
  const gone = item(observation({ id: 'r-gone', patient: 'r1', versionId: '1' }));
  const neighbour = item(observation({ id: 'r-other', patient: 'r2', versionId: '1' }));
  await storeItems(t.db, [kept, gone, neighbour], t.protection);
  const deleted = async () =>
    (
      await t.db.query<{ resource_id: string }>(
        "SELECT resource_id FROM clinical_item WHERE resource_id LIKE 'r-%' AND deleted_at IS NOT NULL ORDER BY 1",
      )
    ).rows.map((r) => r.resource_id);
  const read = { source: EPIC, resourceType: 'Observation', subjectIds: ['r1'], present: ['r-kept'] };
  assert.equal(await retireAbsent(t.db, read), 1);
  assert.deepEqual(await deleted(), ['r-gone'], "only the patient read, only what it did not return (r2's item untouched)");
  assert.equal(await retireAbsent(t.db, read), 0, 'idempotent: nothing written the second time');
  assert.equal(await retireAbsent(t.db, { ...read, resourceType: 'Condition', present: [] }), 0, 'another type is another read');
  // The source returns it again (restored there): the same version brings it back.
  assert.deepEqual(await storeItems(t.db, [gone], t.protection), { inserted: 0, updated: 0, unchanged: 1 });
  assert.deepEqual(await deleted(), []);
});
