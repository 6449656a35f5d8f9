// Translate-and-store against a real database: refused resources are quarantined with their
// reasons and nothing of them is stored; stored items carry their lineage.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../../platform/db.ts';
import type { Lineage } from '../../translation/lineage.ts';
import { ingestResources } from './ingest.ts';
import { context, EPIC, EPIC_GLUCOSE, observation, openClinicalTestDb, type ClinicalTestDb } from './test-helpers.ts';

let t: ClinicalTestDb;
before(async () => {
  t = await openClinicalTestDb();
});
after(async () => t.close());

test('an invalid resource is quarantined with its reason, the valid ones of its batch are stored', async () => {
  const bad = observation({ id: 'bad-1', patient: 'p1', extra: { status: 'not-a-status' } });
  const noSubject = { ...observation({ id: 'bad-2', patient: 'p1' }), subject: undefined };
  const report = await ingestResources(t.db, [observation({ id: 'ok-1', patient: 'p1' }), bad, noSubject], context(EPIC), t.protection);
  assert.equal(report.inserted, 1);
  assert.deepEqual(
    report.quarantined.map((q) => q.resourceId),
    ['bad-1', 'bad-2'],
  );
  assert.ok(
    report.quarantined[0]!.outcome.issue.some((i) => i.severity === 'error' && /status/.test(i.expression?.join() ?? i.diagnostics)),
  );
  const rows = await t.db.query<{ resource_id: string; issues: { severity: string; path: string; message: string }[] }>(
    'SELECT resource_id, issues FROM quarantine WHERE source = $1 ORDER BY resource_id',
    [EPIC],
  );
  assert.deepEqual(
    rows.rows.map((r) => r.resource_id),
    ['bad-1', 'bad-2'],
  );
  assert.ok(rows.rows[1]!.issues.some((i) => i.severity === 'error' && i.path === 'Observation.subject'));
  const stored = await t.db.query<{ resource_id: string }>('SELECT resource_id FROM clinical_item ORDER BY 1');
  assert.deepEqual(
    stored.rows.map((r) => r.resource_id),
    ['ok-1'],
  );
});

test('a resource that loads after being quarantined leaves quarantine', async () => {
  await ingestResources(t.db, [observation({ id: 'fix-1', patient: 'p1', extra: { status: 'wrong' } })], context(EPIC), t.protection);
  const inQuarantine = async () => (await t.db.query("SELECT 1 FROM quarantine WHERE resource_id = 'fix-1'")).rows.length;
  assert.equal(await inQuarantine(), 1);
  const r = await ingestResources(t.db, [observation({ id: 'fix-1', patient: 'p1' })], context(EPIC), t.protection);
  assert.equal(r.inserted, 1);
  assert.equal(await inQuarantine(), 0);
});

test('a failure to store leaves nothing of the batch: not the items, not the quarantine rows', async () => {
  // The database fails at commit time, after both the quarantine and the items were written.
  const failing: Database = {
    ...t.db,
    transaction: (fn) =>
      t.db.transaction(async (tx) => {
        await fn(tx);
        throw new Error('commit failed');
      }),
  };
  await assert.rejects(
    ingestResources(
      failing,
      [observation({ id: 'tx-1', patient: 'p1' }), observation({ id: 'tx-bad', patient: 'p1', extra: { status: 'x' } })],
      context(EPIC),
      t.protection,
    ),
  );
  assert.equal((await t.db.query("SELECT 1 FROM clinical_item WHERE resource_id LIKE 'tx-%'")).rows.length, 0);
  assert.equal((await t.db.query("SELECT 1 FROM quarantine WHERE resource_id LIKE 'tx-%'")).rows.length, 0);
});

test('lineage is stored: concept map id and version, unit conversion, time zone, message and software version', async () => {
  const mmol = observation({ id: 'lin-1', patient: 'p1', coding: EPIC_GLUCOSE, value: '5.5', unit: 'mmol/L', at: '2026-11-30T08:00:00' });
  await ingestResources(t.db, [mmol], { ...context(EPIC), messageId: 'MSG-0001' }, t.protection);
  const row = (
    await t.db.query<{
      lineage: Lineage;
      code: string;
      value_num: string;
      value_unit: string;
      original_value: string;
      original_unit: string;
      map_ids: string[];
      message_id: string;
      effective_at: Date;
    }>(
      "SELECT lineage, code, value_num::text, value_unit, original_value, original_unit, map_ids, message_id, effective_at FROM clinical_item WHERE resource_id = 'lin-1'",
    )
  ).rows[0]!;
  assert.equal(row.code, '2339-0');
  assert.equal(row.value_unit, 'mg/dL');
  assert.ok(Math.abs(Number(row.value_num) - 99.0858) < 0.001, row.value_num);
  assert.deepEqual([row.original_value, row.original_unit], ['5.5', 'mmol/L']);
  assert.equal(new Date(row.effective_at).toISOString(), '2026-11-30T14:00:00.000Z');
  assert.equal(row.message_id, 'MSG-0001');
  const kinds = row.lineage.transformations.map((x) => [x.kind, x.mapId, x.from, x.to]);
  assert.deepEqual(
    kinds.find((k) => k[0] === 'concept-map'),
    [
      'concept-map',
      'urn:patient-gateway:ConceptMap:epic-observations|1.0.0',
      `${EPIC_GLUCOSE.system}|${EPIC_GLUCOSE.code}`,
      'http://loinc.org|2339-0',
    ],
  );
  assert.deepEqual(kinds.find((k) => k[0] === 'unit-conversion')?.slice(2), ['mmol/L (molecular weight 180.156 g/mol)', 'mg/dL']);
  assert.deepEqual(
    kinds.find((k) => k[0] === 'time-zone'),
    ['time-zone', 'America/Chicago', '2026-11-30T08:00:00', '2026-11-30T14:00:00.000Z'],
  );
  assert.ok(kinds.some((k) => k[0] === 'number-from-string'));
  assert.equal(row.lineage.softwareVersion, 'test-1');
  assert.ok(row.map_ids.includes('urn:patient-gateway:ConceptMap:epic-observations|1.0.0'));
  // The impact query's index: everything a concept-map version produced.
  const derived = await t.db.query(
    "SELECT resource_id FROM clinical_item WHERE map_ids @> ARRAY['urn:patient-gateway:ConceptMap:epic-observations|1.0.0']",
  );
  assert.deepEqual(derived.rows, [{ resource_id: 'lin-1' }]);
});
