// ingestionStatus through the integration subgraph's schema (policies and audit included) on a real
// database: per connection, in configuration order, the inbox's depth, dead letters and last
// message, the lag, the watermark, the health any process recorded and the last reconciliation's
// warning; a clinician is denied.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testPrincipal } from '../../orchestration/audit/test-helpers.ts';
import { CLINICAL_STORE_MIGRATIONS } from '../../orchestration/clinical-store/migrations.ts';
import { claim, fail, receive } from '../../orchestration/ingest/inbox.ts';
import { INGEST_MIGRATIONS } from '../../orchestration/ingest/migrations.ts';
import { message } from '../../orchestration/ingest/test-helpers.ts';
import { openMpiTestDb, type MpiTestDb } from '../../orchestration/mpi/test-helpers.ts';
import { SYNC_MIGRATIONS } from '../../orchestration/sync/migrations.ts';
import { advanceWatermark, recordHealth } from '../../orchestration/sync/state.ts';
import type { Principal } from '../../security/principal.ts';
import { QUARANTINE_MIGRATIONS } from '../../translation/quarantine.ts';
import { INGESTION_STATUS_REF } from './subgraph.ts';
import { adapters, connections, runIntegration } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => {
  t = await openMpiTestDb({
    migrations: [...QUARANTINE_MIGRATIONS, ...CLINICAL_STORE_MIGRATIONS, ...INGEST_MIGRATIONS, ...SYNC_MIGRATIONS],
    prefix: 'istat',
  });
  // src-a: two pending, one dead; src-b: nothing in the inbox, never polled.
  for (const id of ['1', '2', '3']) await receive(t.db, message(id, { channel: 'src-a' }), t.protection);
  const [first] = await claim(t.db, { limit: 1, workerId: 'w' }, t.protection);
  await fail(t.db, first!, 'permanent', 'PermanentFailure: test');
  await advanceWatermark(t.db, 'src-a', 'Patient', new Date('2026-11-30T10:00:00Z'));
  await advanceWatermark(t.db, 'src-a', 'Observation', new Date('2026-11-30T11:00:00Z'));
  await recordHealth(t.db, 'src-a', {
    breakerState: 'open',
    breakerSince: new Date('2026-12-01T09:00:00Z'),
    lastSuccessAt: new Date('2026-12-01T08:00:00Z'),
    lastErrorAt: new Date('2026-12-01T09:00:00Z'),
    lastErrorCode: 'HTTP_ERROR 503',
    fhirVersion: '4.0.1',
    softwareName: 'Epic',
    softwareVersion: 'May 2025 (simulated)',
    reconciledAt: new Date('2026-12-01T07:00:00Z'),
    reconcileDeletions: 0,
    reconcileWarning: 'reconciliation refused: Patient: the EHR listed none of the 40 held',
    reconcileWarningAt: new Date('2026-12-01T07:00:00Z'),
  });
});
after(() => t.close());

const run = (document: string, principal: Principal) =>
  runIntegration({ db: t.db, protection: t.protection, connections, adapters }, document, principal);

const QUERY = `{ ingestionStatus { connectionId kind inboxDepth deadLetters lagSeconds watermark breakerState breakerSince
  lastSuccessAt lastErrorCode fhirVersion softwareName softwareVersion lastMessageAt
  reconciledAt reconcileDeletions reconcileWarning reconcileWarningAt } }`;

test('an integration engineer reads each connection: inbox depth, dead letters, lag, watermark, breaker and version', async () => {
  const { result, audit } = await run(QUERY, testPrincipal({ sub: 'eng', roles: ['integration'], purposeOfUse: null }));
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  const [a, b] = (result.data as { ingestionStatus: Record<string, unknown>[] }).ingestionStatus;
  // Two messages open: the lag is the oldest one's age (received moments ago).
  assert.ok(typeof a!.lagSeconds === 'number' && a!.lagSeconds >= 0 && a!.lagSeconds < 600);
  assert.ok(typeof a!.lastMessageAt === 'string');
  assert.deepEqual(
    { ...a, lagSeconds: 'checked', lastMessageAt: 'checked' },
    {
      connectionId: 'src-a',
      kind: 'fhir',
      inboxDepth: 2,
      deadLetters: 1,
      lagSeconds: 'checked',
      watermark: '2026-11-30T11:00:00.000Z',
      breakerState: 'OPEN',
      breakerSince: '2026-12-01T09:00:00.000Z',
      lastSuccessAt: '2026-12-01T08:00:00.000Z',
      lastErrorCode: 'HTTP_ERROR 503',
      fhirVersion: '4.0.1',
      softwareName: 'Epic',
      softwareVersion: 'May 2025 (simulated)',
      lastMessageAt: 'checked',
      reconciledAt: '2026-12-01T07:00:00.000Z',
      reconcileDeletions: 0,
      reconcileWarning: 'reconciliation refused: Patient: the EHR listed none of the 40 held',
      reconcileWarningAt: '2026-12-01T07:00:00.000Z',
    },
  );
  assert.deepEqual(JSON.parse(JSON.stringify(b)), {
    connectionId: 'src-b',
    kind: 'fhir',
    inboxDepth: 0,
    deadLetters: 0,
    lagSeconds: null,
    watermark: null,
    breakerState: null,
    breakerSince: null,
    lastSuccessAt: null,
    lastErrorCode: null,
    fhirVersion: null,
    softwareName: null,
    softwareVersion: null,
    lastMessageAt: null,
    reconciledAt: null,
    reconcileDeletions: null,
    reconcileWarning: null,
    reconcileWarningAt: null,
  });
  assert.deepEqual([...new Set(audit.accesses().map((x) => x.patientRef))], [INGESTION_STATUS_REF]);
});

test('a clinician, and a token bound to one patient, are denied', async () => {
  const clinician = await run(QUERY, testPrincipal({ roles: ['clinician'] }));
  assert.equal(clinician.result.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.equal(clinician.result.data, null);
  const bound = await run(QUERY, testPrincipal({ roles: ['integration'], purposeOfUse: null, patientContext: 'src-a:p1' }));
  assert.equal(bound.result.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});
