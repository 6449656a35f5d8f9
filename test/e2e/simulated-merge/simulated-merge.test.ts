// The simulated EHRs' own data, every clinical type, stored through the one translation path with
// each connection's profile, answers the merged clinical view through the gateway: for a person
// known at both EHRs, the outside glucose Epic filed in mg/dL and Oracle Health in mmol/L is one item
// with both provenances, in mg/dL; each type the simulators serve is on the chart. (Filling the store
// from the sources at start is orchestration's; here the test stores what the simulators serve.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { protectionFor } from '../../../runtime/components.ts';
import { loadAdapters, loadVendorProfile } from '../../../platform/config.ts';
import { ingestResources } from '../../../orchestration/clinical-store/ingest.ts';
import { loadTerminology, profileTerminology } from '../../../translation/terminology/translate.ts';
import { CLINICAL_TYPES } from '../../../simulators/index.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const EPIC = 'epic-main';
const CERNER = 'cerner-main';
const GLUCOSE = '2339-0';

let stack: Stack;
let clinician: string;
let goldenId: string;
let glucoseAt: string;

/** Every clinical resource a site serves for one of its patients. */
const chartOf = (site: string, patientId: string): unknown[] =>
  CLINICAL_TYPES.flatMap((t) =>
    (stack.population!.sites[site]!.resources[t] as readonly { subject: { reference?: string } }[]).filter(
      (r) => r.subject.reference === `Patient/${patientId}`,
    ),
  );

async function store(site: string, resources: unknown[]): Promise<void> {
  const connection = stack.connections.find((c) => c.id === site)!;
  const profile = loadVendorProfile(loadAdapters().find((a) => a.name === connection.adapter)!.profile);
  const report = await ingestResources(
    stack.db,
    resources,
    {
      source: site,
      timeZone: connection.timeZone,
      retrievedAt: new Date().toISOString(),
      terminology: profileTerminology(loadTerminology(), profile.conceptMaps),
      numbersAsStrings: profile.numbersAsStrings,
    },
    protectionFor(stack.keys),
  );
  assert.deepEqual(report.quarantined, [], `${site}: nothing the simulators serve is quarantined`);
}

before(async () => {
  stack = await startTestStack();
  clinician = (await tokenFor(stack, ['clinician'])).token;
  // A person at both EHRs, linked by the MPI into one golden patient, with an outside glucose filed at both.
  const linked = await stack.db.query<{ golden_id: string; epic: string; cerner: string }>(
    `SELECT golden_id::text,
            min(source_patient_id) FILTER (WHERE source = $1) AS epic,
            min(source_patient_id) FILTER (WHERE source = $2) AS cerner
     FROM source_record WHERE deleted_at IS NULL GROUP BY golden_id
     HAVING count(*) FILTER (WHERE source = $1) = 1 AND count(*) FILTER (WHERE source = $2) = 1`,
    [EPIC, CERNER],
  );
  const epicGlucose = (id: string) =>
    stack.population!.sites[EPIC]!.resources.Observation.find(
      (o) => o.subject.reference === `Patient/${id}` && !o.encounter && o.code.coding?.some((c) => c.code === GLUCOSE),
    );
  const row = linked.rows.find((r) => epicGlucose(r.epic));
  assert.ok(row, 'a golden patient linked to both EHRs with an outside glucose');
  goldenId = row.golden_id;
  glucoseAt = new Date(Date.parse(`${epicGlucose(row.epic)!.effectiveDateTime}`)).toISOString();
  await store(EPIC, chartOf(EPIC, row.epic));
  await store(CERNER, chartOf(CERNER, row.cerner));
});
after(() => stack?.close());

type Item = {
  resourceType: string;
  code: { system: string; code: string } | null;
  effective: { instant: string } | null;
  value: { value: number; unit: string; originalUnit: string } | null;
  provenance: { source: string }[];
};
const LIST = `edges { node { resourceType code { system code } effective { instant } value { value unit originalUnit } provenance { source } } }`;

test('the outside glucose filed in mg/dL and in mmol/L is one item with both provenances, in mg/dL', async () => {
  const res = await gql<{ patient: { observations: { edges: { node: Item }[] } } }>(
    stack,
    clinician,
    `query ($id: ID!) { patient(id: $id) { observations(code: "http://loinc.org|${GLUCOSE}", first: 100) { ${LIST} } } }`,
    { id: goldenId },
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const items = res.body.data!.patient.observations.edges.map((e) => e.node);
  const shared = items.filter((i) => i.effective?.instant === glucoseAt);
  assert.equal(shared.length, 1, JSON.stringify(shared));
  const item = shared[0]!;
  assert.deepEqual(item.provenance.map((p) => p.source).sort(), [CERNER, EPIC]);
  assert.equal(item.value?.unit, 'mg/dL');
  assert.ok(Number.isInteger(item.value!.value) || item.value!.originalUnit === 'mmol/L', JSON.stringify(item.value));
  // Every other glucose of the chart comes from one source (visit labs are each EHR's own).
  assert.ok(items.every((i) => i === item || i.provenance.length === 1));
});

test('every type the simulators serve is on the merged chart, each from both EHRs', async () => {
  const res = await gql<Record<string, Record<string, { edges: { node: Item }[] }>>>(
    stack,
    clinician,
    `query ($id: ID!) { patient(id: $id) {
      observations(first: 100) { ${LIST} } conditions(first: 100) { ${LIST} } medications(first: 100) { ${LIST} }
      carePlans(first: 100) { ${LIST} } diagnosticReports(first: 100) { ${LIST} } encounters(first: 100) { ${LIST} } } }`,
    { id: goldenId },
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const patient = res.body.data!.patient!;
  for (const list of ['observations', 'diagnosticReports', 'encounters']) {
    const sources = new Set(patient[list]!.edges.flatMap((e) => e.node.provenance.map((p) => p.source)));
    assert.deepEqual([...sources].sort(), [CERNER, EPIC], list);
  }
  // Observations carry their standard code whatever the vendor sent (a local code alone included).
  assert.ok(
    patient.observations!.edges.every((e) => e.node.code !== null),
    'every observation has a standard code',
  );
});

test("a care plan's goals and procedures and a report's results are on the chart, from the same source", async () => {
  const REF_LIST = `edges { node { fhir provenance { source resourceId } } }`;
  type Ref = { fhir: string; provenance: { source: string; resourceId: string }[] };
  // A patient whose Epic care plan names its goals (the initial load stored every chart).
  const withPlan = await stack.db.query<{ golden_id: string }>(
    `SELECT s.golden_id::text FROM clinical_item i
     JOIN source_record s ON s.source = i.source AND s.source_patient_id = i.subject_id AND s.deleted_at IS NULL
     WHERE i.source = $1 AND i.resource_type = 'CarePlan' AND i.resource ? 'goal' ORDER BY 1 LIMIT 1`,
    [EPIC],
  );
  assert.equal(withPlan.rows.length, 1, 'the initial load stored care plans with goals');
  const planPatient = withPlan.rows[0]!.golden_id;
  const res = await gql<Record<string, Record<string, { edges: { node: Ref }[] }>>>(
    stack,
    clinician,
    `query ($id: ID!) { patient(id: $id) {
      carePlans(first: 100) { ${REF_LIST} } goals(first: 100) { ${REF_LIST} } procedures(first: 100) { ${REF_LIST} }
      conditions(first: 100) { ${REF_LIST} } diagnosticReports(first: 100) { ${REF_LIST} } observations(first: 100) { ${REF_LIST} } } }`,
    { id: planPatient },
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const patient = res.body.data!.patient!;
  /** Every `Type/id` each source's items of these lists answer to. */
  const held = (lists: string[]) =>
    new Set(
      lists.flatMap((l) =>
        patient[l]!.edges.flatMap((e) =>
          e.node.provenance.map((p) => `${p.source}|${(JSON.parse(e.node.fhir) as { resourceType: string }).resourceType}/${p.resourceId}`),
        ),
      ),
    );
  const targets = held(['goals', 'procedures', 'conditions', 'observations']);
  const refsOf = (list: string, paths: (r: Record<string, unknown>) => unknown[]) =>
    patient[list]!.edges.flatMap((e) => {
      const source = e.node.provenance[0]!.source;
      return paths(JSON.parse(e.node.fhir) as Record<string, unknown>).flatMap((x) => {
        const ref = (x as { reference?: unknown } | undefined)?.reference;
        return typeof ref === 'string' ? [`${source}|${ref}`] : [];
      });
    });
  const planRefs = refsOf('carePlans', (p) => [
    ...((p.goal as unknown[]) ?? []),
    ...((p.addresses as unknown[]) ?? []),
    ...((p.activity as { reference?: unknown; outcomeReference?: unknown[] }[]) ?? []).flatMap((a) => [
      a.reference,
      ...(a.outcomeReference ?? []),
    ]),
  ]);
  const reportRefs = refsOf('diagnosticReports', (r) => (r.result as unknown[]) ?? []);
  assert.ok(
    planRefs.some((r) => r.includes('|Goal/')) && reportRefs.length > 0,
    'the simulated chart has plans with goals and reports with results',
  );
  for (const ref of [...planRefs, ...reportRefs]) assert.ok(targets.has(ref), `${ref} is on the chart`);
});
