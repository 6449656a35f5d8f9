// The Safe Harbor rules of the de-identified view, one by one, and the configuration that ships.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ageOver89,
  deidentifiedBirthYear,
  deidentifiedCount,
  deidentifiedZip3,
  loadSafeHarbor,
  oldestCategoryBirthYear,
} from './safe-harbor.ts';

test('ages over 89 are one "90 or older" category, decided by birth year', () => {
  assert.equal(oldestCategoryBirthYear(2026), 1936);
  // Born 1936: 90 this year (some still 89 until their birthday): no year, in the category, all year long.
  for (const birthDate of ['1936-12-31', '1936-01-01', '1936', '1901-05-05']) {
    assert.equal(deidentifiedBirthYear(birthDate, 2026), null, birthDate);
    assert.equal(ageOver89(birthDate, 2026), true, birthDate);
  }
  // Born 1937: at most 89 on December 31st: the year is shown.
  assert.equal(deidentifiedBirthYear('1937-01-01', 2026), 1937);
  assert.equal(ageOver89('1937-01-01', 2026), false);
  // The category moves on January 1st only.
  assert.equal(deidentifiedBirthYear('1937-06-01', 2027), null);
  // Unknown or unreadable birth dates: nothing shown, category unknown.
  for (const birthDate of [null, undefined, '', 'unknown']) {
    assert.equal(deidentifiedBirthYear(birthDate, 2026), null);
    assert.equal(ageOver89(birthDate, 2026), null);
  }
});

test('three-digit ZIPs of small areas become 000; anything but a US ZIP shows nothing', () => {
  const restricted = new Set(['036', '893']);
  assert.equal(deidentifiedZip3('03601', restricted), '000');
  assert.equal(deidentifiedZip3('89301-1234', restricted), '000');
  assert.equal(deidentifiedZip3('62701', restricted), '627');
  assert.equal(deidentifiedZip3(' 627011234 ', restricted), '627');
  for (const postalCode of [null, undefined, '', '036', 'K1A 0B1', '6270', '627011'])
    assert.equal(deidentifiedZip3(postalCode, restricted), null, String(postalCode));
});

test('counts from 1 to the minimum - 1 are withheld; zero and larger counts are shown', () => {
  assert.deepEqual(
    [0, 1, 10, 11, 500].map((n) => deidentifiedCount(n, 11)),
    [0, null, null, 11, 500],
  );
  assert.equal(deidentifiedCount(1, 1), 1);
});

test('the shipped configuration: minimum 11 and the 17 prefixes HHS lists for the 2000 census', () => {
  const c = loadSafeHarbor();
  assert.equal(c.minimumCount, 11);
  assert.deepEqual([...c.restrictedZip3].sort(), [
    '036',
    '059',
    '063',
    '102',
    '203',
    '556',
    '692',
    '790',
    '821',
    '823',
    '830',
    '831',
    '878',
    '879',
    '884',
    '890',
    '893',
  ]);
});

test('a configuration that cannot be applied is refused at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'safe-harbor-'));
  for (const [name, content] of [
    ['zero.json', { minimumCount: 0, restrictedZip3: { prefixes: [] } }],
    ['zip.json', { minimumCount: 11, restrictedZip3: { prefixes: ['36'] } }],
    ['none.json', { minimumCount: 11 }],
  ] as const) {
    writeFileSync(join(dir, name), JSON.stringify(content));
    assert.throws(() => loadSafeHarbor(join(dir, name)), new RegExp(name));
  }
});
