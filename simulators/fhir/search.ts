// FHIR search on one site's store: the parameters the gateway and its tests use, with FHIR's
// semantics (commas are OR, repeated parameters are AND, token `system|code`, date prefixes,
// paging by `_count` and an offset). Unknown parameters are ignored, as real EHRs mostly do;
// a clinical search without a patient is refused, as Epic and Oracle Health refuse it.
import type { CodeableConcept, FhirResource } from '../fhir-types.ts';
import { isClinicalType, type ResourceType, type Store } from './store.ts';

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 200;
/** The paging parameter the `next` links carry (stateless: the data never changes under a search). */
export const OFFSET_PARAM = '_getpagesoffset';

export type SearchParamDef = { readonly name: string; readonly type: 'token' | 'date' | 'reference' | 'number' };

const COMMON: readonly SearchParamDef[] = [
  { name: '_id', type: 'token' },
  { name: '_lastUpdated', type: 'date' },
  { name: '_count', type: 'number' },
];
const CLINICAL: readonly SearchParamDef[] = [
  { name: 'patient', type: 'reference' },
  { name: 'subject', type: 'reference' },
];
const CODED: readonly SearchParamDef[] = [
  { name: 'category', type: 'token' },
  { name: 'code', type: 'token' },
];

/** The search parameters each type supports (also what the CapabilityStatement lists). */
export const SEARCH_PARAMS: Readonly<Record<ResourceType, readonly SearchParamDef[]>> = {
  Patient: [...COMMON, { name: 'identifier', type: 'token' }],
  Observation: [...COMMON, ...CLINICAL, ...CODED],
  Condition: [...COMMON, ...CLINICAL, ...CODED],
  MedicationRequest: [...COMMON, ...CLINICAL],
  CarePlan: [...COMMON, ...CLINICAL],
  Encounter: [...COMMON, ...CLINICAL],
  MedicationAdministration: [...COMMON, ...CLINICAL],
  MedicationStatement: [...COMMON, ...CLINICAL],
  Goal: [...COMMON, ...CLINICAL],
  Procedure: [...COMMON, ...CLINICAL, { name: 'code', type: 'token' }],
  DiagnosticReport: [...COMMON, ...CLINICAL, ...CODED],
};

/** Where the `code` and `category` token parameters look, per type that has them. */
const TOKEN_ELEMENTS: Readonly<Partial<Record<ResourceType, { readonly code?: string; readonly category?: string }>>> = {
  Observation: { code: 'code', category: 'category' },
  Condition: { code: 'code', category: 'category' },
  DiagnosticReport: { code: 'code', category: 'category' },
  Procedure: { code: 'code' },
};

export type SearchResult =
  | { readonly ok: true; readonly matches: readonly FhirResource[]; readonly used: readonly (readonly [string, string])[] }
  | { readonly ok: false; readonly status: 400; readonly code: 'invalid' | 'required'; readonly diagnostics: string };

export type Page = { readonly count: number; readonly offset: number };

const invalid = (diagnostics: string): SearchResult => ({ ok: false, status: 400, code: 'invalid', diagnostics });

/** Splits on `sep` except where escaped with a backslash (FHIR search escaping), then unescapes. */
export function splitEscaped(s: string, sep: ',' | '|'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      current += ch + s[i + 1]!;
      i++;
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

const unescape = (s: string): string => s.replace(/\\([\\|,$])/g, '$1');

/** `system|code`, `|code` (no system), `system|` (any code), `code` (any system). */
export type Token = { readonly system: string | undefined; readonly code: string | undefined };

export function parseToken(raw: string): Token {
  const parts = splitEscaped(raw, '|');
  if (parts.length === 1) return { system: undefined, code: unescape(parts[0]!) || undefined };
  const [system, ...rest] = parts;
  const code = unescape(rest.join('|'));
  return { system: unescape(system!), code: code === '' ? undefined : code };
}

const values = (raw: string): string[] => splitEscaped(raw, ',').filter((v) => v !== '');

const matchesConcept = (cc: CodeableConcept, t: Token): boolean =>
  (cc.coding ?? []).some((c) => (t.system === undefined || (c.system ?? '') === t.system) && (t.code === undefined || c.code === t.code));

/** A patient reference: `123`, `Patient/123` or an absolute URL ending in `Patient/123`. */
export function referenceId(raw: string): string | undefined {
  const m = /(?:^|\/)Patient\/([^/]+)$/.exec(raw);
  if (m) return m[1];
  return raw.includes('/') ? undefined : raw;
}

type DateBound = { readonly prefix: string; readonly lo: number; readonly hi: number };

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** A date search value as the half-open range of instants it denotes (FHIR: precision matters). */
export function parseDateParam(raw: string): DateBound | undefined {
  const m = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.+)$/.exec(raw);
  const d = m ? DATE.exec(m[2]!) : null;
  if (!m || !d) return undefined;
  const [, y, mo, day, h, mi, s, frac, tz] = d;
  const prefix = m[1] ?? 'eq';
  const num = (v: string | undefined, dflt: number): number => (v === undefined ? dflt : Number(v));
  if (num(mo, 1) < 1 || num(mo, 1) > 12 || num(day, 1) < 1 || num(day, 1) > 31) return undefined;
  if (h !== undefined) {
    if (tz === undefined && s === undefined && mi === undefined) return undefined;
    const base = Date.parse(`${y}-${mo}-${day}T${h}:${mi}:${s ?? '00'}${frac ?? ''}${tz ?? 'Z'}`);
    if (Number.isNaN(base)) return undefined;
    const width = frac ? 1 : s !== undefined ? 1000 : 60_000;
    return { prefix, lo: base, hi: base + width };
  }
  const year = Number(y);
  if (mo === undefined) return { prefix, lo: Date.UTC(year, 0, 1), hi: Date.UTC(year + 1, 0, 1) };
  if (day === undefined) return { prefix, lo: Date.UTC(year, Number(mo) - 1, 1), hi: Date.UTC(year, Number(mo), 1) };
  const lo = Date.UTC(year, Number(mo) - 1, Number(day));
  return { prefix, lo, hi: lo + 86_400_000 };
}

/** Does an instant satisfy a date parameter? */
export function dateMatches(t: number, b: DateBound): boolean {
  switch (b.prefix) {
    case 'ne':
      return t < b.lo || t >= b.hi;
    case 'gt':
    case 'sa':
      return t >= b.hi;
    case 'lt':
    case 'eb':
      return t < b.lo;
    case 'ge':
      return t >= b.lo;
    case 'le':
      return t < b.hi;
    default: // eq, ap
      return t >= b.lo && t < b.hi;
  }
}

/** `_count` (default 50, at most 200; 0 = total only) and the paging offset. */
export function pageOf(params: URLSearchParams): Page | string {
  const rawCount = params.get('_count');
  const rawOffset = params.get(OFFSET_PARAM);
  const count = rawCount === null || rawCount === '' ? DEFAULT_COUNT : Number(rawCount);
  const offset = rawOffset === null || rawOffset === '' ? 0 : Number(rawOffset);
  if (!Number.isInteger(count) || count < 0) return `_count must be a non-negative integer, got "${rawCount}"`;
  if (!Number.isInteger(offset) || offset < 0) return `${OFFSET_PARAM} must be a non-negative integer`;
  return { count: Math.min(count, MAX_COUNT), offset };
}

/** Intersection of the id sets of repeated parameters (AND), each a comma list (OR). */
function idSets(params: URLSearchParams, names: readonly string[], toId: (raw: string) => string | undefined): Set<string> | undefined {
  let result: Set<string> | undefined;
  for (const name of names) {
    for (const raw of params.getAll(name)) {
      const set = new Set(values(raw).flatMap((v) => toId(unescape(v)) ?? []));
      result = result ? new Set([...result].filter((id) => set.has(id))) : set;
    }
  }
  return result;
}

export function search(store: Store, type: ResourceType, params: URLSearchParams): SearchResult {
  const supported = new Set(SEARCH_PARAMS[type].map((p) => p.name));
  const used: [string, string][] = [];
  for (const [name, value] of params) if (supported.has(name) && name !== '_count') used.push([name, value]);
  const byPosition = (a: FhirResource, b: FhirResource): number => store.position(a) - store.position(b);

  let candidates: readonly FhirResource[] | undefined;
  const ids = idSets(params, ['_id'], (v) => v);
  if (ids) candidates = [...ids].flatMap((id) => store.byId(type, id) ?? []).sort(byPosition);

  if (type === 'Patient') {
    for (const raw of params.getAll('identifier')) {
      const hits = new Set<FhirResource>(
        values(raw).flatMap((v) => {
          const t = parseToken(v);
          return store.byIdentifier(t.system, t.code);
        }),
      );
      candidates = (candidates ?? [...hits].sort(byPosition)).filter((p) => hits.has(p));
    }
  }

  if (isClinicalType(type)) {
    const patients = idSets(params, ['patient', 'subject'], referenceId);
    if (!patients)
      return { ok: false, status: 400, code: 'required', diagnostics: `a ${type} search requires the patient (or subject) parameter` };
    const own = [...patients].flatMap((pid) => store.ofPatient(type, pid));
    if (patients.size > 1) own.sort(byPosition);
    if (candidates) {
      const mine = new Set(own);
      candidates = candidates.filter((r) => mine.has(r));
    } else candidates = own;
  }

  let result = candidates ?? store.all(type);
  for (const raw of params.getAll('_lastUpdated')) {
    const bound = parseDateParam(raw);
    if (!bound) return invalid(`_lastUpdated: "${raw}" is not a FHIR date with an optional prefix (eq, ne, gt, lt, ge, le)`);
    result = result.filter((r) => dateMatches(store.lastUpdated(r), bound));
  }
  const elements = TOKEN_ELEMENTS[type];
  for (const name of ['category', 'code'] as const) {
    const element = elements?.[name];
    if (!element) continue;
    for (const raw of params.getAll(name)) {
      const tokens = values(raw).map(parseToken);
      result = result.filter((r) => {
        const v = (r as unknown as Record<string, CodeableConcept | CodeableConcept[] | undefined>)[element];
        const concepts = Array.isArray(v) ? v : v ? [v] : [];
        return concepts.some((cc) => tokens.some((t) => matchesConcept(cc, t)));
      });
    }
  }
  return { ok: true, matches: result, used };
}
