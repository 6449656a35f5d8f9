// `npm start` twice in a row over unchanged simulated EHRs (runtime/embedded.ts starts the product
// through startStack, which runs the initial load, the first sync): the second start does not load
// again but goes on syncing from the stored watermarks, and decides nothing again. Same golden
// records with the same ids, no link event, no review item, no row of the MPI rewritten; the
// clinical store keeps every item as it was (no version, history or quarantine row added), even
// after a sync cycle (clinical types included) re-read the overlap window and its events were applied.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../../../runtime/stack.ts';
import { databaseUrl, uniqueSchema } from '../../support/env.ts';
import { inboxDrained } from '../../support/inbox.ts';
import { startTestStack } from '../../support/stack.ts';

const work = mkdtempSync(join(tmpdir(), 'pgw-restart-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** One deployment's storage and keys, kept between starts: PostgreSQL in one schema, else PGlite in one directory. */
const storage = {
  dbSchema: uniqueSchema('restart'),
  keysDir: join(work, 'keys'),
  ...(databaseUrl() ? {} : { pgliteDir: join(work, 'pg') }),
};
/** `npm start`'s own population (SIM_SEED, SIM_SIZE defaults): its households and near-misses. */
const simulators = { seed: 42, size: 2000 };

/** What linking wrote; xmin changes whenever a row is rewritten, even with the same values. */
async function mpiState(stack: Stack) {
  const rows = async (sql: string) => (await stack.db.query(sql)).rows;
  return {
    records: await rows('SELECT source, source_patient_id, golden_id, link_state, link_score, xmin::text FROM source_record ORDER BY 1, 2'),
    goldens: await rows('SELECT id, status, merged_into, name, birth_date, identifiers, xmin::text FROM golden_patient ORDER BY id'),
    events: await rows('SELECT count(*)::int AS n, max(seq)::text AS last FROM link_event'),
    reviews: await rows('SELECT id, golden_id, candidate_id, status, xmin::text FROM review_item ORDER BY id'),
  };
}

/** What the clinical load wrote (retrieval times excluded: they are meant to move on). */
async function clinicalState(stack: Stack) {
  const rows = async (sql: string) => (await stack.db.query(sql)).rows;
  return {
    items: await rows('SELECT count(*)::int AS n, max(id)::text AS last, sum(xmin::text::bigint)::text AS xmins FROM clinical_item'),
    sequence: await rows('SELECT last_value::text AS v FROM clinical_item_id_seq'),
    history: await rows('SELECT count(*)::int AS n FROM clinical_item_history'),
    quarantine: await rows('SELECT source, resource_type, resource_id, payload_key, xmin::text FROM quarantine ORDER BY 1, 2, 3, 4'),
  };
}

test('a restart over unchanged simulators keeps every golden record and id, and writes nothing to the MPI or the clinical store', async () => {
  const first = await startTestStack({ ...storage, simulators, dropSchemaOnClose: false });
  let state;
  try {
    assert.ok(first.loadReports.every((r) => r.failed === undefined && r.linked > 0));
    assert.ok(first.loadReports.every((r) => (r.clinical?.types.Observation?.stored ?? 0) > 0));
    state = { mpi: await mpiState(first), clinical: await clinicalState(first) };
  } finally {
    await first.close();
  }
  const second = await startTestStack({ ...storage, simulators, dropSchemaOnClose: true });
  try {
    assert.deepEqual(second.loadReports, [], 'loaded before: incremental sync goes on from the watermarks');
    const reports = await second.sync!.runNow(undefined, { clinical: true });
    assert.deepEqual(
      reports.map((r) => r.source),
      first.loadReports.map((r) => r.source),
    );
    for (const r of reports) assert.ok(r.types.Patient!.read > 0, `${r.source}: the overlap window was read again`);
    await inboxDrained(second.db);
    assert.deepEqual({ mpi: await mpiState(second), clinical: await clinicalState(second) }, state);
  } finally {
    await second.close();
  }
});
