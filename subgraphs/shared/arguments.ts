// Argument checks shared by every subgraph's resolvers: malformed input is BAD_USER_INPUT naming
// the argument, before any work is done.
import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import { badUserInput } from '../../platform/errors.ts';

const MAX_TEXT = 256;

/** Text arguments: bounded, and without control characters (PostgreSQL refuses NUL in text). */
export function text(value: string | null | undefined, argument: string): string | null {
  if (value === null || value === undefined) return null;
  if (value.length > MAX_TEXT || /[\u0000-\u001f\u007f]/.test(value))
    throw badUserInput(`\`${argument}\` must be at most ${MAX_TEXT} printable characters`, argument);
  return value;
}

/** An ISO 8601 date or instant with an offset (`from`/`to` filters); null when absent. */
export function instant(value: string | null | undefined, argument: string): string | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value)))
    throw badUserInput(`\`${argument}\` must be an ISO 8601 date or instant`, argument);
  return value;
}

/** A Relay page size between 0 and max. */
export function pageSize(first: number | null | undefined, fallback: number, max: number): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 0 || size > max) throw badUserInput(`\`first\` must be between 0 and ${max}`, 'first');
  return size;
}

/** Opaque Relay cursors of one kind (`golden:<id>`, `audit:<seq>`); anything else is BAD_USER_INPUT. */
export function cursorCodec(kind: string, valid: (key: string) => boolean) {
  return {
    encode: (key: string): string => Buffer.from(`${kind}:${key}`).toString('base64url'),
    decode(cursor: string): string {
      const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
      const key = decoded.startsWith(`${kind}:`) ? decoded.slice(kind.length + 1) : '';
      if (!valid(key)) throw badUserInput('`after` is not a cursor returned by this API', 'after');
      return key;
    },
  };
}

function selectsIn(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, names: ReadonlySet<string>): boolean {
  return (set?.selections ?? []).some((s) => {
    if (s.kind === 'Field') return names.has(s.name.value);
    if (s.kind === 'InlineFragment') return selectsIn(s.selectionSet, info, names);
    return selectsIn(info.fragments[s.name.value]?.selectionSet, info, names);
  });
}

/** Whether the field being resolved selects (through fragments) one of these fields: costly ones are computed only when asked. */
export const selects = (info: GraphQLResolveInfo, names: ReadonlySet<string>): boolean =>
  info.fieldNodes.some((n) => selectsIn(n.selectionSet, info, names));
