// Data type rules that @medplum/core does not apply: the invariants declared on the data types
// themselves (per-1 on Period, qty-3 on Quantity, ...; @medplum/core evaluates only the invariants
// written on each element), and an Attachment's stated size against its data.
import { evalFhirPathTyped, toTypedValue, tryGetDataType, type TypedValue } from '@medplum/core';
import type { TranslationIssue } from '../../issues.ts';
import type { Rule } from './context.ts';
import { isObject, type Json } from './walk.ts';

/** ele-1 and ext-1 are checked by @medplum/core; per-1 natively (periodOrder); ref-1 with siblings (resources.ts). */
const SKIP = new Set(['ele-1', 'ext-1', 'per-1', 'ref-1']);

export const datatypeInvariants: Rule = ({ nodes, resource }) => {
  const out: TranslationIssue[] = [];
  const resources = new Map(
    nodes.filter((n) => isObject(n.value) && n.value.resourceType === n.type).map((n) => [n.path, n.value as Json]),
  );
  // %rootResource is the resource an element is in, or its container when that one is contained.
  const rootOf = (path: string): Json => resources.get(path.replace(/\.contained\[\d+\]$/, '')) ?? resource;
  for (const n of nodes) {
    if (!isObject(n.value) || n.value.resourceType !== undefined || !/^[A-Z]/.test(n.type)) continue;
    const schema = tryGetDataType(n.type);
    // Backbone elements' invariants sit on their element definitions, which @medplum/core evaluates.
    if (!schema || schema.parentType) continue;
    for (const c of schema.constraints ?? []) {
      if (c.severity !== 'error' || SKIP.has(c.key)) continue;
      const value: TypedValue = { type: n.type, value: n.value };
      const variables: Record<string, TypedValue> = {
        '%context': value,
        '%resource': toTypedValue(resources.get(n.resourcePath) ?? resource),
        '%rootResource': toTypedValue(rootOf(n.resourcePath)),
      };
      let ok: boolean;
      try {
        const r = evalFhirPathTyped(c.expression, [value], variables);
        // Only a false result fails: an empty one means the expression does not apply (ref-1 on a Reference without a reference).
        ok = !(r.length === 1 && r[0]?.value === false);
      } catch {
        continue; // an expression the engine cannot evaluate proves nothing about the data
      }
      if (!ok) out.push({ severity: 'error', path: n.path, message: `constraint ${c.key} failed: ${c.description}` });
    }
  }
  return out;
};

/** Attachment.size is the size of the data, in bytes, before base64 encoding. */
export const attachments: Rule = ({ nodes }) =>
  nodes.flatMap((n) => {
    if (n.type !== 'Attachment' || !isObject(n.value)) return [];
    const { data, size } = n.value;
    if (typeof data !== 'string' || typeof size !== 'number' || !/^[A-Za-z0-9+/\s]*={0,2}$/.test(data)) return [];
    const actual = Buffer.from(data, 'base64').length;
    return actual === size
      ? []
      : [{ severity: 'error', path: `${n.path}.size`, message: 'stated size does not match the size of the data' }];
  });

/** The earliest and latest instants (ms) a FHIR date or dateTime can denote, and its precision. */
export function instantRange(v: string): { lo: number; hi: number; precision: number } | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, tz] = m;
  const offset = tz && tz !== 'Z' ? (tz.startsWith('-') ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4))) * 60_000 : 0;
  const at = (Y: number, M: number, D: number, H: number, Mi: number, S: number, ms: number): number =>
    Date.UTC(Y, M, D, H, Mi, S, ms) - offset;
  const Y = Number(y);
  if (mo === undefined) return { lo: at(Y, 0, 1, 0, 0, 0, 0), hi: at(Y + 1, 0, 1, 0, 0, 0, 0) - 1, precision: 1 };
  const M = Number(mo) - 1;
  if (d === undefined) return { lo: at(Y, M, 1, 0, 0, 0, 0), hi: at(Y, M + 1, 1, 0, 0, 0, 0) - 1, precision: 2 };
  const D = Number(d);
  if (h === undefined) return { lo: at(Y, M, D, 0, 0, 0, 0), hi: at(Y, M, D + 1, 0, 0, 0, 0) - 1, precision: 3 };
  const base = at(Y, M, D, Number(h), Number(mi), Number(sec ?? 0), frac ? Math.floor(Number(frac) * 1000) : 0);
  return { lo: base, hi: sec === undefined ? base + 59_999 : base, precision: sec === undefined ? 4 : 5 };
}

/**
 * per-1: a Period's start is not after its end. As in FHIRPath, two values of different precision
 * that overlap (a day and a time on that day) cannot be ordered, and the invariant then fails.
 */
export const periodOrder: Rule = ({ nodes }) =>
  nodes.flatMap((n) => {
    if (n.type !== 'Period' || !isObject(n.value) || typeof n.value.start !== 'string' || typeof n.value.end !== 'string') return [];
    const s = instantRange(n.value.start);
    const e = instantRange(n.value.end);
    if (!s || !e) return [];
    const ordered = s.hi <= e.lo || (s.precision === e.precision && s.lo <= e.lo);
    return ordered
      ? []
      : [{ severity: 'error' as const, path: n.path, message: 'constraint per-1 failed: start SHALL have a lower value than end' }];
  });
