// Through the gateway, an integration engineer lists what translation refused (filtered by source
// and reason, with FHIR OperationOutcome reasons, never the resource itself), corrects a concept
// map (a deployment's own map directory, CONCEPT_MAP_DIRS), re-processes, and sees the resource
// load and leave quarantine; the impact query then lists what it produced and whose record it
// touched. Clinicians are refused, security reads but does not re-process; every call is audited.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Stack } from '../../../runtime/stack.ts';
import { protectionFor } from '../../../runtime/components.ts';
import { ingestResources } from '../../../orchestration/clinical-store/ingest.ts';
import { loadTerminology } from '../../../translation/terminology/translate.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const SOURCE = 'epic-main';
const LAB = 'urn:test:e2e-lab-codes';
const maps = mkdtempSync(join(tmpdir(), 'e2e-maps-'));
const previousDirs = process.env.CONCEPT_MAP_DIRS;

/** The deployment's own map of one local lab code, to `loinc`, at `version`. */
const writeMap = (loinc: string, version: string) =>
  writeFileSync(
    join(maps, 'e2e-lab.json'),
    JSON.stringify({
      resourceType: 'ConceptMap',
      id: 'e2e-lab',
      url: 'urn:test:ConceptMap:e2e-lab',
      version,
      status: 'active',
      group: [
        { source: LAB, target: 'http://loinc.org', element: [{ code: 'LAB-7', target: [{ code: loinc, equivalence: 'equivalent' }] }] },
      ],
    }),
  );

let stack: Stack;
let integration: { token: string; sub: string };
let patientId: string;
let goldenId: string;
const obs = (id: string, patient: string | null, code: string, value: number, unit: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: LAB, code }] },
  ...(patient ? { subject: { reference: `Patient/${patient}` } } : {}),
  effectiveDateTime: '2026-11-30T08:00:00Z',
  valueQuantity: { value, unit },
});

before(async () => {
  // The map first says LAB-7 is a glucose (mg/dL): a value in % cannot be one, so it is refused.
  writeMap('2339-0', '1.0.0');
  process.env.CONCEPT_MAP_DIRS = ['config/concept-maps', maps].join(delimiter);
  stack = await startTestStack();
  integration = await tokenFor(stack, ['integration']);
  const linked = (
    await stack.db.query<{ source_patient_id: string; golden_id: string }>(
      'SELECT source_patient_id, golden_id::text FROM source_record WHERE source = $1 ORDER BY source_patient_id LIMIT 1',
      [SOURCE],
    )
  ).rows[0]!;
  patientId = linked.source_patient_id;
  goldenId = linked.golden_id;
  const connection = stack.connections.find((c) => c.id === SOURCE)!;
  const report = await ingestResources(
    stack.db,
    [obs('e2e-lab-7', patientId, 'LAB-7', 6.1, '%'), obs('e2e-lab-8', null, 'LAB-8', 1, 'mg/dL')],
    {
      source: SOURCE,
      timeZone: connection.timeZone,
      retrievedAt: new Date().toISOString(),
      terminology: loadTerminology(),
      messageId: 'E2E-MSG-1',
    },
    protectionFor(stack.keys),
  );
  assert.deepEqual(report.quarantined.map((q) => q.resourceId).sort(), ['e2e-lab-7', 'e2e-lab-8']);
});
after(async () => {
  await stack?.close();
  if (previousDirs === undefined) delete process.env.CONCEPT_MAP_DIRS;
  else process.env.CONCEPT_MAP_DIRS = previousDirs;
  rmSync(maps, { recursive: true, force: true });
});

type Entry = {
  id: string;
  source: string;
  resourceType: string;
  resourceId: string;
  attempts: number;
  receivedAt: string;
  outcome: { issues: { severity: string; code: string; diagnostics: string; expression: string[] }[] };
};
const ENTRY = 'id source resourceType resourceId attempts receivedAt outcome { issues { severity code diagnostics expression } }';
const LIST = `query ($source: String, $reason: String) { quarantine(source: $source, reason: $reason, first: 50) { edges { node { ${ENTRY} } } pageInfo { hasNextPage } } }`;

async function list(token: string, variables: Record<string, unknown>): Promise<Entry[]> {
  const res = await gql<{ quarantine: { edges: { node: Entry }[] } }>(stack, token, LIST, variables);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  return res.body.data!.quarantine.edges.map((e) => e.node);
}

const auditRows = async (sub: string) =>
  (
    await stack.db.query<{ patient_ref: string | null; fields: string[]; decision: string; subgraph: string }>(
      'SELECT patient_ref, fields, decision, subgraph FROM audit_event WHERE actor_sub = $1 ORDER BY seq',
      [sub],
    )
  ).rows;

test('an integration engineer lists quarantine filtered by source and reason, with OperationOutcome reasons and no payload', async () => {
  const byReason = await list(integration.token, { source: SOURCE, reason: 'preferred unit' });
  assert.deepEqual(
    byReason.map((e) => [e.source, e.resourceType, e.resourceId, e.attempts]),
    [[SOURCE, 'Observation', 'e2e-lab-7', 1]],
  );
  const issue = byReason[0]!.outcome.issues.find((i) => i.severity === 'error')!;
  assert.deepEqual(issue.expression, ['Observation.valueQuantity.unit']);
  assert.match(issue.diagnostics, /cannot be converted to the preferred unit/);

  const bySource = await list(integration.token, { source: SOURCE });
  assert.ok(bySource.some((e) => e.resourceId === 'e2e-lab-8'));
  assert.deepEqual(await list(integration.token, { source: 'cerner-main', reason: 'preferred unit' }), []);
  // Nothing the source sent is shown: not the value, not the patient.
  const text = JSON.stringify(bySource);
  assert.ok(!text.includes('6.1') && !text.includes(patientId), 'no payload in the listing');

  const rows = await auditRows(integration.sub);
  assert.ok(rows.every((r) => r.subgraph === 'integration' && r.decision === 'permit'));
  assert.ok(rows.some((r) => r.patient_ref === 'Quarantine' && r.fields.includes('Query.quarantine')));
  assert.ok(rows.some((r) => r.patient_ref === 'Quarantine' && r.fields.includes('QuarantineConnection.edges')));
  assert.ok(rows.some((r) => r.patient_ref === `SourceRecord/${SOURCE}:${patientId}` && r.fields.includes('QuarantinedResource.outcome')));
});

test('a clinician is refused (and the refusal audited); security reads but may not re-process', async () => {
  const clinician = await tokenFor(stack, ['clinician']);
  const res = await gql(stack, clinician.token, LIST, { source: SOURCE });
  assert.equal(res.body.data, null);
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.deepEqual(
    (await auditRows(clinician.sub)).map((r) => [r.decision, r.fields]),
    [['deny', ['Query.quarantine']]],
  );

  const security = await tokenFor(stack, ['security']);
  assert.ok((await list(security.token, { source: SOURCE })).length >= 2);
  const denied = await gql(stack, security.token, 'mutation { reprocessQuarantine(source: "epic-main", filter: {}) { reloaded } }');
  assert.equal(denied.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.equal((await list(integration.token, { source: SOURCE, reason: 'preferred unit' }))[0]!.attempts, 1, 'nothing was re-processed');
});

type Reprocessed = {
  reloaded: number;
  stillRefused: number;
  resources: { resourceId: string; status: string; outcome: Entry['outcome'] | null }[];
};
const REPROCESS = `mutation ($ids: [ID!], $filter: QuarantineFilter) {
  reprocessQuarantine(source: "epic-main", ids: $ids, filter: $filter) { reloaded stillRefused resources { resourceId status outcome { issues { severity diagnostics } } } }
}`;

test('after the concept map is corrected, re-processing loads the resource and it leaves quarantine; impact lists it and whose it is', async () => {
  const [entry] = await list(integration.token, { source: SOURCE, reason: 'preferred unit' });
  // Same configuration: still refused, one more attempt.
  const again = await gql<{ reprocessQuarantine: Reprocessed }>(stack, integration.token, REPROCESS, { ids: [entry!.id] });
  assert.equal(again.body.errors, undefined, JSON.stringify(again.body.errors));
  assert.deepEqual(
    again.body.data!.reprocessQuarantine.resources.map((r) => [r.resourceId, r.status]),
    [['e2e-lab-7', 'STILL_REFUSED']],
  );

  // The map is corrected: LAB-7 is an HbA1c, in %.
  writeMap('4548-4', '2.0.0');
  const res = await gql<{ reprocessQuarantine: Reprocessed }>(stack, integration.token, REPROCESS, { ids: [entry!.id] });
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.deepEqual(res.body.data!.reprocessQuarantine, {
    reloaded: 1,
    stillRefused: 0,
    resources: [{ resourceId: 'e2e-lab-7', status: 'RELOADED', outcome: null }],
  });
  assert.deepEqual(await list(integration.token, { source: SOURCE, reason: 'preferred unit' }), []);

  // A filter re-processes what it selects; the resource without a subject stays, with its reasons.
  const rest = await gql<{ reprocessQuarantine: Reprocessed }>(stack, integration.token, REPROCESS, {
    filter: { resourceType: 'Observation' },
  });
  const left = rest.body.data!.reprocessQuarantine;
  assert.equal(left.reloaded, 0);
  assert.ok(
    left.resources.some(
      (r) => r.resourceId === 'e2e-lab-8' && r.status === 'STILL_REFUSED' && r.outcome!.issues.some((i) => i.severity === 'error'),
    ),
  );

  const IMPACT = `query ($r: SourceResourceInput, $m: ConceptMapInput) {
    impact(resource: $r, conceptMap: $m) { items { source resourceType resourceId version goldenPatientId } goldenPatientIds goldenPatientIdsComplete pageInfo { hasNextPage } }
  }`;
  type Impact = {
    items: { resourceId: string; goldenPatientId: string | null }[];
    goldenPatientIds: string[];
    goldenPatientIdsComplete: boolean;
  };
  const byResource = await gql<{ impact: Impact }>(stack, integration.token, IMPACT, {
    r: { source: SOURCE, type: 'Observation', id: 'e2e-lab-7' },
  });
  assert.equal(byResource.body.errors, undefined, JSON.stringify(byResource.body.errors));
  assert.deepEqual(
    byResource.body.data!.impact.items.map((i) => [i.resourceId, i.goldenPatientId]),
    [['e2e-lab-7', goldenId]],
  );
  assert.deepEqual(byResource.body.data!.impact.goldenPatientIds, [goldenId]);
  const byMap = await gql<{ impact: Impact }>(stack, integration.token, IMPACT, { m: { id: 'e2e-lab', version: '2.0.0' } });
  assert.deepEqual(
    byMap.body.data!.impact.items.map((i) => i.resourceId),
    ['e2e-lab-7'],
  );
  const oldMap = await gql<{ impact: Impact }>(stack, integration.token, IMPACT, { m: { id: 'e2e-lab', version: '1.0.0' } });
  assert.deepEqual(oldMap.body.data!.impact.items, []);
  const both = await gql(stack, integration.token, IMPACT, {
    r: { source: SOURCE, type: 'Observation', id: 'x' },
    m: { id: 'e2e-lab', version: '2.0.0' },
  });
  assert.equal(both.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');

  const rows = await auditRows(integration.sub);
  const reprocessRows = rows.filter((r) => r.fields.some((f) => f.startsWith('ReprocessResult.') || f.startsWith('ReprocessedResource.')));
  assert.ok(reprocessRows.some((r) => r.patient_ref === 'Quarantine' && r.fields.includes('Mutation.reprocessQuarantine')));
  // The re-processed resource's patient, as a write (FHIR AuditEvent kind from Mutation.*).
  assert.ok(
    reprocessRows.some((r) => r.patient_ref === `SourceRecord/${SOURCE}:${patientId}` && r.fields.includes('Mutation.reprocessQuarantine')),
  );
  assert.ok(rows.some((r) => r.patient_ref === 'Lineage' && r.fields.includes('Impact.items')));
  assert.ok(
    rows.some(
      (r) =>
        r.patient_ref === `Patient/${goldenId}` &&
        ['Query.impact', 'DerivedItem.goldenPatientId', 'Impact.goldenPatientIds'].every((f) => r.fields.includes(f)),
    ),
  );
});
