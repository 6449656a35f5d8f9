// Issue 15 item 6, deletions: on the real stack with simulated EHRs over HTTP, patients deleted at
// an EHR (its development DELETE endpoint, as a person would) are found by a reconciliation pass:
// the record is no longer found by patientByIdentifier, its golden patient survives with its other
// source (or stays without any), the link history says DELETED; an observation deleted there leaves
// the store's views with its lineage kept. A truncated listing deletes nothing and ingestionStatus
// warns. A restart over the same EHRs (still without what was deleted) sends no event.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadVendorProfile } from '../../../platform/config.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { DEV_PATH } from '../../../simulators/index.ts';
import { databaseUrl, uniqueSchema } from '../../support/env.ts';
import { inboxDrained } from '../../support/inbox.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const work = mkdtempSync(join(tmpdir(), 'pgw-deletes-'));
after(() => rmSync(work, { recursive: true, force: true }));
const storage = {
  dbSchema: uniqueSchema('deletes'),
  keysDir: join(work, 'keys'),
  ...(databaseUrl() ? {} : { pgliteDir: join(work, 'pg') }),
};
const simulators = { seed: 7, size: 150, devWrites: true };
const SOURCE = 'epic-main';

type Deleted = { shared: { id: string; golden: string }; alone: { id: string; golden: string }; observation: string };

/** At the EHR: the two patients and the observation go (FHIR DELETE through the development endpoint). */
async function deleteAtEhr(stack: Stack, d: Deleted): Promise<void> {
  const origin = new URL(stack.simulators!.servers[SOURCE]!.url).origin;
  for (const path of [`Patient/${d.shared.id}`, `Patient/${d.alone.id}`, `Observation/${d.observation}`])
    assert.equal((await fetch(`${origin}${DEV_PATH}/${path}`, { method: 'DELETE' })).status, 204, path);
}

const counts = async (stack: Stack) =>
  (
    await stack.db.query<{ inbox: number; links: number; live: number }>(
      `SELECT (SELECT count(*) FROM inbox_message)::int AS inbox, (SELECT count(*) FROM link_event)::int AS links,
         (SELECT count(*) FROM source_record WHERE deleted_at IS NULL)::int AS live`,
    )
  ).rows[0]!;

const STATUS = '{ ingestionStatus { connectionId reconciledAt reconcileDeletions reconcileWarning } }';
type ReconcileStatus = { reconciledAt: string | null; reconcileDeletions: number | null; reconcileWarning: string | null };
type Status = { ingestionStatus: (ReconcileStatus & { connectionId: string })[] };

test('deleted at the EHR: unlinked after a reconciliation, history kept; a truncated listing warns; a restart sends nothing', async () => {
  let deleted: Deleted;
  let after: Awaited<ReturnType<typeof counts>>;
  const first = await startTestStack({ ...storage, simulators, dropSchemaOnClose: false });
  try {
    assert.ok(first.loadReports.every((r) => r.failed === undefined));
    const records = await first.db.query<{ id: string; golden: string; n: number }>(
      `SELECT s.source_patient_id AS id, s.golden_id::text AS golden,
         (SELECT count(*) FROM source_record o WHERE o.golden_id = s.golden_id AND o.deleted_at IS NULL)::int AS n
       FROM source_record s WHERE s.source = $1 AND s.deleted_at IS NULL ORDER BY 1`,
      [SOURCE],
    );
    const shared = records.rows.find((r) => r.n === 2)!;
    const alone = records.rows.find((r) => r.n === 1)!;
    const others = new Set([shared.id, alone.id]);
    const observation = first.population!.sites[SOURCE]!.resources.Observation.find(
      (o) => !others.has(o.subject.reference!.slice('Patient/'.length)),
    )!.id;
    deleted = { shared, alone, observation };

    // Right after the initial load, over unchanged data: nothing to send.
    const unchanged = await first.sync!.reconcileNow(SOURCE);
    assert.deepEqual([unchanged.accepted, unchanged.warning], [0, null]);

    await deleteAtEhr(first, deleted);
    const pass = await first.sync!.reconcileNow(SOURCE);
    assert.equal(pass.warning, null);
    assert.deepEqual([pass.types.Patient!.deleted, pass.types.Observation!.deleted, pass.accepted], [1 + 1, 1, 3]);
    await inboxDrained(first.db);

    const { token } = await tokenFor(first, ['clinician']);
    const mrnSystem = loadVendorProfile('epic').mrnIdentifier.system;
    const mrnOf = (id: string) =>
      first.population!.sites[SOURCE]!.patients.find((p) => p.id === id)!.identifier.find((i) => i.system === mrnSystem)!.value!;
    const system = first.connections.find((c) => c.id === SOURCE)!.identifierSystems!.MR!;
    for (const id of [shared.id, alone.id]) {
      const found = await gql<{ patientByIdentifier: unknown }>(
        first,
        token,
        'query ($s: String!, $v: String!) { patientByIdentifier(system: $s, value: $v) { id } }',
        { s: system, v: mrnOf(id) },
      );
      assert.deepEqual(found.body, { data: { patientByIdentifier: null } }, id);
    }
    type P = { patient: { id: string; sourceRecords: { source: string }[] } | null };
    const patient = (id: string) => gql<P>(first, token, 'query ($id: ID!) { patient(id: $id) { id sourceRecords { source } } }', { id });
    const survivor = (await patient(shared.golden)).body.data!.patient!;
    assert.deepEqual(
      survivor.sourceRecords.map((r) => r.source),
      ['cerner-main'],
      'the golden patient keeps its other source',
    );
    assert.deepEqual((await patient(alone.golden)).body.data!.patient?.sourceRecords ?? [], [], 'no source left');

    const steward = (await tokenFor(first, ['steward'])).token;
    const history = await gql<{ linkHistory: { action: string; actor: string }[] }>(
      first,
      steward,
      'query ($r: ID!) { linkHistory(sourceRecordId: $r) { action actor } }',
      { r: `${SOURCE}:${shared.id}` },
    );
    assert.deepEqual(history.body.data!.linkHistory.at(-1), { action: 'DELETED', actor: 'system:fhir-reconcile' });
    const item = await first.db.query<{ deleted: boolean; lineage: boolean }>(
      'SELECT deleted_at IS NOT NULL AS deleted, lineage IS NOT NULL AS lineage FROM clinical_item WHERE source = $1 AND resource_id = $2',
      [SOURCE, observation],
    );
    assert.deepEqual(item.rows, [{ deleted: true, lineage: true }]);

    // An EHR whose listing is cut short (it says 10 is all there is): nothing deleted, a warning for integration engineers.
    after = await counts(first);
    const sim = first.simulators!.servers[SOURCE]!;
    sim.setFault({ searchLimit: 10 });
    try {
      const cut = await first.sync!.reconcileNow(SOURCE);
      assert.equal(cut.accepted, 0);
      assert.match(cut.warning!, /Patient: \d+ of \d+ held are absent at the EHR/);
    } finally {
      sim.setFault(null);
    }
    await inboxDrained(first.db);
    assert.deepEqual(await counts(first), after);
    const engineer = (await tokenFor(first, ['integration'])).token;
    const status = (await gql<Status>(first, engineer, STATUS)).body.data!.ingestionStatus.find((s) => s.connectionId === SOURCE)!;
    assert.match(status.reconcileWarning!, /^reconciliation refused: Patient: /);
    assert.equal(status.reconcileDeletions, 0);
  } finally {
    await first.close();
  }

  // A restart over the same EHRs: what was deleted there is still gone, nothing else changed.
  const second = await startTestStack({ ...storage, simulators, dropSchemaOnClose: true });
  try {
    assert.deepEqual(second.loadReports, []);
    await deleteAtEhr(second, deleted);
    const pass = await second.sync!.reconcileNow(SOURCE);
    assert.deepEqual([pass.accepted, pass.warning], [0, null]);
    await inboxDrained(second.db);
    assert.deepEqual(await counts(second), after);
    const engineer = (await tokenFor(second, ['integration'])).token;
    const status = (await gql<Status>(second, engineer, STATUS)).body.data!.ingestionStatus.find((s) => s.connectionId === SOURCE)!;
    assert.equal(status.reconcileWarning, null, 'a pass that applies clears the warning');
    assert.ok(status.reconciledAt);
  } finally {
    await second.close();
  }
});
