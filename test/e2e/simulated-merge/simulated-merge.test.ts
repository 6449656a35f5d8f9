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
