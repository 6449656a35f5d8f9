import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toInstant, zoneOffsetMinutes } from './time.ts';

test('instants with an offset are normalized to UTC', () => {
  assert.equal(toInstant('2024-03-01T09:05:00-05:00', 'America/Chicago'), '2024-03-01T14:05:00.000Z');
  assert.equal(toInstant('2024-03-01T14:05:00.000Z', 'America/Chicago'), '2024-03-01T14:05:00.000Z');
});

test('local times are read in the hospital zone, across DST', () => {
  assert.equal(toInstant('2024-01-15T08:00:00', 'America/New_York'), '2024-01-15T13:00:00.000Z');
  assert.equal(toInstant('2024-07-15T08:00:00', 'America/New_York'), '2024-07-15T12:00:00.000Z');
  assert.equal(zoneOffsetMinutes(Date.UTC(2024, 6, 1), 'America/Chicago'), -300);
});

test('partial dates stay dates; garbage is undefined', () => {
  assert.equal(toInstant('1980', 'UTC'), '1980');
  assert.equal(toInstant('1980-02-29', 'UTC'), '1980-02-29');
  assert.equal(toInstant('not a date', 'UTC'), undefined);
  assert.equal(toInstant('2024-13-45T99:00:00Z', 'UTC'), undefined);
  assert.equal(toInstant(undefined, 'UTC'), undefined);
});
