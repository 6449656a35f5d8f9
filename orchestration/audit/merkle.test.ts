import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalContent, documentHash, rowHash, GENESIS_HASH, type AuditContent } from './canonical.ts';
import { merkleLeaf, merkleNode, merkleRoot } from './merkle.ts';

/** RFC 6962 §2.1, written the way the RFC states it. */
function reference(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return merkleLeaf(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return merkleNode(reference(leaves.slice(0, k)), reference(leaves.slice(k)));
}

test('the incremental Merkle root equals RFC 6962 for every size up to 70', () => {
  const hashes = Array.from({ length: 70 }, (_, i) => createHash('sha256').update(String(i)).digest());
  for (let n = 0; n <= hashes.length; n++) assert.deepEqual(merkleRoot(hashes.slice(0, n)), reference(hashes.slice(0, n)), `n=${n}`);
});

test('a Merkle root changes when one leaf changes or two swap', () => {
  const hashes = Array.from({ length: 9 }, (_, i) => createHash('sha256').update(String(i)).digest());
  const root = merkleRoot(hashes);
  assert.notDeepEqual(merkleRoot([...hashes.slice(0, 4), Buffer.alloc(32), ...hashes.slice(5)]), root);
  assert.notDeepEqual(merkleRoot([hashes[1]!, hashes[0]!, ...hashes.slice(2)]), root);
});

const content: AuditContent = {
  recorded_at: '2026-11-25T08:00:00.123456Z',
  request_id: 'r-1',
  traceparent: null,
  subgraph: 'mpi',
  subgraph_version: '0.1.0',
  actor_sub: 'José',
  actor_roles: ['clinician'],
  client_id: null,
  client_ip: '10.0.0.1',
  purpose_of_use: 'TREAT',
  break_glass_reason: null,
  patient_ref: 'Patient/1',
  fields: ['Patient.birthDate', 'Patient.name'],
  operation_name: null,
  document_hash: null,
  decision: 'permit',
  policy_rules: null,
  outcome: null,
};

test('the canonical serialization is length-prefixed in UTF-8 bytes and tells null, empty and absent apart', () => {
  const text = canonicalContent(content);
  assert.ok(text.startsWith('audit-v1S27:2026-11-25T08:00:00.123456ZS3:r-1NS3:mpi'), text);
  assert.ok(text.includes('S5:José'), 'é is two bytes');
  assert.ok(text.includes('A1:S9:clinician'));
  assert.ok(text.includes('A2:S17:Patient.birthDateS12:Patient.name'));
  assert.notEqual(canonicalContent({ ...content, policy_rules: [] }), text);
  assert.notEqual(canonicalContent({ ...content, fields: ['Patient.birthDateS12:Patient.name'] }), text);
  assert.notEqual(canonicalContent({ ...content, traceparent: '' }), text);
});

test('a row hash covers its predecessor and every hashed field', () => {
  const h = rowHash(GENESIS_HASH, content);
  assert.equal(h.length, 32);
  assert.notDeepEqual(rowHash(Buffer.alloc(32, 1), content), h);
  for (const [k, v] of Object.entries({
    recorded_at: '2026-11-25T08:00:00.123457Z',
    actor_sub: 'x',
    decision: 'deny',
    patient_ref: null,
    outcome: 'success',
  })) {
    assert.notDeepEqual(rowHash(GENESIS_HASH, { ...content, [k]: v }), h, k);
  }
  assert.equal(documentHash('{ a }'), createHash('sha256').update('{ a }').digest('hex'));
});
