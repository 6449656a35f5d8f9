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
import { migrate, openDatabase } from '../platform/db.ts';
import { applicationRoleStatements, hardenApplicationRole, isRoleName } from '../orchestration/audit/grants.ts';
import { runCommand, usageError } from './cli.ts';
import { ALL_MIGRATIONS } from './components.ts';

const HARDEN_COMMAND = {
  name: 'audit:harden',
  usage: 'npm run audit:harden -- --app-role NAME [--password-env VAR] [--no-checkpoints] [--print]',
  description:
    "Connected as the schema's owner (DATABASE_URL of that role; DB_SCHEMA, default patient_gateway): applies the migrations,\n" +
    'creates or limits the application role so that it can append to and read the audit log but never change, delete or\n' +
    'unprotect a row, then checks that as that role.',
  options: {
    'app-role': {
      type: 'string',
      required: true,
      value: 'NAME',
      description: 'the role the product connects as (lower case letters, digits, _)',
    },
    'password-env': { type: 'string', value: 'VAR', description: 'environment variable holding the password of a role created here' },
    'no-checkpoints': {
      type: 'boolean',
      description: 'do not let the role sign audit checkpoints (run audit:verify --checkpoint as the owner)',
    },
    print: { type: 'boolean', description: 'print the grant statements and change nothing' },
  },
  example: 'DATABASE_URL=postgres://owner@db/gateway npm run audit:harden -- --app-role gateway_app --password-env APP_DB_PASSWORD',
  notes: 'Exit codes: 0 hardened (or printed), 1 a risk remains (each printed as RISK:), 2 refused or failed.',
} as const;

runCommand(
  HARDEN_COMMAND,
  async ({ values }) => {
    const appRole = values['app-role'];
    if (!isRoleName(appRole)) throw usageError('--app-role must name a role (lower case letters, digits and _)', 'app-role');
    const url = process.env.DATABASE_URL;
    if (!url)
      throw usageError(
        'DATABASE_URL is not set: the embedded database (PGlite) has a single user, so its log is protected by the hash chain and checkpoints only',
      );
    const passwordEnv = values['password-env'];
    const password = passwordEnv ? process.env[passwordEnv] : undefined;
    if (passwordEnv && !password) throw usageError(`environment variable ${passwordEnv} is empty`, 'password-env');
    const options = { appRole, checkpoints: !values['no-checkpoints'], password };

    const db = await openDatabase({ url, schema: process.env.DB_SCHEMA || undefined, maxConnections: 1 });
    try {
      const out = (line: string) => process.stdout.write(`${line}\n`);
      if (values.print) {
        for (const s of await applicationRoleStatements(db, options)) out(`${s};`);
        return 0;
      }
      await migrate(db, ALL_MIGRATIONS);
      const report = await hardenApplicationRole(db, options);
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
  },
  // 1 means "a risk remains" to whoever scripts this; every failure to run is 2.
  { failureExitCode: 2 },
);
