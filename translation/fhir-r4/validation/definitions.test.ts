import assert from 'node:assert/strict';
import test from 'node:test';
import { definitions, valueSetContains, type Definitions, type ValueSetDef } from './definitions.ts';

test('valueSetContains: decided for enumerable ValueSets, undecided where content is outside the definitions', () => {
  const defs = definitions();
  assert.equal(valueSetContains(defs, 'http://hl7.org/fhir/ValueSet/administrative-gender', { code: 'female' }), true);
  assert.equal(valueSetContains(defs, 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1', { code: 'Female' }), false);
  assert.equal(valueSetContains(defs, 'http://hl7.org/fhir/ValueSet/no-such-value-set', { code: 'x' }), undefined);
});

test('valueSetContains: nested ValueSets, each branch with its own cycle guard', () => {
  const cs = { url: 'urn:cs', content: 'complete', concept: [{ code: 'a' }, { code: 'b' }] };
  type Include = NonNullable<NonNullable<ValueSetDef['compose']>['include']>;
  const vs = (url: string, include: Include): [string, ValueSetDef] => [url, { url, compose: { include } }];
  const defs: Definitions = {
    codeSystems: new Map([['urn:cs', cs]]),
    valueSets: new Map([
      vs('urn:inner', [{ system: 'urn:cs', concept: [{ code: 'a' }] }]),
      // The same nested ValueSet twice, in two includes: both are decided.
      vs('urn:outer', [{ valueSet: ['urn:inner'] }, { system: 'urn:cs', valueSet: ['urn:inner'] }]),
      vs('urn:loop', [{ valueSet: ['urn:loop'] }]),
    ]),
    extensions: new Map(),
    resourceTypes: new Set(),
  };
  assert.equal(valueSetContains(defs, 'urn:outer', { system: 'urn:cs', code: 'a' }), true);
  assert.equal(valueSetContains(defs, 'urn:outer', { system: 'urn:cs', code: 'b' }), false);
  assert.equal(valueSetContains(defs, 'urn:loop', { code: 'a' }), undefined);
});
