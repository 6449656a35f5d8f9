// The read-through against a simulated EHR over HTTP and a real database: lists come from the
// clinical store, the EHR is asked only when a list's last retrieval is older than the TTL, and an
// EHR that cannot be asked gives the stored list with how old it is, never a failure.
//
// The batch holds resources the source's id cannot tell apart (issue 12, finding 8): two
// Observations without an id (quarantined with their reason) and two under one id with only a
// vendor-local code (stored once, the newer, the unmapped code kept and flagged, never dropped).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVendorProfile } from '../../platform/config.ts';
import { SourceError } from '../../protocol/errors.ts';
import type { FhirObservation } from '../../simulators/fhir-types.ts';
import { fhirSource, quarantineRows, type FhirSource } from '../../test/support/fhir-source.ts';
import { NO_ID } from '../../translation/quarantine.ts';
import { connectionIngest } from '../clinical-store/connection-ingest.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import { readThrough, type ClinicalList, type ClinicalSourceDeps, type FhirSourceConnection } from './read-through.ts';

let source: FhirSource;
let patients: string[];
let connection: FhirSourceConnection;
const profile = loadVendorProfile('epic');
const own = (id: string) => source.data.resources.Observation.filter((o) => o.subject.reference === `Patient/${id}`).length;

before(async () => {
  source = await fhirSource({
    size: 12,
    shape: (data) => {
      const subject = { reference: `Patient/${data.patients[0]!.id}` };
      const bad = (n: number, id?: string) =>
        ({
          resourceType: 'Observation',
          ...(id ? { id } : {}),
          meta: { lastUpdated: `2024-01-0${n}T00:00:00Z` },
          status: 'final',
          subject,
          // Only a vendor-local coding that no concept map translates.
          code: { coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: `99${n}` }] },
          effectiveDateTime: `2024-03-0${n}T09:05:00-06:00`,
        }) as unknown as FhirObservation;
      return {
        ...data,
        resources: {
          ...data.resources,
          Observation: [bad(1), bad(2), bad(3, 'dup-obs'), bad(4, 'dup-obs'), ...data.resources.Observation],
        },
      };
    },
  });
  patients = source.data.patients.map((p) => p.id);
  connection = { config: source.config, client: source.client, ingest: connectionIngest(source.config, profile) };
});
after(() => source?.close());

const deps = (ttlSeconds: number): ClinicalSourceDeps => ({ db: source.db, protection: source.protection, profile, ttlSeconds });
const read = (ttlSeconds: number, ids = patients): Promise<(ClinicalList | Error)[]> =>
  readThrough(deps(ttlSeconds), connection, 'Observation', ids);
const lists = (all: (ClinicalList | Error)[]): ClinicalList[] =>
  all.map((l, i) => {
    assert.ok(!(l instanceof Error), `patient ${i}: ${String(l)}`);
    return l;
  });
const searches = () => source.sim.requestCount();
const count = async (sql: string): Promise<number> => Number((await source.db.query<{ n: string }>(sql)).rows[0]!.n);

test('every patient of the batch gets their list from the store; invalid resources are quarantined with their reason', async () => {
  const before = searches();
  const got = lists(await read(300));
  assert.equal(searches() - before, 1, 'one search for the whole batch');
  got.forEach((list, i) => {
    // The first patient: the two without an id are refused, the two under one id are one item.
    assert.equal(list.values.length, own(patients[i]!) - (i === 0 ? 3 : 0), `patient ${i}: every valid observation`);
    assert.equal(list.stale, undefined);
    assert.equal(list.truncated, undefined);
  });
  const rows = await quarantineRows(source.db, 'sim-epic');
  assert.deepEqual(
    rows.map((r) => [r.resource_type, r.resource_id]),
    [
      ['Observation', NO_ID],
      ['Observation', NO_ID],
    ],
  );
  for (const r of rows)
    assert.ok(
      r.issues.some((i) => i.severity === 'error' && i.message === 'missing id'),
      JSON.stringify(r.issues),
    );
  // The newer of the two under one id, its local code kept beside no standard one, flagged.
  const dup = (
    await source.db.query<{ version: string; codes: string[]; flags: { message: string }[] }>(
      "SELECT version, codes, flags FROM clinical_item WHERE resource_id = 'dup-obs'",
    )
  ).rows;
  assert.equal(dup.length, 1);
  assert.equal(dup[0]!.version, 'lastUpdated:2024-01-04T00:00:00Z');
  assert.deepEqual(dup[0]!.codes, ['urn:oid:1.2.840.114350.1.13.0.1.7.2.768282|994']);
  assert.ok(dup[0]!.flags.length > 0, 'flagged');
  const first = got[0]!.values as { id: string; provenance: { source: string; retrievedAt: string } }[];
  assert.ok(first.some((o) => o.id === 'sim-epic:dup-obs'));
  assert.ok(first.every((o) => o.provenance.source === 'sim-epic' && !Number.isNaN(Date.parse(o.provenance.retrievedAt))));
});

test('within the TTL the store answers alone; once it has passed the EHR is asked again, and nothing new is written', async () => {
  const snapshot = async () => ({
    items: (await source.db.query('SELECT id, xmin::text FROM clinical_item ORDER BY id')).rows,
    history: await count('SELECT count(*) AS n FROM clinical_item_history'),
    quarantine: (await quarantineRows(source.db, 'sim-epic')).map((r) => [r.payload_key, r.first_seen_at.toISOString()]),
  });
  const stored = await snapshot();
  const retrieved = async () =>
    (await source.db.query<{ at: Date }>("SELECT max(retrieved_at) AS at FROM clinical_retrieval WHERE source = 'sim-epic'")).rows[0]!.at;
  const at = await retrieved();
  let before = searches();
  const cached = lists(await read(300));
  assert.equal(searches(), before, 'the EHR was not asked');
  assert.deepEqual(await retrieved(), at);

  // The TTL passes (the retrievals are made an hour older): asked again, once for the batch.
  await source.db.query("UPDATE clinical_retrieval SET retrieved_at = retrieved_at - interval '1 hour' WHERE source = 'sim-epic'");
  before = searches();
  const again = lists(await read(300));
  assert.equal(searches() - before, 1, 'one search for the batch');
  assert.ok((await retrieved()).getTime() > at.getTime(), 'the retrieval time moved on');
  assert.deepEqual(
    again.map((l) => l.values),
    cached.map((l) => l.values),
  );
  // Unchanged at the source: no item rewritten (xmin), no history, no quarantine row added.
  assert.deepEqual(await snapshot(), stored);
});

test('a TTL of 0 asks at every read; a connection setting overrides the deployment default', async () => {
  let before = searches();
  await read(0);
  assert.equal(searches() - before, 1);
  const config = { ...source.config, clinicalTtlSeconds: 3600 };
  before = searches();
  await readThrough(deps(0), { ...connection, config }, 'Observation', patients);
  assert.equal(searches(), before, "the connection's own TTL (an hour) holds");
});

test('the EHR down: the stored lists with when they were retrieved; a list never retrieved fails with the source named', async () => {
  const retrievedAt = (
    await source.db.query<{ at: Date }>(
      "SELECT retrieved_at AS at FROM clinical_retrieval WHERE source = 'sim-epic' AND resource_type = 'Observation' AND patient_id = $1",
      [patients[1]],
    )
  ).rows[0]!.at.toISOString();
  const stored = lists(await read(300));
  source.sim.setFault({ status: 503 });
  try {
    const down = lists(await read(0));
    down.forEach((list, i) => {
      assert.deepEqual(list.values, stored[i]!.values, `patient ${i}: the stored list`);
      assert.ok(list.stale, `patient ${i}: marked stale`);
      assert.ok(list.stale.error instanceof SourceError);
    });
    assert.equal(down[1]!.stale!.retrievedAt, retrievedAt);
    // Conditions were never retrieved: nothing to fall back on.
    const never = await readThrough(deps(0), connection, 'Condition', patients.slice(0, 2));
    for (const l of never) {
      assert.ok(l instanceof SourceError, String(l));
      assert.equal(l.source, 'sim-epic');
    }
  } finally {
    source.sim.setFault(null);
  }
  // Back up: fresh again, no stale mark.
  for (const l of lists(await read(0))) assert.equal(l.stale, undefined);
});

test('an item the EHR no longer returns leaves the list after a complete refresh, and stays stored for lineage', async () => {
  // Stored earlier (as if the EHR had returned it then); the simulated EHR does not return it now.
  const gone = {
    resourceType: 'Observation',
    id: 'gone-1',
    meta: { versionId: '1' },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
    subject: { reference: `Patient/${patients[1]}` },
    effectiveDateTime: '2020-01-01T00:00:00Z',
    valueQuantity: { value: 90, unit: 'mg/dL' },
  };
  await ingestResources(source.db, [gone], connection.ingest.context('2020-01-02T00:00:00Z'), source.protection);
  const ids = (l: ClinicalList) => (l.values as { id: string }[]).map((o) => o.id);
  assert.ok(ids(lists(await read(300))[1]!).includes('sim-epic:gone-1'), 'listed while the TTL holds');
  const refreshed = lists(await read(0));
  assert.ok(!ids(refreshed[1]!).includes('sim-epic:gone-1'), 'gone after a complete read');
  assert.equal(refreshed[1]!.values.length, own(patients[1]!));
  const row = (
    await source.db.query<{ deleted: boolean }>("SELECT deleted_at IS NOT NULL AS deleted FROM clinical_item WHERE resource_id = 'gone-1'")
  ).rows;
  assert.deepEqual(row, [{ deleted: true }]);
});
