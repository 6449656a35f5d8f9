import assert from 'node:assert/strict';
import test from 'node:test';
import { errors } from './test-helpers.ts';

test('FHIR JSON has no empty arrays or objects', () => {
  const doc = {
    resourceType: 'DocumentReference',
    status: 'current',
    category: [{ coding: [] }],
    content: [{ attachment: { contentType: 'text/plain' } }],
  };
  assert.deepEqual(errors(doc), ['DocumentReference.category[0].coding: an array cannot be empty: leave the property out']);
});
