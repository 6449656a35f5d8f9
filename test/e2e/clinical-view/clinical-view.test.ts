// The merged clinical view through the gateway: a golden patient linked to both simulated EHRs, with
// items of each in the canonical clinical store, answers `patient(id) { observations { ... } }` with
// one list across both sources: a fact both state once with two provenances, units normalized,
// paged and filtered; denied without the policy, audited, and silent about patients one may not see.
// The store is filled here through ingestResources, with resources shaped as each vendor sends them
// (Epic: local codes, local times without an offset; Cerner: LOINC, numbers as strings, mmol/L).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Stack } from '../../../runtime/stack.ts';
import { protectionFor } from '../../../runtime/components.ts';
import { loadAdapters, loadVendorProfile } from '../../../platform/config.ts';
import { ingestResources } from '../../../orchestration/clinical-store/ingest.ts';
import { loadTerminology } from '../../../translation/terminology/translate.ts';
import { gql, post, startTestStack, tokenFor } from '../../support/stack.ts';

const EPIC = 'epic-main';
const CERNER = 'cerner-main';
const EPIC_GLUCOSE = { system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: '1510010' };
const LOINC_GLUCOSE = { system: 'http://loinc.org', code: '2339-0' };
// A day the synthetic population does not use, so items the initial load may store never interfere.
const DAY = { from: '2001-02-03T00:00:00Z', to: '2001-02-04T00:00:00Z' };

let stack: Stack;
let goldenId: string;
let otherId: string;
let clinician: string;
let clinicianSub: string;

const obs = (id: string, patient: string, coding: object, at: string, value: number | string, unit: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [coding] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: at,
  valueQuantity: { value, unit },
});

async function ingest(source: string, resources: unknown[]) {
  const connection = stack.connections.find((c) => c.id === source)!;
  const profile = loadAdapters().find((a) => a.name === connection.adapter)!.profile;
  const report = await ingestResources(
    stack.db,
    resources,
    {
      source,
      timeZone: connection.timeZone,
      retrievedAt: new Date().toISOString(),
      terminology: loadTerminology(),
      numbersAsStrings: loadVendorProfile(profile).numbersAsStrings,
    },
    protectionFor(stack.keys),
  );
  assert.deepEqual(report.quarantined, [], JSON.stringify(report.quarantined));
}

before(async () => {
  stack = await startTestStack();
  ({ token: clinician, sub: clinicianSub } = await tokenFor(stack, ['clinician']));
  // A golden patient the MPI linked to a record of each EHR, and another one with a single record.
  const linked = await stack.db.query<{ golden_id: string; records: { source: string; id: string }[] }>(
    `SELECT golden_id::text, jsonb_agg(jsonb_build_object('source', source, 'id', source_patient_id) ORDER BY source) AS records
     FROM source_record WHERE deleted_at IS NULL GROUP BY golden_id
     HAVING count(DISTINCT source) = 2 AND count(*) = 2 ORDER BY golden_id LIMIT 1`,
  );
  const single = await stack.db.query<{ golden_id: string; id: string }>(
    `SELECT golden_id::text, min(source_patient_id) AS id FROM source_record WHERE deleted_at IS NULL
     GROUP BY golden_id HAVING count(*) = 1 AND min(source) = $1 ORDER BY golden_id LIMIT 1`,
    [EPIC],
  );
  const records = linked.rows[0]!.records;
  goldenId = linked.rows[0]!.golden_id;
  otherId = single.rows[0]!.golden_id;
  const epicId = records.find((r) => r.source === EPIC)!.id;
  const cernerId = records.find((r) => r.source === CERNER)!.id;
  const ids = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
  await ingest(EPIC, [
    // 08:00 in Chicago = 14:00Z: the glucose Cerner also sent, under Epic's local code.
    obs(ids('e-glu'), epicId, EPIC_GLUCOSE, '2001-02-03T08:00:00', 100, 'mg/dL'),
    obs(ids('e-glu'), epicId, EPIC_GLUCOSE, '2001-02-03T04:00:00', 110, 'mg/dL'),
  ]);
  await ingest(CERNER, [
    // The same fact as Epic's first (LOINC, a number as a string, UTC) and a glucose in mmol/L.
    obs(ids('c-glu'), cernerId, LOINC_GLUCOSE, '2001-02-03T14:00:00Z', '100', 'mg/dL'),
    obs(ids('c-glu'), cernerId, LOINC_GLUCOSE, '2001-02-03T12:00:00Z', '5.5', 'mmol/L'),
  ]);
  await ingest(EPIC, [obs(ids('o-glu'), single.rows[0]!.id, EPIC_GLUCOSE, '2001-02-03T02:00:00', 90, 'mg/dL')]);
});
after(() => stack?.close());

type Item = {
  id: string;
  code: { system: string; code: string } | null;
  originalCodings: { system: string; code: string }[];
  effective: { instant: string; precision: string };
  value: { value: number; unit: string; originalValue: string; originalUnit: string };
  provenance: { source: string; resourceId: string; retrievedAt: string; transformations: { kind: string }[] }[];
};
type Page = { edges: { cursor: string; node: Item }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
type Answer = { patient: { id: string; observations: Page | null } | null };

const OBSERVATIONS = `query Chart($id: ID!, $first: Int, $after: String, $code: String, $from: String, $to: String) {
  patient(id: $id) { id observations(first: $first, after: $after, code: $code, from: $from, to: $to) {
    edges { cursor node { id code { system code } originalCodings { system code } effective { instant precision }
      value { value unit originalValue originalUnit }
      provenance { source resourceType resourceId version retrievedAt messageId softwareVersion transformations { kind mapId from to } } } }
    pageInfo { hasNextPage endCursor } } } }`;

const chart = (variables: Record<string, unknown>, token = clinician) =>
  gql<Answer>(stack, token, OBSERVATIONS, { id: goldenId, ...DAY, ...variables });

test('a clinician gets one list across both EHRs: the shared fact once with both provenances, units normalized', async () => {
  const res = await chart({});
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const items = res.body.data!.patient!.observations!.edges.map((e) => e.node);
  assert.deepEqual(
    items.map((i) => [i.effective.instant, i.provenance.map((p) => p.source)]),
    [
      ['2001-02-03T14:00:00.000Z', [CERNER, EPIC]],
      ['2001-02-03T12:00:00.000Z', [CERNER]],
      ['2001-02-03T10:00:00.000Z', [EPIC]],
    ],
  );
  for (const i of items) {
    assert.deepEqual(i.code, LOINC_GLUCOSE);
    assert.equal(i.value.unit, 'mg/dL');
    for (const p of i.provenance) assert.ok(Date.parse(p.retrievedAt) > Date.now() - 10 * 60_000, 'retrievedAt says how fresh');
  }
  const [shared, mmol] = items;
  assert.equal(shared!.value.value, 100);
  assert.ok(Math.abs(mmol!.value.value - 99.09) < 0.01, String(mmol!.value.value));
  assert.deepEqual([mmol!.value.originalValue, mmol!.value.originalUnit], ['5.5', 'mmol/L']);
  assert.ok(mmol!.provenance[0]!.transformations.some((t) => t.kind === 'unit-conversion'));
  // Epic's statement of the shared fact: its local code mapped to LOINC, its local time read in Chicago.
  const epic = shared!.provenance.find((p) => p.source === EPIC)!;
  assert.deepEqual(epic.transformations.map((t) => t.kind).sort(), ['concept-map', 'time-zone']);
  // A list newer than the window holds none of these items (the window is what selects them).
  const before2001 = await chart({ from: '2000-01-01', to: DAY.from });
  assert.ok(!before2001.body.data!.patient!.observations!.edges.some((e) => e.node.effective.instant.startsWith('2001-02-03')));
});

test('pages with first/after, and the code filter matches the vendor code as sent', async () => {
  const seen: string[] = [];
  let after: string | null = null;
  for (let n = 0; n < 5; n++) {
    const res: Awaited<ReturnType<typeof chart>> = await chart({ first: 2, ...(after ? { after } : {}) });
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    const page = res.body.data!.patient!.observations!;
    assert.ok(page.edges.length <= 2);
    seen.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  assert.equal(seen.length, 3);
  assert.equal(new Set(seen).size, 3);
  const epicCode = await chart({ code: `${EPIC_GLUCOSE.system}|${EPIC_GLUCOSE.code}` });
  assert.deepEqual(
    epicCode.body.data!.patient!.observations!.edges.map((e) => e.node.provenance.map((p) => p.source)),
    [[EPIC], [EPIC]],
    'only the items that carry the vendor code (before merging)',
  );
  for (const e of epicCode.body.data!.patient!.observations!.edges) assert.deepEqual(e.node.originalCodings, [EPIC_GLUCOSE]);
  const morning = await chart({ from: '2001-02-03T11:00:00Z', to: '2001-02-03T14:00:00Z' });
  assert.deepEqual(
    morning.body.data!.patient!.observations!.edges.map((e) => e.node.effective.instant),
    ['2001-02-03T12:00:00.000Z'],
  );
  const bad = await chart({ code: 'glucose' });
  assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
});

test('a role without the policy gets FORBIDDEN for the list; the clinician read is audited', async () => {
  const { token: steward } = await tokenFor(stack, ['steward']);
  const denied = await chart({}, steward);
  assert.deepEqual(denied.body.data, { patient: { id: goldenId, observations: null } });
  assert.deepEqual(
    denied.body.errors?.map((e) => [e.extensions?.code, e.path?.join('.')]),
    [['FORBIDDEN', 'patient.observations']],
  );
  const { token: analyst } = await tokenFor(stack, ['analyst']);
  const cohort = await gql<{ patients: { edges: { node: { observations: unknown } }[] } }>(
    stack,
    analyst,
    '{ patients(first: 2) { edges { node { id observations { edges { node { id } } } } } } }',
  );
  assert.ok(cohort.body.errors?.length && cohort.body.errors.every((e) => e.extensions?.code === 'FORBIDDEN'), JSON.stringify(cohort.body));
  assert.ok(!cohort.body.data || cohort.body.data.patients.edges.every((e) => e.node.observations === null));

  const rows = await stack.db.query<{ subgraph: string; patient_ref: string; fields: string[]; decision: string }>(
    'SELECT subgraph, patient_ref, fields, decision FROM audit_event WHERE actor_sub = $1 ORDER BY seq',
    [clinicianSub],
  );
  const clinical = rows.rows.filter((r) => r.subgraph === 'clinical');
  assert.ok(clinical.length > 0, 'the clinical subgraph wrote audit rows');
  for (const r of clinical) {
    assert.equal(r.patient_ref, `Patient/${goldenId}`);
    assert.equal(r.decision, 'permit');
    // A list refused for its arguments (BAD_USER_INPUT) returned nothing, but the lookup is still recorded.
    assert.ok(r.fields.includes('Patient.observations') || r.fields.join() === 'Query._entities', r.fields.join());
  }
  assert.ok(clinical.filter((r) => r.fields.includes('Patient.observations')).length >= 5);
});

test('nothing about a patient one may not see: unknown ids, other launches, and __typename-only queries', async () => {
  const unknown = await gql<Answer>(stack, clinician, OBSERVATIONS, { id: randomUUID() });
  assert.deepEqual(unknown.body, { data: { patient: null } });
  const typename = await gql(stack, clinician, 'query($id: ID!) { patient(id: $id) { __typename } }', { id: randomUUID() });
  assert.deepEqual(typename.body, { data: { patient: null } });
  // A SMART launch bound to another patient sees neither the patient nor its clinical data.
  const { token: launched } = await tokenFor(stack, ['clinician'], 'TREAT', undefined, { scope: 'patient/*.rs', patient: otherId });
  const foreign = await chart({}, launched);
  assert.deepEqual(foreign.body.data, { patient: null });
  const own = await gql<Answer>(stack, launched, OBSERVATIONS, { id: otherId, ...DAY });
  assert.equal(own.body.data!.patient!.observations!.edges.length, 1);
  // The subgraph itself answers only the gateway: not even __typename of an entity without its identity.
  const direct = await post(stack.subgraphs.clinical!.url, {
    query: 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
    variables: { r: [{ __typename: 'Patient', id: goldenId }] },
  });
  assert.equal(direct.status, 401);
  assert.equal(JSON.stringify(direct.body).includes(goldenId), false);
});

test('after a steward merges a patient into another, the merged id answers with both lists merged', async () => {
  const { token: steward } = await tokenFor(stack, ['steward']);
  const merge = await gql(
    stack,
    steward,
    'mutation($s: ID!, $m: ID!) { mergePatients(survivorId: $s, mergedId: $m, reason: "same person (test)") { changed } }',
    { s: goldenId, m: otherId },
  );
  assert.equal(merge.body.errors, undefined, JSON.stringify(merge.body.errors));
  const res = await gql<Answer>(stack, clinician, OBSERVATIONS, { id: otherId, ...DAY });
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.equal(res.body.data!.patient!.id, goldenId);
  assert.equal(res.body.data!.patient!.observations!.edges.length, 4, 'the survivor now holds the merged record');
});
