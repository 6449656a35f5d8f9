import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateMatches, pageOf, parseDateParam, parseToken, referenceId, splitEscaped } from './search.ts';

test('token parameters: system|code, |code, system|, code, with FHIR escaping', () => {
  assert.deepEqual(parseToken('http://loinc.org|8867-4'), { system: 'http://loinc.org', code: '8867-4' });
  assert.deepEqual(parseToken('|E1234567'), { system: '', code: 'E1234567' });
  assert.deepEqual(parseToken('urn:oid:1.2|'), { system: 'urn:oid:1.2', code: undefined });
  assert.deepEqual(parseToken('E1234567'), { system: undefined, code: 'E1234567' });
  assert.deepEqual(parseToken('a\\|b|c'), { system: 'a|b', code: 'c' });
  assert.deepEqual(splitEscaped('a,b\\,c,d', ','), ['a', 'b\\,c', 'd']);
  assert.equal(referenceId('Patient/123'), '123');
  assert.equal(referenceId('http://x/r4/Patient/e.Ab1'), 'e.Ab1');
  assert.equal(referenceId('123'), '123');
  assert.equal(referenceId('Group/1'), undefined);
});

test('date parameters denote ranges at their precision, with prefixes', () => {
  const day = parseDateParam('2025-03-01')!;
  assert.deepEqual([day.prefix, day.lo, day.hi], ['eq', Date.UTC(2025, 2, 1), Date.UTC(2025, 2, 2)]);
  const inDay = Date.UTC(2025, 2, 1, 13);
  assert.ok(dateMatches(inDay, day));
  assert.ok(!dateMatches(inDay, parseDateParam('gt2025-03-01')!));
  assert.ok(dateMatches(inDay, parseDateParam('ge2025-03-01')!));
  assert.ok(dateMatches(inDay, parseDateParam('le2025-03-01')!));
  assert.ok(!dateMatches(inDay, parseDateParam('lt2025-03-01')!));
  assert.ok(dateMatches(inDay, parseDateParam('ne2025-03-02')!));
  assert.ok(dateMatches(inDay, parseDateParam('2025')!) && dateMatches(inDay, parseDateParam('2025-03')!));
  assert.ok(dateMatches(inDay, parseDateParam('gt2025-03-01T12:59:59Z')!));
  assert.ok(dateMatches(inDay, parseDateParam('lt2025-03-01T09:00:00-05:00')!));
  assert.ok(!dateMatches(inDay, parseDateParam('lt2025-03-01T08:00:00-05:00')!));
  assert.ok(dateMatches(inDay, parseDateParam('eq2025-03-01T08:00:00-05:00')!));
  for (const bad of ['yesterday', '2025-13-01', 'xx2025', '2025-03-01T10']) assert.equal(parseDateParam(bad), undefined, bad);
});

test('paging parameters: default 50, capped at 200, 0 allowed, garbage refused', () => {
  assert.deepEqual(pageOf(new URLSearchParams('')), { count: 50, offset: 0 });
  assert.deepEqual(pageOf(new URLSearchParams('_count=500&_getpagesoffset=400')), { count: 200, offset: 400 });
  assert.deepEqual(pageOf(new URLSearchParams('_count=0')), { count: 0, offset: 0 });
  assert.equal(typeof pageOf(new URLSearchParams('_count=ten')), 'string');
  assert.equal(typeof pageOf(new URLSearchParams('_getpagesoffset=-5')), 'string');
});
