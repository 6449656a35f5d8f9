// Identifiers per connection, end to end: two Epic hospitals (the README's "adding a hospital"
// example) each hand out their own MRNs, and both gave E7000001 to a different person. Their
// records arrive over FHIR (SMART Backend Services), are translated and linked as the initial load
// does, and are looked up through the gateway by each hospital's own system. An identifier that
// names two golden patients (an SSN two people share) is never answered with one of them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAdapters, loadConnections, validateConnection, type ConnectionConfig } from '../../../platform/config.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../../platform/keys.ts';
import { openConnections } from '../../../protocol/connections.ts';
import { loadPatients } from '../../../runtime/components.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { CLINICAL_TYPES, EPIC, startFhirSimulator, type FhirSimulator, type SiteData } from '../../../simulators/index.ts';
import type { FhirPatient } from '../../../simulators/fhir-types.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const SSN = 'http://hl7.org/fhir/sid/us-ssn';
const SHARED_MRN = 'E7000001';
// One SSN on two registrations of different people (a typo at one hospital): SSN agreement alone never links.
const SHARED_SSN = '900-55-6666';

// Invented people, shaped as the Epic simulator shapes patients (MRN in Epic's OID, typed by text).
const epicPatient = (p: {
  id: string;
  mrn: string;
  family: string;
  given: string;
  birthDate: string;
  gender: 'male' | 'female';
  ssn: string;
}) =>
  ({
    resourceType: 'Patient',
    id: p.id,
    meta: { lastUpdated: '2026-01-05T10:00:00Z' },
    identifier: [
      { use: 'usual', type: { text: EPIC.mrnTypeText }, system: EPIC.mrnSystem, value: p.mrn },
      { use: 'usual', type: { text: 'EPI' }, system: EPIC.epiSystem, value: `Z${p.mrn.slice(1)}` },
      { use: 'usual', system: SSN, value: p.ssn },
    ],
    name: [{ use: 'official', family: p.family, given: [p.given] }],
    gender: p.gender,
    birthDate: p.birthDate,
    address: [{ use: 'home', line: [`${p.mrn.slice(-2)} ${p.family} Lane`], city: 'Marlow', state: 'IL', postalCode: '62901' }],
  }) as unknown as FhirPatient;

const HOSPITALS = {
  'epic-east': [
    epicPatient({
      id: 'east-1',
      mrn: SHARED_MRN,
      family: 'Brennigan',
      given: 'Odalys',
      birthDate: '1958-03-14',
      gender: 'female',
      ssn: '900-11-2222',
    }),
    epicPatient({
      id: 'east-2',
      mrn: 'E7000002',
      family: 'Ventrecka',
      given: 'Marisol',
      birthDate: '1972-01-09',
      gender: 'female',
      ssn: SHARED_SSN,
    }),
  ],
  'epic-west': [
    epicPatient({
      id: 'west-1',
      mrn: SHARED_MRN,
      family: 'Quillfeather',
      given: 'Tobias',
      birthDate: '1990-07-02',
      gender: 'male',
      ssn: '900-33-4444',
    }),
    epicPatient({
      id: 'west-2',
      mrn: 'E7000005',
      family: 'Drumholt',
      given: 'Ezekiel',
      birthDate: '1949-11-30',
      gender: 'male',
      ssn: SHARED_SSN,
    }),
  ],
} as const;

let stack: Stack;
let clinician: string;
const hospitals: FhirSimulator[] = [];
const connections: ConnectionConfig[] = [];

before(async () => {
  stack = await startTestStack();
  clinician = (await tokenFor(stack, ['clinician'])).token;
  for (const [id, patients] of Object.entries(HOSPITALS)) {
    const clientId = `patient-gateway-${id}`;
    const { publicJwk } = await loadKeyPair(stack.keys, keyNames.smartClient(id), KEY_ALGORITHMS.smartClient);
    const data: SiteData = { vendor: 'epic', patients, resources: Object.fromEntries(CLINICAL_TYPES.map((t) => [t, []])) as never };
    const sim = await startFhirSimulator({ siteId: id, vendor: 'epic', data, clients: [{ clientId, publicJwk }] });
    hospitals.push(sim);
    // As the README's example: no identifierSystems, so each gets systems derived from its id.
    connections.push(
      validateConnection({
        id,
        adapter: 'epic',
        baseUrl: sim.url,
        clientId,
        scope: 'system/Patient.rs',
        timeZone: 'America/Chicago',
        timeoutMs: 5000,
      }),
    );
  }
  const reports = await loadPatients(stack.db, stack.keys, loadAdapters(), connections, await openConnections(connections, stack.keys));
  for (const r of reports) assert.deepEqual([r.linked, r.quarantined, r.failed], [2, 0, undefined], JSON.stringify(r));
});
after(async () => {
  for (const h of hospitals) await h.close();
  await stack?.close();
});

type Found = {
  id: string;
  name: { family: string } | null;
  identifiers: { system: string; value: string; type: string | null; source: string | null }[];
};
const FIELDS = 'id name { family } identifiers { system value type source }';
type Answer = { one: Found | null; all: Found[] };

async function lookup(system: string, value: string, token = clinician) {
  return gql<Answer>(
    stack,
    token,
    `query ($s: String!, $v: String!) { one: patientByIdentifier(system: $s, value: $v) { ${FIELDS} } all: patientsByIdentifier(system: $s, value: $v) { ${FIELDS} } }`,
    { s: system, v: value },
  );
}

test('two Epic hospitals gave one MRN to two people: two golden patients, each found under its hospital’s system', async () => {
  const east = await lookup('urn:patient-gateway:connection:epic-east:mr', SHARED_MRN);
  const west = await lookup('urn:patient-gateway:connection:epic-west:mr', SHARED_MRN);
  assert.equal(east.body.errors, undefined, JSON.stringify(east.body.errors));
  assert.equal(west.body.errors, undefined, JSON.stringify(west.body.errors));
  assert.equal(east.body.data?.one?.name?.family, 'Brennigan');
  assert.equal(west.body.data?.one?.name?.family, 'Quillfeather');
  assert.notEqual(east.body.data?.one?.id, west.body.data?.one?.id);
  assert.deepEqual(
    east.body.data?.all.map((p) => p.id),
    [east.body.data?.one?.id],
  );
  // The API shows the identifier under the system a client queries with, and the connection that assigned it.
  assert.deepEqual(
    east.body.data?.one?.identifiers.filter((i) => i.type !== 'SS'),
    [
      { system: 'urn:patient-gateway:connection:epic-east:mr', value: SHARED_MRN, type: 'MR', source: 'epic-east' },
      { system: 'urn:patient-gateway:connection:epic-east:pi', value: 'Z7000001', type: 'PI', source: 'epic-east' },
    ],
  );
  // Epic's OID is a vendor's, not a hospital's: these hospitals' MRNs are not under it.
  const vendorWide = await lookup(EPIC.mrnSystem, SHARED_MRN);
  assert.deepEqual(vendorWide.body, { data: { one: null, all: [] } });
});

test('the shipped simulator connection answers under the system it always had (README examples)', async () => {
  const row = stack.population!.truth.find((t) => t.siteId === 'epic-main')!;
  const res = await lookup(EPIC.mrnSystem, row.mrn);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.ok(res.body.data?.one?.identifiers.some((i) => i.system === EPIC.mrnSystem && i.value === row.mrn && i.source === 'epic-main'));
  assert.equal(res.body.data?.all.length, 1);
});

test('an identifier naming two golden patients: AMBIGUOUS_IDENTIFIER, never one of them; the list field returns both', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const single = await gql<{ patientByIdentifier: Found | null }>(
    stack,
    token,
    `query ($s: String!, $v: String!) { patientByIdentifier(system: $s, value: $v) { ${FIELDS} } }`,
    { s: SSN, v: SHARED_SSN },
  );
  assert.equal(single.status, 200);
  assert.deepEqual(single.body.data, { patientByIdentifier: null });
  assert.equal(single.body.errors?.length, 1);
  const [error] = single.body.errors!;
  assert.deepEqual(error?.path, ['patientByIdentifier']);
  assert.deepEqual(error?.extensions, { code: 'AMBIGUOUS_IDENTIFIER', count: 2, serviceName: 'mpi' });
  assert.doesNotMatch(error!.message, /Ventrecka|Drumholt|[0-9a-f]{8}-[0-9a-f]{4}/i, 'the error names no one');
  // Nothing was disclosed, so no access row names a patient.
  const disclosed = async () =>
    (
      await stack.db.query<{ patient_ref: string; fields: string[] }>(
        "SELECT patient_ref, fields FROM audit_event WHERE actor_sub = $1 AND decision = 'permit' AND patient_ref IS NOT NULL ORDER BY seq",
        [sub],
      )
    ).rows;
  assert.deepEqual(await disclosed(), []);

  const list = await gql<{ patientsByIdentifier: Found[] }>(
    stack,
    token,
    `query ($s: String!, $v: String!) { patientsByIdentifier(system: $s, value: $v) { ${FIELDS} } }`,
    { s: SSN, v: SHARED_SSN },
  );
  assert.equal(list.body.errors, undefined, JSON.stringify(list.body.errors));
  const both = list.body.data!.patientsByIdentifier;
  assert.deepEqual(both.map((p) => p.name?.family).sort(), ['Drumholt', 'Ventrecka']);
  for (const p of both) assert.ok(p.identifiers.some((i) => i.system === SSN && i.value === SHARED_SSN));
  // Every patient returned is audited under the list field (with the fields read).
  const rows = await disclosed();
  assert.deepEqual([...new Set(rows.map((r) => r.patient_ref))].sort(), both.map((p) => `Patient/${p.id}`).sort());
  for (const r of rows) assert.ok(r.fields.includes('Query.patientsByIdentifier'), JSON.stringify(r));
});

test('an unknown system or value: null and an empty list, as before', async () => {
  const res = await lookup('urn:patient-gateway:connection:nowhere:mr', SHARED_MRN);
  assert.deepEqual(res.body, { data: { one: null, all: [] } });
  const none = await lookup('urn:patient-gateway:connection:epic-east:mr', 'E0000000');
  assert.deepEqual(none.body, { data: { one: null, all: [] } });
});

test('the list field is identity work, as patientByIdentifier: an analyst is refused both', async () => {
  const analyst = (await tokenFor(stack, ['analyst'])).token;
  const res = await lookup('urn:patient-gateway:connection:epic-east:mr', SHARED_MRN, analyst);
  assert.deepEqual(res.body.errors?.map((e) => [e.path?.join('.'), e.extensions?.code]).sort(), [
    ['all', 'FORBIDDEN'],
    ['one', 'FORBIDDEN'],
  ]);
});

test('two connections claiming one MRN system do not start', async () => {
  const shared = { MR: EPIC.mrnSystem };
  await assert.rejects(
    startTestStack({
      connections: [...loadConnections(), { ...connections[0]!, identifierSystems: shared }],
      skipInitialLoad: true,
    }),
    /epic-main\.identifierSystems\.MR and epic-east\.identifierSystems\.MR both name the identifier system/,
  );
});
