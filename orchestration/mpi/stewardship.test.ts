// Steward decisions on a real database: merge redirects, unmerge restoring the prior state (and
// records linked since), manual decisions surviving re-matching, review resolution, idempotency,
// a steward's manual field values, and a merge racing a link.
import type { ProductError } from '../../platform/errors.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSourceRecord } from './linking.ts';
import { linkBatch } from './batch-linking.ts';
import { goldenByIds, linkBySourceRecord, linkHistory, linksForGolden, reviewItemById, reviewQueuePage } from './store.ts';
import {
  linkRecord,
  markNotDuplicate,
  mergePatients,
  resolveReview,
  setPatientFields,
  unlinkRecord,
  unmergePatient,
  type StewardContext,
} from './stewardship.ts';
import { parseManualFields } from './manual-values.ts';
import { loadSurvivorshipConfig } from './survivorship.ts';
import { openMpiTestDb, person, type MpiTestDb } from './test-helpers.ts';
import { loadMatchingConfig } from './matching/index.ts';

let t: MpiTestDb;
before(async () => (t = await openMpiTestDb()));
after(() => t.close());

const audited: string[][] = [];
const auditedFields: string[][] = [];
const steward = (reason = 'chart review', actor = 'steward-7'): StewardContext => ({
  db: t.db,
  protection: t.protection,
  survivorship: loadSurvivorshipConfig(),
  who: { actor, reason, requestId: 'req-1' },
  audit: async (_tx, ids, fields) => {
    audited.push([...ids]);
    auditedFields.push([...fields]);
  },
});

let seq = 0;
/** A person unlike any other in the test (distinct names, birth date, SSN, address). */
function someone(source: string, id: string, n = ++seq, extra: Partial<Parameters<typeof person>[0]> = {}) {
  const families = [
    'Abernathy',
    'Blackwood',
    'Castellanos',
    'Delacroix',
    'Eriksdottir',
    'Fairweather',
    'Gallagher',
    'Hollingsworth',
    'Ivanova',
    'Jablonski',
    'Kowalczyk',
    'Lindqvist',
    'Montgomery',
    'Nakamura',
    'Oyelaran',
    'Pennington',
  ];
  const givens = [
    'Beatrix',
    'Cornelius',
    'Delphine',
    'Evander',
    'Florentina',
    'Gideon',
    'Henrietta',
    'Ignatius',
    'Josephine',
    'Leopold',
    'Marguerite',
    'Octavia',
    'Percival',
    'Rosalind',
    'Sebastian',
    'Theodora',
  ];
  return person({
    source,
    id,
    family: families[n % families.length]! + (n >= families.length ? String.fromCharCode(97 + (n % 26)) + 'son' : ''),
    given: [givens[(n * 7) % givens.length]!],
    birthDate: `19${String(40 + (n % 60)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 9}`,
    ssn: `5${String(10000000 + n * 7919).slice(0, 8)}`,
    line: `${n} Cedar Street`,
    postalCode: String(10000 + n * 37).slice(0, 5),
    phone: `217-555-${String(1000 + n).slice(-4)}`,
    ...extra,
  });
}

test('merge: every record moves, the merged id answers with the survivor and says so; repeating changes nothing', async () => {
  const a = await linkSourceRecord(t.db, someone('epic-main', 'M1'), t.protection);
  const b = await linkSourceRecord(t.db, someone('cerner-main', 'M2'), t.protection);
  assert.notEqual(a.goldenId, b.goldenId);
  const r = await mergePatients(steward('same person: confirmed by phone with registration'), a.goldenId, b.goldenId);
  assert.deepEqual(r, {
    survivorId: a.goldenId,
    mergedId: b.goldenId,
    movedRecords: 1,
    changed: true,
    reopenedReviews: [],
    reviewsKeptClosed: [],
  });
  const found = (await goldenByIds(t.db, [b.goldenId], t.protection)).get(b.goldenId);
  assert.equal(found?.id, a.goldenId);
  assert.equal(found?.redirectedFrom, b.goldenId);
  assert.deepEqual(
    (await linksForGolden(t.db, [a.goldenId])).get(a.goldenId)?.map((l) => `${l.source}:${l.state}:${l.origin}`),
    ['cerner-main:MATCH:MANUAL', 'epic-main:NO_MATCH:AUTO'],
  );
  const again = await mergePatients(steward(), a.goldenId, b.goldenId);
  assert.equal(again.changed, false);
  assert.deepEqual(audited.at(-1)?.sort(), [a.goldenId, b.goldenId].sort(), 'the repeat is audited too');
  await assert.rejects(mergePatients(steward(), a.goldenId, a.goldenId), (e: ProductError) => e.code === 'BAD_USER_INPUT');
  await assert.rejects(
    mergePatients(steward(), a.goldenId, '00000000-0000-4000-8000-000000000000'),
    (e: ProductError) => e.code === 'NOT_FOUND',
  );
  await assert.rejects(
    mergePatients(steward(' '), a.goldenId, b.goldenId),
    (e: ProductError) => e.code === 'BAD_USER_INPUT',
    'a reason is required',
  );
});

test('unmerge restores the state before the merge, including records linked since through a restored record', async () => {
  const p1 = someone('epic-main', 'N1');
  const q1 = someone('epic-main', 'N2');
  const a = await linkSourceRecord(t.db, p1, t.protection);
  const b = await linkSourceRecord(t.db, q1, t.protection);
  await mergePatients(steward('looked alike'), a.goldenId, b.goldenId);
  // After the merge, another EHR sends person q: it matches q's record, now inside a.
  const q2 = await linkSourceRecord(t.db, { ...q1, source: 'cerner-main', sourcePatientId: 'N2c' }, t.protection);
  assert.equal(q2.decision, 'MATCH');
  assert.equal(q2.goldenId, a.goldenId);
  const r = await unmergePatient(steward('different people: twins'), b.goldenId);
  assert.deepEqual(r, {
    survivorId: a.goldenId,
    mergedId: b.goldenId,
    movedRecords: 2,
    changed: true,
    reopenedReviews: [],
    reviewsKeptClosed: [],
  });
  assert.deepEqual(
    (await linksForGolden(t.db, [a.goldenId])).get(a.goldenId)?.map((l) => l.sourcePatientId),
    ['N1'],
  );
  assert.deepEqual(
    (await linksForGolden(t.db, [b.goldenId])).get(b.goldenId)?.map((l) => `${l.sourcePatientId}:${l.state}:${l.origin}`),
    ['N2c:MATCH:AUTO', 'N2:NO_MATCH:AUTO'],
    'links restored with their prior state',
  );
  assert.equal(
    (await goldenByIds(t.db, [b.goldenId], t.protection)).get(b.goldenId)?.redirectedFrom,
    undefined,
    'b answers as itself again',
  );
  assert.equal((await unmergePatient(steward(), b.goldenId)).changed, false, 'idempotent');
  assert.deepEqual(
    (await linkHistory(t.db, 'epic-main', 'N2')).map((e) => e.action),
    ['CREATED', 'MERGED', 'UNMERGED'],
  );
  // The two are kept apart: the same records arriving again do not re-merge them.
  const again = await linkSourceRecord(t.db, { ...q1, sourcePatientId: 'N2', lastUpdated: '2026-03-03T00:00:00Z' }, t.protection);
  assert.equal(again.goldenId, b.goldenId);
});

test('a manual link survives automatic re-matching of the record', async () => {
  const x = await linkSourceRecord(t.db, someone('epic-main', 'L1'), t.protection);
  const yRecord = someone('cerner-main', 'L2');
  const y = await linkSourceRecord(t.db, yRecord, t.protection);
  const linked = await linkRecord(
    steward('registration typo, verified with ID'),
    { source: 'cerner-main', sourcePatientId: 'L2' },
    x.goldenId,
  );
  assert.equal(linked.changed, true);
  assert.equal(linked.goldenId, x.goldenId);
  assert.equal(
    (await goldenByIds(t.db, [y.goldenId], t.protection)).get(y.goldenId)?.id,
    x.goldenId,
    'the emptied golden record redirects',
  );
  assert.equal((await linkRecord(steward(), { source: 'cerner-main', sourcePatientId: 'L2' }, x.goldenId)).changed, false, 'idempotent');
  // The source updates the record's demographics: automatic matching must not undo the steward.
  const updated = await linkSourceRecord(
    t.db,
    { ...yRecord, telecom: [{ system: 'phone', value: '312-555-0000', use: 'mobile' }], lastUpdated: '2026-05-05T00:00:00Z' },
    t.protection,
  );
  assert.equal(updated.goldenId, x.goldenId);
  const link = await linkBySourceRecord(t.db, 'cerner-main', 'L2');
  assert.equal(link?.origin, 'MANUAL');
  assert.equal(link?.state, 'MATCH');
  // unmerging the emptied record restores it
  const restored = await unmergePatient(steward('linked the wrong chart'), y.goldenId);
  assert.equal(restored.movedRecords, 1);
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'L2'))?.goldenId, y.goldenId);
});

test('unlink moves a record to a new golden record, and matching never puts it back', async () => {
  const rec = someone('epic-main', 'K1');
  const a = await linkSourceRecord(t.db, rec, t.protection);
  const dupRecord = { ...rec, source: 'cerner-main', sourcePatientId: 'K1c' };
  const b = await linkSourceRecord(t.db, dupRecord, t.protection);
  assert.equal(b.goldenId, a.goldenId);
  const u = await unlinkRecord(steward('shared SSN, different people'), { source: 'cerner-main', sourcePatientId: 'K1c' });
  assert.notEqual(u.goldenId, a.goldenId);
  assert.equal(u.state, 'NO_MATCH');
  assert.equal(u.origin, 'MANUAL');
  assert.equal((await unlinkRecord(steward(), { source: 'cerner-main', sourcePatientId: 'K1c' })).changed, false, 'idempotent');
  const updated = await linkSourceRecord(t.db, { ...dupRecord, lastUpdated: '2026-09-09T00:00:00Z', telecom: [] }, t.protection);
  assert.equal(updated.goldenId, u.goldenId, 'manual decision kept');
  // A third record just like both joins one of them, and the separated pair is not proposed again.
  const c = await linkSourceRecord(t.db, { ...rec, source: 'lab-1', sourcePatientId: 'K1l' }, t.protection);
  assert.equal(c.decision, 'MATCH');
  assert.ok([a.goldenId, u.goldenId].includes(c.goldenId));
  const queue = await reviewQueuePage(t.db, 100, undefined);
  assert.ok(!queue.items.some((i) => [i.goldenId, i.candidateId].sort().join() === [a.goldenId, u.goldenId].sort().join()));
  await assert.rejects(unlinkRecord(steward(), { source: 'nowhere', sourcePatientId: 'X' }), (e: ProductError) => e.code === 'NOT_FOUND');
});

test('review queue: MATCH links the parked record, NO_MATCH keeps them apart; repeats are idempotent, contradictions conflict', async () => {
  const matching = loadMatchingConfig();
  const wide = { ...matching, thresholds: { autoLink: 1.01, review: 0 } }; // everything with a candidate goes to review
  const base = someone('epic-main', 'R1');
  const a = await linkSourceRecord(t.db, base, t.protection, { matching: wide });
  const b = await linkSourceRecord(t.db, { ...base, source: 'cerner-main', sourcePatientId: 'R1c' }, t.protection, { matching: wide });
  assert.equal(b.decision, 'POSSIBLE_MATCH');
  const item = (await reviewQueuePage(t.db, 100, undefined)).items.find((i) => i.record?.sourcePatientId === 'R1c')!;
  assert.ok(item);
  const resolved = await resolveReview(steward('same person'), item.id, 'MATCH');
  assert.equal(resolved.item.status, 'RESOLVED');
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'R1c'))?.goldenId, a.goldenId);
  assert.equal((await resolveReview(steward(), item.id, 'MATCH')).changed, false);
  await assert.rejects(resolveReview(steward(), item.id, 'NO_MATCH'), (e: ProductError) => e.code === 'CONFLICT');

  const other = someone('epic-main', 'R2');
  const c = await linkSourceRecord(t.db, other, t.protection, { matching: wide });
  const d = await linkSourceRecord(t.db, { ...other, source: 'cerner-main', sourcePatientId: 'R2c' }, t.protection, { matching: wide });
  const item2 = (await reviewQueuePage(t.db, 100, undefined)).items.find((i) => i.record?.sourcePatientId === 'R2c')!;
  await resolveReview(steward('different people'), item2.id, 'NO_MATCH');
  assert.equal((await reviewItemById(t.db, item2.id))?.decision, 'NO_MATCH');
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'R2c'))?.state, 'NO_MATCH');
  assert.notEqual(d.goldenId, c.goldenId);
  // Never proposed again: the record updates, but the pair stays out of the queue.
  await linkSourceRecord(
    t.db,
    { ...other, source: 'cerner-main', sourcePatientId: 'R2c', lastUpdated: '2026-10-10T00:00:00Z' },
    t.protection,
    { matching: wide },
  );
  assert.equal((await reviewQueuePage(t.db, 100, undefined)).items.filter((i) => i.record?.sourcePatientId === 'R2c').length, 0);
  assert.equal((await markNotDuplicate(steward(), c.goldenId, d.goldenId)).changed, false, 'already apart');
});

/** Live records pointing at a golden record that is no longer active: a merge racing a link must leave none. */
const recordsInMergedGoldens = async (): Promise<number> =>
  (
    await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM source_record s JOIN golden_patient g ON g.id = s.golden_id WHERE g.status <> 'ACTIVE' AND s.deleted_at IS NULL",
    )
  ).rows[0]!.n;

const fields = (input: Parameters<typeof parseManualFields>[0]) => parseManualFields(input);
const golden = async (id: string) => (await goldenByIds(t.db, [id], t.protection)).get(id)!;
const provenanceOf = async (id: string, field: string) => (await golden(id)).provenance.find((p) => p.field === field);

test("a steward's manual value wins over survivorship, survives new and updated records, and clearing it hands the field back", async () => {
  const record = someone('epic-main', 'V1');
  const a = await linkSourceRecord(t.db, record, t.protection);
  const r = await setPatientFields(
    steward('birth date verified against passport'),
    a.goldenId,
    fields({ birthDate: '1961-02-03', gender: 'female' }),
  );
  assert.deepEqual(r, { goldenId: a.goldenId, changedFields: ['birthDate', 'gender'], changed: true });
  assert.deepEqual(auditedFields.at(-1), ['Patient.birthDate', 'Patient.gender'], 'the audit names the fields written');
  assert.equal((await golden(a.goldenId)).birthDate, '1961-02-03');
  const prov = await provenanceOf(a.goldenId, 'birthDate');
  assert.equal(prov?.rule, 'MANUAL');
  assert.equal(prov?.actor, 'steward-7');
  assert.ok(prov?.at, 'when it was set');

  // The source sends an update, and a second EHR's record of the same person joins: the manual value stays.
  await linkSourceRecord(t.db, { ...record, birthDate: '1961-02-04', lastUpdated: '2026-08-08T00:00:00Z' }, t.protection);
  const second = await linkSourceRecord(t.db, { ...record, source: 'cerner-main', sourcePatientId: 'V1c' }, t.protection);
  assert.equal(second.goldenId, a.goldenId);
  assert.equal((await golden(a.goldenId)).birthDate, '1961-02-03');
  assert.equal((await golden(a.goldenId)).gender, 'female');

  // Repeating is a no-op; a different value is a change.
  assert.deepEqual(await setPatientFields(steward(), a.goldenId, fields({ birthDate: '1961-02-03' })), {
    goldenId: a.goldenId,
    changedFields: [],
    changed: false,
  });
  assert.deepEqual(auditedFields.at(-1), [], 'a repeat is audited, writing no field');
  assert.equal((await setPatientFields(steward('second document'), a.goldenId, fields({ birthDate: '1961-02-05' }))).changed, true);

  // Clearing hands the field back to survivorship (the sources' value).
  const cleared = await setPatientFields(steward('passport was misread'), a.goldenId, fields({ clear: ['birthDate', 'name'] }));
  assert.deepEqual(cleared.changedFields, ['birthDate'], 'clearing a field without a manual value changes nothing');
  assert.notEqual((await provenanceOf(a.goldenId, 'birthDate'))?.rule, 'MANUAL');
  assert.match((await golden(a.goldenId)).birthDate ?? '', /^1961-02-0[34]$/);
  const { rows } = await t.db.query<{ field: string; action: string; actor: string; reason: string }>(
    'SELECT field, action, actor, reason FROM manual_value_event WHERE golden_id = $1 ORDER BY seq',
    [a.goldenId],
  );
  assert.deepEqual(
    rows.map((e) => `${e.field}:${e.action}`),
    ['birthDate:SET', 'gender:SET', 'birthDate:SET', 'birthDate:CLEARED'],
    'every change is in the history, with its reason',
  );
  assert.equal(rows.at(-1)?.reason, 'passport was misread');

  await assert.rejects(
    setPatientFields(steward(), '00000000-0000-4000-8000-000000000000', fields({ gender: 'male' })),
    (e: ProductError) => e.code === 'NOT_FOUND',
  );
});

test("a merge carries the merged patient's manual values to the survivor where it has none; unmerge takes them back", async () => {
  const a = await linkSourceRecord(t.db, someone('epic-main', 'W1'), t.protection);
  const b = await linkSourceRecord(t.db, someone('cerner-main', 'W2'), t.protection);
  await setPatientFields(
    steward('kept her maiden name', 'steward-1'),
    a.goldenId,
    fields({ name: { family: 'Survivorsdottir', given: ['Ada'] } }),
  );
  await setPatientFields(
    steward('verified', 'steward-2'),
    b.goldenId,
    fields({ name: { family: 'Mergedsen', given: ['Ada'] }, birthDate: '1950-05-05' }),
  );
  await mergePatients(steward('same person'), a.goldenId, b.goldenId);
  const merged = await golden(a.goldenId);
  assert.equal(merged.name?.family, 'Survivorsdottir', "the survivor's own manual value wins");
  assert.equal(merged.birthDate, '1950-05-05', "the merged patient's correction is not lost");
  assert.equal((await provenanceOf(a.goldenId, 'birthDate'))?.actor, 'steward-2', 'still credited to who set it');

  await unmergePatient(steward('different people'), b.goldenId);
  assert.notEqual((await golden(a.goldenId)).birthDate, '1950-05-05', 'the carried value went back');
  assert.equal((await golden(a.goldenId)).name?.family, 'Survivorsdottir');
  const restored = await golden(b.goldenId);
  assert.equal(restored.birthDate, '1950-05-05');
  assert.equal(restored.name?.family, 'Mergedsen', 'the restored patient has its own values again');

  // A carried value a steward changed after the merge stays with the survivor on unmerge.
  await mergePatients(steward('same person after all'), a.goldenId, b.goldenId);
  await setPatientFields(steward('checked again'), a.goldenId, fields({ birthDate: '1950-05-06' }));
  await unmergePatient(steward('no, twins'), b.goldenId);
  assert.equal((await golden(a.goldenId)).birthDate, '1950-05-06');
  assert.equal((await golden(b.goldenId)).birthDate, '1950-05-05');
});

test('a merge racing a link on the same records ends consistent', async () => {
  for (let round = 0; round < 5; round++) {
    const p = someone('epic-main', `X${round}`);
    const q = someone('epic-main', `Y${round}`);
    const a = await linkSourceRecord(t.db, p, t.protection);
    const b = await linkSourceRecord(t.db, q, t.protection);
    const [merge, link] = await Promise.allSettled([
      mergePatients(steward('duplicate'), a.goldenId, b.goldenId),
      linkSourceRecord(t.db, { ...q, source: 'cerner-main', sourcePatientId: `Y${round}c` }, t.protection),
    ]);
    assert.equal(merge.status, 'fulfilled', String((merge as PromiseRejectedResult).reason));
    assert.equal(link.status, 'fulfilled', String((link as PromiseRejectedResult).reason));
    // Every live record points at an active golden record; both of q's records are with p's.
    const stranded = await recordsInMergedGoldens();
    assert.equal(stranded, 0, 'no record left behind in a merged golden record');
    assert.equal((await linkBySourceRecord(t.db, 'cerner-main', `Y${round}c`))?.goldenId, a.goldenId);
  }
});

test('a merge racing a batch link on the same records ends consistent', async () => {
  for (let round = 0; round < 5; round++) {
    const p = someone('epic-main', `BX${round}`);
    const q = someone('epic-main', `BY${round}`);
    const a = await linkSourceRecord(t.db, p, t.protection);
    const b = await linkSourceRecord(t.db, q, t.protection);
    // The batch reads q's record in b's golden record without a lock; the merge may move it to a's before the batch writes.
    const [merge, batch] = await Promise.allSettled([
      mergePatients(steward('duplicate'), a.goldenId, b.goldenId),
      linkBatch(t.db, [someone('lab', `BZ${round}`), { ...q, source: 'cerner-main', sourcePatientId: `BY${round}c` }], t.protection),
    ]);
    assert.equal(merge.status, 'fulfilled', String((merge as PromiseRejectedResult).reason));
    assert.equal(batch.status, 'fulfilled', String((batch as PromiseRejectedResult).reason));
    const stranded = await recordsInMergedGoldens();
    assert.equal(stranded, 0, 'no record linked into a merged golden record');
    assert.equal((await linkBySourceRecord(t.db, 'cerner-main', `BY${round}c`))?.goldenId, a.goldenId);
  }
});

test('a batch chunk whose golden record is merged between its read and its write links again, into the survivor', async (ctx) => {
  if (t.db.kind !== 'postgres')
    return ctx.skip('needs two connections: PostgreSQL (DATABASE_URL); the embedded database runs one transaction at a time');
  const p = someone('epic-main', 'RX');
  const q = someone('epic-main', 'RY');
  const a = await linkSourceRecord(t.db, p, t.protection);
  const b = await linkSourceRecord(t.db, q, t.protection);
  let batch: Promise<unknown> | undefined;
  // A merge of b into a, committed while the batch waits for b's row after deciding to join b.
  await t.db.transaction(async (merge) => {
    await merge.query('SELECT 1 FROM golden_patient WHERE id = $1 FOR UPDATE', [b.goldenId]);
    batch = linkBatch(t.db, [{ ...q, source: 'cerner-main', sourcePatientId: 'RYc' }], t.protection);
    batch.catch(() => undefined);
    for (let waited = 0; ; waited += 20) {
      // Asked outside the merge's transaction: a transaction sees one snapshot of pg_stat_activity.
      const { rows } = await t.db.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%golden_patient%FOR UPDATE%'",
      );
      if (rows.length > 0) break;
      assert.ok(waited < 10_000, 'the batch never waited for the golden record');
      await new Promise((r) => setTimeout(r, 20));
    }
    await merge.query("UPDATE golden_patient SET status = 'MERGED', merged_into = $2 WHERE id = $1", [b.goldenId, a.goldenId]);
    await merge.query('UPDATE source_record SET golden_id = $2 WHERE golden_id = $1', [b.goldenId, a.goldenId]);
  });
  await batch;
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'RYc'))?.goldenId, a.goldenId, 'joined the survivor, not the merged record');
});

// ---- the review queue across merge and unmerge ----

/** Everything with a candidate goes to review (stands in for an ambiguous pair). */
const wide = () => ({ ...loadMatchingConfig(), thresholds: { autoLink: 1.01, review: 0 } });
const openFor = async (recordId: string) =>
  (await reviewQueuePage(t.db, 100, undefined)).items.filter((i) => i.record?.sourcePatientId === recordId);

test('unmerge reopens the review item its merge closed, and the steward sees it again in the queue', async () => {
  const cRecord = someone('epic-main', 'Q1');
  const c = await linkSourceRecord(t.db, cRecord, t.protection);
  // A: the same person from another EHR, parked beside C for a steward.
  const a = await linkSourceRecord(t.db, { ...cRecord, source: 'cerner-main', sourcePatientId: 'Q1c' }, t.protection, { matching: wide() });
  assert.equal(a.decision, 'POSSIBLE_MATCH');
  const b = await linkSourceRecord(t.db, someone('lab', 'Q2'), t.protection);
  const [item] = await openFor('Q1c');
  assert.ok(item);
  assert.deepEqual([item.goldenId, item.candidateId], [a.goldenId, c.goldenId]);

  const merge = await mergePatients(steward('duplicate registration'), b.goldenId, a.goldenId);
  assert.deepEqual(await openFor('Q1c'), [], 'the merge closed it');
  const closed = await reviewItemById(t.db, item.id);
  assert.equal(closed?.status, 'OBSOLETE');
  assert.equal(closed?.reason, 'duplicate registration', "closed with the merge's reason");
  assert.deepEqual(merge.reopenedReviews, []);
  assert.ok(audited.at(-1)?.includes(c.goldenId), "the merge's audit names the patient whose review it closed");

  const undo = await unmergePatient(steward('not the same person'), a.goldenId);
  const [again] = await openFor('Q1c');
  assert.ok(again, 'open again');
  assert.notEqual(again.id, item.id, 'a new item ...');
  assert.equal(again.reopens, item.id, '... that names the one it reopens');
  assert.deepEqual(
    [again.kind, again.goldenId, again.candidateId, again.score, again.evidence, again.matchReason, again.thresholds],
    [item.kind, item.goldenId, item.candidateId, item.score, item.evidence, item.matchReason, item.thresholds],
    'the same pair, score, evidence and reason',
  );
  assert.deepEqual(
    undo.reopenedReviews.map((r) => r.id),
    [again.id],
  );
  assert.deepEqual(undo.reviewsKeptClosed, []);
  assert.ok(audited.at(-1)?.includes(c.goldenId), "the unmerge's audit names the patient whose review it reopened");
  assert.equal((await reviewItemById(t.db, item.id))?.status, 'OBSOLETE', 'the closed item keeps its history');
  const { rows } = await t.db.query<{ review_outcome: unknown }>('SELECT review_outcome FROM merge_event WHERE merged_id = $1', [
    a.goldenId,
  ]);
  assert.deepEqual(rows[0]?.review_outcome, [{ item: item.id, reopenedAs: again.id }], 'the unmerge records what it reopened');

  // The closed item points to the reopened one; repeating the unmerge reopens nothing more.
  await assert.rejects(
    resolveReview(steward(), item.id, 'MATCH'),
    (e: ProductError) => e.code === 'CONFLICT' && e.message.includes(again.id),
  );
  assert.equal((await unmergePatient(steward(), a.goldenId)).changed, false);
  assert.equal((await openFor('Q1c')).length, 1);
  // The reopened item is worked like any other.
  await resolveReview(steward('same person after all'), again.id, 'MATCH');
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'Q1c'))?.goldenId, c.goldenId);
});

/** C, and A: the same person from another EHR parked beside C (one open item); B: someone else. */
async function parkedBesideC(tag: string) {
  const cRecord = someone('epic-main', `${tag}1`);
  const c = await linkSourceRecord(t.db, cRecord, t.protection);
  const parked = { source: 'cerner-main', sourcePatientId: `${tag}1c` };
  const a = await linkSourceRecord(t.db, { ...cRecord, ...parked }, t.protection, { matching: wide() });
  const b = await linkSourceRecord(t.db, someone('lab', `${tag}2`), t.protection);
  const [item] = await openFor(parked.sourcePatientId);
  assert.equal(item?.candidateId, c.goldenId);
  return { a: a.goldenId, b: b.goldenId, c: c.goldenId, parked, item: item! };
}

test('items the merge closed that no longer apply stay closed after the unmerge, each with its reason', async () => {
  // The parked record was linked to C by a steward while A was merged.
  const moved = await parkedBesideC('SA');
  await mergePatients(steward('duplicate'), moved.b, moved.a);
  await linkRecord(steward('same person as C'), moved.parked, moved.c);
  // C was merged into another patient while A was merged.
  const gone = await parkedBesideC('SB');
  await mergePatients(steward('duplicate'), gone.b, gone.a);
  const e = await linkSourceRecord(t.db, someone('lab', 'SB9'), t.protection);
  await mergePatients(steward('duplicate'), e.goldenId, gone.c);
  // A steward kept the survivor (holding A's records) apart from C while A was merged.
  const apart = await parkedBesideC('SC');
  await mergePatients(steward('duplicate'), apart.b, apart.a);
  await markNotDuplicate(steward('different people'), apart.b, apart.c);

  for (const [s, code] of [
    [moved, 'RECORD_MOVED'],
    [gone, 'PATIENT_MERGED'],
    [apart, 'KEPT_APART'],
  ] as const) {
    const undo = await unmergePatient(steward('merged by mistake'), s.a);
    assert.deepEqual(undo.reopenedReviews, [], code);
    assert.deepEqual(undo.reviewsKeptClosed, [{ id: s.item.id, code }]);
    assert.deepEqual(await openFor(s.parked.sourcePatientId), [], code);
    assert.equal((await reviewItemById(t.db, s.item.id))?.status, 'OBSOLETE');
    const { rows } = await t.db.query<{ review_outcome: unknown }>('SELECT review_outcome FROM merge_event WHERE merged_id = $1', [s.a]);
    assert.deepEqual(rows[0]?.review_outcome, [{ item: s.item.id, keptClosed: code }], 'the unmerge records why it stays closed');
  }
});

test('a record moved by hand out of a golden record it was alone in: undoing the move reopens its other reviews', async () => {
  // A's record is parked beside C; a steward links it to B instead (A is left empty: recorded as a merge).
  const s = await parkedBesideC('SD');
  await linkRecord(steward('registration error: this is B'), s.parked, s.b);
  assert.equal((await reviewItemById(t.db, s.item.id))?.status, 'OBSOLETE');
  const undo = await unmergePatient(steward('linked the wrong chart'), s.a);
  assert.equal(undo.movedRecords, 1);
  const [again] = await openFor(s.parked.sourcePatientId);
  assert.equal(again?.reopens, s.item.id);
  assert.deepEqual([again?.goldenId, again?.candidateId], [s.a, s.c]);
  const link = await linkBySourceRecord(t.db, s.parked.source, s.parked.sourcePatientId);
  assert.deepEqual(
    [link?.state, link?.origin, link?.matchReason, link?.score],
    ['POSSIBLE_MATCH', 'AUTO', 'BELOW_AUTO_LINK', s.item.score],
    'the link as it was',
  );
});

// ---- why: the reason of every link, history entry and review item ----

/** Two records that share only an SSN and a birth date: the SSN alone would decide (SSN_ONLY). */
const ssnOnly = (source: string, id: string, family: string, n: number) =>
  person({
    source,
    id,
    family,
    given: [],
    birthDate: `1931-0${1 + (n % 9)}-2${n % 9}`,
    gender: null,
    ssn: `61${String(1000000 + n * 7717).slice(0, 7)}`,
  });

test('a review item held by a guard says why, with the evidence and the thresholds in force; links and history keep it', async () => {
  const matching = loadMatchingConfig();
  const first = await linkSourceRecord(t.db, ssnOnly('epic-main', 'Z1', 'Quennell', 1), t.protection);
  const second = await linkSourceRecord(t.db, ssnOnly('cerner-main', 'Z1c', 'Marchetti', 1), t.protection);
  assert.equal(second.decision, 'POSSIBLE_MATCH');
  const [item] = await openFor('Z1c');
  assert.ok(item);
  assert.equal(item.matchReason, 'SSN_ONLY');
  assert.ok(item.score >= matching.thresholds.autoLink, `held at ${item.score} although above auto-link`);
  assert.deepEqual(item.thresholds, matching.thresholds);
  assert.deepEqual(
    item.evidence.filter((e) => e.field === 'ssn' || e.field === 'family').map((e) => `${e.field}:${e.level}:${Math.sign(e.weight)}`),
    ['family:different:-1', 'ssn:exact:1'],
  );
  assert.equal((await linkBySourceRecord(t.db, 'epic-main', 'Z1'))?.matchReason, 'NO_CANDIDATE');
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'Z1c'))?.matchReason, 'SSN_ONLY');

  // The steward decides: the link and its history say so; an update that keeps the link repeats its reason.
  await resolveReview(steward('same person: matching insurance card'), item.id, 'MATCH');
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'Z1c'))?.matchReason, 'STEWARD_LINKED');
  await linkSourceRecord(
    t.db,
    {
      ...ssnOnly('cerner-main', 'Z1c', 'Marchetti', 1),
      lastUpdated: '2026-07-07T00:00:00Z',
      telecom: [{ system: 'phone', value: '217-555-0177', use: 'home' }],
    },
    t.protection,
  );
  assert.deepEqual(
    (await linkHistory(t.db, 'cerner-main', 'Z1c')).map((e) => `${e.action}:${e.matchReason}`),
    ['CREATED:SSN_ONLY', 'LINKED:STEWARD_LINKED', 'UPDATED:STEWARD_LINKED'],
  );
  assert.equal(first.goldenId, (await linkBySourceRecord(t.db, 'cerner-main', 'Z1c'))?.goldenId);
});

test('steward operations write their own reason; an unmerge gives the records back their reasons from before the merge', async () => {
  const x = someone('epic-main', 'ZM1');
  const a = await linkSourceRecord(t.db, x, t.protection);
  const a2 = await linkSourceRecord(t.db, { ...x, source: 'cerner-main', sourcePatientId: 'ZM1c' }, t.protection);
  assert.equal(a2.goldenId, a.goldenId);
  const b = await linkSourceRecord(t.db, someone('lab', 'ZM2'), t.protection);
  const reasons = async (id: string) => (await linksForGolden(t.db, [id])).get(id)?.map((l) => `${l.sourcePatientId}:${l.matchReason}`);
  // The first record had no candidate, or none close enough (other tests' people share blocks).
  const before = await reasons(a.goldenId);
  assert.match(before!.join(), /^ZM1c:ABOVE_AUTO_LINK,ZM1:(NO_CANDIDATE|BELOW_REVIEW)$/);
  await mergePatients(steward('duplicate'), b.goldenId, a.goldenId);
  assert.deepEqual((await reasons(b.goldenId))?.slice(0, 2), ['ZM1c:STEWARD_MERGED', 'ZM1:STEWARD_MERGED']);
  await unmergePatient(steward('different people'), a.goldenId);
  assert.deepEqual(await reasons(a.goldenId), before, 'as before the merge');
  assert.deepEqual(
    (await linkHistory(t.db, 'cerner-main', 'ZM1c')).map((e) => `${e.action}:${e.matchReason}`),
    ['CREATED:ABOVE_AUTO_LINK', 'MERGED:STEWARD_MERGED', 'UNMERGED:ABOVE_AUTO_LINK'],
  );
  await unlinkRecord(steward('different person'), { source: 'cerner-main', sourcePatientId: 'ZM1c' });
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'ZM1c'))?.matchReason, 'STEWARD_UNLINKED');

  // A parked record the steward separates from its candidate.
  const p = someone('epic-main', 'ZM3');
  const pa = await linkSourceRecord(t.db, p, t.protection);
  const pb = await linkSourceRecord(t.db, { ...p, source: 'cerner-main', sourcePatientId: 'ZM3c' }, t.protection, { matching: wide() });
  await markNotDuplicate(steward('twins'), pa.goldenId, pb.goldenId);
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'ZM3c'))?.matchReason, 'STEWARD_NOT_DUPLICATE');

  // Links and history written before reasons were recorded read UNKNOWN.
  await t.db.query("UPDATE source_record SET match_reason = NULL WHERE source_patient_id = 'ZM3c'");
  await t.db.query("UPDATE link_event SET match_reason = NULL WHERE source_patient_id = 'ZM3c'");
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'ZM3c'))?.matchReason, 'UNKNOWN');
  assert.ok((await linkHistory(t.db, 'cerner-main', 'ZM3c')).every((e) => e.matchReason === 'UNKNOWN'));
});

test('batch linking stores the same reasons as online linking: links, history and review items', async () => {
  const z = someone('lab', 'ZB2');
  const outcomes = await linkBatch(
    t.db,
    [
      ssnOnly('epic-main', 'ZB1', 'Okonjo', 2),
      ssnOnly('cerner-main', 'ZB1c', 'Lindgren', 2),
      z,
      { ...z, source: 'epic-main', sourcePatientId: 'ZB2e' },
    ],
    t.protection,
  );
  assert.deepEqual(
    outcomes.map((o) => o.decision),
    ['NO_MATCH', 'POSSIBLE_MATCH', 'NO_MATCH', 'MATCH'],
  );
  assert.equal((await linkBySourceRecord(t.db, 'epic-main', 'ZB2e'))?.matchReason, 'ABOVE_AUTO_LINK');
  const [item] = await openFor('ZB1c');
  assert.equal(item?.matchReason, 'SSN_ONLY');
  assert.deepEqual(item?.thresholds, loadMatchingConfig().thresholds);
  assert.equal((await linkBySourceRecord(t.db, 'cerner-main', 'ZB1c'))?.matchReason, 'SSN_ONLY');
  assert.equal((await linkBySourceRecord(t.db, 'epic-main', 'ZB1'))?.matchReason, 'NO_CANDIDATE');
  assert.deepEqual(
    (await linkHistory(t.db, 'cerner-main', 'ZB1c')).map((e) => `${e.action}:${e.matchReason}`),
    ['CREATED:SSN_ONLY'],
  );
});
