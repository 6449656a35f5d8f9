// `npm run cohort:export -- --cohort ID --out DIR`: exports a saved cohort through the gateway, as
// an analytics tool would. Starts the export (exportCohort), follows the job (exportJob) with a
// progress bar on a terminal, then downloads the manifest and every NDJSON file into DIR with the
// same bearer token. Run again after an interruption, it resumes: the job it started is kept in
// DIR/.cohort-export.json, and each file's `.partial` continues with a Range request (If-Range on
// the file's ETag, so a changed file starts over). Files appear under their own names only when
// complete and of the size and line count the manifest announced.
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { isErrorCode, ProductError } from '../platform/errors.ts';
import { runCommand, usageError } from './cli.ts';

const COHORT_EXPORT_COMMAND = {
  name: 'cohort:export',
  usage: 'npm run cohort:export -- --cohort ID --out DIR [--snapshot ID] [--url URL]',
  description:
    'Exports a saved cohort (Bulk-FHIR-style manifest and NDJSON files, de-identified for analysts) through the gateway\n' +
    'and downloads it into DIR, with a progress bar on a terminal. Run it again to resume an interrupted export or download.',
  options: {
    cohort: { type: 'string', required: true, value: 'ID', description: 'the saved cohort (createCohort)' },
    out: { type: 'string', required: true, value: 'DIR', description: 'directory for manifest.json and the NDJSON files (created)' },
    snapshot: { type: 'string', value: 'ID', description: 'export this snapshot of the cohort (default: a new one, taken now)' },
    url: { type: 'string', value: 'URL', description: 'the gateway (default GATEWAY_URL, else http://localhost:4000)' },
    'poll-ms': { type: 'integer', min: 50, max: 60_000, default: 1000, value: 'MS', description: 'how often to ask for the job status' },
  },
  example: 'TOKEN=$(npm run --silent token -- --role analyst) npm run cohort:export -- --cohort 5f0c... --out ./a1c-export',
  notes: 'The bearer token is read from TOKEN (never from the command line, where other users could see it).',
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATE = '.cohort-export.json';

export type CohortExportArgs = {
  readonly cohort: string;
  readonly out: string;
  readonly snapshot?: string;
  readonly url: string;
  readonly token: string;
  readonly pollMs: number;
  /** Where progress goes (a terminal gets a bar; anything else only the final summary). */
  readonly progress?: { write(text: string): void; readonly isTTY?: boolean };
};

type Job = { id: string; status: string; membersTotal: number; membersDone: number; error: string | null; manifestUrl: string | null };
type Manifest = { output: { type: string; url: string; count: number }[]; error: unknown[]; transactionTime: string };
type State = { cohort: string; job: string; etags: Record<string, string> };
const JOB = 'id status membersTotal membersDone error manifestUrl';

async function graphql<T>(a: CohortExportArgs, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(new URL('/graphql', a.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  const error = body.errors?.[0];
  const code = error?.extensions?.code;
  if (error) throw new ProductError(isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR' ? code : 'SUBGRAPH_UNAVAILABLE', error.message);
  if (!res.ok || !body.data) throw new Error(`the gateway answered HTTP ${res.status}`);
  return body.data;
}

const bar = (done: number, total: number, width = 30): string => {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  return `[${'#'.repeat(Math.round(share * width)).padEnd(width, '.')}] ${Math.round(share * 100)}%`;
};
const megabytes = (n: number): string => `${(n / 1_048_576).toFixed(1)} MB`;

function progressLine(a: CohortExportArgs) {
  const tty = a.progress?.isTTY === true;
  return {
    show: (text: string) => tty && a.progress!.write(`\r\x1b[K${text}`),
    done: () => tty && a.progress!.write('\r\x1b[K'),
  };
}

async function readState(out: string): Promise<State | null> {
  try {
    return JSON.parse(await readFile(join(out, STATE), 'utf8')) as State;
  } catch {
    return null;
  }
}
const saveState = (out: string, state: State): Promise<void> => writeFile(join(out, STATE), JSON.stringify(state), { mode: 0o600 });

/** The job to follow: the one this directory started for this cohort (unless it failed or expired), else a new export. */
async function jobFor(a: CohortExportArgs, state: State | null): Promise<Job> {
  if (state?.cohort === a.cohort) {
    const { exportJob } = await graphql<{ exportJob: Job | null }>(a, `query ($id: ID!) { exportJob(id: $id) { ${JOB} } }`, {
      id: state.job,
    });
    if (exportJob && exportJob.status !== 'FAILED' && exportJob.status !== 'EXPIRED') return exportJob;
  }
  const { exportCohort } = await graphql<{ exportCohort: Job }>(
    a,
    `mutation ($id: ID!, $s: ID) { exportCohort(id: $id, snapshot: $s) { ${JOB} } }`,
    { id: a.cohort, s: a.snapshot ?? null },
  );
  return exportCohort;
}

async function follow(a: CohortExportArgs, job: Job): Promise<Job> {
  const line = progressLine(a);
  let current = job;
  while (current.status === 'QUEUED' || current.status === 'RUNNING') {
    line.show(
      `export ${current.status.toLowerCase()} ${bar(current.membersDone, current.membersTotal)} ${current.membersDone}/${current.membersTotal} members`,
    );
    await new Promise((r) => setTimeout(r, a.pollMs));
    const { exportJob } = await graphql<{ exportJob: Job | null }>(a, `query ($id: ID!) { exportJob(id: $id) { ${JOB} } }`, { id: job.id });
    if (!exportJob) throw new ProductError('NOT_FOUND', `export ${job.id} is not visible to this token`);
    current = exportJob;
  }
  line.done();
  if (current.status !== 'COMPLETED')
    throw new ProductError('CONFLICT', `export ${job.id} ended ${current.status}${current.error ? ` (${current.error})` : ''}`);
  return current;
}

/** Downloads one file into `<file>.partial`, continuing it when present; renames it when whole. Returns its size. */
async function download(a: CohortExportArgs, url: string, file: string, state: State, name: string): Promise<number> {
  if (existsSync(file)) return (await stat(file)).size;
  const partial = `${file}.partial`;
  const have = existsSync(partial) ? (await stat(partial)).size : 0;
  const etag = state.etags[name];
  const headers: Record<string, string> = { authorization: `Bearer ${a.token}` };
  if (have > 0 && etag) Object.assign(headers, { range: `bytes=${have}-`, 'if-range': etag });
  const res = await fetch(url, { headers });
  if (res.status === 416 && have > 0) {
    await res.body?.cancel();
    await rename(partial, file);
    return have;
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new ProductError(res.status === 410 ? 'GONE' : 'CONFLICT', `${name}: the gateway answered HTTP ${res.status}`);
  }
  const tag = res.headers.get('etag');
  if (tag) {
    state.etags[name] = tag;
    await saveState(a.out, state);
  }
  // 200: the whole file (no partial yet, or it changed): start over.
  const append = res.status === 206;
  const total = append
    ? Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN)
    : Number(res.headers.get('content-length'));
  const line = progressLine(a);
  let received = append ? have : 0;
  const body = Readable.fromWeb(res.body! as WebReadableStream);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    line.show(`${name} ${bar(received, total)} ${megabytes(received)} of ${megabytes(total)}`);
  });
  await pipeline(body, createWriteStream(partial, { flags: append ? 'a' : 'w', mode: 0o600 }));
  line.done();
  const size = (await stat(partial)).size;
  if (Number.isFinite(total) && size !== total) throw new Error(`${name}: ${size} bytes received of ${total}; run again to resume`);
  await rename(partial, file);
  return size;
}

const lineCount = async (file: string): Promise<number> => (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').length;

/** Runs an export into `out`; returns the summary line. */
export async function cohortExport(a: CohortExportArgs): Promise<string> {
  await mkdir(a.out, { recursive: true, mode: 0o700 });
  const previous = await readState(a.out);
  const started = await jobFor(a, previous);
  const state: State = previous?.job === started.id ? previous : { cohort: a.cohort, job: started.id, etags: {} };
  if (state !== previous) {
    // Another job's files are not this one's.
    for (const f of ['manifest.json', ...Object.keys(previous?.etags ?? {})])
      for (const file of [f, `${f}.partial`]) await rm(join(a.out, file), { force: true });
    await saveState(a.out, state);
  }
  const job = await follow(a, started);
  const manifestPath = new URL(job.manifestUrl!).pathname;
  await rm(join(a.out, 'manifest.json'), { force: true });
  await download(a, new URL(manifestPath, a.url).toString(), join(a.out, 'manifest.json'), state, 'manifest.json');
  const manifest = JSON.parse(await readFile(join(a.out, 'manifest.json'), 'utf8')) as Manifest;
  let bytes = 0;
  let resources = 0;
  for (const o of manifest.output) {
    const name = new URL(o.url).pathname.split('/').pop()!;
    if (!/^[A-Za-z]+\.ndjson$/.test(name)) throw new Error(`the manifest names an unexpected file ${JSON.stringify(name)}`);
    // The manifest's URLs name the gateway's public address; the download goes where this command was pointed.
    bytes += await download(a, new URL(new URL(o.url).pathname, a.url).toString(), join(a.out, name), state, name);
    const lines = await lineCount(join(a.out, name));
    if (lines !== o.count) throw new Error(`${name}: ${lines} resources, the manifest says ${o.count}`);
    resources += lines;
  }
  return `exported ${job.membersTotal} members: ${resources} resources in ${manifest.output.length} files (${megabytes(bytes)}) to ${a.out}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCommand(COHORT_EXPORT_COMMAND, async ({ values }) => {
    if (!UUID.test(values.cohort))
      throw usageError(`--cohort must be a cohort id (a UUID), got ${JSON.stringify(values.cohort)}`, 'cohort');
    if (values.snapshot !== undefined && !UUID.test(values.snapshot))
      throw usageError(`--snapshot must be a snapshot id (a UUID), got ${JSON.stringify(values.snapshot)}`, 'snapshot');
    const token = process.env.TOKEN;
    if (!token) throw usageError('TOKEN must hold a bearer token (npm run --silent token -- --role analyst)', 'token');
    const url = values.url ?? process.env.GATEWAY_URL ?? 'http://localhost:4000';
    if (!/^https?:\/\/[^/]+/.test(url)) throw usageError(`--url must be the gateway's http(s) address, got ${JSON.stringify(url)}`, 'url');
    const summary = await cohortExport({
      cohort: values.cohort.toLowerCase(),
      out: values.out,
      ...(values.snapshot ? { snapshot: values.snapshot.toLowerCase() } : {}),
      url,
      token,
      pollMs: values['poll-ms'],
      progress: process.stderr,
    });
    process.stderr.write(`cohort:export: ${summary}\n`);
  });
}
