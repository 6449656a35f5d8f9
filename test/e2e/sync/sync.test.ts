// Issue 15's "a patient added to a simulator while the product runs is found": on the real stack,
// a patient added at a simulated EHR (its development endpoint, as a person would) is found by
// patientByIdentifier after one sync cycle, driven explicitly; a second cycle applies nothing again.
// The EHR going down opens the connection's circuit breaker, recorded for every process to see.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVendorProfile } from '../../../platform/config.ts';
import type { Stack } from '../../../runtime/stack.ts';
import type { FhirPatient } from '../../../simulators/fhir-types.ts';
import { DEV_PATH } from '../../../simulators/index.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';
import { inboxDrained } from '../../support/inbox.ts';

let stack: Stack;
before(async () => {
  stack = await startTestStack({ simulators: { seed: 7, size: 150, devWrites: true } });
});
after(() => stack?.close());

const SOURCE = 'epic-main';

test('a patient added to a running simulator is found by patientByIdentifier after a sync cycle', async () => {
  // The first cycle after the initial load re-reads its overlap window (applied as no-ops).
  await stack.sync!.runNow(SOURCE);
  await inboxDrained(stack.db);
  const sim = stack.simulators!.servers[SOURCE]!;
  const res = await fetch(`${new URL(sim.url).origin}${DEV_PATH}/Patient`, {
    method: 'POST',
    body: JSON.stringify({ family: 'Syncfound', given: 'Olga', birthDate: '1979-03-04', gender: 'female' }),
  });
  assert.equal(res.status, 201);
  const added = (await res.json()) as FhirPatient;
  const mrn = added.identifier.find((i) => i.system === loadVendorProfile('epic').mrnIdentifier.system)!.value!;
  const system = stack.connections.find((c) => c.id === SOURCE)!.identifierSystems!.MR!;
  const { token } = await tokenFor(stack, ['clinician']);
  const find = () =>
    gql<{ patientByIdentifier: { id: string; name: { family: string }; sourceRecords: { source: string }[] } | null }>(
      stack,
      token,
      'query ($s: String!, $v: String!) { patientByIdentifier(system: $s, value: $v) { id name { family } sourceRecords { source } } }',
      { s: system, v: mrn },
    );
  assert.deepEqual((await find()).body, { data: { patientByIdentifier: null } });

  const [report] = await stack.sync!.runNow(SOURCE);
  assert.equal(report!.types.Patient!.accepted, 1);
  await inboxDrained(stack.db);
  const found = (await find()).body.data!.patientByIdentifier!;
  assert.deepEqual(
    { family: found.name.family, sources: found.sourceRecords.map((r) => r.source) },
    { family: 'Syncfound', sources: [SOURCE] },
  );

  const events = await stack.db.query('SELECT count(*)::int AS n FROM link_event');
  const [again] = await stack.sync!.runNow(SOURCE);
  assert.equal(again!.types.Patient!.accepted, 0);
  await inboxDrained(stack.db);
  assert.deepEqual((await stack.db.query('SELECT count(*)::int AS n FROM link_event')).rows, events.rows);
  assert.equal((await find()).body.data!.patientByIdentifier!.id, found.id);
});

test('an EHR that stays down opens its breaker, recorded in connection_health with the error', async () => {
  const sim = stack.simulators!.servers['cerner-main']!;
  sim.setFault({ status: 503 });
  try {
    for (let i = 0; i < 3; i++) await assert.rejects(stack.sync!.runNow('cerner-main'));
    const health = await stack.db.query<{ breaker_state: string; last_error_code: string }>(
      'SELECT breaker_state, last_error_code FROM connection_health WHERE connection_id = $1',
      ['cerner-main'],
    );
    assert.deepEqual(health.rows, [{ breaker_state: 'open', last_error_code: 'CIRCUIT_OPEN' }]);
  } finally {
    sim.setFault(null);
  }
});
