import assert from 'node:assert/strict';
import test from 'node:test';
import { instantRange } from './datatypes.ts';
import { errors } from './test-helpers.ts';

const encounter = (period: Record<string, string>): Record<string, unknown> => ({
  resourceType: 'Encounter',
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  period,
});

test('per-1: a period may not end before it starts; a day and a time on that day cannot be ordered', () => {
  assert.deepEqual(errors(encounter({ start: '2023-06-21T10:00:00Z', end: '2023-06-21T11:00:00Z' })), []);
  assert.deepEqual(errors(encounter({ start: '2023-06-20', end: '2023-06-21T06:20:00Z' })), []);
  assert.deepEqual(errors(encounter({ start: '2023-06-22', end: '2023-06-22' })), []);
  const failed = ['Encounter.period: constraint per-1 failed: start SHALL have a lower value than end'];
  assert.deepEqual(errors(encounter({ start: '2023-06-21T12:00:00Z', end: '2023-06-21T11:00:00Z' })), failed);
  assert.deepEqual(errors(encounter({ start: '2023-06-21', end: '2023-06-21T06:20:00Z' })), failed);
  // Offsets count: 10:00+02:00 is 08:00Z.
  assert.deepEqual(errors(encounter({ start: '2023-06-21T10:00:00+02:00', end: '2023-06-21T09:00:00Z' })), []);
});

test('instantRange: the instants a partial date can mean', () => {
  const r = instantRange('2024-02');
  assert.equal(new Date(r?.lo ?? 0).toISOString(), '2024-02-01T00:00:00.000Z');
  assert.equal(new Date(r?.hi ?? 0).toISOString(), '2024-02-29T23:59:59.999Z');
  assert.equal(instantRange('02/2024'), undefined);
});

test("data type invariants (declared on the type, not the element) are evaluated: qty-3 on a Quantity's unit system", () => {
  const obs = { resourceType: 'Observation', status: 'final', code: { text: 'weight' }, valueQuantity: { value: 70, code: 'kg' } };
  assert.deepEqual(errors(obs), [
    'Observation.value[x]: constraint qty-3 failed: If a code for the unit is present, the system SHALL also be present',
  ]);
  assert.deepEqual(errors({ ...obs, valueQuantity: { value: 70, code: 'kg', system: 'http://unitsofmeasure.org' } }), []);
});

test('Attachment.size is the size of its data', () => {
  const media = (size: number): Record<string, unknown> => ({
    resourceType: 'Media',
    status: 'completed',
    content: { contentType: 'text/plain', data: 'aGVsbG8=', size },
  });
  assert.deepEqual(errors(media(5)), []);
  assert.deepEqual(errors(media(100)), ['Media.content.size: stated size does not match the size of the data']);
});
