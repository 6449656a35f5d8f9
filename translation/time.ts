// Source times to instants. FHIR date/dateTime/instant and HL7 v2 TS/DTM arrive with or without
// an offset; without one they are local times of the hospital and are read in the connection's
// configured IANA zone. A value keeps its precision: a birth year stays a year, and a date is not
// turned into midnight UTC. Local times that fall in a daylight-saving gap or overlap are resolved
// the way RFC 5545 and Temporal's 'compatible' mode do, and flagged.
import { error, result, warning, type Translated, type TranslationIssue } from './issues.ts';

export const PRECISION = {
  year: 'year',
  month: 'month',
  day: 'day',
  hour: 'hour',
  minute: 'minute',
  second: 'second',
  ms: 'ms',
} as const;
export type Precision = (typeof PRECISION)[keyof typeof PRECISION];

const DATE_PRECISIONS: ReadonlySet<Precision> = new Set([PRECISION.year, PRECISION.month, PRECISION.day]);

/** How the offset of a value was decided. */
export const OFFSET_SOURCE = { given: 'given', zone: 'zone' } as const;
export type OffsetSource = (typeof OFFSET_SOURCE)[keyof typeof OFFSET_SOURCE];

export type TimeValue = {
  /**
   * The value at its own precision: `YYYY`, `YYYY-MM`, `YYYY-MM-DD` for dates (never an instant:
   * a birth date has no time zone), else the UTC instant (`...T14:05:00.000Z`).
   */
  readonly value: string;
  readonly precision: Precision;
  /** UTC instant of the start of the value (for dates, the start of that period in the connection's zone): ordering and ranges. */
  readonly instant: string;
  /** `given` when the source sent an offset (or Z), `zone` when the connection's zone supplied it. */
  readonly offset: OffsetSource;
};

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // Building one costs tens of microseconds; translation asks for the same few zones all day.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** UTC milliseconds of a wall-clock reading; unlike Date.UTC, years 0-99 are not taken as 1900-1999. */
function wallMillis(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

/** Offset in minutes of `timeZone` at the given UTC instant (e.g. -300 for New York in winter). */
export function zoneOffsetMinutes(utcMillis: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(utcMillis));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const era = parts.find((p) => p.type === 'era')?.value;
  const year = era === 'BC' || era === 'B' ? 1 - get('year') : get('year');
  const asUtc = wallMillis(year, get('month'), get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(utcMillis / 1000) * 1000) / 60000);
}

/** What became of a local time: it exists once, not at all (a spring-forward gap) or twice (a fall-back overlap). */
export const LOCAL_TIME = { normal: 'normal', gap: 'gap', overlap: 'overlap' } as const;
export type LocalTimeKind = (typeof LOCAL_TIME)[keyof typeof LOCAL_TIME];

// Wider than any UTC offset (at most 14 hours), so that the offsets read a window away from the
// wall time are those before and after any transition near it: with 12 hours, New Zealand's (+13)
// transitions fell inside the window and went unseen. Transitions are months apart.
const WINDOW = 24 * 3_600_000;

/**
 * The UTC instant of a wall-clock time (given as if it were UTC milliseconds) in `timeZone`.
 * In an overlap the earlier instant is taken (the first occurrence, still on the summer offset).
 * In a gap the offset in force before the transition is applied, which moves the time forward by
 * the length of the gap (02:30 on a spring-forward night in New York becomes 03:30 EDT): the
 * reading stays in order with the readings around it, as RFC 5545 and Temporal specify.
 */
export function localToUtc(wall: number, timeZone: string): { readonly utc: number; readonly kind: LocalTimeKind } {
  const before = zoneOffsetMinutes(wall - WINDOW, timeZone);
  const after = zoneOffsetMinutes(wall + WINDOW, timeZone);
  if (before === after) return { utc: wall - before * 60_000, kind: LOCAL_TIME.normal };
  const valid = [...new Set([before, after])]
    .map((o) => wall - o * 60_000)
    .filter((t) => zoneOffsetMinutes(t, timeZone) * 60_000 === wall - t)
    .sort((a, b) => a - b);
  if (valid.length === 0) return { utc: wall - before * 60_000, kind: LOCAL_TIME.gap };
  return { utc: valid[0]!, kind: valid.length > 1 ? LOCAL_TIME.overlap : LOCAL_TIME.normal };
}

type Fields = {
  y: number;
  mo?: number;
  d?: number;
  h?: number;
  mi?: number;
  s?: number;
  /** Fraction of a second as written (digits after the point). */
  frac?: string;
  /** Offset in minutes when one was given. */
  offset?: number;
};

const daysInMonth = (y: number, mo: number): number => new Date(wallMillis(y, mo + 1, 1) - 86_400_000).getUTCDate();

function precisionOf(f: Fields): Precision {
  if (f.frac !== undefined) return PRECISION.ms;
  if (f.s !== undefined) return PRECISION.second;
  if (f.mi !== undefined) return PRECISION.minute;
  if (f.h !== undefined) return PRECISION.hour;
  if (f.d !== undefined) return PRECISION.day;
  if (f.mo !== undefined) return PRECISION.month;
  return PRECISION.year;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

const fail = (path: string, message: string): Translated<TimeValue> => ({ ok: false, issues: [error(path, message)] });

/** Checks ranges (month 13, 30 February, hour 24 are refused) and builds the value. */
function build(f: Fields, timeZone: string, path: string, kind: string): Translated<TimeValue> {
  const { y, mo = 1, d = 1, h = 0, mi = 0, s = 0 } = f;
  const bad = (what: string): Translated<TimeValue> => fail(path, `not a valid ${kind} (${what})`);
  if (mo < 1 || mo > 12) return bad('month out of range');
  if (d < 1 || d > daysInMonth(y, mo)) return bad('day out of range');
  // FHIR allows second 60 (a leap second); it is read as the next minute's first.
  if (h > 23 || mi > 59 || s > 60) return bad('time out of range');
  if (f.offset !== undefined && Math.abs(f.offset) > 14 * 60) return bad('offset out of range');
  const precision = precisionOf(f);
  // Digits, not arithmetic: 0.57 * 1000 may not be 570 in binary floating point. Beyond ms is truncated.
  const ms = f.frac === undefined ? 0 : Number(f.frac.slice(0, 3).padEnd(3, '0'));
  const wall = wallMillis(y, mo, d, h, mi, s, ms);
  const issues: TranslationIssue[] = [];
  let utc: number;
  if (f.offset !== undefined) utc = wall - f.offset * 60_000;
  else {
    const local = localToUtc(wall, timeZone);
    utc = local.utc;
    // A date's instant is derived for ordering only: nothing was repaired, nothing to flag.
    if (!DATE_PRECISIONS.has(precision)) {
      issues.push(warning(path, 'no offset given; read as local time in the connection time zone'));
      if (local.kind === LOCAL_TIME.gap) {
        issues.push(warning(path, 'local time does not exist (daylight-saving gap); moved forward by the gap'));
      } else if (local.kind === LOCAL_TIME.overlap) {
        issues.push(warning(path, 'local time is ambiguous (daylight-saving overlap); the earlier instant was taken'));
      }
    }
  }
  const instant = new Date(utc).toISOString();
  const value =
    precision === PRECISION.year
      ? pad(y, 4)
      : precision === PRECISION.month
        ? `${pad(y, 4)}-${pad(mo)}`
        : precision === PRECISION.day
          ? `${pad(y, 4)}-${pad(mo)}-${pad(d)}`
          : instant;
  return result({ value, precision, instant, offset: f.offset === undefined ? OFFSET_SOURCE.zone : OFFSET_SOURCE.given }, issues);
}

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));

// FHIR date, dateTime and instant. The time part must carry seconds and an offset in FHIR; vendors
// also send it without an offset (read in the connection's zone) or without seconds (kept as minutes).
const FHIR = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$/;

const offsetMinutes = (o: string): number => {
  if (o === 'Z') return 0;
  const digits = o.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return o.startsWith('-') ? -minutes : minutes;
};

/** A FHIR date, dateTime or instant; `timeZone` is the connection's IANA zone, used when no offset is given. */
export function parseFhirDateTime(value: string, timeZone: string, path = ''): Translated<TimeValue> {
  const m = FHIR.exec(value.trim());
  if (!m) return fail(path, 'not a valid FHIR date or dateTime');
  const [, y, mo, d, h, mi, s, frac, off] = m;
  if (off !== undefined && Number(off.replace(':', '').slice(-2)) > 59) {
    return fail(path, 'not a valid FHIR dateTime (offset out of range)');
  }
  const f: Fields = {
    y: Number(y),
    mo: num(mo),
    d: num(d),
    h: num(h),
    mi: num(mi),
    s: num(s),
    frac,
    // An offset on a date alone is meaningless; FHIR forbids it and it is ignored.
    offset: off === undefined || h === undefined ? undefined : offsetMinutes(off),
  };
  return build(f, timeZone, path, 'FHIR dateTime');
}

// HL7 v2 TS (first component) and DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
const HL7 = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?([+-]\d{4})?$/;

/** An HL7 v2 TS/DTM value (pass TS.1, not the whole field with its degree of precision). */
export function parseHl7Timestamp(value: string, timeZone: string, path = ''): Translated<TimeValue> {
  const m = HL7.exec(value.trim());
  if (!m) return fail(path, 'not a valid HL7 v2 timestamp');
  const [, y, mo, d, h, mi, s, frac, off] = m;
  if (off !== undefined && Number(off.slice(3)) > 59) {
    return fail(path, 'not a valid HL7 v2 timestamp (offset out of range)');
  }
  const f: Fields = { y: Number(y), mo: num(mo), d: num(d), h: num(h), mi: num(mi), s: num(s), frac };
  if (off !== undefined && h !== undefined) f.offset = offsetMinutes(off);
  return build(f, timeZone, path, 'HL7 v2 timestamp');
}

/**
 * A FHIR date or dateTime as a canonical string: instants in UTC ISO 8601, partial dates kept
 * as they are (a birth year is not an instant). Returns undefined for an unparseable value.
 * (The older, flag-free API: parseFhirDateTime says how the value was read.)
 */
export function toInstant(value: string | undefined, timeZone: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const r = parseFhirDateTime(value, timeZone);
  return r.ok ? r.value.value : undefined;
}
