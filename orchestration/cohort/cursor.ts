// Cohort page cursors: opaque and tamper-proof. A cursor carries the position (sort key and id)
// and is bound, by an HMAC-SHA256 under the key store's cohort-cursor key, to the filter, the
// order and the view it was issued for; altered, or replayed with another filter, order or view,
// it is BAD_USER_INPUT. The position is not secret (golden ids are what the page showed anyway).
import { createHash, createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { badUserInput } from '../../platform/errors.ts';

export type CursorPosition = { readonly key: string | null; readonly id: string };

/** JSON with sorted keys and without null or absent members: equal filters give equal text, however they were written. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** What a cursor is bound to: the digest of the filter, order and view. */
export const cursorScope = (filter: unknown, order: string, view: string): string =>
  createHash('sha256')
    .update(canonicalJson({ filter: filter ?? {}, order, view }))
    .digest('base64url');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOT_OURS = '`after` is not a cursor this API returned for this filter and order';

export function cohortCursors(key: KeyObject) {
  const mac = (scope: string, body: string): Buffer => createHmac('sha256', key).update(`${scope}\u0000${body}`).digest();
  return {
    encode(scope: string, position: CursorPosition): string {
      const body = Buffer.from(JSON.stringify([1, position.key, position.id])).toString('base64url');
      return `${body}.${mac(scope, body).toString('base64url')}`;
    },
    decode(scope: string, cursor: string): CursorPosition {
      const [body = '', tag = '', extra] = cursor.split('.');
      const given = Buffer.from(tag, 'base64url');
      const expected = mac(scope, body);
      if (extra !== undefined || given.length !== expected.length || !timingSafeEqual(given, expected))
        throw badUserInput(NOT_OURS, 'after');
      const [version, k, id] = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
      if (version !== 1 || (k !== null && typeof k !== 'string') || typeof id !== 'string' || !UUID.test(id))
        throw badUserInput(NOT_OURS, 'after');
      return { key: k, id };
    },
  };
}

export type CohortCursors = ReturnType<typeof cohortCursors>;
