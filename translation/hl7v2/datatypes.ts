// HL7 v2 datatypes to FHIR R4 datatypes, per the v2-to-FHIR IG's datatype maps (CX, HD, XPN, XAD,
// XTN, CWE/CE, TS/DTM, NM, SN). Values arrive as raw ER7 text of one repetition; every leaf is
// unescaped here (protocol/hl7v2 keeps fields raw so splitting on delimiters stays right).
import { unescapeValue, type Delimiters } from '../../protocol/hl7v2/er7.ts';
import type { TranslationIssue } from '../issues.ts';
import { parseHl7Timestamp, PRECISION, type TimeValue } from '../time.ts';
import {
  ADDRESS_TYPE,
  ADDRESS_USE,
  CODING_SYSTEMS,
  NAME_USE,
  TELECOM_EQUIPMENT,
  TELECOM_USE,
  V2_TABLE,
  WELL_KNOWN_IDENTIFIER_SYSTEMS,
} from './vocabulary.ts';

type Json = Record<string, unknown>;

/** One repetition split into components, each into subcomponents, every leaf unescaped. */
export type Composite = readonly (readonly string[])[];

export function composite(raw: string | undefined, d: Delimiters): Composite {
  if (!raw) return [];
  return raw.split(d.component).map((c) => c.split(d.subcomponent).map((s) => unescapeValue(s, d)));
}

/** Repetitions of a raw field, each as a composite; empty repetitions are dropped. */
export function repetitions(raw: string | undefined, d: Delimiters): Composite[] {
  if (!raw) return [];
  return raw
    .split(d.repetition)
    .filter((r) => r.replaceAll(d.component, '').replaceAll(d.subcomponent, '').trim() !== '')
    .map((r) => composite(r, d));
}

/** Component n (from 1), subcomponent s (from 1), trimmed; '' when absent. `""` (HL7's explicit null) reads as ''. */
export function at(c: Composite, n: number, s = 1): string {
  const v = (c[n - 1]?.[s - 1] ?? '').trim();
  return v === '""' ? '' : v;
}

/** Component n as a composite of its own (its subcomponents become components): an HD inside a CX. */
export const sub = (c: Composite, n: number): Composite => (c[n - 1] ?? []).map((s) => [s]);

/** Drops undefined, '' and empty arrays/objects, so resources carry only what was sent. */
export function compact<T extends Json>(o: T): T {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === '' || v === null) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    out[k] = v;
  }
  return out as T;
}

// HD -> uri (IG HD[uri]): the namespace when sent, else urn:oid / urn:uuid of the universal id by its type.
export type Hd = { readonly namespace: string; readonly universalId: string; readonly universalIdType: string };

export const hd = (c: Composite): Hd => ({ namespace: at(c, 1), universalId: at(c, 2), universalIdType: at(c, 3).toUpperCase() });

export function hdUri(h: Hd): string | undefined {
  // An ISO OID is the one global name: preferred over a namespace (the issue's rule for PID-3).
  if (h.universalId && h.universalIdType === 'ISO') return `urn:oid:${h.universalId}`;
  if (h.universalId && h.universalIdType === 'UUID') return `urn:uuid:${h.universalId}`;
  if (h.namespace) return h.namespace;
  return h.universalId || undefined;
}

/** CX, read: the value, its assigning authority, type code, validity. */
export type Cx = { readonly value: string; readonly authority: Hd; readonly typeCode: string; readonly start: string; readonly end: string };

export const cx = (c: Composite): Cx => ({
  value: at(c, 1),
  authority: hd(sub(c, 4)),
  typeCode: at(c, 5),
  start: at(c, 7),
  end: at(c, 8),
});

/** The FHIR date of a DT/DTM as written (YYYY[-MM[-DD]]); undefined when it is not one. */
export function hl7Date(value: string): string | undefined {
  const m = /^(\d{4})(\d{2})?(\d{2})?/.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d] = m;
  const date = [y, mo, d].filter(Boolean).join('-');
  const check = parseHl7Timestamp(date.replaceAll('-', ''), 'UTC');
  return check.ok ? date : undefined;
}

const period = (start: string, end: string): Json | undefined => {
  const s = hl7Date(start);
  const e = hl7Date(end);
  return s || e ? compact({ start: s, end: e }) : undefined;
};

/**
 * CX -> Identifier (IG CX[Identifier]). `system` is decided by the caller when it knows better
 * (the feed's own MRN system); else the authority's uri, else a well-known system for the type.
 */
export function identifier(x: Cx, system?: string): Json {
  const type = x.typeCode ? { coding: [{ system: V2_TABLE('0203'), code: x.typeCode }] } : undefined;
  return compact({
    system: system ?? hdUri(x.authority) ?? WELL_KNOWN_IDENTIFIER_SYSTEMS[x.typeCode],
    value: x.value,
    type,
    period: period(x.start, x.end),
  });
}

/** XPN -> HumanName (IG XPN[HumanName]); FN.1 surname, given = XPN.2 then each XPN.3 name. */
export function humanName(c: Composite): Json | undefined {
  const family = at(c, 1);
  const given = [at(c, 2), ...at(c, 3).split(/\s+/)].filter(Boolean);
  const suffix = [at(c, 4), at(c, 6), at(c, 14)].filter(Boolean);
  const prefix = [at(c, 5)].filter(Boolean);
  if (!family && given.length === 0) return undefined;
  const typeCode = at(c, 7);
  return compact({
    use: NAME_USE[typeCode],
    family,
    given,
    prefix,
    suffix,
    period: period(at(c, 12) || at(c, 10, 1), at(c, 13) || at(c, 10, 2)),
  });
}

/** XAD -> Address (IG XAD[Address]): SAD.1 street, XAD.2 other designation as lines. */
export function address(c: Composite): Json | undefined {
  const line = [at(c, 1, 1), at(c, 2)].filter(Boolean);
  const typeCode = at(c, 7);
  const a = compact({
    use: ADDRESS_USE[typeCode],
    type: ADDRESS_TYPE[typeCode],
    line,
    city: at(c, 3),
    district: at(c, 9),
    state: at(c, 4),
    postalCode: at(c, 5),
    country: at(c, 6),
    period: period(at(c, 13) || at(c, 12, 1), at(c, 14) || at(c, 12, 2)),
  });
  return line.length || a.city || a.state || a.postalCode || a.country ? a : undefined;
}

/** XTN -> ContactPoint (IG XTN[ContactPoint]); XTN.1 (deprecated) is the fallback for a number. */
export function contactPoint(c: Composite): Json | undefined {
  const equipment = at(c, 3);
  const email = equipment === 'Internet' || equipment === 'X.400';
  const country = at(c, 5);
  const area = at(c, 6);
  const local = at(c, 7);
  const ext = at(c, 8);
  const assembled = local ? [country && `+${country}`, area, local, ext && `X${ext}`].filter(Boolean).join(' ') : '';
  const value = email ? at(c, 4) || at(c, 1) : at(c, 12) || assembled || at(c, 1) || at(c, 4);
  if (!value) return undefined;
  const use = TELECOM_USE[at(c, 2)] ?? (equipment === 'CP' ? 'mobile' : undefined);
  const rank = Number(at(c, 18));
  return compact({
    system: TELECOM_EQUIPMENT[equipment] ?? (at(c, 4) && !at(c, 1) && !local ? 'email' : undefined),
    value,
    use,
    rank: Number.isInteger(rank) && rank > 0 ? rank : undefined,
  });
}

/** CWE.3 name -> FHIR system: the IG's table, HL7nnnn -> v2-nnnn, a URI as it is, else a urn naming the v2 system. */
export function codingSystem(name: string): string | undefined {
  if (!name) return undefined;
  const known = CODING_SYSTEMS[name.toUpperCase()] ?? CODING_SYSTEMS[name];
  if (known) return known;
  const table = /^HL7(\d{4})$/i.exec(name);
  if (table) return V2_TABLE(table[1]!);
  if (/^(urn:|https?:\/\/)/i.test(name)) return name;
  return `urn:patient-gateway:hl7v2:coding-system:${encodeURIComponent(name)}`;
}

/** CWE/CE/CNE -> CodeableConcept: up to three codings (identifier, alternate, second alternate) and the original text. */
export function codeableConcept(c: Composite): Json | undefined {
  const coding = [
    [1, 2, 3, 7],
    [4, 5, 6, 8],
    [10, 11, 12, 13],
  ].flatMap(([code, display, system, version]) => {
    const cd = at(c, code!);
    const text = at(c, display!);
    if (!cd && !text) return [];
    if (!cd) return [];
    return [compact({ system: codingSystem(at(c, system!)), version: at(c, version!), code: cd, display: text })];
  });
  const text = at(c, 9) || (coding.length === 0 ? at(c, 2) : '');
  if (coding.length === 0 && !text) return undefined;
  return compact({ coding, text });
}

/** NM -> number; undefined when it is not a decimal (HL7 allows a leading + and leading/trailing zeros). */
export function nm(value: string): number | undefined {
  const v = value.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(v)) return undefined;
  return Number(v);
}

/** SN (structured numeric): comparator, number, separator/suffix, second number. */
export type Sn = { readonly comparator: string; readonly num1: number | undefined; readonly separator: string; readonly num2: number | undefined };

export const sn = (c: Composite): Sn => ({ comparator: at(c, 1), num1: nm(at(c, 2)), separator: at(c, 3), num2: nm(at(c, 4)) });

/**
 * TS/DTM -> a FHIR dateTime: kept at its precision (a date stays a date), an instant when it has
 * a time (the offset sent, else the connection's zone). TS.2 (degree of precision) is ignored,
 * as the IG does. Issues carry the HL7 path (e.g. OBX-14).
 */
export function dateTime(value: string, timeZone: string, path: string, issues: TranslationIssue[]): TimeValue | undefined {
  if (!value) return undefined;
  const t = parseHl7Timestamp(value, timeZone, path);
  issues.push(...t.issues);
  return t.ok ? t.value : undefined;
}

/** A FHIR dateTime string: dates as they are, times as ISO instants with the offset kept as UTC. */
export const fhirDateTime = (t: TimeValue): string =>
  t.precision === PRECISION.year || t.precision === PRECISION.month || t.precision === PRECISION.day ? t.value : t.instant;
