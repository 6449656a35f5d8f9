// `npm run mpi:link -- --input patients.ndjson --out clusters.csv [--source batch] [--profile fhir-r4] [--concurrency 8]`
//
// Links a file of FHIR R4 Patient resources (NDJSON, one per line) into the MPI through the same
// store as the online path, and writes which golden record each one joined: one CSV row per input
// record, in input order (`record_id,golden_id,decision,score`). Storage and keys as the product:
// DATABASE_URL (else the embedded PGlite under DATA_DIR/pg), DB_SCHEMA, KEYS_DIR.
//
// Every input line gets a row, bad ones included: a batch that silently drops records leaves the
// caller's downstream join with holes nobody notices. Bad records are reported on stderr by line
// number and reason only (never a value: the CSV is the only output that identifies anyone).
//
// The pipeline itself (linkNdjson, orchestration/mpi/ndjson-linking.ts) is what the MPI benchmarks
// run (bench/mpi/), so their figures describe this command.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { access, constants, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import {
  dataDir,
  isProduction,
  loadConnections,
  loadVendorProfile,
  type AnyConnectionConfig,
  type VendorProfile,
} from '../platform/config.ts';
import type { KeyStoreOptions } from '../platform/keys.ts';
import { DEFAULT_CONCURRENCY, DEFAULT_PROFILE, linkNdjson, type BatchRow, type BatchSummary } from '../orchestration/mpi/ndjson-linking.ts';
import { databaseOptionsFromEnv, openStorage, protectionFor } from './components.ts';
import { parseCommandLine, runCommand, usageError, type OptionValues } from './cli.ts';

export const DEFAULT_SOURCE = 'batch';
export const CSV_HEADER = 'record_id,golden_id,decision,score';

// ---------------------------------------------------------------------------------------------
// CSV and the command's text (pure)

/** RFC 4180: quoted when it holds a comma, quote or line break (ids come from the input and may). */
export const csvField = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export const csvRow = (row: Pick<BatchRow, 'recordId' | 'goldenId' | 'decision' | 'score'>): string =>
  [csvField(row.recordId), row.goldenId, row.decision, row.score === null || !Number.isFinite(row.score) ? '' : row.score.toFixed(4)].join(
    ',',
  );

const count = (n: number): string => n.toLocaleString('en-US');
const perSecond = (n: number, ms: number): string => (ms > 0 ? (n / (ms / 1000)).toFixed(1) : 'n/a');

/** One stderr line per bad record: line, ids, reasons. Never a value from the record. */
export function badRecordLine(row: BatchRow): string {
  const stored = row.storedId !== row.recordId ? `, stored as ${row.storedId}` : '';
  return `line ${row.line} (record ${JSON.stringify(row.recordId)}${stored}): ${row.problems.join('; ')}`;
}

export function summaryText(s: BatchSummary, source: string, out: string): string {
  const reasons = Object.entries(s.problems)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason}: ${count(n)}`)
    .join(', ');
  return [
    `mpi:link: ${count(s.records)} records in ${(s.elapsedMs / 1000).toFixed(s.elapsedMs < 10_000 ? 2 : 1)} s (${perSecond(s.records, s.elapsedMs)} records/s), source ${source}`,
    `  linked to an existing golden record (MATCH): ${count(s.decisions.MATCH)}`,
    `  for steward review (POSSIBLE_MATCH):         ${count(s.decisions.POSSIBLE_MATCH)}`,
    `  new golden record (NO_MATCH):                ${count(s.decisions.NO_MATCH)}`,
    `  golden records created:                      ${count(s.created)}`,
    `  bad records (linked anyway, see above):      ${count(s.bad)}${reasons ? ` (${reasons})` : ''}`,
    `  quarantined (refused by translation):        ${count(s.quarantined)}`,
    `  clusters: ${out}`,
  ].join('\n');
}

export const MPI_LINK_COMMAND = {
  name: 'mpi:link',
  usage: 'npm run mpi:link -- --input FILE --out FILE [--source NAME] [--profile NAME] [--concurrency N]',
  description: `Links FHIR R4 Patient resources (NDJSON, one per line) into the MPI and writes one CSV row per
input record, in input order: record_id,golden_id,decision,score (score has 4 decimals, or is
empty when the store gives none). Blank lines are skipped.`,
  options: {
    input: { type: 'string', required: true, value: 'FILE', description: "NDJSON file of Patient resources ('-' reads standard input)" },
    out: {
      type: 'string',
      required: true,
      value: 'FILE',
      description: "CSV to write ('-' writes standard output); written to FILE.partial and renamed when the run completes",
    },
    source: {
      type: 'string',
      default: DEFAULT_SOURCE,
      value: 'NAME',
      description: 'source name of these records in the MPI; re-running a file updates its records, it does not duplicate them',
    },
    profile: { type: 'string', default: DEFAULT_PROFILE, value: 'NAME', description: 'vendor profile under config/vendor-profiles' },
    concurrency: {
      type: 'integer',
      min: 1,
      max: 64,
      default: DEFAULT_CONCURRENCY,
      description: 'records linked at once (1 = strictly in file order)',
    },
  },
  example: 'npm run mpi:link -- --input patients.ndjson --out clusters.csv',
  notes: `Bad records (not JSON, not a Patient, no id, no name, impossible birth date...) still get a row
and a golden record, and are listed on stderr by line number and reason; records translation
refuses are also kept, encrypted, in the quarantine table. Exit 0 when every record has a row,
1 when the run failed (database), 2 on bad arguments or an unreadable input.

Storage: DATABASE_URL (PostgreSQL), else the embedded database in DATA_DIR/pg (default .data/pg;
stop \`npm start\` first); schema DB_SCHEMA; keys in KEYS_DIR (default DATA_DIR/keys).`,
} as const;

export type CliArgs = {
  readonly input: string;
  readonly out: string;
  readonly source: string;
  readonly profile: string;
  readonly concurrency: number;
};

/** The options' values, checked beyond their types. Throws usage errors (exit 2). */
export function checkCliArgs(values: OptionValues<typeof MPI_LINK_COMMAND.options>): CliArgs {
  const { input, out, source, profile, concurrency } = values;
  if (input !== '-' && out !== '-' && resolve(input) === resolve(out)) throw usageError('--out must not be the input file', 'out');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(source))
    throw usageError('--source must be 1-64 letters, digits, dots, dashes or underscores', 'source');
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(profile))
    throw usageError('--profile must name a file of config/vendor-profiles (lower-case letters, digits, dashes)', 'profile');
  return { input, out, source, profile, concurrency };
}

/** The command line, checked; null when --help was asked. */
export function parseCliArgs(argv: readonly string[]): CliArgs | null {
  const parsed = parseCommandLine(MPI_LINK_COMMAND, argv);
  return parsed && checkCliArgs(parsed.values);
}

// ---------------------------------------------------------------------------------------------
// The command

export async function checkReadable(input: string): Promise<void> {
  if (input === '-') return;
  try {
    await access(input, constants.R_OK);
  } catch (error) {
    throw usageError(`cannot read input file ${input}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!statSync(input).isFile()) throw usageError(`input ${input} is not a file`);
}

export function loadProfile(name: string): VendorProfile {
  try {
    return loadVendorProfile(name);
  } catch (error) {
    throw usageError(
      `vendor profile ${name}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file in config/vendor-profiles' : (error as Error).message}`,
    );
  }
}

/**
 * A source that is a configured connection links under that connection's identifier systems, as `npm start` does: otherwise the same
 * hospital's MRNs would land under two systems and `patientByIdentifier` would find only half of them.
 */
export function connectionSystems(source: string, env: NodeJS.ProcessEnv = process.env): AnyConnectionConfig['identifierSystems'] {
  let connections: readonly AnyConnectionConfig[];
  try {
    connections = loadConnections(env.CONNECTIONS_FILE, env);
  } catch (error) {
    throw usageError(`connection configuration: ${(error as Error).message}`);
  }
  return connections.find((c) => c.id === source)?.identifierSystems;
}

type Output = { readonly stream: Writable; finish(): Promise<void>; abandon(): Promise<void> };

/** The CSV goes to FILE.partial and is renamed at the end: a FILE that exists is complete. */
async function openOutput(out: string): Promise<Output> {
  if (out === '-') {
    // The reader went away (`| head`): nothing more can be delivered; in-flight transactions roll back.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(1);
    });
    return { stream: process.stdout, finish: async () => undefined, abandon: async () => undefined };
  }
  const partial = `${out}.partial`;
  let handle;
  try {
    handle = await open(partial, 'w', 0o600);
  } catch (error) {
    throw usageError(`cannot write ${partial}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const stream = handle.createWriteStream();
  const closed = new Promise<void>((resolve, reject) => {
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  return {
    stream,
    async finish() {
      stream.end();
      await closed;
      await rename(partial, out);
    },
    async abandon() {
      stream.end();
      await closed.catch(() => undefined);
      // Kept: how far the run got. Removed only when empty of rows.
      if (statSync(partial).size <= CSV_HEADER.length + 1) await rm(partial, { force: true });
    },
  };
}

const write = (stream: Writable, text: string): Promise<void> | void => {
  if (stream.write(text)) return;
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    stream.once('error', onError);
    stream.once('drain', () => {
      stream.off('error', onError);
      resolve();
    });
  });
};

export function inputLines(input: string): AsyncIterable<string> {
  const stream = input === '-' ? process.stdin : createReadStream(input, { encoding: 'utf8' });
  return createInterface({ input: stream, crlfDelay: Infinity });
}

/** Progress on a terminal only: a log file or a pipe gets the summary, not thousands of carriage returns. */
function progress(enabled: boolean) {
  let n = 0;
  const started = performance.now();
  const show = () => process.stderr.write(`\r\x1b[K${count(n)} records linked, ${perSecond(n, performance.now() - started)} records/s`);
  const timer = enabled ? setInterval(show, 1000) : undefined;
  timer?.unref();
  return {
    tick: () => void n++,
    /** Clears the line before something else is printed. */
    clear: () => enabled && process.stderr.write('\r\x1b[K'),
    stop: () => {
      clearInterval(timer);
      if (enabled) process.stderr.write('\r\x1b[K');
    },
  };
}

/** Runs a parsed mpi:link; throws what stops it (runtime/cli.ts turns it into one line and an exit code). */
export async function link(args: CliArgs, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let output: Output | undefined;
  try {
    await checkReadable(args.input);
    const profile = loadProfile(args.profile);
    const storage = databaseOptionsFromEnv(env);
    output = await openOutput(args.out);
    const keys: KeyStoreOptions = { dir: env.KEYS_DIR ?? join(dataDir(env), 'keys'), generateMissing: !isProduction(env) };
    // Keys before the database and the header: a missing key stops the run before any row is written.
    const protection = protectionFor(keys);
    const db = await openStorage({ ...storage, maxConnections: args.concurrency + 2 });
    const shown = progress(process.stderr.isTTY === true);
    try {
      const out = output.stream;
      await write(out, `${CSV_HEADER}\n`);
      const summary = await linkNdjson(db, inputLines(args.input), {
        source: args.source,
        identifierSystems: connectionSystems(args.source, env),
        profile,
        protection,
        concurrency: args.concurrency,
        onRow: (row) => {
          shown.tick();
          if (row.problems.length > 0) {
            shown.clear();
            process.stderr.write(`${badRecordLine(row)}\n`);
          }
          return write(out, `${csvRow(row)}\n`);
        },
      });
      shown.stop();
      const done = output;
      output = undefined; // complete: nothing to abandon from here on
      await done.finish();
      process.stderr.write(`${summaryText(summary, args.source, args.out === '-' ? 'standard output' : args.out)}\n`);
      return 0;
    } finally {
      shown.stop();
      await db.close();
    }
  } catch (error) {
    await output?.abandon().catch(() => undefined);
    const partial = `${args.out}.partial`;
    if (args.out !== '-' && existsSync(partial))
      throw new Error(`${(error as Error).message.split('\n')[0]}; the rows written before the failure are in ${partial}`, {
        cause: error,
      });
    throw error;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCommand(MPI_LINK_COMMAND, ({ values }) => link(checkCliArgs(values)));
}
