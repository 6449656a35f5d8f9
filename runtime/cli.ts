// What every command shares: its options declared once (parsed by node:util's parseArgs, numbers
// validated, values typed), `--help` generated from that declaration, and one mapping from
// anything a command throws to ONE line on stderr and an exit code: 0 done, 1 failed (the
// database, a file, the work itself), 2 refused as asked (a bad option, an unreadable input,
// nothing to work on). No stack trace unless DEBUG=1 or LOG_LEVEL=debug.
import { parseArgs } from 'node:util';
import { ProductError } from '../platform/errors.ts';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

type OptionBase = {
  readonly description: string;
  readonly short?: string;
  /** Placeholder of the value in the help text (default: the option's name in capitals). */
  readonly value?: string;
};
export type OptionSpec =
  | (OptionBase & { readonly type: 'boolean' })
  | (OptionBase & { readonly type: 'string'; readonly default?: string; readonly required?: boolean; readonly multiple?: boolean })
  | (OptionBase & {
      readonly type: 'integer' | 'number';
      readonly default?: number;
      readonly required?: boolean;
      readonly min?: number;
      readonly max?: number;
    });
export type OptionTable = Readonly<Record<string, OptionSpec>>;

type Given<S> = S extends { default: unknown } | { required: true } ? true : false;
type ValueOf<S> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'string'; multiple: true }
    ? string[]
    : S extends { type: 'string' }
      ? Given<S> extends true
        ? string
        : string | undefined
      : S extends { type: 'integer' | 'number' }
        ? Given<S> extends true
          ? number
          : number | undefined
        : never;
export type OptionValues<O extends OptionTable> = { -readonly [K in keyof O]: ValueOf<O[K]> };

export type CommandSpec<O extends OptionTable> = {
  /** Prefix of every line the command prints about itself (`mpi:link: ...`). */
  readonly name: string;
  /** The usage line without "usage: ", e.g. `npm run token -- --role ROLE [options]`. */
  readonly usage: string;
  readonly description: string;
  readonly options: O;
  /** Positional arguments accepted (none when absent). */
  readonly positionals?: { readonly min: number; readonly max: number };
  /** One example, as typed. */
  readonly example: string;
  /** Environment, exit codes, anything else the help should say after the options. */
  readonly notes?: string;
};

export type ParsedCommandLine<O extends OptionTable> = { readonly values: OptionValues<O>; readonly positionals: readonly string[] };

/** A refusal of what was asked (bad option, unreadable input, nothing to work on): one line, exit 2. */
export const usageError = (message: string, option?: string): ProductError =>
  new ProductError('BAD_USER_INPUT', message, option ? { argument: option } : {});

const placeholder = (name: string, spec: OptionSpec): string =>
  spec.type === 'boolean' ? '' : ` ${spec.value ?? (spec.type === 'string' ? name.toUpperCase().replace(/-/g, '_') : 'N')}`;

const HELP_WIDTH = 110;

/** Words in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > Math.max(width, 30)) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

export function helpText<O extends OptionTable>(spec: CommandSpec<O>): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => {
    const facts = [
      o.type === 'string' && o.required ? 'required' : '',
      o.type === 'string' && o.multiple ? 'repeatable' : '',
      (o.type === 'integer' || o.type === 'number') && o.required ? 'required' : '',
      o.type !== 'boolean' && o.default !== undefined ? `default ${o.default}` : '',
    ].filter(Boolean);
    return [
      `${o.short ? `-${o.short}, ` : ''}--${name}${placeholder(name, o)}`,
      `${o.description}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`,
    ];
  });
  rows.push(['-h, --help', 'show this help and exit']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `usage: ${spec.usage}`,
    '',
    spec.description,
    '',
    'options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${wrap(right, HELP_WIDTH - 2 - width).join(`\n${' '.repeat(width + 2)}`)}`),
    '',
    'example:',
    `  ${spec.example}`,
    ...(spec.notes ? ['', spec.notes] : []),
    '',
  ].join('\n');
}

function numberOption(name: string, spec: OptionSpec & { type: 'integer' | 'number' }, raw: string): number {
  const min = spec.min ?? -Infinity;
  const max = spec.max ?? Infinity;
  const n = spec.type === 'integer' ? (/^[+-]?\d[\d_]*$/.test(raw.trim()) ? Number(raw.replace(/_/g, '')) : NaN) : Number(raw);
  const valid = raw.trim() !== '' && (spec.type === 'integer' ? Number.isSafeInteger(n) : Number.isFinite(n)) && n >= min && n <= max;
  if (valid) return n;
  const kind = spec.type === 'integer' ? 'an integer' : 'a number';
  const range =
    min > -Infinity && max < Infinity
      ? ` from ${min} to ${max}`
      : min > -Infinity
        ? ` of at least ${min}`
        : max < Infinity
          ? ` of at most ${max}`
          : '';
  return failOption(name, `--${name} must be ${kind}${range} (got ${JSON.stringify(raw)})`);
}
const failOption = (name: string, message: string): never => {
  throw usageError(message, name);
};

/**
 * `--ttl -100` is ambiguous to parseArgs (a value or an option?); for a numeric option it can only
 * be a value, so it is read as `--ttl=-100` and then refused or accepted on its merits.
 */
function joinNegativeNumbers(argv: readonly string[], options: OptionTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const spec = arg.startsWith('--') ? options[arg.slice(2)] : undefined;
    const next = argv[i + 1];
    if ((spec?.type === 'integer' || spec?.type === 'number') && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** The command line as the command declared it; `null` when --help was asked. Throws usage errors. */
export function parseCommandLine<const O extends OptionTable>(spec: CommandSpec<O>, argv: readonly string[]): ParsedCommandLine<O> | null {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, o] of Object.entries(spec.options))
    options[name] = {
      type: o.type === 'boolean' ? 'boolean' : 'string',
      ...(o.short ? { short: o.short } : {}),
      ...(o.type === 'string' && o.multiple ? { multiple: true } : {}),
    };
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeNumbers(argv, spec.options),
      options,
      strict: true,
      allowPositionals: Boolean(spec.positionals),
    });
  } catch (error) {
    // parseArgs' messages run over several lines and explain its syntax; the first sentence names the option.
    const message = (error as Error).message.replace(/\s*\n\s*/g, ' ');
    const sentence = message.split(/(?<=[^.])\. (?=[A-Z])/)[0]!;
    throw usageError(sentence, /'--?([\w-]+)/.exec(sentence)?.[1] ?? 'arguments');
  }
  const raw = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (raw.help) return null;
  const values: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const given = raw[name];
    if (o.type === 'boolean') values[name] = given === true;
    else if (o.type === 'string') {
      const v = given ?? (o.multiple ? [] : o.default);
      if (o.required && (v === undefined || (Array.isArray(v) && v.length === 0) || v === '')) failOption(name, `--${name} is required`);
      values[name] = v;
    } else if (given === undefined) {
      if (o.required) failOption(name, `--${name} is required`);
      values[name] = o.default;
    } else values[name] = numberOption(name, o, given as string);
  }
  const positionals = parsed.positionals;
  if (spec.positionals && (positionals.length < spec.positionals.min || positionals.length > spec.positionals.max))
    throw usageError(
      positionals.length < spec.positionals.min ? 'missing argument' : `unexpected argument ${JSON.stringify(positionals.at(-1))}`,
      'arguments',
    );
  return { values: values as OptionValues<O>, positionals };
}

// ---------------------------------------------------------------------------------------------
// Errors to one line

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);

/** Why the database could not be reached (a network error code, or PostgreSQL refusing the connection), else null. */
export function connectionFailure(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
    // SQLSTATE class 08 (connection exception), 28 (authorization), 3D000 (no such database), 57P03 (starting up).
    if (typeof code === 'string' && /^(08...|28...|3D000|57P0[1-3])$/.test(code)) return (e as Error).message.split('\n')[0]!;
    if (e instanceof AggregateError) for (const inner of e.errors) if (connectionFailure(inner)) return connectionFailure(inner);
    const message = e instanceof Error ? e.message : '';
    if (/connection timeout|timeout exceeded when trying to connect|Connection terminated/i.test(message)) return message.split('\n')[0]!;
  }
  return null;
}

/** Where DATABASE_URL points, without its credentials. */
function databaseTarget(env: NodeJS.ProcessEnv): string {
  try {
    const u = new URL(env.DATABASE_URL ?? '');
    return `PostgreSQL at ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}

const debugging = (env: NodeJS.ProcessEnv): boolean =>
  (env.DEBUG !== undefined && env.DEBUG !== '' && env.DEBUG !== '0') || env.LOG_LEVEL === 'debug';

/** A message on one line: a multi-line one (composition errors, say) keeps every line, joined. */
const oneLine = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');

export type FailureOptions = {
  /** Exit code of a failure (default 1); audit:verify keeps 1 for "tampered" and reports every other failure as 2. */
  readonly failureExitCode?: number;
  /** Shown after a usage error so the user knows where to look. */
  readonly helpHint?: string;
};

/** What a thrown error becomes: the one line printed (without the command's name) and the exit code. */
export function describeFailure(
  error: unknown,
  options: FailureOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): { line: string; code: number } {
  const failed = options.failureExitCode ?? EXIT.failed;
  if (error instanceof ProductError && error.code === 'BAD_USER_INPUT') {
    const hint = options.helpHint && error.details.argument !== undefined ? ` (see ${options.helpHint})` : '';
    return { line: `${oneLine(error.message)}${hint}`, code: EXIT.usage };
  }
  const unreachable = connectionFailure(error);
  if (unreachable && env.DATABASE_URL)
    return { line: `cannot reach ${databaseTarget(env)}: ${unreachable} (check DATABASE_URL and that PostgreSQL runs)`, code: failed };
  if (error instanceof ProductError) return { line: oneLine(error.message), code: failed };
  const message = error instanceof Error ? error.message : String(error);
  const sqlState = [error, (error as { cause?: unknown } | null)?.cause].map((e) => (e as { code?: unknown } | null)?.code).find(Boolean);
  const state = typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState) ? ` (SQLSTATE ${sqlState})` : '';
  return { line: `failed${state}: ${oneLine(message)}${debugging(env) ? '' : ' (DEBUG=1 shows details)'}`, code: failed };
}

/** Prints a failure as the command's one line (plus the stack trace when debugging) and returns its exit code. */
export function reportFailure(name: string, error: unknown, options: FailureOptions = {}): number {
  const { line, code } = describeFailure(error, options);
  process.stderr.write(`${name}: ${line}\n`);
  if (debugging(process.env) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return code;
}

/**
 * Anything thrown outside main (a configuration read while a module loads, a stray rejection) is
 * one line too, not Node's report with a stack.
 */
function installFatalHandlers(name: string, options: FailureOptions): void {
  const fatal = (error: unknown) => process.exit(reportFailure(name, error, options));
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

/**
 * The command line of a command, for commands that start at module level: prints the help and
 * exits 0 on --help, prints a usage error and exits 2, else returns the parsed options.
 */
export function commandLine<const O extends OptionTable>(
  spec: CommandSpec<O>,
  options: FailureOptions & { readonly argv?: readonly string[] } = {},
): ParsedCommandLine<O> {
  const failure = { ...options, helpHint: options.helpHint ?? helpCommand(spec.usage) };
  installFatalHandlers(spec.name, failure);
  let parsed: ParsedCommandLine<O> | null;
  try {
    parsed = parseCommandLine(spec, options.argv ?? process.argv.slice(2));
  } catch (error) {
    process.exit(reportFailure(spec.name, error, failure));
  }
  if (parsed === null) {
    process.stdout.write(helpText(spec));
    process.exit(EXIT.ok);
  }
  return parsed;
}

/**
 * Runs a command's main and exits with its code. Anything it throws is one line on stderr. A
 * failure exits at once: a half-opened pool or database must not keep a failed command alive.
 */
export function runMain(name: string, main: () => Promise<number | void>, options: FailureOptions = {}): void {
  main().then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (error: unknown) => {
      process.exit(reportFailure(name, error, options));
    },
  );
}

/** How to ask for the help of a command whose usage line is given: `npm run x -- --help`, `node y.ts --help`. */
export const helpCommand = (usage: string): string => {
  const npm = /^npm (?:run \S+|start)/.exec(usage);
  return npm ? `${npm[0]} -- --help` : `${/^\S+ \S+/.exec(usage)?.[0] ?? usage} --help`;
};

/** commandLine + runMain: prints the help (exit 0) or runs main with the parsed options. */
export function runCommand<const O extends OptionTable>(
  spec: CommandSpec<O>,
  main: (args: ParsedCommandLine<O>) => Promise<number | void>,
  options: FailureOptions & { readonly argv?: readonly string[] } = {},
): void {
  const args = commandLine(spec, options);
  runMain(spec.name, () => main(args), { ...options, helpHint: options.helpHint ?? helpCommand(spec.usage) });
}
