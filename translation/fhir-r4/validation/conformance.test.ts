import assert from 'node:assert/strict';
import test from 'node:test';
import { errors } from './test-helpers.ts';

const vs = (compose: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'ValueSet',
  url: 'http://example.org/fhir/ValueSet/x',
  status: 'draft',
  compose,
  ...extra,
});

test('canonical URLs are absolute; UUID URNs are valid lowercase UUIDs', () => {
  assert.deepEqual(errors(vs({ include: [{ system: 'http://loinc.org' }] }, { url: 'ValueSet/x' })), [
    'ValueSet.url: the canonical URL of a resource must be absolute',
  ]);
  assert.deepEqual(errors(vs({ include: [{ system: 'http://loinc.org' }] }, { url: 'urn:uuid:6A2EE390-978e-42c6-8f88-c17dff3bd8a1' })), [
    'ValueSet.url: a UUID URN must be a valid lowercase UUID',
  ]);
  assert.deepEqual(
    errors({
      resourceType: 'Procedure',
      status: 'completed',
      subject: { reference: 'Patient/1' },
      instantiatesCanonical: ['PlanDefinition/1'],
    }),
    ['Procedure.instantiatesCanonical[0]: a canonical URL must be absolute unless it is a fragment reference'],
  );
});

test('ValueSet: absolute include systems, SNOMED CT concept ids in concepts, filters and ECL, boolean filters', () => {
  assert.deepEqual(errors(vs({ include: [{ system: 'cs1' }] })), [
    'ValueSet.compose.include[0].system: compose system must be an absolute URI',
  ]);
  assert.deepEqual(errors(vs({ include: [{ system: 'http://snomed.info/sct', concept: [{ code: '1' }, { code: '22298006' }] }] })), [
    'ValueSet.compose.include[0].concept[0]: not a valid SNOMED CT concept id',
  ]);
  const filter = (property: string, value: string, op = '='): Record<string, unknown> =>
    vs({ include: [{ system: 'http://snomed.info/sct', filter: [{ property, op, value }] }] });
  assert.deepEqual(errors(filter('concept', 'something', 'is-a')), [
    'ValueSet.compose.include[0].filter[0]: the filter value must be a SNOMED CT concept id',
  ]);
  assert.deepEqual(errors(filter('constraint', '<< 22298006 |Myocardial infarction|')), []);
  assert.deepEqual(errors(filter('constraint', '234234 << 234234')), [
    'ValueSet.compose.include[0].filter[0]: the ECL expression names an invalid SNOMED CT concept id',
  ]);
  assert.deepEqual(
    errors(vs({ include: [{ system: 'http://example.org/cs', filter: [{ property: 'notSelectable', op: '=', value: '1' }] }] })),
    ['ValueSet.compose.include[0].filter[0]: a filter on a boolean property must have the value true or false'],
  );
});

test('CodeSystem: supplements, unique properties, standard property types, concept property values', () => {
  const cs = (extra: Record<string, unknown>): Record<string, unknown> => ({
    resourceType: 'CodeSystem',
    url: 'http://example.org/cs',
    status: 'draft',
    content: 'complete',
    ...extra,
  });
  assert.deepEqual(errors(cs({ supplements: 'http://loinc.org' })), [
    "CodeSystem.content: a CodeSystem supplement must have content 'supplement'",
  ]);
  assert.deepEqual(
    errors(
      cs({
        property: [
          { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'dateTime' },
          { code: 'notSelectable', type: 'boolean' },
          { code: 'weight', type: 'decimal' },
        ],
        concept: [{ code: 'a', property: [{ code: 'weight', valueInteger: 2 }] }],
      }),
    ),
    [
      'CodeSystem.property[0]: the property URI defines type boolean, not dateTime',
      'CodeSystem.property[1]: property code is defined twice',
      'CodeSystem.concept[0].property[0]: property value has type integer; the property is defined with type decimal',
    ],
  );
});
