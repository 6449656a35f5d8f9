import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadMatchingConfig, validateMatchingConfig, DEFAULT_MATCHING_CONFIG_FILE } from './config.ts';
import { FIELD_LEVELS } from './fields.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test breaks arbitrary keys of a parsed JSON file
const raw = (): Record<string, any> => JSON.parse(readFileSync(DEFAULT_MATCHING_CONFIG_FILE, 'utf8'));

test('config/matching.json loads and configures every known field and level', () => {
  const c = loadMatchingConfig();
  assert.ok(c.prior > 0 && c.prior < 1e-3);
  assert.deepEqual(c.thresholds, { autoLink: 0.95, review: 0.75 });
  for (const [field, levels] of Object.entries(FIELD_LEVELS))
    assert.deepEqual(Object.keys(c.fields[field]!.levels).sort(), [...levels].sort(), field);
  assert.ok(c.identifierSystems.ssn.includes('http://hl7.org/fhir/sid/us-ssn'));
});

test('the SSN bounds keep an SSN match alone below auto-link', () => {
  const c = loadMatchingConfig();
  const logit = (p: number) => Math.log2(p / (1 - p));
  assert.ok(logit(c.prior) + (c.fields.ssn!.maxWeight ?? Infinity) < logit(c.thresholds.review));
  assert.ok((c.fields.ssn!.minWeight ?? -Infinity) >= -5);
});

test('a bad configuration is refused with the offending key named', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const cases: [(c: Record<string, any>) => void, RegExp][] = [
    [(c) => (c.thresholds.autoLink = 1.5), /thresholds\.autoLink/],
    [(c) => (c.thresholds.review = 0.99), /thresholds\.review must not exceed/],
    [(c) => (c.prior = 0), /prior/],
    [(c) => (c.fields.family.levels.exact.m = 'high'), /fields\.family\.levels\.exact\.m/],
    [(c) => delete c.fields.given.levels.nickname, /fields\.given\.levels\.nickname is missing/],
    [(c) => (c.fields.given.levels.cousin = { m: 0.1, u: 0.1 }), /fields\.given\.levels\.cousin is not a level/],
    [(c) => (c.fields.shoeSize = { levels: {} }), /fields\.shoeSize is not a known field/],
    [(c) => (c.fields.ssn.maxWeight = 'x'), /fields\.ssn\.maxWeight/],
    [(c) => (c.fields.twin.reviewLevels = ['maybe']), /fields\.twin\.reviewLevels/],
    [(c) => (c.termFrequency.fields = ['family', 'ssn' as 'city']), /termFrequency\.fields/],
    [(c) => (c.blocking.keys = ['fdm', 'zodiac']), /blocking\.keys has unknown kind 'zodiac'/],
    [(c) => (c.blocking.capPerKey = 0), /blocking\.capPerKey/],
    [(c) => delete c.identifierSystems, /identifierSystems/],
  ];
  for (const [edit, message] of cases) {
    const c = raw();
    edit(c);
    assert.throws(() => validateMatchingConfig(c), message, String(message));
  }
});

test('loadMatchingConfig names an unreadable or non-JSON file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'matching-'));
  writeFileSync(join(dir, 'bad.json'), '{ not json');
  assert.throws(() => loadMatchingConfig(join(dir, 'bad.json')), /matching configuration: cannot read .*bad\.json/);
  assert.throws(() => loadMatchingConfig(join(dir, 'absent.json')), /absent\.json/);
  writeFileSync(join(dir, 'ok.json'), JSON.stringify(raw()));
  assert.equal(loadMatchingConfig(join(dir, 'ok.json')).prior, raw().prior);
});
