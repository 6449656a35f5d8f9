// The sync scheduler driven by hand (autoStart: false) against a simulated EHR over real HTTP: the
// EHR's version is recorded and a change is a warning; a poll's success and failure are recorded in
// connection_health; a poll with the clinical types turns an Observation added at the EHR into one
// event, stored with the inbox message as its lineage; reconciliation runs when its interval has passed
// since the last pass any process completed.
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../simulators/fhir-types.ts';
import { fhirSource, type FhirSource } from '../../test/support/fhir-source.ts';
import { checkServer, startFhirSync, type FhirSync } from './scheduler.ts';
import { connectionHealth, recordHealth } from './state.ts';
import { applyDeps, drain } from './test-helpers.ts';
import { loadSource } from './initial-load.ts';
import { loadVendorProfile } from '../../platform/config.ts';
import { connectionIngest } from '../clinical-store/connection-ingest.ts';

let s: FhirSource;
let sync: FhirSync;
before(async () => {
  s = await fhirSource({ size: 30, shape: (d) => d });
  // With the clinical types: their watermarks are set, so a poll reads only what changed since.
  const profile = loadVendorProfile('epic');
  const ingest = connectionIngest(s.config, profile);
  await loadSource(s.db, { connection: s.config, client: s.client, profile, protection: s.protection, ingest });
  sync = startFhirSync({ db: s.db, protection: s.protection, sources: [{ connection: s.config, client: s.client }], autoStart: false });
});
after(async () => {
  await sync?.stop();
  await s?.close();
});

const health = async () => (await connectionHealth(s.db, [s.config.id])).get(s.config.id)!;

/** The warnings logged while `fn` runs, by event. */
async function warnings(fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const spy = mock.method(process.stderr, 'write', (chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  try {
    await fn();
  } finally {
    spy.mock.restore();
  }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'warn');
}

test("the EHR's FHIR version and software are recorded; a change is a warning naming both", async () => {
  assert.deepEqual(await warnings(() => checkServer(s.db, { connection: s.config, client: s.client })), []);
  const first = await health();
  assert.deepEqual([first.fhirVersion, first.softwareName, first.softwareVersion], ['4.0.1', 'Epic', 'May 2025 (simulated)']);
  s.sim.setSoftwareVersion('Nov 2026 (simulated)');
  const logged = await warnings(() => checkServer(s.db, { connection: s.config, client: s.client }));
  assert.deepEqual(
    logged.map((l) => [l.event, l.was, l.now]),
    [['ehr_version_changed', 'FHIR 4.0.1, Epic May 2025 (simulated)', 'FHIR 4.0.1, Epic Nov 2026 (simulated)']],
  );
  assert.equal((await health()).softwareVersion, 'Nov 2026 (simulated)');
});

test('a failed poll records its error code; a good one its time; an unknown connection is refused', async () => {
  await assert.rejects(sync.runNow('nowhere'), /no FHIR connection nowhere/);
  s.sim.setFault({ status: 503 });
  try {
    await assert.rejects(sync.runNow(s.config.id));
  } finally {
    s.sim.setFault(null);
  }
  assert.equal((await health()).lastErrorCode, 'HTTP_ERROR 503');
  const [report] = await sync.runNow(s.config.id);
  assert.equal(report!.source, s.config.id);
  const h = await health();
  assert.ok(h.lastSuccessAt && h.lastSyncAt && h.lastSuccessAt >= h.lastErrorAt!);
});

test('a poll with the clinical types turns an Observation added at the EHR into one event, stored with its lineage', async () => {
  const deps = applyDeps(s);
  await sync.runNow(s.config.id, { clinical: true });
  await drain(deps);
  const template = s.data.resources.Observation[0]!;
  const added = s.sim.upsert({ ...template, id: 'obs-sync-new' } as FhirResource);
  const [report] = await sync.runNow(s.config.id, { clinical: true });
  assert.deepEqual(
    { accepted: report!.types.Observation!.accepted, watermark: report!.types.Observation!.watermark },
    { accepted: 1, watermark: added.meta.lastUpdated },
  );
  assert.deepEqual(await drain(deps), ['stored']);
  const item = await s.db.query<{ message_id: string | null }>(
    `SELECT message_id FROM clinical_item WHERE source = $1 AND resource_type = 'Observation' AND resource_id = $2`,
    [s.config.id, 'obs-sync-new'],
  );
  const event = await s.db.query<{ id: string }>('SELECT id::text FROM inbox_message WHERE control_id = $1', [
    'Observation/obs-sync-new/' + added.meta.versionId,
  ]);
  assert.deepEqual(item.rows, [{ message_id: event.rows[0]!.id }]);
});

test('on its schedule, a reconciliation runs when the last pass any process completed is an interval old, not before', async () => {
  await assert.rejects(sync.reconcileNow('nowhere'), /no FHIR connection nowhere/);
  const until = async (what: () => Promise<boolean>, ms = 15_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error('not within the time given');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const connection = { ...s.config, syncIntervalSeconds: 1, reconcileEverySeconds: 3600 };
  const scheduled = () => startFhirSync({ db: s.db, protection: s.protection, sources: [{ connection, client: s.client }] });
  // Recent (another process, or the last run before a restart): two polls, no pass.
  const recent = new Date(Date.now() - 60_000);
  await recordHealth(s.db, s.config.id, { reconciledAt: recent });
  const started = Date.now();
  let running = scheduled();
  try {
    // The second poll (a second after the first): the first one's due check is behind it.
    await until(async () => (await health()).lastSyncAt!.getTime() > started + 1000);
    assert.equal((await health()).reconciledAt!.getTime(), recent.getTime());
  } finally {
    await running.stop();
  }
  // Two hours old: due at the first poll.
  await recordHealth(s.db, s.config.id, { reconciledAt: new Date(Date.now() - 7_200_000) });
  running = scheduled();
  try {
    await until(async () => (await health()).reconciledAt!.getTime() > Date.now() - 60_000);
    assert.equal((await health()).reconcileWarning, null);
  } finally {
    await running.stop();
  }
});
