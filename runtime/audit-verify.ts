// `npm run audit:verify`: recomputes the audit log's hash chain, every signed checkpoint
// (signature and Merkle root) and every retention purge, and prints OK with counts, or the first
// bad record and what is wrong. Exit code 0 when the log verifies, 1 when it was tampered with,
// 2 when it could not be verified (no database, no audit log, no trusted key).
//
//   npm run audit:verify [-- --json] [--checkpoint] [--public-keys FILE] [--retention-years N]
//
// Storage as the product: DATABASE_URL, else the embedded database under DATA_DIR/pg (while
// another process holds it, `npm start` say, a copy is verified: PGlite serves one process only); schema DB_SCHEMA,
// else patient_gateway. Trusted checkpoint keys: --public-keys or AUDIT_CHECKPOINT_PUBLIC_KEYS (a
// JWK or JWK Set file), else the public half of KEYS_DIR/audit-checkpoint.json. --checkpoint signs
// the rows appended since the last checkpoint once the log verifies (needs the private key).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { dataDir, isProduction } from '../platform/config.ts';
import { loadKeyPair, publicPart } from '../platform/keys.ts';
import { AUDIT_CHECKPOINT_ALG, AUDIT_CHECKPOINT_KEY, AuditIntegrityError, createCheckpoint } from '../orchestration/audit/checkpoint.ts';
import { DEFAULT_RETENTION_YEARS } from '../orchestration/audit/retention.ts';
import { formatReport, verifyAuditLog } from '../orchestration/audit/verify.ts';
import { EXIT, runCommand, usageError } from './cli.ts';
import { openStorageForReading } from './storage-for-reading.ts';

const env = process.env;

const AUDIT_VERIFY_COMMAND = {
  name: 'audit:verify',
  usage: 'npm run audit:verify [-- --json] [--checkpoint] [--public-keys FILE] [--retention-years N]',
  description:
    "Recomputes the audit log's hash chain, every signed checkpoint and every retention purge, and prints OK with counts,\n" +
    'or the first bad record and what is wrong.',
  options: {
    json: { type: 'boolean', description: 'print the report as JSON' },
    checkpoint: { type: 'boolean', description: 'once the log verifies, sign the rows appended since the last checkpoint' },
    'public-keys': {
      type: 'string',
      value: 'FILE',
      description: 'trusted checkpoint keys, a JWK or JWK Set (default AUDIT_CHECKPOINT_PUBLIC_KEYS, else KEYS_DIR/audit-checkpoint.json)',
    },
    'retention-years': {
      type: 'integer',
      min: 1,
      value: 'N',
      description: `retention the purges must respect (default AUDIT_RETENTION_YEARS, else ${DEFAULT_RETENTION_YEARS})`,
    },
  },
  example: 'npm run audit:verify -- --checkpoint',
  notes:
    'Exit 0 when the log verifies, 1 when it was tampered with, 2 when it could not be verified (bad option, no database,\n' +
    'no audit log, no trusted key). Storage as the product: DATABASE_URL, else DATA_DIR/pg (a copy while the product runs).',
} as const;

function trustedKeys(file: string | undefined, keysDir: string): JWK[] {
  const read = (path: string): JWK[] => {
    const json = JSON.parse(readFileSync(path, 'utf8')) as JWK | { keys: JWK[] };
    return ('keys' in json && Array.isArray(json.keys) ? json.keys : [json as JWK]).map(publicPart);
  };
  if (file) {
    if (!existsSync(file)) throw usageError(`public key file ${file} does not exist`, 'public-keys');
    return read(file);
  }
  const own = join(keysDir, `${AUDIT_CHECKPOINT_KEY}.json`);
  return existsSync(own) ? read(own) : [];
}

runCommand(
  AUDIT_VERIFY_COMMAND,
  async ({ values }) => {
    const keysDir = env.KEYS_DIR ?? join(dataDir(), 'keys');
    const fromEnv = env.AUDIT_RETENTION_YEARS;
    const retentionYears = values['retention-years'] ?? Number(fromEnv ?? DEFAULT_RETENTION_YEARS);
    if (!Number.isInteger(retentionYears) || retentionYears < 1)
      throw usageError(`AUDIT_RETENTION_YEARS must be a whole number of years (got ${JSON.stringify(fromEnv)})`);
    const publicKeys = trustedKeys(values['public-keys'] ?? env.AUDIT_CHECKPOINT_PUBLIC_KEYS, keysDir);

    const { db, note, cleanup } = await openStorageForReading('verified');
    try {
      if (note && values.checkpoint)
        throw usageError(
          `the embedded database in ${join(dataDir(), 'pg')} is in use by a running product: stop it to write a checkpoint here`,
        );
      const table = (await db.query<{ t: string | null }>("SELECT to_regclass('audit_checkpoint')::text AS t")).rows[0];
      if (!table?.t) throw usageError(`no audit log in schema ${db.schema} (the product creates it when it starts)`);
      const stored = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_checkpoint')).rows[0]!.n);
      if (stored > 0 && publicKeys.length === 0)
        throw usageError(
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
        if (checkpoint)
          process.stdout.write(`signed checkpoint #${checkpoint.id} over seqs ${checkpoint.from_seq}..${checkpoint.to_seq}\n`);
        else if (values.checkpoint && report.ok) process.stdout.write('no new rows to checkpoint\n');
      }
      return report.ok ? EXIT.ok : EXIT.failed;
    } catch (error) {
      if (!(error instanceof AuditIntegrityError)) throw error;
      process.stderr.write(`audit log TAMPERED: ${error.message}\n`);
      return EXIT.failed;
    } finally {
      await db.close();
      cleanup();
    }
  },
  // 1 means "tampered" to whoever watches this command: anything else that stops it is "could not verify".
  { failureExitCode: EXIT.usage },
);
