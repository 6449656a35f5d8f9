import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Translated } from './issues.ts';
import { LOCAL_TIME, localToUtc, parseFhirDateTime, parseHl7Timestamp, toInstant, zoneOffsetMinutes, type TimeValue } from './time.ts';

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

// --- precision, HL7 v2 timestamps and daylight-saving transitions ---

const ok = (r: Translated<TimeValue>): TimeValue => {
  assert.ok(r.ok, JSON.stringify(r.issues));
  return r.value;
};
const messages = (r: Translated<TimeValue>): string[] => r.issues.map((i) => `${i.severity}: ${i.message}`);

test('a value keeps its precision; a date is never turned into an instant', () => {
  const year = ok(parseFhirDateTime('1980', 'America/New_York'));
  assert.deepEqual(year, { value: '1980', precision: 'year', instant: '1980-01-01T05:00:00.000Z', offset: 'zone' });
  assert.equal(ok(parseFhirDateTime('1980-02', 'UTC')).value, '1980-02');
  assert.equal(ok(parseFhirDateTime('1980-02', 'UTC')).precision, 'month');
  assert.equal(ok(parseFhirDateTime('2024-02-29', 'America/Chicago')).instant, '2024-02-29T06:00:00.000Z');
  assert.equal(ok(parseFhirDateTime('2024-01-15T08:00Z', 'UTC')).precision, 'minute');
  assert.equal(ok(parseFhirDateTime('2024-01-15T08:00:01Z', 'UTC')).precision, 'second');
  assert.equal(ok(parseFhirDateTime('2024-01-15T08:00:01.5Z', 'UTC')).precision, 'ms');
  // A date carries no zone work, so nothing is flagged.
  assert.deepEqual(parseFhirDateTime('2024-03-10', 'America/New_York').issues, []);
});

test('an offset given wins over the connection zone; a missing one is supplied and flagged', () => {
  const given = parseFhirDateTime('2024-03-01T09:05:00+05:30', 'America/Chicago');
  assert.deepEqual(given.issues, []);
  assert.equal(ok(given).value, '2024-03-01T03:35:00.000Z');
  assert.equal(ok(given).offset, 'given');
  const local = parseFhirDateTime('2024-01-15T08:00:00', 'America/New_York');
  assert.equal(ok(local).value, '2024-01-15T13:00:00.000Z');
  assert.equal(ok(local).offset, 'zone');
  assert.deepEqual(messages(local), ['warning: no offset given; read as local time in the connection time zone']);
});

test('invalid calendar values are errors, not silently rolled over', () => {
  for (const v of ['2023-02-29', '2024-04-31', '2024-00-10', '2024-01-01T24:00:00Z', '2024-01-01T10:00:00+15:00', '24-01-01', '2024-1-1']) {
    const r = parseFhirDateTime(v, 'UTC', 'Observation.effective');
    assert.equal(r.ok, false, v);
    assert.equal(r.issues[0]?.path, 'Observation.effective');
    assert.ok(!r.issues[0]?.message.includes(v), 'messages never quote the value');
  }
});

test('years before 100 are not read as 19xx (Date.UTC would)', () => {
  assert.equal(ok(parseFhirDateTime('0050-06-01T00:00:00Z', 'UTC')).value, '0050-06-01T00:00:00.000Z');
});

test('daylight-saving gap, America/New_York: shifted forward by the gap and flagged', () => {
  // 2024-03-10 02:00 EST jumps to 03:00 EDT: 02:30 never happened on a wall clock.
  assert.deepEqual(localToUtc(Date.UTC(2024, 2, 10, 2, 30), 'America/New_York'), {
    utc: Date.UTC(2024, 2, 10, 7, 30),
    kind: LOCAL_TIME.gap,
  });
  const r = parseFhirDateTime('2024-03-10T02:30:00', 'America/New_York');
  assert.equal(ok(r).value, '2024-03-10T07:30:00.000Z'); // 03:30 EDT
  assert.ok(messages(r).includes('warning: local time does not exist (daylight-saving gap); moved forward by the gap'));
  // The minutes around it are ordinary.
  assert.equal(ok(parseFhirDateTime('2024-03-10T01:59:59', 'America/New_York')).value, '2024-03-10T06:59:59.000Z');
  assert.equal(ok(parseFhirDateTime('2024-03-10T03:00:00', 'America/New_York')).value, '2024-03-10T07:00:00.000Z');
  assert.equal(parseFhirDateTime('2024-03-10T03:00:00', 'America/New_York').issues.length, 1);
});

test('daylight-saving overlap, America/New_York: the earlier instant, flagged', () => {
  // 2024-11-03 02:00 EDT falls back to 01:00 EST: 01:30 happened twice (05:30Z and 06:30Z).
  const r = parseFhirDateTime('2024-11-03T01:30:00', 'America/New_York');
  assert.equal(ok(r).value, '2024-11-03T05:30:00.000Z');
  assert.ok(messages(r).includes('warning: local time is ambiguous (daylight-saving overlap); the earlier instant was taken'));
  assert.equal(ok(parseFhirDateTime('2024-11-03T02:00:00', 'America/New_York')).value, '2024-11-03T07:00:00.000Z');
  assert.equal(parseFhirDateTime('2024-11-03T02:00:00', 'America/New_York').issues.length, 1);
});

test('daylight-saving gap and overlap, America/Chicago', () => {
  const gap = parseHl7Timestamp('202403100215', 'America/Chicago');
  assert.equal(ok(gap).value, '2024-03-10T08:15:00.000Z'); // 03:15 CDT
  assert.equal(ok(gap).precision, 'minute');
  assert.ok(messages(gap).some((m) => m.includes('daylight-saving gap')));
  const overlap = parseHl7Timestamp('20241103013000', 'America/Chicago');
  assert.equal(ok(overlap).value, '2024-11-03T06:30:00.000Z'); // 01:30 CDT, not 07:30Z (CST)
  assert.ok(messages(overlap).some((m) => m.includes('daylight-saving overlap')));
  // With an offset there is nothing to resolve.
  assert.equal(ok(parseHl7Timestamp('20241103013000-0600', 'America/Chicago')).value, '2024-11-03T07:30:00.000Z');
  assert.deepEqual(parseHl7Timestamp('20241103013000-0600', 'America/Chicago').issues, []);
});

test('HL7 v2 TS/DTM at every precision, with and without an offset', () => {
  const p = (v: string): TimeValue => ok(parseHl7Timestamp(v, 'America/New_York'));
  assert.deepEqual(
    ['1980', '198002', '19800229', '1980022914', '198002291405', '19800229140530', '19800229140530.1234'].map((v) => [
      p(v).value,
      p(v).precision,
    ]),
    [
      ['1980', 'year'],
      ['1980-02', 'month'],
      ['1980-02-29', 'day'],
      ['1980-02-29T19:00:00.000Z', 'hour'],
      ['1980-02-29T19:05:00.000Z', 'minute'],
      ['1980-02-29T19:05:30.000Z', 'second'],
      ['1980-02-29T19:05:30.123Z', 'ms'],
    ],
  );
  assert.equal(p('20240301140530+0100').value, '2024-03-01T13:05:30.000Z');
  assert.equal(p('20240301140530+0100').offset, 'given');
  // An offset on a date alone says nothing about the date.
  assert.equal(p('20240301-0500').value, '2024-03-01');
  for (const bad of ['2024030', '20240230', '20240301250000', '20240301140530-2500', '20240301140530-0575', '2024-03-01', 'x']) {
    assert.equal(parseHl7Timestamp(bad, 'UTC').ok, false, bad);
  }
});

test('zones far from UTC: New Zealand (+12/+13) gap and overlap are seen too', () => {
  // 2024-09-29 02:00 NZST jumps to 03:00 NZDT; 2024-04-07 03:00 NZDT falls back to 02:00 NZST.
  const gap = parseFhirDateTime('2024-09-29T02:30:00', 'Pacific/Auckland');
  assert.equal(ok(gap).value, '2024-09-28T14:30:00.000Z'); // 03:30 NZDT, not 01:30 NZST
  assert.ok(messages(gap).some((m) => m.includes('daylight-saving gap')));
  const overlap = parseFhirDateTime('2024-04-07T02:30:00', 'Pacific/Auckland');
  assert.equal(ok(overlap).value, '2024-04-06T13:30:00.000Z'); // 02:30 NZDT, the first of the two
  assert.ok(messages(overlap).some((m) => m.includes('daylight-saving overlap')));
  assert.equal(ok(parseFhirDateTime('2024-01-15T08:00:00', 'Pacific/Kiritimati')).value, '2024-01-14T18:00:00.000Z'); // +14
});
