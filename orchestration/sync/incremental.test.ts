// Incremental sync against a simulated EHR over real HTTP, on real storage: the initial load sets
// the watermark; a poll over unchanged data re-reads only the overlap window, and applying it
// changes nothing in the MPI; a patient added at the EHR is one inbox event, applied once, however
// often it is read again (overlap, a poll that died before its watermark moved, a restart); a
// patient made inactive leaves the MPI; one that cannot be translated is quarantined.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVendorProfile } from '../../platform/config.ts';
import type { FhirPatient } from '../../simulators/fhir-types.ts';
import { fhirSource, quarantineRows, type FhirSource } from '../../test/support/fhir-source.ts';
import { applyFhirMessage, type FhirApplyDeps } from '../ingest/apply-fhir.ts';
import { loadSource } from './initial-load.ts';
import { FHIR_SYNC_APPLICATION, syncConnection, type SyncSource } from './incremental.ts';
import { watermarks } from './state.ts';
import { applyDeps, drain as drainAll } from './test-helpers.ts';

const profile = loadVendorProfile('epic');
let s: FhirSource;
let sync: SyncSource;
let deps: FhirApplyDeps;
before(async () => {
  s = await fhirSource({ size: 60, shape: (d) => d });
  sync = { connection: s.config, client: s.client, protection: s.protection, clinicalTypes: [], overlapMs: 60_000 };
  deps = applyDeps(s);
  const report = await loadSource(s.db, { connection: s.config, client: s.client, profile, protection: s.protection });
  assert.equal(report.failed, undefined);
});
after(() => s?.close());

const drain = () => drainAll(deps);

const rows = async (sql: string, params: unknown[] = []) => (await s.db.query(sql, params)).rows;
const mpiState = async () => ({
  records: await rows('SELECT source_patient_id, golden_id, deleted_at, xmin::text FROM source_record ORDER BY 1'),
  events: await rows('SELECT count(*)::int AS n FROM link_event'),
});
const newest = (patients: readonly FhirPatient[]): number => Math.max(...patients.map((p) => Date.parse(p.meta.lastUpdated!)));

test('the initial load sets the Patient watermark to the newest lastUpdated it read', async () => {
  assert.deepEqual([...(await watermarks(s.db, s.config.id))], [['Patient', new Date(newest(s.data.patients))]]);
});

test('a poll over unchanged data reads the overlap window only, and applying it writes nothing to the MPI', async () => {
  const before = await mpiState();
  const mark = newest(s.data.patients);
  const inWindow = s.data.patients.filter((p) => Date.parse(p.meta.lastUpdated!) >= mark - 60_000).length;
  const first = await syncConnection(s.db, sync, { clinical: false });
  assert.deepEqual(first.types.Patient, {
    read: inWindow,
    accepted: inWindow,
    duplicates: 0,
    conflicts: 0,
    watermark: new Date(mark).toISOString(),
  });
  assert.deepEqual(await drain(), Array(inWindow).fill('linked'));
  assert.deepEqual(await mpiState(), before);
  const again = await syncConnection(s.db, sync, { clinical: false });
  assert.deepEqual(again.types.Patient, {
    read: inWindow,
    accepted: 0,
    duplicates: inWindow,
    conflicts: 0,
    watermark: new Date(mark).toISOString(),
  });
});

test('a patient added at the EHR is one event, linked once; re-reads after a lost poll or a restart are duplicates', async () => {
  const added = s.sim.newPatient({ family: 'Syncnew', given: 'Ida', birthDate: '1984-05-06' });
  const report = await syncConnection(s.db, sync, { clinical: false });
  assert.equal(report.types.Patient!.accepted, 1);
  assert.equal(report.types.Patient!.watermark, added.meta.lastUpdated);
  const key = await rows('SELECT channel, sending_application, sending_facility, control_id FROM inbox_message WHERE state = $1', [
    'pending',
  ]);
  assert.deepEqual(key, [
    { channel: s.config.id, sending_application: FHIR_SYNC_APPLICATION, sending_facility: 'Patient', control_id: `Patient/${added.id}/1` },
  ]);
  // A poll that died after committing its events but before moving its watermark: the next reads them again.
  await s.db.query("UPDATE sync_watermark SET watermark = watermark - interval '1 hour' WHERE connection_id = $1", [s.config.id]);
  const replayed = await syncConnection(s.db, sync, { clinical: false });
  assert.equal(replayed.types.Patient!.accepted, 0);
  assert.ok(replayed.types.Patient!.duplicates >= 1);
  assert.deepEqual(await drain(), ['linked']);
  const linked = await rows('SELECT golden_id FROM source_record WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NULL', [
    s.config.id,
    added.id,
  ]);
  assert.equal(linked.length, 1);
  const events = await rows('SELECT count(*)::int AS n FROM link_event WHERE source_patient_id = $1', [added.id]);
  // "Restart": a fresh poll from the stored watermark, nothing in memory.
  const restarted = await syncConnection(s.db, { ...sync }, { clinical: false });
  assert.equal(restarted.types.Patient!.accepted, 0);
  assert.deepEqual(await drain(), []);
  assert.deepEqual(await rows('SELECT count(*)::int AS n FROM link_event WHERE source_patient_id = $1', [added.id]), events);
});

test('a patient the EHR makes inactive leaves the MPI', async () => {
  const target = s.data.patients[3]!;
  s.sim.upsert({ ...target, active: false });
  await syncConnection(s.db, sync, { clinical: false });
  assert.deepEqual(await drain(), ['removed']);
  const gone = await rows('SELECT deleted_at IS NOT NULL AS gone FROM source_record WHERE source = $1 AND source_patient_id = $2', [
    s.config.id,
    target.id,
  ]);
  assert.deepEqual(gone, [{ gone: true }]);
});

test('an event that cannot be translated is quarantined with its reason; one for no connection is a permanent failure', async () => {
  const event = (channel: string, payload: unknown) => ({
    id: '1',
    key: { channel, sendingApplication: FHIR_SYNC_APPLICATION, sendingFacility: 'Patient', controlId: 'Patient//x' },
    payload: JSON.stringify(payload),
    patientKey: null,
    attempt: 1,
    receivedAt: new Date(),
  });
  const noId = { resourceType: 'Patient', meta: { lastUpdated: '2026-12-01T00:00:00Z' }, identifier: [], name: [{ family: 'Testcase' }] };
  assert.equal(await applyFhirMessage(deps, event(s.config.id, noId)), 'quarantined');
  const q = await quarantineRows(s.db, s.config.id);
  assert.deepEqual(
    q.map((r) => [r.resource_id, r.issues.map((i) => i.message)]),
    [['(no id)', ['missing id', 'no MRN in the system the vendor profile names']]],
  );
  await assert.rejects(applyFhirMessage(deps, event('nowhere', noId)), { name: 'PermanentFailure' });
  await assert.rejects(applyFhirMessage(deps, { ...event(s.config.id, noId), payload: '{' }), { name: 'PermanentFailure' });
});
