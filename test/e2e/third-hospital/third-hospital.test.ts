// Integration engineers add a hospital by configuration: a third hospital, on a vendor the shipped
// configuration does not use (athenahealth), is added with an adapters file and a connections file
// only: no code. The stack starts a simulator serving athenahealth's rendering for it, composes
// the supergraph for the new adapter, loads its patients into the MPI, and its data is queried
// through the gateway: a golden patient with a source record from it, and its clinical data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, fhirConnections, loadAdapters, loadConnections, loadVendorProfile } from '../../../platform/config.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, startTestStack, tokenFor, type GraphQLResponse } from '../../support/stack.ts';

const HOSPITAL = 'athena-east';
const dir = mkdtempSync(join(tmpdir(), 'pgw-third-hospital-'));
const shipped = (name: string) => JSON.parse(readFileSync(join(PROJECT_ROOT, 'config', name), 'utf8')) as Record<string, unknown[]>;
const profile = loadVendorProfile('athenahealth');
const [mrnSystem, enterpriseSystem] = Object.keys(profile.keptIdentifierSystems);

// The whole change: one adapter entry and one connection entry, in files.
writeFileSync(
  join(dir, 'adapters.json'),
  JSON.stringify({
    adapters: [...shipped('adapters.json').adapters!, { name: 'athena', recordType: 'AthenaRecord', profile: 'athenahealth' }],
  }),
);
writeFileSync(
  join(dir, 'connections.json'),
  JSON.stringify({
    connections: [
      ...shipped('connections.json').connections!,
      {
        id: HOSPITAL,
        adapter: 'athena',
        name: 'Simulated athenahealth practice',
        baseUrl: 'http://127.0.0.1:4103/fhir/r4',
        clientId: 'patient-gateway-athena-east',
        scope: 'system/Patient.rs system/Observation.rs system/Condition.rs system/MedicationRequest.rs',
        // No timeZone: the athenahealth profile's (America/New_York) applies.
        identifierSystems: { MR: mrnSystem, PI: enterpriseSystem },
        timeoutMs: 5000,
      },
    ],
  }),
);

type SourceRecord = {
  __typename: string;
  source: string;
  mrn: string | null;
  observations:
    | { code: { coding: { system: string | null; code: string | null }[] }; effective: string | null; provenance: { source: string } }[]
    | null;
  conditions: { code: { coding: { system: string | null }[] } }[] | null;
  medications: { id: string }[] | null;
};
type Node = { id: string; identifiers: { system: string; value: string }[]; sourceRecords: SourceRecord[] };

let stack: Stack;
let clinician: string;
before(async () => {
  const adapters = loadAdapters(dir);
  const connections = loadConnections(join(dir, 'connections.json'), {});
  stack = await startTestStack({ adapters, connections });
  clinician = (await tokenFor(stack, ['clinician'])).token;
});
after(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const RECORDS = `sourceRecords { __typename source mrn
  observations { code { coding { system code } } effective provenance { source } }
  conditions { code { coding { system } } }
  medications { id } }`;

async function allPatients(): Promise<Node[]> {
  const nodes: Node[] = [];
  let cursor: string | null = null;
  do {
    type Page = { patients: { pageInfo: { endCursor: string | null; hasNextPage: boolean }; edges: { node: Node }[] } };
    const res: GraphQLResponse<Page> = await gql<Page>(
      stack,
      clinician,
      `query ($after: String) { patients(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { id identifiers { system value } ${RECORDS} } } } }`,
      { after: cursor },
    );
    const page = res.body.data!.patients;
    nodes.push(...page.edges.map((e) => e.node));
    cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (cursor);
  return nodes;
}

test('the connection takes its time zone from the vendor profile, and the stack serves its simulator', () => {
  const c = fhirConnections(stack.connections).find((x) => x.id === HOSPITAL)!;
  assert.equal(c.timeZone, 'America/New_York');
  assert.match(c.baseUrl, /\/fhir\/r4$/);
  assert.ok(
    stack.loadReports.some((r) => JSON.stringify(r).includes(HOSPITAL)),
    'its patients were loaded',
  );
});

test("a golden patient has a source record from the third hospital, with that hospital's clinical data", async () => {
  const nodes = await allPatients();
  const athena = nodes.filter((n) => n.sourceRecords.some((r) => r.source === HOSPITAL));
  const truth = stack.population!.truth.filter((t) => t.siteId === HOSPITAL);
  assert.ok(athena.length > truth.length * 0.8, `${athena.length} golden patients with an ${HOSPITAL} record, of ${truth.length} records`);
  const shared = athena.find(
    (n) =>
      new Set(n.sourceRecords.map((r) => r.source)).size >= 2 &&
      n.sourceRecords.every((r) => (r.observations?.length ?? 0) > 0 && r.conditions !== null),
  );
  assert.ok(shared, 'a person known at the third hospital and another one, linked into one golden patient');
  const record = shared.sourceRecords.find((r) => r.source === HOSPITAL)!;
  assert.equal(record.__typename, 'AthenaRecord');
  assert.ok(
    truth.some((t) => t.mrn === record.mrn),
    "the record's MRN is the practice's chart number",
  );
  assert.ok(
    shared.identifiers.some((i) => i.system === mrnSystem && i.value === record.mrn),
    'the chart number is on the golden record',
  );
  assert.ok(record.observations!.some((o) => o.code.coding.some((c) => c.system === 'http://loinc.org')));
  for (const o of record.observations!) {
    assert.equal(o.provenance.source, HOSPITAL);
    // A code the practice's map translates: standard code first, the practice code after it. One it
    // does not (the pain-scale key) is kept as sent and flagged, never dropped (the clinical store).
    if (o.code.coding.some((c) => c.system === 'http://loinc.org'))
      assert.equal(o.code.coding[0]?.system, 'http://loinc.org', 'standard code first, the practice code after it');
    else
      assert.ok(
        o.code.coding.every((c) => c.system?.startsWith('urn:oid:2.16.840.1.113883.3.564.')),
        'only the practice code',
      );
    // athenahealth sends wall-clock times without an offset: read in the profile's zone, as instants.
    if (o.effective) assert.match(o.effective, /Z$|[+-]\d{2}:\d{2}$/);
  }
  const other = shared.sourceRecords.find((r) => r.source !== HOSPITAL)!;
  assert.ok(
    other.observations!.every((o) => o.provenance.source === other.source),
    'each source keeps its own data',
  );
});

test('patientByIdentifier finds the golden patient by the practice chart number', async () => {
  const row = stack.population!.truth.find((t) => t.siteId === HOSPITAL)!;
  const res = await gql<{ patientByIdentifier: { sourceRecords: { source: string; mrn: string | null }[] } | null }>(
    stack,
    clinician,
    'query ($s: String!, $v: String!) { patientByIdentifier(system: $s, value: $v) { sourceRecords { source mrn } } }',
    { s: mrnSystem!, v: row.mrn },
  );
  assert.ok(
    res.body.data?.patientByIdentifier?.sourceRecords.some((r) => r.source === HOSPITAL && r.mrn === row.mrn),
    JSON.stringify(res.body),
  );
});
