// Shared by the audit tests: a migrated database in a fresh schema per engine, sample requests,
// a checkpoint key, and the powers of an attacker with DBA rights (triggers bypassed with
// session_replication_role = replica, which PostgreSQL and PGlite's superuser both honour).
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { migrate, openDatabase, type Database, type Queryable } from '../../platform/db.ts';
import type { Principal } from '../../security/principal.ts';
import { databaseUrl, uniqueSchema } from '../../test/support/env.ts';
import { AUDIT_MIGRATIONS, writeAuditEvents } from './audit-log.ts';
import { RECORDED_AT_TEXT, rowHash, type AuditContent } from './canonical.ts';
import type { CheckpointSigningKey } from './checkpoint.ts';

/** Each suite runs on PGlite, and on PostgreSQL too when DATABASE_URL is set. */
export const ENGINES = [
  { engine: 'pglite', url: undefined, skip: false as const },
  { engine: 'postgres', url: databaseUrl(), skip: databaseUrl() ? (false as const) : 'DATABASE_URL is not set' },
] as const;

export async function openAuditDb(url: string | undefined, schema = uniqueSchema('audit')): Promise<Database> {
  const db = await openDatabase({ url, schema });
  await migrate(db, AUDIT_MIGRATIONS);
  return db;
}

export const testPrincipal = (overrides: Partial<Principal> = {}): Principal => ({
  sub: 'clin-1',
  roles: ['clinician'],
  purposeOfUse: 'TREAT',
  clientId: 'chart-app',
  scopes: [],
  patientContext: null,
  breakGlassReason: null,
  clientIp: '10.1.2.3',
  requestId: randomUUID(),
  ...overrides,
});

/** Appends `requests` requests of `rowsPerRequest` patients each, one after the other. */
export async function appendRequests(db: Queryable, requests: number, rowsPerRequest = 1, subgraph = 'mpi'): Promise<void> {
  for (let i = 0; i < requests; i++) {
    const accesses = Array.from({ length: rowsPerRequest }, (_, j) => ({
      patientRef: `Patient/p${i}-${j}`,
      fields: ['Patient.birthDate', 'Patient.name'],
    }));
    await writeAuditEvents(db, { principal: testPrincipal({ requestId: `req-${i}` }), subgraph, operationName: `Op${i}` }, accesses, []);
  }
}

export type TestKey = CheckpointSigningKey & { readonly publicJwk: JWK };

export async function testSigningKey(kid = 'audit-test-key'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' },
  };
}

/** Runs fn as a DBA who bypasses the append-only triggers. */
export function asAttacker<T>(db: Database, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    return fn(tx);
  });
}

/** Empties the log (as an attacker would) so the next case starts from the genesis. */
export function resetLog(db: Database): Promise<void> {
  return asAttacker(db, async (tx) => {
    await tx.query('TRUNCATE audit_event, audit_checkpoint, audit_purge');
    await tx.query(`UPDATE audit_chain_head SET seq = 0, hash = decode(repeat('00', 32), 'hex'), recorded_at = '-infinity' WHERE id = 1`);
  });
}

type StoredRow = AuditContent & { seq: string; prev_hash: string; hash: string };

export async function rowAt(q: Queryable, seq: number): Promise<StoredRow> {
  const { rows } = await q.query<StoredRow>(
    `SELECT seq::text AS seq, ${RECORDED_AT_TEXT} AS recorded_at, request_id, traceparent, subgraph, subgraph_version, actor_sub, actor_roles, client_id, client_ip,
            purpose_of_use, break_glass_reason, patient_ref, fields, operation_name, document_hash, decision, policy_rules, outcome,
            encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash FROM audit_event WHERE seq = $1 ORDER BY audit_event.recorded_at LIMIT 1`,
    [seq],
  );
  if (!rows[0]) throw new Error(`no row at seq ${seq}`);
  return rows[0];
}

/** Inserts a row with a correct hash over its content and the given prev_hash: a well-informed forger. */
export async function insertRow(q: Queryable, seq: number, prevHashHex: string, content: AuditContent): Promise<string> {
  const hash = rowHash(Buffer.from(prevHashHex, 'hex'), content).toString('hex');
  await q.query(
    `INSERT INTO audit_event (seq, recorded_at, request_id, traceparent, subgraph, subgraph_version, actor_sub, actor_roles, client_id, client_ip, purpose_of_use,
       break_glass_reason, patient_ref, fields, operation_name, document_hash, decision, policy_rules, outcome, prev_hash, hash)
     VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8::text[], $9, $10, $11, $12, $13, $14::text[], $15, $16, $17, $18::text[], $19, decode($20, 'hex'), decode($21, 'hex'))`,
    [
      seq,
      content.recorded_at,
      content.request_id,
      content.traceparent,
      content.subgraph,
      content.subgraph_version,
      content.actor_sub,
      content.actor_roles,
      content.client_id,
      content.client_ip,
      content.purpose_of_use,
      content.break_glass_reason,
      content.patient_ref,
      content.fields,
      content.operation_name,
      content.document_hash,
      content.decision,
      content.policy_rules,
      content.outcome,
      prevHashHex,
      hash,
    ],
  );
  return hash;
}

/** Rewrites rows from seq `from` on with recomputed hashes and moves the head: an attacker who knows the algorithm. */
export async function rehashFrom(q: Queryable, from: number): Promise<void> {
  const last = Number((await q.query<{ n: string }>('SELECT max(seq)::text AS n FROM audit_event')).rows[0]!.n);
  let prev = (await rowAt(q, from)).prev_hash;
  for (let seq = from; seq <= last; seq++) {
    const row = await rowAt(q, seq);
    const hash = rowHash(Buffer.from(prev, 'hex'), row).toString('hex');
    await q.query(`UPDATE audit_event SET prev_hash = decode($2, 'hex'), hash = decode($3, 'hex') WHERE seq = $1`, [seq, prev, hash]);
    prev = hash;
  }
  await q.query(`UPDATE audit_chain_head SET seq = $1, hash = decode($2, 'hex') WHERE id = 1`, [last, prev]);
}
