// Issue 12, finding 17: every command's command line, as a user meets it. Each npm script that
// runs a command is spawned with --help (usage, exit 0), with bad options (one line, exit 2, no
// stack frame) and, when it opens the database, with an unreachable DATABASE_URL (one line, exit
// 1, the password never printed). Plus runtime/cli.ts's own parsing and error mapping.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProductError } from '../platform/errors.ts';
import { describeFailure, EXIT, helpText, parseCommandLine, usageError, type CommandSpec, type OptionTable } from './cli.ts';
import { mapBounded } from '../orchestration/mpi/ndjson-linking.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const input = join(work, 'in.ndjson');
writeFileSync(input, '{"resourceType":"Patient","id":"x"}\n');
const UNREACHABLE = 'postgres://gateway:s3cret-pass@127.0.0.1:1/nowhere';

type Command = {
  /** How the user calls it (the npm script's name). */
  readonly script: string;
  /** Prefix of its error lines. */
  readonly name: string;
  readonly file: string;
  /** Bad command lines, each with what the one line must say. */
  readonly bad: readonly (readonly [readonly string[], RegExp])[];
  /** Arguments of a run that opens the database (absent: it never does, or not before other input). */
  readonly database?: readonly string[];
  /** Exit code of a failure when it is not 1 (audit:verify keeps 1 for "tampered"). */
  readonly failureCode?: number;
};

const UNKNOWN: readonly [readonly string[], RegExp] = [['--no-such-option'], /Unknown option '--no-such-option'/];
const COMMANDS: readonly Command[] = [
  {
    script: 'token',
    name: 'token',
    file: 'runtime/token.ts',
    bad: [
      UNKNOWN,
      [['--role', 'clinician', '--ttl', '-100'], /--ttl must be an integer from 1 to 86400 \(got "-100"\)/],
      [['--role', 'clinician', '--ttl', 'abc'], /--ttl must be an integer from 1 to 86400 \(got "abc"\)/],
      [['--role', 'admin'], /--role must be one of clinician, analyst, steward, security, integration \(got "admin"\)/],
    ],
  },
  {
    script: 'audit:harden',
    name: 'audit:harden',
    file: 'runtime/audit-harden.ts',
    bad: [UNKNOWN, [[], /--app-role is required/], [['--app-role', 'Bad-Name'], /--app-role must name a role/]],
    database: ['--app-role', 'gateway_app'],
    failureCode: 2,
  },
  {
    script: 'cohort:export',
    name: 'cohort:export',
    file: 'runtime/cohort-export.ts',
    bad: [
      UNKNOWN,
      [['--out', join(work, 'x')], /--cohort is required/],
      [['--cohort', 'abc', '--out', join(work, 'x')], /--cohort must be a cohort id \(a UUID\), got "abc"/],
      [['--cohort', '00000000-0000-4000-8000-000000000000', '--out', join(work, 'x')], /TOKEN must hold a bearer token/],
    ],
  },
  { script: 'bench:audit:read', name: 'bench:audit:read', file: 'bench/audit/read.ts', bad: [UNKNOWN] },
  { script: 'bench:validation', name: 'bench:validation', file: 'bench/validation/run.ts', bad: [UNKNOWN] },
  { script: 'translation:report', name: 'translation:report', file: 'runtime/translation-report.ts', bad: [UNKNOWN], database: [] },
  { script: 'bench:clinical:ingest', name: 'bench:clinical:ingest', file: 'bench/clinical/ingest.ts', bad: [UNKNOWN] },
  {
    script: 'ingest:replay',
    name: 'ingest:replay',
    file: 'runtime/ingest-replay.ts',
    bad: [
      UNKNOWN,
      [[], /name the messages: --id N, a filter/],
      [['--reason', 'bored'], /--reason must be one of permanent, max-attempts, lease-expired \(got "bored"\)/],
    ],
    database: ['--all'],
  },
  { script: 'bench:ingest', name: 'bench:ingest', file: 'bench/ingest/run.ts', bad: [UNKNOWN] },
  { script: 'bench:cohort', name: 'bench:cohort', file: 'bench/cohort/run.ts', bad: [UNKNOWN] },
  { script: 'compose', name: 'compose', file: 'runtime/compose.ts', bad: [UNKNOWN, [['extra'], /Unexpected argument 'extra'/]] },
  { script: 'start', name: 'start', file: 'runtime/embedded.ts', bad: [UNKNOWN], database: [] },
  {
    script: 'audit:verify',
    name: 'audit:verify',
    file: 'runtime/audit-verify.ts',
    bad: [[['--retention-years', '-1'], /--retention-years must be an integer of at least 1/]],
    database: [],
    failureCode: 2,
  },
  {
    script: 'audit:export',
    name: 'audit:export',
    file: 'runtime/audit-export.ts',
    bad: [
      [[], /--out is required/],
      [['--out', join(work, 'a.ndjson'), '--to', 'soon'], /--to must be an ISO 8601 instant/],
    ],
    database: ['--out', join(work, 'a.ndjson')],
  },
  { script: 'keys:rotate-field', name: 'keys:rotate-field', file: 'runtime/rotate-field-key.ts', bad: [UNKNOWN], database: [] },
  {
    script: 'mpi:link',
    name: 'mpi:link',
    file: 'runtime/mpi-link.ts',
    bad: [[['--input', input, '--out', join(work, 'o.csv'), '--concurrency', '0'], /--concurrency must be an integer from 1 to 64/]],
    database: ['--input', input, '--out', join(work, 'o.csv')],
  },
  {
    script: 'mpi:calibrate',
    name: 'mpi:calibrate',
    file: 'runtime/mpi-calibrate.ts',
    bad: [
      [['--pairs', '1e9x'], /--pairs must be an integer of at least 10000/],
      [['--prior', '0.7'], /--prior must be a probability/],
    ],
    database: ['--out', join(work, 'c.json')],
  },
  {
    script: 'service',
    name: 'service',
    file: 'runtime/service.ts',
    bad: [
      [[], /missing argument/],
      [['frontend'], /unknown service "frontend"/],
      [['mpi', 'x'], /unexpected argument "x"/],
    ],
    database: ['audit'],
  },
  { script: 'simulators', name: 'simulators', file: 'simulators/main.ts', bad: [UNKNOWN] },
  { script: 'bench:gateway', name: 'bench:gateway', file: 'bench/gateway/run.ts', bad: [UNKNOWN] },
  {
    script: 'bench:mpi:accuracy',
    name: 'bench:mpi:accuracy',
    file: 'bench/mpi/accuracy.ts',
    bad: [[['--datasets', '5'], /--datasets is a list of 1, 2, 3, 4/]],
  },
  {
    script: 'bench:mpi:speed',
    name: 'bench:mpi:speed',
    file: 'bench/mpi/speed.ts',
    bad: [[['--golden', 'many'], /--golden must be an integer from 1 to 100000000/]],
    database: ['--golden', '10', '--stream', '1', '--calibration-sample', '0'],
  },
];

function run(file: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: join(work, 'data'),
    KEYS_DIR: join(work, 'keys'),
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  if (!extraEnv.DATABASE_URL) delete env.DATABASE_URL;
  if (!extraEnv.DEBUG) delete env.DEBUG;
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(ROOT, file), ...args], { env, cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** Exactly one line on stderr, prefixed with the command's name, and no stack frame. */
function assertOneLine(stderr: string, name: string, what: string): void {
  assert.equal(stderr.endsWith('\n') && stderr.split('\n').length, 2, `${what}: one line expected, got ${JSON.stringify(stderr)}`);
  // A service names its role too (`service audit: ...`).
  assert.match(stderr, new RegExp(`^${name}( [a-z-]+)?: `), `${what}: ${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m, what);
}

test('every npm script that runs a command is covered below', () => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  // Test runs (`node --test`) are not commands.
  const commands = Object.entries(scripts).filter(([, line]) => /^node\b/.test(line) && !/^node --test\b/.test(line));
  assert.deepEqual(commands.map(([name]) => name).sort(), COMMANDS.map((c) => c.script).sort());
  for (const c of COMMANDS) assert.match(scripts[c.script]!, new RegExp(`\\b${c.file.replace(/\./g, '\\.')}$`), c.script);
});

for (const c of COMMANDS) {
  test(`${c.script}: --help (exit 0); bad options (one line, exit 2)${c.database ? '; an unreachable database (one line, exit 1)' : ''}`, async () => {
    const help = await run(c.file, ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: /);
    assert.match(help.stdout, /\noptions:\n(?: .*\n)* {2}-h, --help +show this help and exit\n/);
    assert.match(help.stdout, /\nexample:\n {2}\S/);
    assert.equal(help.stderr, '');

    await mapBounded(c.bad, 2, async ([args, message]) => {
      const what = `${c.script} ${args.join(' ')}`;
      const r = await run(c.file, args);
      assert.equal(r.code, EXIT.usage, `${what}: ${r.stderr}`);
      assertOneLine(r.stderr, c.name, what);
      assert.match(r.stderr, message, what);
      assert.equal(r.stdout, '', what);
    });

    if (!c.database) return;
    const r = await run(c.file, c.database, { DATABASE_URL: UNREACHABLE });
    assert.equal(r.code, c.failureCode ?? EXIT.failed, r.stderr);
    assertOneLine(r.stderr, c.name, 'unreachable database');
    assert.match(r.stderr, /cannot reach PostgreSQL at 127\.0\.0\.1:1\/nowhere: ECONNREFUSED/);
    assert.doesNotMatch(r.stderr, /s3cret/);
  });
}

test('an unexpected failure is one line; DEBUG=1 adds the stack trace', async () => {
  // A key directory that cannot exist: minting fails on the file system.
  const broken = { KEYS_DIR: join(input, 'keys') };
  const plain = await run('runtime/token.ts', ['--role', 'clinician'], broken);
  assert.equal(plain.code, EXIT.failed);
  assertOneLine(plain.stderr, 'token', 'token');
  assert.match(plain.stderr, /^token: failed: .*ENOTDIR.* \(DEBUG=1 shows details\)\n$/);
  const debug = await run('runtime/token.ts', ['--role', 'clinician'], { ...broken, DEBUG: '1' });
  assert.equal(debug.code, EXIT.failed);
  assert.match(debug.stderr, /^\s+at /m);
});

// ---------------------------------------------------------------------------------------------
// runtime/cli.ts

const SPEC = {
  name: 'demo',
  usage: 'npm run demo -- --name NAME [--count N]',
  description: 'Demonstrates the helper.',
  options: {
    name: { type: 'string', required: true, description: 'who' },
    count: { type: 'integer', min: 1, max: 10, default: 3, description: 'how many' },
    ratio: { type: 'number', min: 0, max: 1, description: 'a share' },
    tag: { type: 'string', multiple: true, description: 'labels' },
    dry: { type: 'boolean', short: 'n', description: 'do nothing' },
  },
  example: 'npm run demo -- --name x',
} as const satisfies CommandSpec<OptionTable>;

const usage = (pattern: RegExp, argument?: string) => (e: unknown) =>
  e instanceof ProductError && e.code === 'BAD_USER_INPUT' && pattern.test(e.message) && (!argument || e.details.argument === argument);

test('parseCommandLine: typed values, defaults, numbers checked, a negative number read as the value it is', () => {
  const parsed = parseCommandLine(SPEC, ['--name', 'x', '--count=4', '--ratio', '0.25', '--tag', 'a', '--tag', 'b', '-n']);
  assert.deepEqual(parsed?.values, { name: 'x', count: 4, ratio: 0.25, tag: ['a', 'b'], dry: true });
  assert.deepEqual(parseCommandLine(SPEC, ['--name', 'x'])?.values, { name: 'x', count: 3, ratio: undefined, tag: [], dry: false });
  assert.equal(parseCommandLine(SPEC, ['--help']), null);
  assert.equal(parseCommandLine(SPEC, ['-n', '-h']), null);
  assert.throws(
    () => parseCommandLine(SPEC, ['--name', 'x', '--count', '-5']),
    usage(/--count must be an integer from 1 to 10 \(got "-5"\)/, 'count'),
  );
  assert.throws(() => parseCommandLine(SPEC, ['--name', 'x', '--count', '2.5']), usage(/--count must be an integer/, 'count'));
  assert.throws(() => parseCommandLine(SPEC, ['--name', 'x', '--count', '']), usage(/--count must be an integer/, 'count'));
  assert.throws(() => parseCommandLine(SPEC, ['--name', 'x', '--ratio', 'NaN']), usage(/--ratio must be a number from 0 to 1/, 'ratio'));
  assert.throws(() => parseCommandLine(SPEC, ['--count', '2']), usage(/^--name is required$/, 'name'));
  assert.throws(() => parseCommandLine(SPEC, ['--name']), usage(/^Option '--name <value>' argument missing$/, 'name'));
  assert.throws(() => parseCommandLine(SPEC, ['--name', 'x', 'extra']), usage(/^Unexpected argument 'extra'$/));
  assert.throws(() => parseCommandLine(SPEC, ['--name', 'x', '--cuont', '2']), usage(/^Unknown option '--cuont'$/, 'cuont'));
});

test('helpText: usage, every option with its value and default, --help, the example', () => {
  const text = helpText(SPEC);
  assert.match(text, /^usage: npm run demo -- --name NAME \[--count N\]\n\nDemonstrates the helper\.\n\noptions:\n/);
  assert.match(text, /\n {2}--name NAME +who \(required\)\n/);
  assert.match(text, /\n {2}--count N +how many \(default 3\)\n/);
  assert.match(text, /\n {2}--tag TAG +labels \(repeatable\)\n/);
  assert.match(text, /\n {2}-n, --dry +do nothing\n/);
  assert.match(text, /\n {2}-h, --help +show this help and exit\n\nexample:\n {2}npm run demo -- --name x\n$/);
});

test('describeFailure: usage 2, failures 1 (or the command’s own code), the database named without credentials', () => {
  const env = { DATABASE_URL: UNREACHABLE };
  assert.deepEqual(describeFailure(usageError('--x is bad', 'x'), { helpHint: 'npm run demo -- --help' }, {}), {
    line: '--x is bad (see npm run demo -- --help)',
    code: 2,
  });
  assert.deepEqual(describeFailure(new ProductError('AUDIT_UNAVAILABLE', 'not recorded\nat all'), {}, {}), {
    line: 'not recorded at all',
    code: 1,
  });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const expected = 'cannot reach PostgreSQL at 127.0.0.1:1/nowhere: ECONNREFUSED (check DATABASE_URL and that PostgreSQL runs)';
  assert.deepEqual(describeFailure(refused, {}, env), { line: expected, code: 1 });
  // Node's happy eyeballs reports every address it tried at once.
  assert.deepEqual(describeFailure(new AggregateError([refused], ''), { failureExitCode: 2 }, env), { line: expected, code: 2 });
  assert.deepEqual(describeFailure(new Error('wrapped', { cause: refused }), {}, env).line, expected);
  const auth = Object.assign(new Error('password authentication failed for user "gateway"'), { code: '28P01' });
  assert.match(describeFailure(auth, {}, env).line, /^cannot reach PostgreSQL at 127\.0\.0\.1:1\/nowhere: password authentication failed/);
  const sql = Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
  assert.deepEqual(describeFailure(sql, {}, {}), {
    line: 'failed (SQLSTATE 42P01): relation "x" does not exist (DEBUG=1 shows details)',
    code: 1,
  });
  assert.deepEqual(describeFailure(new Error('boom'), {}, { LOG_LEVEL: 'debug' }), { line: 'failed: boom', code: 1 });
});
