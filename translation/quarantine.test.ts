// Quarantine rows against a real database (PostgreSQL when DATABASE_URL is set, else PGlite): the
// identity of a refused resource is its source id plus a keyed digest of its content.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema, type Database } from '../platform/db.ts';
import { openStorage, protectionFor } from '../runtime/components.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';
import { NO_ID, quarantine, type QuarantineEntry } from './quarantine.ts';

const keysDir = mkdtempSync(join(tmpdir(), 'pgw-q-keys-'));
const protection = protectionFor({ dir: keysDir, generateMissing: true });
let db: Database;
before(async () => {
  db = await openStorage({ url: databaseUrl(), schema: uniqueSchema('q') });
});
after(async () => {
  await dropSchema(db);
  await db.close();
  rmSync(keysDir, { recursive: true, force: true });
});

const entry = (resourceId: string, payload: Record<string, unknown>): QuarantineEntry => ({
  source: 'src',
  resourceType: 'Observation',
  resourceId,
  issues: [{ severity: 'error', path: 'Observation.code', message: 'no standard (non vendor-local) coding' }],
  payload: { resourceType: 'Observation', ...payload },
});
const rows = async () =>
  (
    await db.query<{ resource_id: string; payload_key: string }>(
      "SELECT resource_id, payload_key FROM quarantine WHERE source = 'src' ORDER BY 1, 2",
    )
  ).rows;

test('the same content twice in one batch is one row; the same content with its keys in another order too', async () => {
  await quarantine(
    db,
    [entry('', { a: 1, b: 2 }), entry('', { b: 2, a: 1 }), entry('x', { a: 1 }), entry('x', { a: 1 })],
    protection.sealPayload,
  );
  const stored = await rows();
  assert.deepEqual(
    stored.map((r) => r.resource_id),
    [NO_ID, 'x'],
  );
  assert.ok(stored.every((r) => r.payload_key.startsWith('bidx:')));
});

test('a row stored before payload keys existed takes the key when its resource comes again (no second row)', async () => {
  await db.query(
    `INSERT INTO quarantine (source, resource_type, resource_id, issues, payload) VALUES ('src', 'Observation', 'legacy-1', '[]', '{}')`,
  );
  await quarantine(db, [entry('legacy-1', { v: 1 })], protection.sealPayload);
  const legacy = (await rows()).filter((r) => r.resource_id === 'legacy-1');
  assert.equal(legacy.length, 1);
  assert.match(legacy[0]!.payload_key, /^bidx:/);
});

test('a resource refused again counts one more attempt; its subject is kept in clear, its payload sealed', async () => {
  const obs = entry('att-1', { subject: { reference: 'Patient/p-9' } });
  await quarantine(db, [obs], protection.sealPayload);
  await quarantine(db, [obs], protection.sealPayload);
  await quarantine(
    db,
    [{ ...entry('pat-1', {}), resourceType: 'Patient', payload: { resourceType: 'Patient', id: 'pat-1' } }],
    protection.sealPayload,
  );
  const got = (
    await db.query<{ resource_id: string; attempts: number; subject_id: string | null; payload: string }>(
      "SELECT resource_id, attempts, subject_id, payload::text FROM quarantine WHERE resource_id IN ('att-1', 'pat-1') ORDER BY 1",
    )
  ).rows;
  assert.deepEqual(
    got.map((r) => [r.resource_id, r.attempts, r.subject_id]),
    [
      ['att-1', 2, 'p-9'],
      ['pat-1', 1, 'pat-1'],
    ],
  );
  assert.ok(got.every((r) => !r.payload.includes('p-9') && !r.payload.includes('"Patient"')));
});
