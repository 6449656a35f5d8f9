import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSurvivorshipConfig, survive, type SurvivorshipConfig } from './survivorship.ts';
import { person } from './test-helpers.ts';

const config: SurvivorshipConfig = {
  sourcePriority: ['epic-main', 'cerner-main'],
  fields: {
    name: ['MOST_RECENT', 'SOURCE_PRIORITY'],
    birthDate: ['SOURCE_PRIORITY', 'MOST_RECENT'],
    gender: ['MOST_RECENT'],
    addresses: ['MOST_COMPLETE', 'MOST_RECENT'],
    telecom: ['UNION'],
    identifiers: ['UNION', 'SOURCE_PRIORITY'],
  },
};

const epic = person({
  source: 'epic-main',
  id: 'E1',
  family: 'Quill',
  given: ['Ada'],
  birthDate: '1970-03-14',
  ssn: '123456789',
  line: '1 Elm St',
  phone: '555-0100',
  lastUpdated: '2026-01-01T00:00:00Z',
});
const cerner = person({
  source: 'cerner-main',
  id: 'C1',
  family: 'Quill-Marsh',
  given: ['Ada', 'May'],
  birthDate: '1970-03-15',
  ssn: '123456789',
  phone: '555-0199',
  lastUpdated: '2026-06-01T00:00:00Z',
});

test('each field follows its own rule, with provenance naming the source record', () => {
  const { values, provenance } = survive([epic, cerner], config);
  assert.equal(values.name?.family, 'Quill-Marsh', 'name: most recent (Cerner, June)');
  assert.equal(values.birthDate, '1970-03-14', 'birth date: source priority (Epic first)');
  assert.equal(values.addresses.length, 1, 'address: the only complete one');
  const by = Object.fromEntries(provenance.map((p) => [p.field, p]));
  assert.deepEqual(by.name, { field: 'name', rule: 'MOST_RECENT', records: ['cerner-main:C1'] });
  assert.deepEqual(by.birthDate, { field: 'birthDate', rule: 'SOURCE_PRIORITY', records: ['epic-main:E1'] });
  assert.deepEqual(by.addresses?.records, ['epic-main:E1']);
});

test('UNION keeps every distinct value and names every contributing record', () => {
  const { values, provenance } = survive([epic, cerner], config);
  assert.deepEqual(values.telecom.map((t) => t.value).sort(), ['555-0100', '555-0199']);
  assert.equal(values.identifiers.length, 2, 'the same SSN from two sources is kept per source');
  assert.deepEqual(provenance.find((p) => p.field === 'telecom')?.records, ['cerner-main:C1', 'epic-main:E1']);
});

test("a steward's manual value wins over every rule", () => {
  const { values, provenance } = survive([epic, cerner], config, {
    birthDate: { value: '1970-03-16', actor: 'steward-1', at: '2026-07-01T00:00:00Z' },
  });
  assert.equal(values.birthDate, '1970-03-16');
  assert.deepEqual(
    provenance.find((p) => p.field === 'birthDate'),
    { field: 'birthDate', rule: 'MANUAL', records: [], actor: 'steward-1', at: '2026-07-01T00:00:00Z' },
  );
});

test('missing values never win, and a golden record without any is empty, not invented', () => {
  const blank = person({ id: 'B', family: null, given: [], birthDate: null, gender: null });
  const { values, provenance } = survive([blank], config);
  assert.equal(values.name, null);
  assert.equal(values.birthDate, null);
  assert.deepEqual(values.addresses, []);
  assert.equal(provenance.length, 0);
  assert.equal(survive([blank, epic], config).values.name?.family, 'Quill');
});

test('the shipped configuration loads, and a bad one is refused naming the field', () => {
  assert.ok(loadSurvivorshipConfig().fields.name.length > 0);
  const file = join(mkdtempSync(join(tmpdir(), 'surv-')), 'survivorship.json');
  writeFileSync(file, JSON.stringify({ ...config, fields: { ...config.fields, birthDate: ['OLDEST'] } }));
  assert.throws(() => loadSurvivorshipConfig(file), /fields\.birthDate/);
});
