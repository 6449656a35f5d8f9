import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deterministicMatchKey, normalizeName } from './match-key.ts';

const name = (family: string | null, given: string[]) => ({ use: null, family, given, prefix: [], suffix: [], text: null });

test('names are compared without case, accents or punctuation', () => {
  assert.equal(normalizeName("O'Brien-Núñez"), 'obriennunez');
  assert.equal(deterministicMatchKey({ name: name('Nuñez', ['José']), birthDate: '1970-01-02' }), deterministicMatchKey({ name: name('NUNEZ', ['jose']), birthDate: '1970-01-02' }));
});

test('no key without family, given and a full birth date (never linked on partial data)', () => {
  assert.equal(deterministicMatchKey({ name: name(null, ['Ann']), birthDate: '1970-01-02' }), null);
  assert.equal(deterministicMatchKey({ name: name('Lee', []), birthDate: '1970-01-02' }), null);
  assert.equal(deterministicMatchKey({ name: name('Lee', ['Ann']), birthDate: '1970' }), null);
  assert.equal(deterministicMatchKey({ name: null, birthDate: null }), null);
});

test('a different birth date or given name is a different key', () => {
  const a = deterministicMatchKey({ name: name('Lee', ['Ann']), birthDate: '1970-01-02' });
  assert.notEqual(a, deterministicMatchKey({ name: name('Lee', ['Ann']), birthDate: '1970-01-03' }));
  assert.notEqual(a, deterministicMatchKey({ name: name('Lee', ['Anna']), birthDate: '1970-01-02' }));
});
