// Reconciliation against a simulated EHR over real HTTP, on real storage: a pass over unchanged
// data sends nothing; a patient and an observation deleted at the EHR become one delete event each,
// which retire the source record (link event DELETED) and hide the item (kept, with why); a second
// pass (a restart) sends nothing new; a listing truncated or empty, or an EHR that fails, deletes
// nothing and warns; a listing that misses a few records the EHR still has deletes none of them.
// A condition the EHR marks entered-in-error (the other kind of withdrawal) leaves the views too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVendorProfile } from '../../platform/config.ts';
import { SourceError } from '../../protocol/errors.ts';
import { fhirSource, type FhirSource } from '../../test/support/fhir-source.ts';
import { connectionIngest } from '../clinical-store/connection-ingest.ts';
import { sourceItems } from '../clinical-store/retrieval.ts';
import type { FhirApplyDeps } from '../ingest/apply-fhir.ts';
import { linkHistory } from '../mpi/store.ts';
import { syncConnection } from './incremental.ts';
import { loadSource } from './initial-load.ts';
import { reconcileConnection, refusal, type ReconcileSource } from './reconcile.ts';
import { connectionHealth } from './state.ts';
import { applyDeps, drain } from './test-helpers.ts';

const profile = loadVendorProfile('epic');
let s: FhirSource;
let source: ReconcileSource;
let deps: FhirApplyDeps;
before(async () => {
  s = await fhirSource({ size: 60, shape: (d) => d });
  source = { connection: s.config, client: s.client, protection: s.protection, clinicalTypes: ['Observation', 'Condition'] };
  deps = applyDeps(s);
  const report = await loadSource(s.db, {
    connection: s.config,
    client: s.client,
    profile,
    protection: s.protection,
    ingest: connectionIngest(s.config, profile),
  });
  assert.equal(report.failed, undefined);
});
after(() => s?.close());

const inboxCount = async (): Promise<number> =>
  (await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox_message')).rows[0]!.n;
const liveRecords = async (): Promise<number> =>
  (await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_record WHERE deleted_at IS NULL')).rows[0]!.n;
const warning = async (): Promise<string | null> => (await connectionHealth(s.db, [s.config.id])).get(s.config.id)!.reconcileWarning;

test('refusal: an empty listing, or more absent than the share (at least one) or the configured maximum', () => {
  assert.match(refusal('Patient', { held: 10, listed: 0, missing: 10 })!, /listed none of the 10/);
  assert.equal(refusal('Patient', { held: 0, listed: 0, missing: 0 }), null);
  assert.equal(refusal('Patient', { held: 10, listed: 9, missing: 1 }), null, 'one is always allowed');
  assert.match(refusal('Patient', { held: 10, listed: 8, missing: 2 })!, /2 of 10 held are absent at the EHR \(limit 1\)/);
  assert.equal(refusal('Patient', { held: 1000, listed: 950, missing: 50 }), null);
  assert.ok(refusal('Patient', { held: 1000, listed: 949, missing: 51 }));
  assert.equal(refusal('Patient', { held: 1000, listed: 900, missing: 100 }, { maxMissing: 100 }), null);
  assert.ok(refusal('Patient', { held: 1000, listed: 990, missing: 10 }, { maxMissing: 5 }));
  assert.ok(refusal('Patient', { held: 1000, listed: 999, missing: 1 }, { maxMissingShare: 0, maxMissing: 0 }));
});

test('a pass over unchanged data sends nothing and records when it ran', async () => {
  const before = await inboxCount();
  const r = await reconcileConnection(s.db, source);
  assert.equal(r.warning, null);
  assert.equal(r.accepted, 0);
  assert.equal(r.types.Patient!.held, 60);
  assert.equal(r.types.Patient!.listed, 60);
  assert.ok(r.types.Observation!.held > 0);
  assert.equal(r.types.Observation!.missing, 0);
  assert.equal(await inboxCount(), before);
  assert.ok((await connectionHealth(s.db, [s.config.id])).get(s.config.id)!.reconciledAt);
});

test('a patient and an observation deleted at the EHR: one event each, applied once; a second pass sends nothing', async () => {
  const patient = s.data.patients[7]!;
  const obs = s.data.resources.Observation.find((o) => o.subject.reference !== `Patient/${patient.id}`)!;
  assert.equal(s.sim.remove('Patient', patient.id), true);
  assert.equal(s.sim.remove('Observation', obs.id), true);
  const r = await reconcileConnection(s.db, source);
  assert.equal(r.warning, null);
  assert.equal(r.accepted, 2);
  assert.equal(r.types.Patient!.deleted, 1);
  assert.equal(r.types.Observation!.deleted, 1);
  // Not applied yet, then a restart's pass: the same events, nothing new.
  const queued = await inboxCount();
  assert.equal((await reconcileConnection(s.db, source)).accepted, 0);
  assert.equal(await inboxCount(), queued);
  assert.deepEqual((await drain(deps)).sort(), ['removed', 'removed']);
  assert.equal(await liveRecords(), 59);
  const history = await linkHistory(s.db, s.config.id, patient.id);
  assert.deepEqual(
    history.map((e) => e.action),
    ['CREATED', 'DELETED'],
  );
  assert.equal(history.at(-1)!.actor, 'system:fhir-reconcile');
  const item = await s.db.query<{ deleted: boolean; by: string | null; lineage: unknown }>(
    'SELECT deleted_at IS NOT NULL AS deleted, deleted_message_id AS by, lineage FROM clinical_item WHERE resource_id = $1',
    [obs.id],
  );
  assert.equal(item.rows[0]!.deleted, true);
  assert.ok(item.rows[0]!.by, 'the delete event that hid it is named');
  assert.ok(item.rows[0]!.lineage, 'its lineage is kept');
  // After: nothing held is absent any more; no event, no link event.
  const after = await reconcileConnection(s.db, source);
  assert.equal(after.accepted, 0);
  assert.equal(after.types.Patient!.missing, 0);
  assert.equal(await inboxCount(), queued);
  assert.deepEqual(await drain(deps), []);
});

test('a truncated or empty listing deletes nothing and leaves a warning; the next good pass clears it', async () => {
  const before = await inboxCount();
  s.sim.setFault({ searchLimit: 20 });
  try {
    const r = await reconcileConnection(s.db, source);
    assert.equal(r.accepted, 0);
    assert.match(r.warning!, /Patient: 39 of 59 held are absent at the EHR \(limit 2\)/);
    assert.match((await warning())!, /reconciliation refused/);
    s.sim.setFault({ searchLimit: 0 });
    const empty = await reconcileConnection(s.db, source);
    assert.match(empty.warning!, /Patient: the EHR listed none of the 59 held/);
  } finally {
    s.sim.setFault(null);
  }
  assert.equal(await inboxCount(), before);
  assert.equal(await liveRecords(), 59);
  assert.equal((await reconcileConnection(s.db, source)).warning, null);
  assert.equal(await warning(), null);
});

test('a listing missing a few records the EHR still has (confirmed by _id) deletes none; a failing EHR sends nothing', async () => {
  const before = await inboxCount();
  // The last two patients fall off the listing; an _id search still finds them.
  s.sim.setFault({ searchLimit: 57 });
  try {
    const r = await reconcileConnection(s.db, { ...source, clinicalTypes: [] });
    assert.equal(r.warning, null);
    assert.equal(r.types.Patient!.missing, 2);
    assert.equal(r.stillPresent, 2);
    assert.equal(r.accepted, 0);
  } finally {
    s.sim.setFault(null);
  }
  s.sim.remove('Patient', s.data.patients[3]!.id);
  s.sim.setFault({ status: 503 });
  try {
    await assert.rejects(reconcileConnection(s.db, source), SourceError);
  } finally {
    s.sim.setFault(null);
  }
  assert.equal(await inboxCount(), before);
  assert.equal(await liveRecords(), 59);
});

test('a condition marked entered-in-error at the EHR leaves the views through sync, kept with its lineage; nothing absent', async () => {
  const condition = s.data.resources.Condition[0]!;
  const patient = condition.subject.reference!.slice('Patient/'.length);
  const listed = async () => (await sourceItems(s.db, s.config.id, 'Condition', [patient])).get(patient)!.map((i) => i.resource.id);
  assert.ok((await listed()).includes(condition.id));
  // FHIR's con-5: no clinicalStatus beside entered-in-error (translation refuses the pair).
  const { clinicalStatus: _, ...rest } = condition as typeof condition & { clinicalStatus?: unknown };
  s.sim.upsert({
    ...rest,
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' }] },
  } as never);
  const polled = await syncConnection(s.db, { ...source, clinicalTypes: ['Condition'] }, { clinical: true });
  // The change, and whatever else the overlap window re-reads.
  assert.ok(polled.types.Condition!.accepted >= 1);
  await drain(deps);
  assert.ok(!(await listed()).includes(condition.id));
  const row = await s.db.query<{ withdrawn: boolean; deleted: boolean }>(
    'SELECT entered_in_error AS withdrawn, deleted_at IS NOT NULL AS deleted FROM clinical_item WHERE resource_id = $1',
    [condition.id],
  );
  assert.deepEqual(row.rows, [{ withdrawn: true, deleted: false }]);
  // Still at the EHR: a reconciliation does not take it for a deletion.
  const r = await reconcileConnection(s.db, { ...source, clinicalTypes: ['Condition'] });
  assert.deepEqual([r.types.Condition!.missing, r.types.Condition!.deleted], [0, 0]);
});
