import assert from 'node:assert/strict';
import test from 'node:test';
import { errors, patient } from './test-helpers.ts';

const bundle = (type: string, entry: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'Bundle',
  type,
  entry,
  // bdl-9: a document has an identifier (and bdl-10 a timestamp).
  ...(type === 'document'
    ? {
        identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0' },
        timestamp: '2024-01-01T00:00:00Z',
      }
    : {}),
  ...extra,
});

test('fullUrl: absolute, and a RESTful one ends with its resource type and id', () => {
  assert.deepEqual(errors(bundle('collection', [{ fullUrl: 'https://ehr.example/fhir/Patient/p1', resource: patient() }])), []);
  assert.deepEqual(errors(bundle('collection', [{ fullUrl: 'Patient/p1', resource: patient() }])), [
    'Bundle.entry[0].fullUrl: fullUrl must be an absolute URL',
  ]);
  assert.deepEqual(errors(bundle('collection', [{ fullUrl: 'https://ehr.example/fhir/Patient/p2', resource: patient() }])), [
    'Bundle.entry[0].fullUrl: a RESTful fullUrl must end with the resource type and id of its resource',
  ]);
});

test('links: self, first, next ... occur once', () => {
  const link = [
    { relation: 'self', url: 'https://ehr.example/fhir/Patient?name=x' },
    { relation: 'self', url: 'https://ehr.example/fhir/Patient?name=x' },
  ];
  assert.deepEqual(errors({ resourceType: 'Bundle', type: 'searchset', link }), [
    "Bundle.link[1]: link relation 'self' can only occur once",
  ]);
});

test('search results: matches have ids and are of the searched type; outcomes are OperationOutcomes', () => {
  const link = [{ relation: 'self', url: 'https://ehr.example/fhir/Patient?name=x' }];
  const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
  assert.deepEqual(
    errors(
      bundle('searchset', [{ fullUrl: 'https://ehr.example/fhir/Patient/p1', resource: patient(), search: { mode: 'match' } }], { link }),
    ),
    [],
  );
  assert.deepEqual(
    errors(
      bundle('searchset', [{ fullUrl: 'urn:uuid:2ae2ff34-279e-43c2-9018-b054fd3fc1ce', resource: obs, search: { mode: 'match' } }], {
        link,
      }),
    ),
    [
      'Bundle.entry[0].resource: search results must have ids',
      'Bundle.entry[0].resource: a Observation is not a result of the search for Patient',
    ],
  );
  assert.deepEqual(
    errors(bundle('searchset', [{ fullUrl: 'https://ehr.example/fhir/Patient/p1', resource: patient(), search: { mode: 'outcome' } }])),
    ["Bundle.entry[0].resource: an entry with search mode 'outcome' must be an OperationOutcome"],
  );
});

test('references inside a Bundle: ambiguous ones are errors, and in a document every local target must be found', () => {
  const base = 'https://ehr.example/fhir';
  const obs = (v: string): Record<string, unknown> => ({
    fullUrl: `${base}/Observation/o1`,
    resource: { resourceType: 'Observation', id: 'o1', meta: { versionId: v }, status: 'final', code: { text: 'x' } },
  });
  const composition = (refs: string[]): Record<string, unknown> => ({
    fullUrl: `${base}/Composition/c1`,
    resource: {
      resourceType: 'Composition',
      id: 'c1',
      status: 'final',
      type: { text: 'x' },
      date: '2024-01-01',
      author: [{ reference: 'Patient/p1' }],
      title: 'x',
      section: [{ title: 's', entry: refs.map((reference) => ({ reference })) }],
    },
  });
  const p = { fullUrl: `${base}/Patient/p1`, resource: patient() };
  assert.deepEqual(
    errors(bundle('document', [composition(['Observation/o1/_history/1', 'Observation/o1/_history/2']), obs('1'), obs('2'), p])),
    [],
  );
  assert.deepEqual(errors(bundle('document', [composition(['Observation/o1']), obs('1'), obs('2'), p])), [
    'Bundle.entry[0].resource.section[0].entry[0]: reference matches more than one entry of the Bundle',
  ]);
  assert.deepEqual(errors(bundle('document', [composition(['Observation/o1/_history/3']), obs('1'), obs('2'), p])), [
    'Bundle.entry[0].resource.section[0].entry[0]: reference does not resolve to an entry of the Bundle',
  ]);
  // From an entry with a urn:uuid fullUrl, a relative reference matches on type and id.
  const fromUrn = {
    fullUrl: 'urn:uuid:2ae2ff34-279e-43c2-9018-b054fd3fc1ce',
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' } },
  };
  assert.deepEqual(errors(bundle('document', [composition(['urn:uuid:2ae2ff34-279e-43c2-9018-b054fd3fc1ce']), fromUrn, p])), []);
});

test('Parameters: a reference to a type the Parameters carries must find it there', () => {
  const coverage = (beneficiary: string): Record<string, unknown> => ({
    resourceType: 'Coverage',
    id: 'c1',
    status: 'active',
    beneficiary: { reference: beneficiary },
    payor: [{ reference: 'https://payer.example/fhir/Organization/1' }],
  });
  const params = (b: string): Record<string, unknown> => ({
    resourceType: 'Parameters',
    parameter: [
      { name: 'patient', resource: patient() },
      { name: 'coverage', resource: coverage(b) },
    ],
  });
  assert.deepEqual(errors(params('Patient/p1')), []);
  assert.deepEqual(errors(params('Patient/p2')), [
    'Parameters.parameter[1].resource.beneficiary: reference does not resolve to a resource of the Parameters',
  ]);
});
