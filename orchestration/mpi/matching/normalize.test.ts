import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  birthDateDigits,
  cleanText,
  dayNumber,
  generationalSuffix,
  nameTokens,
  normalizeAddressLine,
  normalizeEmail,
  normalizePhone,
  normalizePostalCode,
  normalizeSsn,
  splitSuffix,
} from './normalize.ts';

test('cleanText: NFKC, accents, zero-width and control characters, case, whitespace', () => {
  assert.equal(cleanText('  José\u200B  Núñez\u0000 '), 'jose nunez');
  assert.equal(cleanText('ＳＭＩＴＨ'), 'smith'); // full-width letters (NFKC)
  assert.equal(cleanText('Straße Øster'), 'strasse oster');
  assert.equal(cleanText('\u202Eevil'), 'evil'); // bidi override removed
  assert.equal(cleanText(null), '');
  assert.equal(cleanText({}), '');
});

test('nameTokens: letters only, split on separators, apostrophes dropped', () => {
  assert.deepEqual(nameTokens("O'Brien-Núñez"), ['obrien', 'nunez']);
  assert.deepEqual(nameTokens('van der  Berg'), ['van', 'der', 'berg']);
  assert.deepEqual(nameTokens('😀😀'), []);
  assert.deepEqual(nameTokens(''), []);
});

test('generational suffixes from a suffix or a trailing token', () => {
  assert.equal(generationalSuffix('Jr.'), 'jr');
  assert.equal(generationalSuffix('SENIOR'), 'sr');
  assert.equal(generationalSuffix('III'), 'iii');
  assert.equal(generationalSuffix('MD'), null);
  assert.deepEqual(splitSuffix(['john', 'jr']), { tokens: ['john'], suffix: 'jr' });
  assert.deepEqual(splitSuffix(['jr']), { tokens: ['jr'], suffix: null }); // a lone token is a name
  assert.deepEqual(splitSuffix(['mary', 'v']), { tokens: ['mary', 'v'], suffix: null }); // middle initial
});

test('USPS normalization maps every spelling to one canonical form, both directions', () => {
  assert.equal(normalizeAddressLine('12 North Main Street'), '12 n main st');
  assert.equal(normalizeAddressLine('12 N. Main St.'), '12 n main st');
  assert.equal(normalizeAddressLine('12 n main str'), '12 n main st');
  assert.equal(normalizeAddressLine('400 Elm Avenue, Apartment 4B'), '400 elm ave apt 4b');
  assert.equal(normalizeAddressLine('400 Elm Ave #4B'), '400 elm ave apt 4b');
  assert.equal(normalizeAddressLine('400 elm av unit # 4b'), '400 elm ave unit 4b');
  assert.equal(normalizeAddressLine('9 Oak Road Suite 100'), '9 oak rd ste 100');
  assert.equal(normalizeAddressLine('7 Lake Boulevard'), normalizeAddressLine('7 lake blvd'));
  assert.equal(normalizeAddressLine('P.O. Box 12'), 'po box 12');
  assert.equal(normalizeAddressLine('82 fitzalanstreet'), '82 fitzalan st'); // suffix run into the name
});

test('phones keep their last 10 digits; e-mails are trimmed and lower-cased', () => {
  assert.equal(normalizePhone('+1 (217) 555-0142'), '2175550142');
  assert.equal(normalizePhone('217.555.0142'), '2175550142');
  assert.equal(normalizePhone('12'), null);
  assert.equal(normalizeEmail('  Pat.Smith@Example.ORG '), 'pat.smith@example.org');
  assert.equal(normalizeEmail('not an email'), null);
});

test('SSNs: digits only; placeholders shared by unrelated people are dropped', () => {
  assert.equal(normalizeSsn('900-11-2233'), '900112233');
  assert.equal(normalizeSsn('999-99-9999'), null);
  assert.equal(normalizeSsn('123-45-6789'), null);
  assert.equal(normalizeSsn('12'), null);
  assert.equal(normalizePostalCode('62701-1234'), '62701');
  assert.equal(normalizePostalCode('SW1A 1AA'), 'sw1a1aa');
});

test('birth-date digits come from the valid date, else the raw recorded value', () => {
  assert.equal(birthDateDigits('1980-02-01', null), '19800201');
  assert.equal(birthDateDigits('1980', null), '1980');
  assert.equal(birthDateDigits(null, '1908-13-09'), '19081309');
  assert.equal(birthDateDigits(null, '19081309'), '19081309');
  assert.equal(birthDateDigits(null, null), null);
  assert.equal(dayNumber('19700102'), 1);
  assert.equal(dayNumber('19081309'), null); // month 13
  assert.equal(dayNumber('19000229'), null); // not a leap year
});
