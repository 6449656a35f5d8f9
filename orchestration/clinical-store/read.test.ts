// The merged view against a real database: one list across a golden patient's source records,
// the same fact from two sources once with both provenances, keyset pages, one statement a page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestResources } from './ingest.ts';
import { isMergedCursor, mergedItems, mergedItemsFor, type MergedItem } from './read.ts';
import {
  CERNER,
  context,
  counting,
  EPIC,
  EPIC_GLUCOSE,
  golden,
  observation,
  openClinicalTestDb,
  type ClinicalTestDb,
} from './test-helpers.ts';

let t: ClinicalTestDb;
let patient: string;
before(async () => {
  t = await openClinicalTestDb();
  patient = await golden(t.db, [
    [EPIC, 'pe1'],
    [CERNER, 'pc1'],
  ]);
  await golden(t.db, [[EPIC, 'other']]);
  // Epic: a local code, a number as a string, a local time. Cerner: LOINC, a number, UTC. The same fact.
  await ingestResources(
    t.db,
    [
      observation({ id: 'e1', patient: 'pe1', coding: EPIC_GLUCOSE, value: '100', at: '2026-11-30T08:00:00' }),
      observation({ id: 'e2', patient: 'pe1', value: 120, at: '2026-10-01T12:00:00Z' }),
      observation({ id: 'e3', patient: 'other', value: 100, at: '2026-11-30T14:00:00Z' }),
      {
        resourceType: 'Condition',
        id: 'e4',
        subject: { reference: 'Patient/pe1' },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
      },
    ],
    context(EPIC),
    t.protection,
  );
  await ingestResources(
    t.db,
    [
      observation({ id: 'c1', patient: 'pc1', value: 100, at: '2026-11-30T14:00:00Z' }),
      observation({ id: 'c2', patient: 'pc1', value: 101, at: '2026-11-30T14:00:00Z' }),
    ],
    context(CERNER),
    t.protection,
  );
});
after(async () => t.close());

const sources = (i: MergedItem): string[] => i.provenance.map((p) => `${p.source}/${p.resourceId}`);

test('the same fact from two sources is one item with both provenances; other facts and other patients apart', async () => {
  const page = await mergedItems(t.db, { goldenId: patient, types: ['Observation'], first: 50 });
  assert.deepEqual(page.items.map(sources).sort(), [['cerner-b/c1', 'epic-a/e1'], ['cerner-b/c2'], ['epic-a/e2']]);
  const merged = page.items.find((i) => i.provenance.length === 2)!;
  assert.deepEqual(sources(merged), ['cerner-b/c1', 'epic-a/e1']);
  assert.deepEqual(merged.value, { value: 100, unit: 'mg/dL', originalValue: '100', originalUnit: 'mg/dL' });
  assert.equal(merged.effective?.instant, '2026-11-30T14:00:00.000Z');
  assert.equal(page.items.length, 3, 'e1+c1 merged, c2 (another value), e2 (another time); not e3 (another patient)');
  assert.equal(page.hasNextPage, false);
  // Newest first.
  assert.deepEqual(sources(page.items.at(-1)!), ['epic-a/e2']);
});

test('keyset pages return every item once', async () => {
  const seen: string[] = [];
  let after: string | undefined;
  for (let n = 0; n < 5; n++) {
    const page = await mergedItems(t.db, { goldenId: patient, types: ['Observation'], first: 1, ...(after ? { after } : {}) });
    seen.push(...page.items.map((i) => i.factKey));
    if (!page.hasNextPage) break;
    after = page.endCursor!;
  }
  assert.equal(seen.length, 3);
  assert.equal(new Set(seen).size, 3);
});

test('filters: type, any coding (the vendor code too), time window', async () => {
  const conditions = await mergedItems(t.db, { goldenId: patient, types: ['Condition'], first: 10 });
  assert.deepEqual(conditions.items.map(sources), [['epic-a/e4']]);
  const byLoinc = await mergedItems(t.db, { goldenId: patient, types: ['Observation'], code: 'http://loinc.org|2339-0', first: 10 });
  assert.equal(byLoinc.items.length, 3);
  // A vendor code filters before facts are merged: only the items that carry it.
  const byLocal = await mergedItems(t.db, {
    goldenId: patient,
    types: ['Observation'],
    code: `${EPIC_GLUCOSE.system}|${EPIC_GLUCOSE.code}`,
    first: 10,
  });
  assert.deepEqual(byLocal.items.map(sources), [['epic-a/e1']]);
  const october = await mergedItems(t.db, {
    goldenId: patient,
    types: ['Observation'],
    from: '2026-10-01T00:00:00Z',
    to: '2026-11-01T00:00:00Z',
    first: 10,
  });
  assert.deepEqual(october.items.map(sources), [['epic-a/e2']]);
});

test('one statement per page whatever the number of source records', async () => {
  const many = await golden(
    t.db,
    Array.from({ length: 8 }, (_, i) => [i % 2 ? EPIC : CERNER, `m${i}`] as const),
  );
  await ingestResources(
    t.db,
    Array.from({ length: 4 }, (_, i) => observation({ id: `m-e${i}`, patient: `m${2 * i + 1}`, value: 90 + i })),
    context(EPIC),
    t.protection,
  );
  for (const goldenId of [patient, many]) {
    const counted = counting(t.db);
    const page = await mergedItems(counted, { goldenId, types: ['Observation'], first: 2 });
    assert.ok(page.items.length > 0);
    assert.equal(counted.count, 1);
  }
});

test('many patients: one statement, a page each, the same as one patient at a time; unknown ids get an empty page', async () => {
  const second = await golden(t.db, [[CERNER, 'pc2']]);
  await ingestResources(t.db, [observation({ id: 'c9', patient: 'pc2', value: 5.5, unit: 'mmol/L' })], context(CERNER), t.protection);
  const nobody = '00000000-0000-4000-8000-000000000000';
  const counted = counting(t.db);
  const pages = await mergedItemsFor(counted, [patient, second.toUpperCase(), nobody], { types: ['Observation'], first: 2 });
  assert.equal(counted.count, 1);
  assert.deepEqual([...pages.keys()].sort(), [patient, second, nobody].sort());
  const alone = await mergedItems(t.db, { goldenId: patient, types: ['Observation'], first: 2 });
  assert.deepEqual(pages.get(patient), alone);
  assert.equal(alone.hasNextPage, true);
  assert.deepEqual(pages.get(second)!.items.map(sources), [['cerner-b/c9']]);
  // Glucose in mmol/L is stored in the preferred mg/dL, the original kept beside it.
  const v = pages.get(second)!.items[0]!.value!;
  assert.equal(v.unit, 'mg/dL');
  assert.ok(Math.abs(v.value! - 99.1) < 0.2, String(v.value));
  assert.deepEqual([v.originalValue, v.originalUnit], ['5.5', 'mmol/L']);
  assert.deepEqual(pages.get(nobody), { items: [], endCursor: null, hasNextPage: false });
});

test('cursors: each item carries one; anything else is refused before SQL', async () => {
  const page = await mergedItems(t.db, { goldenId: patient, types: ['Observation'], first: 2 });
  assert.equal(page.endCursor, page.items.at(-1)!.cursor);
  assert.ok(isMergedCursor(page.endCursor!));
  const forged = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  for (const bad of ['x', forged(['2026-01-01', 'ab']), forged(["1' OR 1=1", 'ab']), forged(['-infinity', 'ZZ']), forged([1, 2])])
    assert.equal(isMergedCursor(bad), false, bad);
  await assert.rejects(mergedItems(t.db, { goldenId: patient, types: ['Observation'], first: 2, after: 'x' }));
});

test('an item its source later marks entered-in-error leaves the view; its other source keeps the fact', async () => {
  const withdrawn = await golden(t.db, [
    [EPIC, 'w1'],
    [CERNER, 'w2'],
  ]);
  const fact = { patient: 'w1', value: 140, at: '2026-11-29T10:00:00Z' };
  await ingestResources(t.db, [observation({ id: 'w-e', ...fact, versionId: '1' })], context(EPIC), t.protection);
  await ingestResources(t.db, [observation({ id: 'w-c', ...fact, patient: 'w2' })], context(CERNER), t.protection);
  const both = await mergedItems(t.db, { goldenId: withdrawn, types: ['Observation'], first: 10 });
  assert.deepEqual(both.items.map(sources), [['cerner-b/w-c', 'epic-a/w-e']]);

  const retracted = observation({ id: 'w-e', ...fact, versionId: '2', extra: { status: 'entered-in-error' } });
  const report = await ingestResources(t.db, [retracted], context(EPIC, '2026-12-02T10:00:00Z'), t.protection);
  assert.equal(report.updated, 1);
  const after = await mergedItems(t.db, { goldenId: withdrawn, types: ['Observation'], first: 10 });
  assert.deepEqual(after.items.map(sources), [['cerner-b/w-c']], 'Epic withdrew its copy; Cerner still states the fact');
  const kept = await t.db.query<{ entered_in_error: boolean }>(
    `SELECT entered_in_error FROM clinical_item WHERE source = $1 AND resource_id = 'w-e'`,
    [EPIC],
  );
  assert.deepEqual(
    kept.rows.map((r) => r.entered_in_error),
    [true],
    'stored, for lineage and impact',
  );
});

test('a fact is shown as the source that stated it without a unit conversion', async () => {
  const both = await golden(t.db, [
    [CERNER, 'u2'],
    [EPIC, 'u1'],
  ]);
  const at = '2026-11-28T10:00:00Z';
  await ingestResources(t.db, [observation({ id: 'u-c', patient: 'u2', value: 4.22, unit: 'mmol/L', at })], context(CERNER), t.protection);
  await ingestResources(t.db, [observation({ id: 'u-e', patient: 'u1', value: 76, unit: 'mg/dL', at })], context(EPIC), t.protection);
  const page = await mergedItems(t.db, { goldenId: both, types: ['Observation'], first: 10 });
  assert.deepEqual(page.items.map(sources), [['cerner-b/u-c', 'epic-a/u-e']], 'one fact, provenance by source id');
  assert.deepEqual(page.items[0]!.value, { value: 76, unit: 'mg/dL', originalValue: '76', originalUnit: 'mg/dL' });
});
