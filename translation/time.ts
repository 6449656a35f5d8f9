// Local times to instants. FHIR allows dateTimes without an offset only when they are dates;
// some sources still send local times, which are read in the hospital's configured zone.

const HAS_OFFSET = /(Z|[+-]\d{2}:\d{2})$/;
const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;
const PARTIAL_DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;

/** Offset in minutes of `timeZone` at the given UTC instant (e.g. -300 for New York in winter). */
export function zoneOffsetMinutes(utcMillis: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(utcMillis));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(utcMillis / 1000) * 1000) / 60000);
}

/**
 * A FHIR date or dateTime as a canonical string: instants in UTC ISO 8601, partial dates kept
 * as they are (a birth year is not an instant). Returns undefined for an unparseable value.
 */
export function toInstant(value: string | undefined, timeZone: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (PARTIAL_DATE.test(value)) return value;
  if (HAS_OFFSET.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
  }
  const m = LOCAL_DATETIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const wallAsUtc = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s ?? 0),
    Number((frac ?? '0').padEnd(3, '0')),
  );
  // Two passes settle the offset around DST transitions.
  let utc = wallAsUtc - zoneOffsetMinutes(wallAsUtc, timeZone) * 60000;
  utc = wallAsUtc - zoneOffsetMinutes(utc, timeZone) * 60000;
  return new Date(utc).toISOString();
}
