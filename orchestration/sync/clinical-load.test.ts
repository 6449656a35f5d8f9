// The initial load of clinical data over two simulated EHRs (Epic and Oracle Health, real HTTP and
// SMART tokens) into a real database, through the product's own wiring (runtime/components.ts):
// every resource a source serves for its linked patients is stored or quarantined, each type the
// server does not offer is skipped with its reason, loading again writes nothing new, and a dead
// source degrades only that source.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fhirConnections, loadAdapters, loadConnections, type ConnectionConfig } from '../../platform/config.ts';
import { dropSchema, type Database } from '../../platform/db.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair, type KeyStoreOptions } from '../../platform/keys.ts';
import { openConnections } from '../../protocol/connections.ts';
import type { FhirConnection } from '../../protocol/fhir/client.ts';
import { loadPatients, openStorage } from '../../runtime/components.ts';
import { startSimulators, type RunningSimulators } from '../../simulators/index.ts';
import { databaseUrl, uniqueSchema } from '../../test/support/env.ts';
import { CLINICAL_LOAD_TYPES, offeredTypes } from './clinical-load.ts';
import type { LoadReport } from './initial-load.ts';

const adapters = loadAdapters();
let db: Database;
let keys: KeyStoreOptions;
let sims: RunningSimulators;
let connections: ConnectionConfig[];
let clients: Map<string, FhirConnection>;
let first: LoadReport[];

before(async () => {
  keys = { dir: mkdtempSync(join(tmpdir(), 'pgw-keys-')), generateMissing: true };
  db = await openStorage({ url: databaseUrl(), schema: uniqueSchema('cload') });
  const configured = fhirConnections(loadConnections());
  sims = await startSimulators({
    seed: 5,
    size: 40,
    sites: configured.map((c) => ({ id: c.id, vendor: c.adapter as 'epic' | 'cerner', port: 0 })),
    clients: await Promise.all(
      configured.map(async (c) => ({
        clientId: c.clientId,
        publicJwk: (await loadKeyPair(keys, keyNames.smartClient(c.id), KEY_ALGORITHMS.smartClient)).publicJwk,
      })),
    ),
  });
  connections = configured.map((c) => ({ ...c, baseUrl: sims.servers[c.id]!.url }));
  clients = await openConnections(connections, keys);
  first = await loadPatients(db, keys, adapters, connections, clients);
});
after(async () => {
  await sims?.close();
  if (db) {
    await dropSchema(db).catch(() => undefined);
    await db.close();
  }
  rmSync(keys.dir, { recursive: true, force: true });
});

const rows = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> =>
  (await db.query<T>(sql, params)).rows;

test('every clinical resource of the linked patients is stored or quarantined, from both EHRs', async () => {
  for (const report of first) {
    assert.equal(report.failed, undefined, `${report.source}: ${report.failed}`);
    const clinical = report.clinical!;
    const offered = await clients.get(report.source)!.searchableTypes();
    // Each type the store keeps is loaded or skipped, and skipped only when the connection's scope does
    // not grant it (the simulated EHRs serve no ServiceRequest or Immunization, so none is configured)
    // or the server does not offer it.
    const scope = connections.find((c) => c.id === report.source)!.scope.split(/\s+/);
    for (const type of CLINICAL_LOAD_TYPES) {
      if (!scope.includes(`system/${type}.rs`))
        assert.equal(clinical.skipped[type], 'the connection scope grants no search of this type', `${report.source} skips ${type}`);
      else if (offered.has(type)) assert.ok(clinical.types[type], `${report.source} loads ${type}`);
      else assert.match(clinical.skipped[type] ?? '', /CapabilityStatement/, `${report.source} skips ${type}`);
    }
    assert.deepEqual(
      CLINICAL_LOAD_TYPES.filter((type) => !scope.includes(`system/${type}.rs`)),
      ['ServiceRequest', 'Immunization'],
    );
    const site = sims.population.sites[report.source]!;
    const linked = new Set(
      (await rows<{ id: string }>('SELECT source_patient_id AS id FROM source_record WHERE source = $1', [report.source])).map((r) => r.id),
    );
    for (const [type, counts] of Object.entries(clinical.types)) {
      const served = (
        (site.resources as unknown as Record<string, { subject?: { reference?: string }; patient?: { reference?: string } }[]>)[type] ?? []
      ).filter((r) => linked.has((r.subject ?? r.patient)?.reference?.replace('Patient/', '') ?? '')).length;
      const [stored] = await rows<{ n: number }>('SELECT count(*)::int AS n FROM clinical_item WHERE source = $1 AND resource_type = $2', [
        report.source,
        type,
      ]);
      const [refused] = await rows<{ n: number }>('SELECT count(*)::int AS n FROM quarantine WHERE source = $1 AND resource_type = $2', [
        report.source,
        type,
      ]);
      assert.equal(stored!.n + refused!.n, served, `${report.source} ${type}: every resource served is stored or quarantined`);
      assert.equal(counts.stored, stored!.n, `${report.source} ${type}: reported as stored`);
      assert.equal(counts.quarantined, refused!.n);
      assert.equal(counts.unchanged, 0);
    }
    assert.ok((clinical.types.Observation?.stored ?? 0) > 100, `${report.source}: observations stored`);
    // Every linked patient's lists are recorded as retrieved, complete.
    const [retrievals] = await rows<{ n: number; incomplete: number }>(
      'SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT complete)::int AS incomplete FROM clinical_retrieval WHERE source = $1',
      [report.source],
    );
    assert.deepEqual(retrievals, { n: linked.size * Object.keys(clinical.types).length, incomplete: 0 });
  }
  // Vendor codes were translated on the way in: Epic's and Cerner's glucose land under one LOINC code.
  const sources = await rows<{ source: string }>(
    "SELECT DISTINCT source FROM clinical_item WHERE resource_type = 'Observation' AND code_system = 'http://loinc.org' ORDER BY 1",
  );
  assert.deepEqual(
    sources.map((s) => s.source),
    ['cerner-main', 'epic-main'],
  );
});

/** Everything the store and the quarantine hold, as it stands (xmin changes when a row is rewritten, even unchanged). */
const storeState = async () => ({
  items: await rows('SELECT source, resource_type, resource_id, version, xmin::text FROM clinical_item ORDER BY id'),
  history: await rows('SELECT count(*)::int AS n FROM clinical_item_history'),
  sequence: await rows('SELECT last_value::text AS v FROM clinical_item_id_seq'),
  quarantine: await rows('SELECT source, resource_type, resource_id, payload_key, xmin::text FROM quarantine ORDER BY 1, 2, 3, 4'),
  retrievals: await rows('SELECT count(*)::int AS n FROM clinical_retrieval'),
});

test('loading again over unchanged sources writes nothing new: same items, versions, rows, quarantine', async () => {
  const before = await storeState();
  const retrievedBefore = await rows<{ at: Date }>('SELECT max(retrieved_at) AS at FROM clinical_retrieval');
  const again = await loadPatients(db, keys, adapters, connections, clients);
  for (const report of again) {
    assert.equal(report.failed, undefined);
    const was = first.find((r) => r.source === report.source)!.clinical!;
    for (const [type, counts] of Object.entries(report.clinical!.types)) {
      const old = was.types[type as keyof typeof was.types]!;
      assert.deepEqual(counts, { stored: 0, unchanged: old.stored, quarantined: old.quarantined }, `${report.source} ${type}`);
    }
  }
  assert.deepEqual(await storeState(), before);
  // Only the freshness marks moved on.
  const retrievedAfter = await rows<{ at: Date }>('SELECT max(retrieved_at) AS at FROM clinical_retrieval');
  assert.ok(retrievedAfter[0]!.at.getTime() > retrievedBefore[0]!.at.getTime());
});

test('a dead source fails its own load only; the other source loads', async () => {
  sims.servers['cerner-main']!.setFault({ status: 503 });
  try {
    const reports = await loadPatients(db, keys, adapters, connections, clients);
    const cerner = reports.find((r) => r.source === 'cerner-main')!;
    const epic = reports.find((r) => r.source === 'epic-main')!;
    assert.match(cerner.failed ?? '', /cerner-main/);
    assert.equal(epic.failed, undefined);
    assert.ok(epic.clinical?.types.Observation);
  } finally {
    sims.servers['cerner-main']!.setFault(null);
  }
});

test('a type the scope does not grant is skipped with its reason, before the server is asked', async () => {
  const { types, skipped } = await offeredTypes(
    { id: 'x', scope: 'system/Patient.rs system/Observation.rs system/Condition.read system/Encounter.r' },
    { searchableTypes: async () => new Set(['Patient', 'Observation', 'Encounter']) },
  );
  assert.deepEqual(types, ['Observation']);
  assert.match(skipped.Condition!, /CapabilityStatement/);
  assert.match(skipped.Encounter!, /scope/, 'read without search is not enough');
  assert.match(skipped.MedicationRequest!, /scope/);
  // A CapabilityStatement that cannot be read: every type the scope grants is tried.
  const unknown = await offeredTypes(
    { id: 'x', scope: 'system/*.rs' },
    {
      searchableTypes: async () => {
        throw new Error('metadata unreadable');
      },
    },
  );
  assert.deepEqual(unknown.types, CLINICAL_LOAD_TYPES);
});
