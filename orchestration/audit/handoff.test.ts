import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditRows } from './audit-log.ts';
import { acceptHandedOffRows, AUDIT_HANDOFF_EXTENSION, handoffEnvelope, newHandoffNonce, type HandoffExpectation } from './handoff.ts';
import { testPrincipal } from './test-helpers.ts';

const principal = testPrincipal({ sub: 'clin-7', requestId: 'req-7' });
const rows = auditRows(
  { principal, subgraph: 'epic', operationName: 'Chart', documentHash: 'ab'.repeat(32), outcome: 'success' },
  [{ patientRef: 'SourceRecord/epic-main:1', fields: ['EpicRecord.observations'], rules: ['clinicianForTreatment'] }],
  [{ patientRef: 'SourceRecord/epic-main:2', fields: ['EpicRecord.ssn'] }],
);
const nonce = newHandoffNonce();
const expected: HandoffExpectation = { nonce, subgraph: 'epic', requestId: 'req-7', actorSub: 'clin-7' };
const extensions = (envelope: unknown) => ({ [AUDIT_HANDOFF_EXTENSION]: envelope });

test('the rows a subgraph made for this call are accepted as they are, permits and denials', () => {
  const accepted = acceptHandedOffRows(extensions(handoffEnvelope(nonce, rows)), expected);
  assert.deepEqual(accepted, rows);
  assert.deepEqual(
    accepted.map((r) => r.decision),
    ['permit', 'deny'],
  );
  assert.deepEqual(acceptHandedOffRows(extensions(handoffEnvelope(nonce, [])), expected), [], 'a call that touched no patient');
});

test('nonces are unguessable and differ per call', () => {
  const many = new Set(Array.from({ length: 1000 }, newHandoffNonce));
  assert.equal(many.size, 1000);
  assert.ok([...many].every((n) => /^[A-Za-z0-9_-]{22}$/.test(n)));
});

test('missing rows, or rows that are not this call’s, are refused', () => {
  const refused = (value: unknown, why: RegExp, label: string) => assert.throws(() => acceptHandedOffRows(value, expected), why, label);
  refused(undefined, /no audit rows/, 'no extensions');
  refused({}, /no audit rows/, 'extensions without rows');
  refused(extensions(rows), /no audit rows/, 'rows without their envelope');
  refused(extensions(handoffEnvelope(newHandoffNonce(), rows)), /another call/, 'another call’s nonce (a replayed answer)');
  refused(extensions({ nonce }), /not a list/, 'no list');
  refused(extensions(handoffEnvelope(nonce, [...rows, 'x'] as never)), /not an object/, 'a row that is not one');
  const changed = (change: Record<string, unknown>) => extensions(handoffEnvelope(nonce, [{ ...rows[0]!, ...change }]));
  refused(changed({ request_id: 'req-other' }), /another request/, 'another request');
  refused(changed({ subgraph: 'cerner' }), /another subgraph/, 'another subgraph');
  refused(changed({ actor_sub: 'someone-else' }), /another caller/, 'another caller');
  refused(changed({ decision: 'maybe' }), /no decision/, 'no decision');
  refused(changed({ fields: [] }), /no fields/, 'no fields');
  refused(changed({ fields: 'Patient.name' }), /not a list of text/, 'fields not a list');
  refused(changed({ patient_ref: 7 }), /not text/, 'a patient that is not text');
  // What audit_append() decides is never taken from a subgraph.
  for (const column of ['seq', 'recorded_at', 'prev_hash', 'hash']) refused(changed({ [column]: 'x' }), /unknown column/, column);
});
