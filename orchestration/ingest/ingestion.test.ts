// Routing a message to its feed by its header: MSH-4, and MSH-3 where a feed names its application.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Hl7FeedConfig } from '../../platform/config.ts';
import { parseMessage } from '../../protocol/hl7v2/er7.ts';
import { header } from '../../protocol/hl7v2/message.ts';
import { feedRouter } from './ingestion.ts';

const feed = (id: string, sendingFacility: string, sendingApplication?: string): Hl7FeedConfig => ({
  kind: 'hl7v2',
  id,
  adapter: 'hl7v2',
  facility: { sendingFacility, ...(sendingApplication ? { sendingApplication } : {}) },
  timeZone: 'UTC',
});
const from = (app: string, facility: string) => header(parseMessage(`MSH|^~\\&|${app}|${facility}|PGW|PGW|20261201||ADT^A01|1|P|2.5\r`));

test('a message goes to the feed of its facility; an application-specific feed wins over the facility-wide one', () => {
  const route = feedRouter([feed('north-all', 'NORTH'), feed('north-lab', 'NORTH', 'LAB'), feed('south-adt', 'SOUTH', 'ADT')]);
  assert.equal(route(from('ADT', 'NORTH')), 'north-all');
  assert.equal(route(from('LAB', 'NORTH')), 'north-lab');
  assert.equal(route(from('LAB^1.2.3^ISO', 'NORTH^2.16.840.1^ISO')), 'north-lab');
  assert.equal(route(from('ADT', 'SOUTH')), 'south-adt');
  // SOUTH takes only its ADT application's messages; an unknown facility has no feed.
  assert.equal(route(from('LAB', 'SOUTH')), undefined);
  assert.equal(route(from('ADT', 'WEST')), undefined);
});
