// Audit hand-off: one durable commit per client request instead of one per subgraph call.
//
// When the gateway can append to the audit log itself, it signs into each subgraph call's identity
// a fresh random nonce (security/identity-token.ts, claim `aho`). A subgraph that verifies such an
// identity does not commit its rows: it returns them, exactly as it would have written them
// (auditRows()), in its response's extensions under that nonce. The gateway checks every row
// against what it knows of the call (this subgraph, this request id, this caller, this nonce),
// refuses the call's data when the rows are missing or do not match, strips them from what it
// relays, and appends all rows of the client request in one audit_append() before its response
// leaves (gateway/audit-handoff.ts, given handoffSink() by runtime/); if that fails, the client gets
// AUDIT_UNAVAILABLE and no data. A subgraph reached any
// other way (no nonce in the identity: Hive Gateway, downloads, a test) writes its own rows, as before.
import { randomBytes } from 'node:crypto';
import { HASHED_FIELDS } from './canonical.ts';
import type { Queryable } from '../../platform/db.ts';
import { appendAuditRows, type AuditRowInput } from './audit-log.ts';

/** The key of a subgraph response's `extensions` that carries the handed-off rows. */
export const AUDIT_HANDOFF_EXTENSION = 'auditHandoff';

export type AuditHandoffEnvelope = { readonly nonce: string; readonly rows: readonly AuditRowInput[] };

/** A nonce for one subgraph call: unguessable, so a response cannot carry rows prepared for another call. */
export const newHandoffNonce = (): string => randomBytes(16).toString('base64url');

export const handoffEnvelope = (nonce: string, rows: readonly AuditRowInput[]): AuditHandoffEnvelope => ({ nonce, rows });

/** What the gateway knows of the call whose rows it receives. */
export type HandoffExpectation = {
  readonly nonce: string;
  readonly subgraph: string;
  readonly requestId: string;
  readonly actorSub: string;
};

const ARRAY_COLUMNS = new Set(HASHED_FIELDS.filter((f) => f.array).map((f) => f.name as string));
const TEXT_COLUMNS = new Set(HASHED_FIELDS.filter((f) => !f.array && f.name !== 'recorded_at').map((f) => f.name as string));
/** A generous bound: a page of 100 patients with denials is a few hundred rows. */
const MAX_ROWS = 10_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Why a row cannot be one this call may hand over, or null when it can. */
function rowProblem(row: unknown, expected: HandoffExpectation): string | null {
  if (!isObject(row)) return 'a row is not an object';
  for (const [key, value] of Object.entries(row)) {
    if (TEXT_COLUMNS.has(key)) {
      if (value !== null && typeof value !== 'string') return `${key} is not text`;
    } else if (ARRAY_COLUMNS.has(key)) {
      if (value !== null && !isStringArray(value)) return `${key} is not a list of text`;
    } else return `unknown column ${key}`;
  }
  // recorded_at, seq and the hashes are the database's: audit_append() sets them.
  if (row.subgraph !== expected.subgraph) return 'a row names another subgraph';
  if (row.request_id !== expected.requestId) return 'a row names another request';
  if (row.actor_sub !== expected.actorSub) return 'a row names another caller';
  if (row.decision !== 'permit' && row.decision !== 'deny') return 'a row has no decision';
  if (!isStringArray(row.fields) || row.fields.length === 0) return 'a row names no fields';
  if (!isStringArray(row.actor_roles)) return 'a row names no roles';
  return null;
}

/**
 * The rows a subgraph handed over for one call, checked against the call; throws (naming the
 * problem, never a value) when they are missing, meant for another call or not rows of this one.
 */
export function acceptHandedOffRows(extensions: unknown, expected: HandoffExpectation): AuditRowInput[] {
  const envelope = isObject(extensions) ? extensions[AUDIT_HANDOFF_EXTENSION] : undefined;
  if (!isObject(envelope)) throw new Error('no audit rows handed over');
  if (envelope.nonce !== expected.nonce) throw new Error('audit rows handed over for another call');
  const rows = envelope.rows;
  if (!Array.isArray(rows) || rows.length > MAX_ROWS) throw new Error('audit rows handed over are not a list');
  for (const row of rows) {
    const problem = rowProblem(row, expected);
    if (problem) throw new Error(`audit rows handed over are invalid: ${problem}`);
  }
  return rows as AuditRowInput[];
}

/**
 * What the gateway is given (runtime/ wires it; the gateway does not import this layer): a nonce per
 * call, the check of an answer's rows, and the one append of a client request's rows.
 */
export function handoffSink(db: Queryable) {
  return {
    nonce: newHandoffNonce,
    carries: (extensions: Readonly<Record<string, unknown>> | undefined): boolean => extensions?.[AUDIT_HANDOFF_EXTENSION] !== undefined,
    take(extensions: Readonly<Record<string, unknown>> | undefined, call: HandoffExpectation) {
      const rows = acceptHandedOffRows(extensions, call);
      const { [AUDIT_HANDOFF_EXTENSION]: _handed, ...rest } = extensions ?? {};
      return { rows, extensions: rest };
    },
    append: (rows: readonly AuditRowInput[]): Promise<number> => appendAuditRows(db, rows),
  };
}
