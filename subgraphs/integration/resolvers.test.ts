// The integration subgraph's schema (policies and audit included) on a real database: malformed
// arguments are BAD_USER_INPUT before any work, a token bound to one patient cannot work across
// patients, ids from one source do not re-process another's, and re-processed resources are
// audited under their patients even when the client selects nothing of them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testPrincipal } from '../../orchestration/audit/test-helpers.ts';
import { openClinicalTestDb, observation, type ClinicalTestDb } from '../../orchestration/clinical-store/test-helpers.ts';
import { quarantine } from '../../translation/quarantine.ts';
import type { Principal } from '../../security/principal.ts';
import { adapters, connections, runIntegration } from './test-helpers.ts';

let t: ClinicalTestDb;
before(async () => {
  t = await openClinicalTestDb();
  const refused = (source: string, id: string) => ({
    source,
    resourceType: 'Observation',
    resourceId: id,
    issues: [{ severity: 'error' as const, path: 'Observation.subject', message: 'missing or unresolvable patient reference' }],
    payload: observation({ id, patient: `pat-${id}`, extra: { subject: undefined, focus: { reference: `Patient/pat-${id}` } } }),
  });
  await quarantine(t.db, [refused('src-a', 'a1'), refused('src-b', 'b1')], t.protection.sealPayload);
  // A subject the listing can name (the resource is refused for another reason).
  await quarantine(
    t.db,
    [{ ...refused('src-a', 'a2'), payload: observation({ id: 'a2', patient: 'pat-a2', extra: { status: 'nonsense' } }) }],
    t.protection.sealPayload,
  );
});
after(() => t.close());

const run = (document: string, principal: Principal, variables?: Record<string, unknown>) =>
  runIntegration({ db: t.db, protection: t.protection, connections, adapters }, document, principal, variables);

const engineer = testPrincipal({ sub: 'eng', roles: ['integration'], purposeOfUse: null });
const code = (r: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;

test('malformed arguments are BAD_USER_INPUT', async () => {
  const bad = [
    '{ quarantine(first: 100000) { pageInfo { hasNextPage } } }',
    '{ quarantine(after: "bm90LWEtY3Vyc29y") { pageInfo { hasNextPage } } }',
    '{ impact(first: 5) { goldenPatientIds } }',
    '{ impact(sourceMessage: "m", conceptMap: { id: "x", version: "1" }) { goldenPatientIds } }',
    '{ impact(conceptMap: { id: "no-such-map", version: "1" }) { goldenPatientIds } }',
    '{ impact(resource: { source: " ", type: "Observation", id: "1" }) { goldenPatientIds } }',
    'mutation { reprocessQuarantine(source: "src-a") { reloaded } }',
    'mutation { reprocessQuarantine(source: "src-a", ids: [], filter: {}) { reloaded } }',
    'mutation { reprocessQuarantine(source: "src-a", ids: ["garbage"]) { reloaded } }',
  ];
  for (const doc of bad) assert.equal(code((await run(doc, engineer)).result), 'BAD_USER_INPUT', doc);
  assert.equal(
    code((await run('mutation { reprocessQuarantine(source: "nowhere", filter: {}) { reloaded } }', engineer)).result),
    'NOT_FOUND',
  );
});

test('a token bound to one patient (SMART launch) is refused, even with the role', async () => {
  const bound = testPrincipal({ roles: ['integration'], purposeOfUse: null, patientContext: 'src-a:pat-a2' });
  const { result } = await run('{ quarantine { pageInfo { hasNextPage } } }', bound);
  assert.equal(code(result), 'FORBIDDEN');
});

test("ids of another source's entries are refused; re-processed resources are audited under their patients", async () => {
  const listed = await run('{ quarantine(first: 10) { edges { node { id source resourceId } } } }', engineer);
  assert.equal(listed.result.errors, undefined, JSON.stringify(listed.result.errors));
  const nodes = (
    listed.result.data as { quarantine: { edges: { node: { id: string; source: string; resourceId: string } }[] } }
  ).quarantine.edges.map((e) => e.node);
  assert.deepEqual(
    nodes.map((n) => `${n.source}/${n.resourceId}`),
    ['src-a/a1', 'src-a/a2', 'src-b/b1'],
  );
  // The listing names the patient of the entry whose subject is known; the one without names the quarantine.
  assert.deepEqual(
    listed.audit
      .accesses()
      .map((a) => a.patientRef)
      .sort(),
    ['Quarantine', 'SourceRecord/src-a:pat-a2'],
  );

  const b1 = nodes.find((n) => n.source === 'src-b')!.id;
  const cross = await run('mutation ($ids: [ID!]) { reprocessQuarantine(source: "src-a", ids: $ids) { reloaded } }', engineer, {
    ids: [b1],
  });
  assert.equal(code(cross.result), 'BAD_USER_INPUT');

  const a2 = nodes.find((n) => n.resourceId === 'a2')!.id;
  const done = await run('mutation ($ids: [ID!]) { reprocessQuarantine(source: "src-a", ids: $ids) { stillRefused } }', engineer, {
    ids: [a2],
  });
  assert.equal(done.result.errors, undefined, JSON.stringify(done.result.errors));
  assert.deepEqual(JSON.parse(JSON.stringify(done.result.data)), { reprocessQuarantine: { stillRefused: 1 } });
  const patientRow = done.audit.accesses().find((a) => a.patientRef === 'SourceRecord/src-a:pat-a2');
  assert.deepEqual(patientRow?.fields, ['Mutation.reprocessQuarantine']);
});
