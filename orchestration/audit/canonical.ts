// The hash chain's definition, in one place: which columns of an audit row are hashed, how they
// are serialized, and how a row's hash follows from its predecessor's. The database computes
// the same serialization when it appends (audit_append() in audit-log.ts); the verifier
// recomputes it here, in JavaScript, so that a database whose functions were replaced cannot
// vouch for itself.
//
//   hash(row) = SHA-256( prev_hash || UTF-8( canonical(row) ) )
//   canonical  = "audit-v1" then each field below in order, each as
//                N                      (null)
//                S<utf8 byte length>:<text>      (a string)
//                A<count>:<element>...  (an array of strings, each element as above)
//
// Length prefixes make the serialization unambiguous without escaping. `seq` is deliberately not
// hashed: a row's position is bound by prev_hash (the chain), and leaving it out lets the
// verifier tell a renumbered row (moved, or shifted by an insertion) from an edited one.
import { createHash } from 'node:crypto';

/** prev_hash of the first row ever appended. */
export const GENESIS_HASH = Buffer.alloc(32);

export const CANONICAL_VERSION = 'audit-v1';

/** The hashed content of one audit row, as stored (recorded_at as UTC text with microseconds). */
export type AuditContent = {
  readonly recorded_at: string;
  readonly request_id: string;
  readonly traceparent: string | null;
  readonly subgraph: string;
  readonly subgraph_version: string | null;
  readonly actor_sub: string;
  readonly actor_roles: readonly (string | null)[];
  readonly client_id: string | null;
  readonly client_ip: string | null;
  readonly purpose_of_use: string | null;
  readonly break_glass_reason: string | null;
  readonly patient_ref: string | null;
  readonly fields: readonly (string | null)[];
  readonly operation_name: string | null;
  readonly document_hash: string | null;
  readonly decision: string;
  readonly policy_rules: readonly (string | null)[] | null;
  readonly outcome: string | null;
};

type Field = { readonly name: keyof AuditContent; readonly array: boolean };

/** The hashed columns, in serialization order (audit_append() is generated from this list). */
export const HASHED_FIELDS: readonly Field[] = [
  { name: 'recorded_at', array: false },
  { name: 'request_id', array: false },
  { name: 'traceparent', array: false },
  { name: 'subgraph', array: false },
  { name: 'subgraph_version', array: false },
  { name: 'actor_sub', array: false },
  { name: 'actor_roles', array: true },
  { name: 'client_id', array: false },
  { name: 'client_ip', array: false },
  { name: 'purpose_of_use', array: false },
  { name: 'break_glass_reason', array: false },
  { name: 'patient_ref', array: false },
  { name: 'fields', array: true },
  { name: 'operation_name', array: false },
  { name: 'document_hash', array: false },
  { name: 'decision', array: false },
  { name: 'policy_rules', array: true },
  { name: 'outcome', array: false },
];

const encodeText = (value: string | null | undefined): string =>
  value === null || value === undefined ? 'N' : `S${Buffer.byteLength(value, 'utf8')}:${value}`;

const encodeArray = (value: readonly (string | null)[] | null | undefined): string =>
  value === null || value === undefined ? 'N' : `A${value.length}:${value.map(encodeText).join('')}`;

/** The canonical serialization of a row's content (see the header). */
export function canonicalContent(row: AuditContent): string {
  let out = CANONICAL_VERSION;
  for (const f of HASHED_FIELDS) {
    const value = row[f.name];
    out += f.array ? encodeArray(value as readonly (string | null)[] | null) : encodeText(value as string | null);
  }
  return out;
}

/** SHA-256(prev_hash || canonical(row)). */
export function rowHash(prevHash: Uint8Array, row: AuditContent): Buffer {
  return createHash('sha256').update(prevHash).update(canonicalContent(row), 'utf8').digest();
}

/** SHA-256 of a GraphQL document as received, hex: what the audit row keeps instead of the text. */
export function documentHash(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex');
}

/** The SQL expression that renders recorded_at exactly as it is hashed. */
export const RECORDED_AT_TEXT = `to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
