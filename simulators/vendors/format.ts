// Small formatting helpers the vendor modules share: date-time styles, narratives, id sources.
import type { Random } from '../population/random.ts';
import { REFERENCE_TIME } from '../population/model.ts';
import type { Narrative } from '../fhir-types.ts';

/** 2024-03-01T14:05:00.000Z (Oracle Health style). */
export const utcMillis = (ms: number): string => new Date(ms).toISOString();

/** 2024-03-01T14:05:00Z */
export const utcSeconds = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/** Wall-clock time at a fixed offset such as -05:00: 2024-03-01T09:05:00-05:00 (Epic style). */
export function withOffset(ms: number, offset: string): string {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (!m) throw new Error(`bad UTC offset ${offset}`);
  const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return `${new Date(ms + minutes * 60_000).toISOString().slice(0, 19)}${offset}`;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();
const zoneOffsets = new Map<string, number>();

/**
 * Minutes east of UTC in an IANA zone at an instant. Offsets change only on the hour (every zone
 * the simulators use), so one lookup per zone and hour serves every resource of that hour.
 */
export function zoneOffsetMinutes(ms: number, timeZone: string): number {
  const hour = Math.floor(ms / 3_600_000);
  const key = `${timeZone}|${hour}`;
  const known = zoneOffsets.get(key);
  if (known !== undefined) return known;
  let f = zoneFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    zoneFormats.set(timeZone, f);
  }
  const at = hour * 3_600_000;
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute));
  const minutes = Math.round((wall - at) / 60_000);
  zoneOffsets.set(key, minutes);
  return minutes;
}

const offsetText = (minutes: number): string => {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
};

/** Wall-clock time in an IANA zone with that zone's offset at the time: 2024-07-01T09:05:00-05:00. */
export const zonedTime = (ms: number, timeZone: string): string => withOffset(ms, offsetText(zoneOffsetMinutes(ms, timeZone)));

/** Wall-clock time in an IANA zone without any offset (2024-07-01T09:05:00): the reader must know the zone. */
export const localTime = (ms: number, timeZone: string): string => zonedTime(ms, timeZone).slice(0, 19);

/** The calendar date in an IANA zone: YYYY-MM-DD. */
export const dateIn = (ms: number, timeZone: string): string => zonedTime(ms, timeZone).slice(0, 10);

/** The calendar date at a fixed offset: YYYY-MM-DD. */
export const dateAt = (ms: number, offset: string): string => withOffset(ms, offset).slice(0, 10);

/** A resource's meta.lastUpdated: a while after the clinical time, never after the reference time. */
export const touched = (ms: number, afterMs: number): number => Math.min(ms + afterMs, REFERENCE_TIME - 60_000);

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** A generated XHTML narrative from label/value rows. */
export function narrative(title: string, rows: readonly (readonly [string, string])[]): Narrative {
  const body = rows.map(([label, value]) => `<p><b>${escapeHtml(label)}</b>: ${escapeHtml(value)}</p>`).join('');
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p><b>${escapeHtml(title)}</b></p>${body}</div>` };
}

const OPAQUE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.';

/** Epic-style opaque ids: 'e' followed by `length` characters of [A-Za-z0-9.], unique per source. */
export function opaqueIds(rng: Random, length = 43): () => string {
  const used = new Set<string>();
  return () => {
    for (;;) {
      let id = 'e';
      for (let i = 0; i < length; i++) id += OPAQUE[Math.floor(rng.next() * OPAQUE.length)]!;
      if (!used.has(id)) {
        used.add(id);
        return id;
      }
    }
  };
}

/** Increasing numbers with random gaps (ids and record numbers handed out over years). */
export function numbers(rng: Random, start: number, maxGap: number): () => number {
  let n = start;
  return () => (n += rng.int(1, maxGap));
}

/** A deterministic UUID-shaped string (version 4 layout). */
export function uuidLike(rng: Random): string {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rng.next() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[rng.int(0, 3)]}${hex(3)}-${hex(12)}`;
}

export const MARITAL_DISPLAY = { S: 'Never Married', M: 'Married', D: 'Divorced', W: 'Widowed' } as const;
