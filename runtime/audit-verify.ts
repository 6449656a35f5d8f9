// `npm run audit:verify`: recomputes the audit log's hash chain, every signed checkpoint
// (signature and Merkle root) and every retention purge, and prints OK with counts, or the first
// bad record and what is wrong. Exit code 0 when the log verifies, 1 when it was tampered with,
// 2 when it could not be verified (no database, no audit log, no trusted key).
//
//   npm run audit:verify [-- --json] [--checkpoint] [--public-keys FILE] [--retention-years N]
//
// Storage as the product: DATABASE_URL, else the embedded database under DATA_DIR/pg (while
// `npm start` holds it, a copy is verified: PGlite serves one process only); schema DB_SCHEMA,
// else patient_gateway. Trusted checkpoint keys: --public-keys or AUDIT_CHECKPOINT_PUBLIC_KEYS (a
// JWK or JWK Set file), else the public half of KEYS_DIR/audit-checkpoint.json. --checkpoint signs
// the rows appended since the last checkpoint once the log verifies (needs the private key).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { dataDir, isProduction } from '../platform/config.ts';
import { openDatabase, type Database } from '../platform/db.ts';
import { loadKeyPair, publicPart } from '../platform/keys.ts';
import { AUDIT_CHECKPOINT_ALG, AUDIT_CHECKPOINT_KEY, AuditIntegrityError, createCheckpoint } from '../orchestration/audit/checkpoint.ts';
import { DEFAULT_RETENTION_YEARS } from '../orchestration/audit/retention.ts';
import { formatReport, verifyAuditLog } from '../orchestration/audit/verify.ts';

const env = process.env;

class CannotVerify extends Error {}

function trustedKeys(file: string | undefined, keysDir: string): JWK[] {
  const read = (path: string): JWK[] => {
    const json = JSON.parse(readFileSync(path, 'utf8')) as JWK | { keys: JWK[] };
    return ('keys' in json && Array.isArray(json.keys) ? json.keys : [json as JWK]).map(publicPart);
  };
  if (file) {
    if (!existsSync(file)) throw new CannotVerify(`public key file ${file} does not exist`);
    return read(file);
  }
  const own = join(keysDir, `${AUDIT_CHECKPOINT_KEY}.json`);
  return existsSync(own) ? read(own) : [];
}

async function openAuditDatabase(): Promise<{ db: Database; note?: string; cleanup: () => void }> {
  const schema = env.DB_SCHEMA || undefined;
  if (env.DATABASE_URL) return { db: await openDatabase({ url: env.DATABASE_URL, schema, maxConnections: 2 }), cleanup: () => undefined };
  const dir = join(dataDir(), 'pg');
  if (!existsSync(join(dir, 'PG_VERSION'))) throw new CannotVerify(`no embedded database in ${dir} (and DATABASE_URL is not set)`);
  if (!existsSync(join(dir, 'postmaster.pid'))) return { db: await openDatabase({ dataDir: dir, schema }), cleanup: () => undefined };
  // The product (or a crashed one) holds the directory: never open it from a second process.
  const copy = mkdtempSync(join(tmpdir(), 'audit-verify-'));
  cpSync(dir, copy, { recursive: true });
  rmSync(join(copy, 'postmaster.pid'), { force: true });
  return {
    db: await openDatabase({ dataDir: copy, schema }),
    note: `the embedded database in ${dir} is in use: verified a copy taken now`,
    cleanup: () => rmSync(copy, { recursive: true, force: true }),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      checkpoint: { type: 'boolean', default: false },
      'public-keys': { type: 'string' },
      'retention-years': { type: 'string' },
    },
  });
  const keysDir = env.KEYS_DIR ?? join(dataDir(), 'keys');
  const retentionYears = Number(values['retention-years'] ?? env.AUDIT_RETENTION_YEARS ?? DEFAULT_RETENTION_YEARS);
  if (!Number.isInteger(retentionYears) || retentionYears < 1)
    throw new CannotVerify(`retention must be a whole number of years (got ${values['retention-years'] ?? env.AUDIT_RETENTION_YEARS})`);
  const publicKeys = trustedKeys(values['public-keys'] ?? env.AUDIT_CHECKPOINT_PUBLIC_KEYS, keysDir);

  const { db, note, cleanup } = await openAuditDatabase();
  try {
    if (note && values.checkpoint)
      throw new CannotVerify(
        `the embedded database in ${join(dataDir(), 'pg')} is in use by a running product: stop it to write a checkpoint here`,
      );
    const table = (await db.query<{ t: string | null }>("SELECT to_regclass('audit_checkpoint')::text AS t")).rows[0];
    if (!table?.t) throw new CannotVerify(`no audit log in schema ${db.schema} (the product creates it when it starts)`);
    const stored = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_checkpoint')).rows[0]!.n);
    if (stored > 0 && publicKeys.length === 0)
      throw new CannotVerify(
        `${stored} checkpoints are stored but no trusted public key was given (--public-keys, AUDIT_CHECKPOINT_PUBLIC_KEYS or ${join(keysDir, `${AUDIT_CHECKPOINT_KEY}.json`)})`,
      );

    const report = await verifyAuditLog(db, { publicKeys, retentionYears });
    let checkpoint: { id: number; from_seq: number; to_seq: number } | null = null;
    if (values.checkpoint && report.ok) {
      const key = await loadKeyPair({ dir: keysDir, generateMissing: !isProduction() }, AUDIT_CHECKPOINT_KEY, AUDIT_CHECKPOINT_ALG);
      const cp = await createCheckpoint(db, key);
      if (cp) checkpoint = { id: cp.id, from_seq: cp.payload.from_seq, to_seq: cp.payload.to_seq };
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ schema: db.schema, note, ...report, checkpoint }, null, 2)}\n`);
    else {
      if (note) process.stdout.write(`note: ${note}\n`);
      process.stdout.write(`schema ${db.schema}: ${formatReport(report)}\n`);
      if (checkpoint) process.stdout.write(`signed checkpoint #${checkpoint.id} over seqs ${checkpoint.from_seq}..${checkpoint.to_seq}\n`);
      else if (values.checkpoint && report.ok) process.stdout.write('no new rows to checkpoint\n');
    }
    return report.ok ? 0 : 1;
  } finally {
    await db.close();
    cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof AuditIntegrityError) {
      process.stderr.write(`audit log TAMPERED: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`audit:verify could not verify: ${(error as Error).message}\n`);
    process.exitCode = 2;
  },
);
