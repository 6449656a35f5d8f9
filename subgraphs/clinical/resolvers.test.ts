// The clinical subgraph on a real database (policies and audit collection included): merged items
// from the store, merge redirects followed, object-level checks in entity lookups, arguments
// checked, and a bounded number of statements per request whatever the number of patients.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execute, parse } from 'graphql';
import type { Queryable } from '../../platform/db.ts';
import type { Principal } from '../../security/principal.ts';
import { auditCollector, type AuditCollector } from '../../orchestration/audit/collector.ts';
import { testPrincipal } from '../../orchestration/audit/test-helpers.ts';
import { ingestResources } from '../../orchestration/clinical-store/ingest.ts';
import {
  CERNER,
  context,
  EPIC,
  EPIC_GLUCOSE,
  golden,
  observation,
  openClinicalTestDb,
  type ClinicalTestDb,
} from '../../orchestration/clinical-store/test-helpers.ts';
import { buildSubgraph } from '../shared/subgraph-server.ts';
import { clinicalSubgraph } from './subgraph.ts';

let t: ClinicalTestDb;
let patient: string;
let merged: string;
const others: string[] = [];
const sent: string[] = [];
const recording: Queryable = {
  query: (text, params) => {
    sent.push(text);
    return t.db.query(text, params);
  },
};

before(async () => {
  t = await openClinicalTestDb();
  patient = await golden(t.db, [
    [EPIC, 'pe1'],
    [CERNER, 'pc1'],
  ]);
  // A golden record merged into `patient` (a steward's merge: the id redirects, its records moved).
  merged = await golden(t.db, []);
  await t.db.query(`UPDATE golden_patient SET status = 'MERGED', merged_into = $2 WHERE id = $1`, [merged, patient]);
  for (let i = 0; i < 12; i++) others.push(await golden(t.db, [[EPIC, `o${i}`]]));
  await ingestResources(
    t.db,
    [
      // Epic: a local glucose code, a number as a string, a local time (Chicago) = 14:00Z.
      observation({ id: 'e1', patient: 'pe1', coding: EPIC_GLUCOSE, value: '100', at: '2026-11-30T08:00:00' }),
      observation({ id: 'e2', patient: 'pe1', value: 120, at: '2026-10-01T12:00:00Z' }),
      {
        resourceType: 'Condition',
        id: 'e3',
        subject: { reference: 'Patient/pe1' },
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }] },
        onsetDateTime: '2019',
      },
      ...others.map((_, i) => observation({ id: `oe${i}`, patient: `o${i}`, value: 80 + i })),
    ],
    context(EPIC),
    t.protection,
  );
  await ingestResources(
    t.db,
    [
      // Cerner: the same glucose (LOINC, a number, UTC); another one in mmol/L.
      observation({ id: 'c1', patient: 'pc1', value: 100, at: '2026-11-30T14:00:00Z' }),
      observation({ id: 'c2', patient: 'pc1', value: 5.5, unit: 'mmol/L', at: '2026-11-29T14:00:00Z' }),
    ],
    context(CERNER),
    t.protection,
  );
});
after(async () => t.close());

type Result = {
  data: Record<string, unknown> | null | undefined;
  errors: readonly { message: string; extensions?: Record<string, unknown>; path?: readonly (string | number)[] }[];
  audit: AuditCollector;
  statements: string[];
};

async function run(
  document: string,
  variables: Record<string, unknown>,
  principal: Principal = testPrincipal({ scopes: ['user/*.rs'] }),
): Promise<Result> {
  const def = clinicalSubgraph({ db: recording });
  const audit = auditCollector(def.auditSubjects);
  sent.length = 0;
  const result = await execute({
    schema: buildSubgraph(def),
    document: parse(document),
    variableValues: variables,
    contextValue: {
      principal,
      audit,
      subgraph: 'clinical',
      client: { operationName: null, documentHash: null, traceparent: null },
      perRequest: new Map(),
    },
  });
  // As the gateway would read it (plain objects).
  const data = JSON.parse(JSON.stringify(result.data ?? null)) as Record<string, unknown> | null;
  return { data, errors: result.errors ?? [], audit, statements: [...sent] };
}

const reps = (...ids: string[]) => ({ r: ids.map((id) => ({ __typename: 'Patient', id })) });
const ENTITIES = `query($r: [_Any!]!, $first: Int, $after: String, $code: String, $from: String, $to: String) {
  _entities(representations: $r) { ... on Patient { id
    observations(first: $first, after: $after, code: $code, from: $from, to: $to) {
      edges { cursor node { id resourceType status code { system code display } originalCodings { system code }
        effective { instant precision } value { value unit originalValue originalUnit }
        flags { severity path message } fhir
        provenance { source resourceType resourceId version retrievedAt messageId softwareVersion transformations { kind mapId from to } } } }
      pageInfo { hasNextPage endCursor } } } } }`;

type Node = {
  id: string;
  code: { system: string; code: string; display: string | null } | null;
  originalCodings: { system: string; code: string }[];
  effective: { instant: string; precision: string };
  value: { value: number; unit: string; originalValue: string; originalUnit: string } | null;
  flags: { message: string }[];
  fhir: string;
  provenance: { source: string; resourceId: string; transformations: { kind: string; from: string; to: string }[] }[];
};
type Page = { edges: { cursor: string; node: Node }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
const pageOf = (r: Result, i = 0): Page => (r.data?._entities as { observations: Page }[])[i]!.observations;

test('one fact from two sources is one item with both provenances; values in the preferred unit, originals kept', async () => {
  const r = await run(ENTITIES, { ...reps(patient), first: 10 });
  assert.deepEqual(r.errors, []);
  const page = pageOf(r);
  assert.deepEqual(
    page.edges.map((e) => e.node.provenance.map((p) => `${p.source}/${p.resourceId}`)),
    [['cerner-b/c1', 'epic-a/e1'], ['cerner-b/c2'], ['epic-a/e2']],
    'e1+c1 merged, newest first',
  );
  const glucose = page.edges[0]!.node;
  assert.deepEqual(glucose.code, { system: 'http://loinc.org', code: '2339-0', display: glucose.code!.display });
  assert.equal(glucose.effective.instant, '2026-11-30T14:00:00.000Z');
  assert.deepEqual(glucose.value, { value: 100, unit: 'mg/dL', originalValue: '100', originalUnit: 'mg/dL' });
  // Lineage says what was done to each source's statement: Epic's local code mapped, its local time read in its zone.
  const kinds = (n: Node, source: string) =>
    n.provenance
      .find((p) => p.source === source)!
      .transformations.map((x) => x.kind)
      .sort();
  assert.deepEqual(kinds(glucose, 'epic-a'), ['concept-map', 'number-from-string', 'time-zone']);
  assert.deepEqual(kinds(glucose, 'cerner-b'), []);
  // Glucose sent in mmol/L: in mg/dL, the value and unit as sent beside it, the conversion in its lineage.
  const mmol = page.edges[1]!.node;
  assert.equal(mmol.value!.unit, 'mg/dL');
  assert.ok(Math.abs(mmol.value!.value - 99.09) < 0.01, String(mmol.value!.value));
  assert.deepEqual([mmol.value!.originalValue, mmol.value!.originalUnit], ['5.5', 'mmol/L']);
  assert.deepEqual(kinds(mmol, 'cerner-b'), ['unit-conversion']);
  assert.equal(JSON.parse(glucose.fhir).resourceType, 'Observation');
  // Audit: the patient whose list was returned, under the field's coordinate.
  assert.deepEqual(
    r.audit.accesses().map((a) => [a.patientRef, a.fields]),
    [[`Patient/${patient}`, ['Patient.id', 'Patient.observations']]],
  );
});

test('an unmapped vendor code is kept as sent and flagged; the original coding stays beside the standard one', async () => {
  const local = await golden(t.db, [[EPIC, 'pl']]);
  await ingestResources(
    t.db,
    [
      observation({
        id: 'l1',
        patient: 'pl',
        coding: { system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: 'NOPE-1' },
        at: '2026-01-01T00:00:00Z',
      }),
      observation({ id: 'l2', patient: 'pl', coding: EPIC_GLUCOSE, at: '2026-02-01T00:00:00Z' }),
    ],
    context(EPIC),
    t.protection,
  );
  const page = pageOf(await run(ENTITIES, { ...reps(local), first: 10 }));
  const [mapped, unmapped] = page.edges.map((e) => e.node);
  assert.deepEqual(mapped!.originalCodings, [EPIC_GLUCOSE]);
  assert.equal(mapped!.code?.code, '2339-0');
  assert.deepEqual(unmapped!.originalCodings, [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: 'NOPE-1' }]);
  assert.ok(
    unmapped!.flags.some((f) => /unmapped/.test(f.message)),
    JSON.stringify(unmapped!.flags),
  );
});

test('pages with first/after cover every item once; code and time filters', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < 5; n++) {
    const page = pageOf(await run(ENTITIES, { ...reps(patient), first: 1, ...(cursor ? { after: cursor } : {}) }));
    seen.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) break;
    cursor = page.pageInfo.endCursor;
  }
  assert.equal(seen.length, 3);
  assert.equal(new Set(seen).size, 3);
  // A vendor code selects the items that carry it (before facts are merged).
  const local = pageOf(await run(ENTITIES, { ...reps(patient), code: `${EPIC_GLUCOSE.system}|${EPIC_GLUCOSE.code}` }));
  assert.deepEqual(
    local.edges.map((e) => e.node.provenance.map((p) => p.resourceId)),
    [['e1']],
  );
  const loinc = pageOf(await run(ENTITIES, { ...reps(patient), code: 'http://loinc.org|2339-0' }));
  assert.equal(loinc.edges.length, 3);
  const november = pageOf(await run(ENTITIES, { ...reps(patient), from: '2026-11-01', to: '2026-11-30T14:00:00Z' }));
  assert.deepEqual(
    november.edges.map((e) => e.node.provenance.map((p) => p.resourceId)),
    [['c2']],
  );
});

test('other lists: conditions with their precision; medications empty', async () => {
  const r = await run(
    `query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient {
      conditions { edges { node { resourceType status code { code display } effective { instant precision } } } }
      medications { edges { node { id } } pageInfo { hasNextPage endCursor } } } } }`,
    reps(patient),
  );
  assert.deepEqual(r.errors, []);
  const p = (r.data!._entities as Record<string, Page & { edges: { node: Record<string, unknown> }[] }>[])[0]!;
  assert.deepEqual(
    p.conditions!.edges.map((e) => e.node),
    [
      {
        resourceType: 'Condition',
        status: null,
        code: { code: '44054006', display: 'Diabetes mellitus type 2' },
        effective: { instant: '2019-01-01T06:00:00.000Z', precision: 'year' },
      },
    ],
  );
  assert.deepEqual(p.medications, { edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
});

test('a merged id answers with its survivor; unknown and malformed ids are null, even for __typename', async () => {
  const r = await run(ENTITIES, { ...reps(merged, '00000000-0000-4000-8000-000000000000', 'not-a-uuid'), first: 10 });
  assert.deepEqual(r.errors, []);
  const [survivor, unknown, malformed] = r.data!._entities as ({ id: string; observations: Page } | null)[];
  assert.equal(survivor!.id, patient);
  assert.equal(survivor!.observations.edges.length, 3);
  assert.equal(unknown, null);
  assert.equal(malformed, null);
  // Merged twice (A into B, B into the patient): the chain is followed to the active record.
  const twice = await golden(t.db, []);
  await t.db.query(`UPDATE golden_patient SET status = 'MERGED', merged_into = $2 WHERE id = $1`, [twice, merged]);
  const chained = await run(ENTITIES, { ...reps(twice.toUpperCase()), first: 10 });
  assert.equal((chained.data!._entities as { id: string }[])[0]!.id, patient);
  const typename = await run(
    'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
    reps('00000000-0000-4000-8000-000000000000'),
  );
  assert.deepEqual(typename.data, { _entities: [null] });
});

test('a launch bound to another patient sees nobody here; an analyst or a steward gets FORBIDDEN for clinical lists', async () => {
  const launched = await run(ENTITIES, reps(patient), testPrincipal({ scopes: ['patient/*.rs'], patientContext: others[0]! }));
  assert.deepEqual(launched.data, { _entities: [null] });
  assert.deepEqual(launched.audit.accesses(), []);
  // Bound to this patient (launched from an Epic chart): its own merged list, both sources.
  const own = await run(ENTITIES, reps(patient), testPrincipal({ scopes: ['patient/*.rs'], patientContext: `${EPIC}:pe1` }));
  assert.equal(pageOf(own).edges.length, 3);
  for (const principal of [
    testPrincipal({ roles: ['analyst'], purposeOfUse: 'HRESCH', scopes: ['user/*.rs'] }),
    testPrincipal({ roles: ['steward'], purposeOfUse: null, scopes: ['user/*.rs'] }),
    testPrincipal({ scopes: ['user/Patient.rs', 'user/Condition.rs'] }),
  ]) {
    const r = await run(ENTITIES, reps(patient), principal);
    assert.deepEqual(r.data, { _entities: [{ id: patient, observations: null }] }, principal.roles.join());
    assert.deepEqual(
      r.errors.map((e) => [e.extensions?.code, e.path?.join('.')]),
      [['FORBIDDEN', '_entities.0.observations']],
    );
    assert.ok(!r.statements.some((s) => /clinical_item/.test(s)), 'a denied list is never read');
  }
  // A clinician for payment may not see patients at all (as in the MPI): no entity, nothing read.
  const payment = await run(ENTITIES, reps(patient), testPrincipal({ purposeOfUse: 'HPAYMT', scopes: ['user/*.rs'] }));
  assert.deepEqual(payment.data, { _entities: [null] });
  assert.deepEqual(payment.statements, []);
});

test('arguments are checked before any work', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ code: '2339-0' }, 'code'],
    [{ from: 'yesterday' }, 'from'],
    [{ to: '2026-13-45' }, 'to'],
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ after: 'bm90IGEgY3Vyc29y' }, 'after'],
  ];
  for (const [args, argument] of cases) {
    const r = await run(ENTITIES, { ...reps(patient), ...args });
    assert.deepEqual(
      r.errors.map((e) => [e.extensions?.code, e.extensions?.argument]),
      [['BAD_USER_INPUT', argument]],
      JSON.stringify(args),
    );
    assert.ok(!r.statements.some((s) => /clinical_item/.test(s)));
  }
});

test('statements per request are bounded whatever the number of patients', async () => {
  const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient {
    observations(first: 5) { edges { node { id provenance { source } } } }
    conditions { edges { node { id } } }
    recent: observations(first: 1) { edges { node { id } } } } } }`;
  const counts: number[] = [];
  for (const ids of [[patient], [patient, ...others.slice(0, 3)], [patient, merged, ...others]]) {
    const r = await run(query, reps(...ids));
    assert.deepEqual(r.errors, []);
    assert.equal((r.data!._entities as unknown[]).length, ids.length);
    counts.push(r.statements.length);
  }
  // Merge redirects once, then one statement per list and arguments (observations twice: two page sizes).
  assert.deepEqual(counts, [4, 4, 4]);
});

test('orders and immunizations: merged lists of their own, each behind its SMART scope, audited', async () => {
  const orderAndVaccine = [
    {
      resourceType: 'ServiceRequest',
      id: 'sr1',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/pe1' },
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
      authoredOn: '2026-11-29T08:00:00',
    },
    {
      resourceType: 'Immunization',
      id: 'im1',
      status: 'completed',
      patient: { reference: 'Patient/pe1' },
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] },
      occurrenceDateTime: '2026-10-15',
      lotNumber: 'LOT-1',
      doseQuantity: { value: 0.5, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' },
    },
  ];
  await ingestResources(t.db, orderAndVaccine, context(EPIC), t.protection);
  const LISTS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient {
    orders { nodes { resourceType status code { system code } effective { instant precision } } }
    immunizations { nodes { resourceType status code { system code } effective { instant } value { value unit } } } } } }`;
  const r = await run(LISTS, reps(patient));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.data, {
    _entities: [
      {
        orders: {
          nodes: [
            {
              resourceType: 'ServiceRequest',
              status: 'active',
              code: { system: 'http://loinc.org', code: '2345-7' },
              effective: { instant: '2026-11-29T14:00:00.000Z', precision: 'second' },
            },
          ],
        },
        immunizations: {
          nodes: [
            {
              resourceType: 'Immunization',
              status: 'completed',
              code: { system: 'http://hl7.org/fhir/sid/cvx', code: '140' },
              effective: { instant: '2026-10-15T05:00:00.000Z' },
              value: { value: 0.5, unit: 'mL' },
            },
          ],
        },
      },
    ],
  });
  assert.deepEqual(
    r.audit.accesses().map((a) => [a.patientRef, a.fields]),
    [[`Patient/${patient}`, ['Patient.immunizations', 'Patient.orders']]],
  );
  // A token that reads orders but not immunizations: the one list, FORBIDDEN for the other, never read.
  const partial = await run(LISTS, reps(patient), testPrincipal({ scopes: ['user/Patient.rs', 'user/ServiceRequest.rs'] }));
  assert.deepEqual(
    partial.errors.map((e) => [e.extensions?.code, e.path?.join('.')]),
    [['FORBIDDEN', '_entities.0.immunizations']],
  );
  assert.equal((partial.data!._entities as { orders: { nodes: unknown[] } }[])[0]!.orders.nodes.length, 1);
});
