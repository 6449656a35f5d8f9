import assert from 'node:assert/strict';
import test from 'node:test';
import { errors, patient, warnings } from './test-helpers.ts';
import { isAccepted, validateJson, validateResource } from './validate.ts';

test('a valid resource has no issues and is accepted', () => {
  const issues = validateResource(patient());
  assert.deepEqual(issues, []);
  assert.equal(isAccepted(issues), true);
});

test('input that is not a resource is an error, never an exception', () => {
  assert.deepEqual(errors(null), [': not a FHIR resource: a JSON object with a resourceType is expected']);
  assert.deepEqual(errors({ resourceType: 'Nonsense' }), ['resourceType: unknown resource type Nonsense']);
  assert.deepEqual(
    validateJson('{"resourceType": "Patient",').map((i) => i.message),
    ['not valid JSON'],
  );
  assert.equal(isAccepted(validateJson('\uFEFF{"resourceType": "Patient"}')), true);
});

test('structure and cardinality come from @medplum/core', () => {
  assert.deepEqual(errors({ resourceType: 'Observation', status: 'final' }), ['Observation.code: Missing required property']);
  assert.deepEqual(errors(patient({ unknownElement: 1 })), ['Patient.unknownElement: Invalid additional property "unknownElement"']);
  assert.deepEqual(errors(patient({ birthDate: 'not a date' })), ['Patient.birthDate: Invalid date format']);
});

test('issue messages never quote the values of the resource', () => {
  const secret = 'Zyxwvut-9876';
  const bad = patient({
    id: `${secret}_`,
    birthDate: secret,
    gender: secret,
    unknown: secret,
    text: { status: 'generated', div: `<div><script>${secret}</script></div>` },
  });
  const all = [...errors(bad), ...warnings(bad)];
  assert.ok(all.length >= 4, all.join('\n'));
  for (const line of all) assert.ok(!line.includes(secret), line);
});

test('no input crashes it: every element of valid resources replaced by values of the wrong shape', () => {
  const samples: Record<string, unknown>[] = [
    patient({
      contained: [{ resourceType: 'Organization', id: 'o1' }],
      managingOrganization: { reference: '#o1' },
      extension: [{ url: 'http://example.org/x', valueString: 'y' }],
    }),
    {
      resourceType: 'Bundle',
      type: 'document',
      entry: [
        {
          fullUrl: 'urn:uuid:2ae2ff34-279e-43c2-9018-b054fd3fc1ce',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] },
            valuePeriod: { start: '2020', end: '2021' },
          },
        },
      ],
      link: [{ relation: 'self', url: 'x' }],
    },
    {
      resourceType: 'ValueSet',
      url: 'urn:uuid:x',
      status: 'draft',
      compose: { include: [{ system: 'http://snomed.info/sct', filter: [{ property: 'concept', op: 'is-a', value: '1' }] }] },
    },
    {
      resourceType: 'Parameters',
      parameter: [
        { name: 'a', resource: patient() },
        { name: 'b', part: [{ name: 'c', valueReference: { reference: 'Patient/x' } }] },
      ],
    },
  ];
  const weird: unknown[] = [null, {}, [], 0, 'x', true, [null], [{}], { resourceType: 'Patient' }];
  let runs = 0;
  const mutate = (root: Record<string, unknown>): void => {
    const visit = (v: unknown, replace: (x: unknown) => void): void => {
      for (const w of weird) {
        replace(w);
        // No exception, and no rule that failed on the shape (its guard turns a failure into an error).
        const issues = validateResource(structuredClone(root));
        const failed = issues.find((i) => i.message.includes('could not be validated'));
        assert.equal(failed, undefined, `${JSON.stringify(root).slice(0, 300)}: ${failed?.message}`);
        runs++;
      }
      replace(v);
      if (Array.isArray(v)) v.forEach((x, i) => visit(x, (y) => (v[i] = y)));
      else if (v !== null && typeof v === 'object')
        for (const k of Object.keys(v)) visit((v as Record<string, unknown>)[k], (y) => ((v as Record<string, unknown>)[k] = y));
    };
    for (const k of Object.keys(root)) if (k !== 'resourceType') visit(root[k], (y) => (root[k] = y));
  };
  for (const s of samples) mutate(structuredClone(s));
  assert.ok(runs > 500, `${runs} variants`);
});
