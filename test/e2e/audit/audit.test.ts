// Every patient returned produces an audit row (who, which patient, which fields, when), written
// before the response is released; denials are audited too; audit failure releases no data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { KEY_ALGORITHMS, loadKeyPair } from '../../../platform/keys.ts';
import { AUDIT_CHECKPOINT_ALG, AUDIT_CHECKPOINT_KEY, createCheckpoint } from '../../../orchestration/audit/checkpoint.ts';
import { formatReport, verifyAuditLog } from '../../../orchestration/audit/verify.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
before(async () => {
  stack = await startTestStack();
});
after(() => stack?.close());

type AuditRow = {
  subgraph: string;
  patient_ref: string | null;
  fields: string[];
  decision: string;
  purpose_of_use: string | null;
  actor_roles: string[];
  operation_name: string | null;
  request_id: string;
  client_ip: string | null;
  subgraph_version: string | null;
};
const rowsFor = async (sub: string): Promise<AuditRow[]> =>
  (
    await stack.db.query<AuditRow>(
      'SELECT subgraph, patient_ref, fields, decision, purpose_of_use, actor_roles, operation_name, request_id, client_ip, subgraph_version FROM audit_event WHERE actor_sub = $1 ORDER BY seq',
      [sub],
    )
  ).rows;

test('each patient returned produced an audit row naming the fields returned', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const res = await gql<{ patients: { edges: { node: { id: string; sourceRecords: { id: string }[] } }[] } }>(
    stack,
    token,
    'query ChartReview { patients(first: 7) { edges { node { id birthDate name { family } sourceRecords { id observations { id } } } } } }',
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const nodes = res.body.data!.patients.edges.map((e) => e.node);
  const rows = await rowsFor(sub);
  const mpi = rows.filter((r) => r.subgraph === 'mpi' && r.decision === 'permit');
  assert.deepEqual(new Set(mpi.map((r) => r.patient_ref)), new Set(nodes.map((n) => `Patient/${n.id}`)));
  for (const r of mpi) {
    assert.ok(
      r.fields.includes('Patient.birthDate') && r.fields.includes('Patient.name') && r.fields.includes('Patient.sourceRecords'),
      r.fields.join(),
    );
    assert.equal(r.purpose_of_use, 'TREAT');
    assert.deepEqual(r.actor_roles, ['clinician']);
  }
  // Clinical data is audited by the vendor subgraph that returned it, per source record.
  const vendorRefs = new Set(rows.filter((r) => r.subgraph !== 'mpi').map((r) => r.patient_ref));
  for (const n of nodes) for (const s of n.sourceRecords) assert.ok(vendorRefs.has(`SourceRecord/${s.id}`), s.id);
  // One request id across the gateway's subgraph calls.
  assert.equal(new Set(rows.map((r) => r.request_id)).size, 1);
  // Who, from where, with which software.
  assert.ok(
    rows.every((r) => r.operation_name?.startsWith('ChartReview') && r.client_ip && r.subgraph_version),
    JSON.stringify(rows[0]),
  );
  // The document's values never reach the audit row: only names and coordinates.
  assert.ok(rows.every((r) => r.fields.every((f) => /^[A-Za-z_]+\.[A-Za-z_]+$/.test(f))));
});

test('denials are audited with the refused coordinates', async () => {
  const { token, sub } = await tokenFor(stack, ['analyst']);
  await gql(stack, token, '{ patients(first: 2) { edges { node { id name { family } } } } }');
  const denials = (await rowsFor(sub)).filter((r) => r.decision === 'deny');
  assert.equal(denials.length, 2);
  assert.ok(denials.every((r) => r.fields.join() === 'Patient.name' && r.patient_ref?.startsWith('Patient/')));
  // Each row names the policy rule that decided, permits and denials alike.
  const rules = (
    await stack.db.query<{ decision: string; policy_rules: string[] }>(
      'SELECT decision, policy_rules FROM audit_event WHERE actor_sub = $1',
      [sub],
    )
  ).rows;
  assert.ok(
    rules.some(
      (r) => r.decision === 'deny' && r.policy_rules.some((x) => x.includes('identityWork') || x.includes('clinicianForTreatment')),
    ),
    JSON.stringify(rules),
  );
  assert.ok(
    rules.some((r) => r.decision === 'permit' && r.policy_rules.some((x) => x.includes('analyst'))),
    JSON.stringify(rules),
  );
});

test('when the audit log cannot be written, no patient data is returned', async () => {
  const { token } = await tokenFor(stack, ['clinician']);
  await stack.db.query('ALTER TABLE audit_event RENAME TO audit_event_unavailable');
  try {
    const res = await gql<{ patients: unknown }>(stack, token, '{ patients(first: 2) { edges { node { name { family } } } } }');
    assert.equal(res.body.data?.patients ?? null, null);
    assert.ok(
      res.body.errors?.some((e) => JSON.stringify(e).includes('AUDIT_UNAVAILABLE') || e.message.includes('audit')),
      JSON.stringify(res.body.errors),
    );
    assert.doesNotMatch(JSON.stringify(res.body), /"family"\s*:\s*"/);
  } finally {
    await stack.db.query('ALTER TABLE audit_event_unavailable RENAME TO audit_event');
  }
});

test('the log these requests wrote verifies, and a signed checkpoint covers it', async () => {
  let report = await verifyAuditLog(stack.db, { publicKeys: [] });
  assert.equal(report.ok, true, formatReport(report));
  assert.ok(report.rows > 10);
  const key = await loadKeyPair(stack.keys, AUDIT_CHECKPOINT_KEY, AUDIT_CHECKPOINT_ALG);
  const written = report.lastSeq ?? 0;
  // The stack's own scheduler (a poll every 10 s) may have signed part or all of the log already: this
  // one signs the rest, if any. Together they cover the log from its first row.
  const cp = await createCheckpoint(stack.db, key);
  if (cp) assert.equal(cp.payload.to_seq, written);
  report = await verifyAuditLog(stack.db, { publicKeys: [key.publicJwk] });
  assert.equal(report.ok, true, formatReport(report));
  assert.ok(report.checkpointsRecomputed >= 1, formatReport(report));
  assert.ok((report.signedThroughSeq ?? 0) >= written, formatReport(report));
  assert.equal(KEY_ALGORITHMS.gatewayIdentity, AUDIT_CHECKPOINT_ALG, 'the same Ed25519 key type as the gateway identity');
});
