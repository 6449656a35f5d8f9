// Impact queries against a real database: what a message, a resource or a concept-map version produced, and whose.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { conceptMapLineageId, derivedFrom, goldenPatientsTouched } from './impact.ts';
import { ingestResources } from './ingest.ts';
import { CERNER, context, EPIC, EPIC_GLUCOSE, golden, observation, openClinicalTestDb, type ClinicalTestDb } from './test-helpers.ts';

let t: ClinicalTestDb;
let patient: string;
const EPIC_MAP = 'urn:patient-gateway:ConceptMap:epic-observations|1.0.0';
before(async () => {
  t = await openClinicalTestDb();
  patient = await golden(t.db, [[EPIC, 'pe1']]);
  await ingestResources(
    t.db,
    [observation({ id: 'i1', patient: 'pe1', coding: EPIC_GLUCOSE }), observation({ id: 'i2', patient: 'unlinked', coding: EPIC_GLUCOSE })],
    { ...context(EPIC), messageId: 'M-1' },
    t.protection,
  );
  await ingestResources(t.db, [observation({ id: 'i3', patient: 'x' })], { ...context(CERNER), messageId: 'M-2' }, t.protection);
});
after(async () => t.close());

const ids = (p: { items: readonly { resourceId: string }[] }) => p.items.map((i) => i.resourceId);

test('by concept-map version, by message, by resource; with the golden patient each item touched', async () => {
  const byMap = await derivedFrom(t.db, { mapId: EPIC_MAP });
  assert.deepEqual(byMap.items.map((i) => [i.resourceId, i.goldenId]).sort(), [
    ['i1', patient],
    ['i2', null],
  ]);
  assert.deepEqual(ids(await derivedFrom(t.db, { messageId: 'M-2' })), ['i3']);
  assert.deepEqual(ids(await derivedFrom(t.db, { source: EPIC, resourceType: 'Observation', resourceId: 'i2' })), ['i2']);
  assert.deepEqual(ids(await derivedFrom(t.db, { mapId: `${EPIC_MAP.split('|')[0]}|0.9.0` })), []);
});

test('keyset pages', async () => {
  const p1 = await derivedFrom(t.db, { mapId: EPIC_MAP }, 1);
  const p2 = await derivedFrom(t.db, { mapId: EPIC_MAP }, 1, p1.endCursor!);
  assert.deepEqual([...ids(p1), ...ids(p2)].sort(), ['i1', 'i2']);
  assert.equal(ids(p1).length, 1);
  assert.deepEqual([p1.hasNextPage, p2.hasNextPage], [true, false]);
});

test('the golden patients touched, distinct; a source Patient touches its own; a concept map named by id or url', async () => {
  assert.deepEqual(await goldenPatientsTouched(t.db, { mapId: EPIC_MAP }), { ids: [patient], complete: true });
  assert.deepEqual(await goldenPatientsTouched(t.db, { messageId: 'M-2' }), { ids: [], complete: true });
  assert.deepEqual(await goldenPatientsTouched(t.db, { source: EPIC, resourceType: 'Patient', resourceId: 'pe1' }), {
    ids: [patient],
    complete: true,
  });
  const other = await golden(t.db, [[CERNER, 'x']]);
  assert.deepEqual(await goldenPatientsTouched(t.db, { messageId: 'M-2' }, 0), { ids: [], complete: false });
  assert.deepEqual((await goldenPatientsTouched(t.db, { messageId: 'M-2' })).ids, [other]);
  const maps = [{ file: 'f', canonical: `${EPIC_MAP}`, map: { id: 'epic-observations', url: EPIC_MAP.split('|')[0]! } }] as never;
  assert.equal(conceptMapLineageId({ id: 'epic-observations', version: '1.0.0' }, maps), EPIC_MAP);
  assert.equal(conceptMapLineageId({ id: 'urn:removed:map', version: '2' }, maps), 'urn:removed:map|2');
  assert.equal(conceptMapLineageId({ id: 'no-such-map', version: '1' }, maps), null);
});
