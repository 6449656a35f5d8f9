// `npm run audit:harden -- --app-role NAME`: makes the audit log append-only for the application,
// on PostgreSQL. Run it connected as the owner of the product's schema (DATABASE_URL of that role;
// DB_SCHEMA, else patient_gateway), once at installation and again after each upgrade (it applies
// the migrations, which the application role then cannot):
//   1. applies the migrations as the owner;
//   2. creates the application role (LOGIN) when missing, with the password in the environment
//      variable named by --password-env, if any;
//   3. takes back whatever that role owns in the schema (a deployment whose application created its
//      own tables), so it can no longer disable triggers, drop partitions or redefine functions;
//   4. grants it what the product needs: the MPI's tables, and on the audit log only SELECT and the
//      append functions (plus INSERT on checkpoints unless --no-checkpoints);
//   5. checks, as that role, that nothing lets it rewrite the log.
// Then point the application's DATABASE_URL at that role: in production mode the product refuses to
// start while its role could rewrite the log (README, "Audit"). --print shows the grants only.
// Exit code 0 when hardened, 1 when a risk remains, 2 on error.
import { parseArgs } from 'node:util';
import { migrate, openDatabase } from '../platform/db.ts';
import { AuditHardenError, applicationRoleStatements, hardenApplicationRole, isRoleName } from '../orchestration/audit/grants.ts';
import { ALL_MIGRATIONS } from './components.ts';

const USAGE = `usage: npm run audit:harden -- --app-role NAME [--password-env VAR] [--no-checkpoints] [--print]
  connected as the schema's owner: DATABASE_URL (PostgreSQL), DB_SCHEMA (default patient_gateway)`;

class UsageError extends Error {}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'app-role': { type: 'string' },
        'password-env': { type: 'string' },
        'no-checkpoints': { type: 'boolean', default: false },
        print: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const appRole = values['app-role'];
  if (!appRole || !isRoleName(appRole)) throw new UsageError('--app-role must name a role (lower case letters, digits and _)');
  const url = process.env.DATABASE_URL;
  if (!url)
    throw new UsageError(
      'DATABASE_URL is not set: the embedded database (PGlite) has a single user, so its log is protected by the hash chain and checkpoints only',
    );
  const passwordEnv = values['password-env'];
  const password = passwordEnv ? process.env[passwordEnv] : undefined;
  if (passwordEnv && !password) throw new UsageError(`environment variable ${passwordEnv} is empty`);
  const options = { appRole, checkpoints: !values['no-checkpoints'], password };

  const db = await openDatabase({ url, schema: process.env.DB_SCHEMA || undefined, maxConnections: 1 });
  try {
    if (values.print) {
      for (const s of await applicationRoleStatements(db, options)) process.stdout.write(`${s};\n`);
      return 0;
    }
    await migrate(db, ALL_MIGRATIONS);
    const report = await hardenApplicationRole(db, options);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(`schema ${db.schema}, owner ${report.owner}, application role ${appRole}${report.createdRole ? ' (created)' : ''}`);
    if (report.transferred.length > 0) out(`taken back from ${appRole}: ${report.transferred.join(', ')}`);
    out(`${report.statements.length} grant statements applied (--print lists them)`);
    if (report.remainingRisks === null) {
      out(`could not check as ${appRole} (this role may not SET ROLE to it); the product checks at start in production mode`);
      return 0;
    }
    if (report.remainingRisks.length > 0) {
      for (const risk of report.remainingRisks) out(`RISK: ${risk}`);
      return 1;
    }
    out(`ok: ${appRole} can append to and read the audit log, and nothing else on it`);
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`audit:harden: ${error.message}\n${USAGE}\n`);
    else if (error instanceof AuditHardenError) process.stderr.write(`audit:harden: ${error.message}\n`);
    else process.stderr.write(`audit:harden failed: ${(error as Error).message}\n`);
    process.exitCode = 2;
  },
);
