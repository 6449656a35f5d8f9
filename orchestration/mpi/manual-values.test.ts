import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProductError } from '../../platform/errors.ts';
import { parseManualFields, sameValue } from './manual-values.ts';

const NOW = new Date('2026-11-25T12:00:00Z');

test('values are normalized: whitespace collapsed, NFC, empty parts dropped, email lower-cased', () => {
  const { set, clear } = parseManualFields(
    {
      name: { family: '  Ne\u0301ve   Okafor ', given: ['Ada', '  ', 'May'] },
      birthDate: ' 1970-03-16 ',
      gender: 'female',
      telecom: [
        { system: 'email', value: 'Ada.Okafor@Example.ORG' },
        { system: 'phone', value: '+1 (217) 555-0100', use: 'mobile' },
      ],
      addresses: [],
    },
    'fields',
    NOW,
  );
  assert.deepEqual(set.name, { use: null, family: 'N\u00e9ve Okafor', given: ['Ada', 'May'], prefix: [], suffix: [], text: null });
  assert.equal(set.birthDate, '1970-03-16');
  assert.equal(set.gender, 'female');
  assert.deepEqual(set.telecom, [
    { system: 'email', value: 'ada.okafor@example.org', use: null },
    { system: 'phone', value: '+1 (217) 555-0100', use: 'mobile' },
  ]);
  assert.deepEqual(set.addresses, [], 'an empty list is a value: no address on record');
  assert.deepEqual(clear, []);
});

test('partial dates are allowed; impossible and future dates are not', () => {
  assert.equal(parseManualFields({ birthDate: '1970-03' }, 'fields', NOW).set.birthDate, '1970-03');
  assert.equal(parseManualFields({ birthDate: '2026-11-25' }, 'fields', NOW).set.birthDate, '2026-11-25', 'born today');
  for (const bad of ['1970-02-30', '03/16/1970', '1970-3-16', '', '2026-11-26', '2027', '2026-12'])
    assert.throws(
      () => parseManualFields({ birthDate: bad }, 'fields', NOW),
      (e: unknown) => e instanceof ProductError && e.details.argument === 'fields.birthDate',
      bad,
    );
});

test('each refusal names the path of the offending value and never echoes the value', () => {
  const cases: [Parameters<typeof parseManualFields>[0], string][] = [
    [{ gender: 'F' }, 'fields.gender'],
    [{ gender: ' ' }, 'fields.gender'],
    [{ name: { given: [' '] } }, 'fields.name'],
    [{ name: { family: 'Okafor', use: 'legal' } }, 'fields.name.use'],
    [{ name: { family: 'Oka\u0000for' } }, 'fields.name.family'],
    [{ name: { family: 'x'.repeat(201) } }, 'fields.name.family'],
    [
      {
        telecom: [
          { system: 'phone', value: '217-555-0100' },
          { system: 'email', value: 'not-an-address' },
        ],
      },
      'fields.telecom[1].value',
    ],
    [{ telecom: [{ system: 'pigeon', value: 'loft 3' }] }, 'fields.telecom[0].system'],
    [{ telecom: [{ system: 'phone', value: 'call me' }] }, 'fields.telecom[0].value'],
    [{ addresses: [{ state: 'IL' }] }, 'fields.addresses[0]'],
    [{ addresses: Array.from({ length: 11 }, () => ({ city: 'Springfield' })) }, 'fields.addresses'],
    [{ birthDate: '1970-01-01', clear: ['birthDate'] }, 'fields.clear'],
    [{}, 'fields'],
    [{ name: null, clear: [] }, 'fields'],
  ];
  for (const [input, path] of cases) {
    assert.throws(
      () => parseManualFields(input, 'fields', NOW),
      (e: unknown) => {
        assert.ok(e instanceof ProductError && e.code === 'BAD_USER_INPUT');
        assert.equal(e.details.argument, path, JSON.stringify(input));
        for (const secret of ['not-an-address', 'loft 3', 'call me', 'Springfield', 'Oka'])
          assert.ok(!e.message.includes(secret), e.message);
        return true;
      },
    );
  }
});

test('clearing alone is a change; a field given as null is left alone', () => {
  assert.deepEqual(parseManualFields({ clear: ['birthDate', 'birthDate', 'telecom'], gender: null }, 'fields', NOW), {
    set: {},
    clear: ['birthDate', 'telecom'],
  });
});

test('sameValue ignores key order, not content', () => {
  assert.ok(sameValue({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 }));
  assert.ok(!sameValue({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(!sameValue('1970-03-16', '1970-03-15'));
});
