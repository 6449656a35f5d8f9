// `npm run bench:cohort -- [--patients 1000000] [--seed 42] [--schema bench_cohort] [--samples 100] [--stream 100000] [--out FILE]`
//
// Cohort queries at a million patients on real PostgreSQL (DATABASE_URL). The population
// (population.ts: golden patients, source records, 20 observations and 2 conditions per patient on
// average) lives in its own schema and is kept between runs: built once, reused when complete.
// The product then starts over that schema (gateway, subgraphs; no EHRs, no initial load) and an
// analyst pages through five typical filters (filters.ts) through the gateway as a client would:
// - first page (100 members, with totalCount): p50/p99 over --samples requests;
// - a stream of --stream members, 100 a page, following endCursor (no totalCount asked), with the
//   process's RSS per page (the gateway and subgraphs run in this process); then the same stream at
//   the largest page cohort paging allows (COHORT_PAGE_SIZE), which the figures line reports;
// - page 1,000 (its cursor from the stream) against page 1, the same query otherwise: p50 ratio;
// - beside each, the same question as plain SQL over the same tables (a keyset page, a bounded
//   count, the stream), and the EXPLAIN ANALYZE of the product's page, count and sample statements.
// Writes a Markdown report (--out, default bench/results/cohort-<time>.md) and ends with the line
//   cohort figures: first-page-p99=A ms deep/first=B stream-100k=C s   (worst over the filters).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { BATCH_TIMEOUTS } from '../../platform/db.ts';
import { openStorage } from '../../runtime/components.ts';
import { startStack, type Stack } from '../../runtime/stack.ts';
import { commandLine, reportFailure, runMain, usageError } from '../../runtime/cli.ts';
import { loadConnections } from '../../platform/config.ts';
import { oldestCategoryBirthYear, loadSafeHarbor } from '../../policies/safe-harbor.ts';
import { COHORT_ORDER, cohortCriteria, cohortCursors, cursorScope, snomedDescendants } from '../../orchestration/cohort/cohort.ts';
import { keyNames, loadSecretKey } from '../../platform/keys.ts';
import { COUNT_SAMPLE, countStatement, pageForm, pageStatement, sampleStatement } from '../../orchestration/cohort/page.ts';
import { COHORT_PAGE_SIZE } from '../../subgraphs/mpi/cohort-resolvers.ts';
import { defaultTerminology } from '../../translation/terminology/translate.ts';
import { loadUnitRules } from '../../translation/units.ts';
import { post, tokenFor } from '../../test/support/stack.ts';
import { describeMachine } from '../gateway/report.ts';
import { markdownTable, percentile } from '../mpi/metrics.ts';
import { benchFilters, type BenchFilter } from './filters.ts';
import { ensurePopulation } from './population.ts';

process.env.LOG_LEVEL ??= 'warn';

const NAME = 'bench:cohort';
const PAGE_SIZE = 100;
const DEEP_PAGE = 1000;
const COUNT_BOUND = 10_000;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const { values } = commandLine({
  name: NAME,
  usage: 'npm run bench:cohort [-- --patients N --seed N --schema NAME --samples N --stream N --out FILE]',
  description: 'Cohort pages at a million patients through the gateway, beside plain SQL on the same tables (BENCHMARKS.md).',
  options: {
    patients: { type: 'integer', min: 1000, max: 10_000_000, default: 1_000_000, description: 'golden patients in the population' },
    seed: { type: 'integer', min: 0, max: 2 ** 31, default: 42, description: 'seed of the population' },
    schema: {
      type: 'string',
      default: 'bench_cohort',
      value: 'NAME',
      description: 'schema kept between runs (rebuilt for another size or seed)',
    },
    samples: { type: 'integer', min: 5, max: 10_000, default: 100, description: 'timed requests per page measurement' },
    stream: { type: 'integer', min: PAGE_SIZE, max: 1_000_000, default: 100_000, description: 'members streamed per filter' },
    budget: { type: 'integer', min: 1, max: 3600, default: 60, description: 'seconds one timed series may take (then it stops early)' },
    'stream-seconds': {
      type: 'integer',
      min: 1,
      max: 3600,
      default: 300,
      description: 'a stream stops after this long (reported as such)',
    },
    out: { type: 'string', value: 'FILE', description: 'the Markdown report (default bench/results/cohort-<time>.md)' },
  },
  example: 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:cohort',
  notes: 'The first run builds the population (about 20 GB at a million patients); later runs reuse it.',
});

const err = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const ms = (t0: number) => performance.now() - t0;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

const QUERY = (counted: boolean) => `query Cohort($f: PatientFilter, $n: Int, $a: String) {
  patients(filter: $f, first: $n, after: $a) {
    ${counted ? 'totalCount totalCountIsEstimate countSuppressed' : ''}
    edges { cursor node { id gender birthYear postalCodePrefix } }
    pageInfo { hasNextPage endCursor }
  }
}`;
type Page = {
  totalCount?: number | null;
  totalCountIsEstimate?: boolean;
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
};

type Client = { page(filter: unknown, counted: boolean, after: string | null, size?: number): Promise<Page> };

function gatewayClient(stack: Stack, token: () => string): Client {
  return {
    async page(filter, counted, after, size = PAGE_SIZE) {
      const res = await post<{ patients: Page }>(
        stack.gateway.url,
        { query: QUERY(counted), variables: { f: filter, n: size, a: after } },
        { authorization: `Bearer ${token()}` },
      );
      if (res.body.errors?.length || !res.body.data) throw new Error(`cohort page failed: ${JSON.stringify(res.body.errors)}`);
      return res.body.data.patients;
    },
  };
}

type Timing = { p50: number; p99: number; max: number; n: number; failed: number; error?: string };

/** Seconds one timed series may take (--budget): a slow one stops early, with at least 3 timed calls. */
let budgetSeconds = 60;

/**
 * p50 and p99 of `n` timed calls (after a few untimed ones), fewer when they exceed the budget; a
 * failed call (a statement timeout, say) counts with its time.
 */
async function timeCalls(n: number, call: () => Promise<unknown>): Promise<Timing> {
  const times: number[] = [];
  let failed = 0;
  let error: string | undefined;
  const started = performance.now();
  for (let i = -3; i < n; i++) {
    if (i >= 3 && ms(started) > budgetSeconds * 1000) break;
    const t0 = performance.now();
    try {
      await call();
    } catch (e) {
      failed += i >= 0 ? 1 : 0;
      error = (e as Error).message.slice(0, 200);
    }
    if (i >= 0) times.push(ms(t0));
  }
  times.sort((a, b) => a - b);
  return {
    p50: round(percentile(times, 50)),
    p99: round(percentile(times, 99)),
    max: round(times.at(-1)!),
    n: times.length,
    failed,
    ...(error ? { error } : {}),
  };
}

type Stream = {
  members: number;
  seconds: number;
  /** Stopped by --stream-seconds before `limit` members or the cohort's end. */
  capped: boolean;
  /** A page that failed (the stream stopped there). */
  failure: string | null;
  /** The cursor page DEEP_PAGE starts after (null when the stream did not get there). */
  deepCursor: string | null;
  rssMb: { start: number; peak: number; end: number; atTenth: number };
  heapMb: { atTenth: number; end: number };
  ordered: boolean;
};

/** Follows endCursor until `limit` members; checks the ids only ever increase (ID order: none repeated, none skipped back). */
async function stream(client: Client, filter: unknown, limit: number, capSeconds: number, size = PAGE_SIZE): Promise<Stream> {
  const rss = () => process.memoryUsage().rss;
  const start = rss();
  let peak = start;
  let atTenth = 0;
  let heapAtTenth = 0;
  let after: string | null = null;
  let members = 0;
  let pages = 0;
  let last = '';
  let ordered = true;
  let deepCursor: string | null = null;
  let capped = false;
  let failure: string | null = null;
  const t0 = performance.now();
  while (members < limit) {
    if (ms(t0) > capSeconds * 1000) {
      capped = true;
      break;
    }
    const page: Page | null = await client.page(filter, false, after, size).catch((e: unknown) => {
      failure = (e as Error).message.slice(0, 200);
      return null;
    });
    if (page === null) break;
    pages++;
    for (const e of page.edges) {
      if (e.node.id <= last) ordered = false;
      last = e.node.id;
    }
    members += page.edges.length;
    peak = Math.max(peak, rss());
    if (pages === Math.ceil(limit / size / 10)) {
      atTenth = rss();
      heapAtTenth = process.memoryUsage().heapUsed;
    }
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
    if (pages === DEEP_PAGE - 1 && size === PAGE_SIZE) deepCursor = after;
  }
  return {
    members,
    seconds: round(ms(t0) / 1000, 2),
    capped,
    failure,
    deepCursor,
    rssMb: { start: mb(start), peak: mb(peak), end: mb(rss()), atTenth: mb(atTenth) },
    heapMb: { atTenth: mb(heapAtTenth), end: mb(process.memoryUsage().heapUsed) },
    ordered,
  };
}

// ---------------------------------------------------------------------------------------------
// Plain SQL on the same tables

const sqlPage = (f: BenchFilter) =>
  `SELECT g.id, g.gender, substring(g.birth_date from 1 for 4) AS birth_year, g.addresses->0->>'postalCode' AS postal_code
   FROM golden_patient g WHERE g.status = 'ACTIVE' AND g.id > $1::uuid AND ${f.sql} ORDER BY g.id LIMIT ${PAGE_SIZE + 1}`;
const sqlCount = (f: BenchFilter) =>
  `SELECT count(*)::int AS n FROM (SELECT 1 FROM golden_patient g WHERE g.status = 'ACTIVE' AND ${f.sql} LIMIT ${COUNT_BOUND + 1}) x`;
const ZERO_ID = '00000000-0000-0000-0000-000000000000';

async function sqlStream(pool: pg.Pool, f: BenchFilter, args: StreamArgs): Promise<{ members: number; seconds: number; capped: boolean }> {
  let after = ZERO_ID;
  let members = 0;
  let capped = false;
  const t0 = performance.now();
  while (members < args.limit) {
    if (ms(t0) > args.capSeconds * 1000) {
      capped = true;
      break;
    }
    const { rows } = await pool.query<{ id: string }>(sqlPage(f), [after]);
    members += Math.min(rows.length, PAGE_SIZE);
    if (rows.length <= PAGE_SIZE) break;
    after = rows[PAGE_SIZE - 1]!.id;
  }
  return { members, seconds: round(ms(t0) / 1000, 2), capped };
}

// ---------------------------------------------------------------------------------------------
// Plans of the product's own statements

async function explain(pool: pg.Pool, statement: { text: string; values: unknown[] }): Promise<string> {
  const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${statement.text}`, statement.values);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/** The product's statements for the first page (or the page after `afterId`), in the form the product chooses (pageForm). */
async function productStatements(pool: pg.Pool, f: BenchFilter, afterId: string | null) {
  const today = new Date().toISOString().slice(0, 10);
  const criteria = cohortCriteria(f.filter, {
    deidentified: true,
    sources: new Set(loadConnections().map((c) => c.id)),
    units: loadUnitRules(),
    descendants: snomedDescendants(defaultTerminology()),
    today,
  });
  const request = {
    criteria,
    order: COHORT_ORDER.id,
    deidentified: true,
    coarsening: {
      oldestCategoryBirthYear: oldestCategoryBirthYear(new Date().getUTCFullYear()),
      restrictedZip3: [...loadSafeHarbor().restrictedZip3],
    },
    onlyId: null,
    first: PAGE_SIZE,
    after: afterId === null ? null : { key: null, id: afterId },
  };
  const { form } = await pageForm(pool, request);
  return {
    form,
    page: pageStatement(request, form),
    count: countStatement(request, COUNT_BOUND),
    sample: sampleStatement(request, COUNT_SAMPLE),
  };
}

// ---------------------------------------------------------------------------------------------

type StreamArgs = { readonly limit: number; readonly capSeconds: number };

type FilterResult = {
  filter: BenchFilter;
  totalCount: number | null;
  estimate: boolean;
  first: Timing;
  page1: Timing;
  deep: Timing | null;
  stream: Stream;
  /** The same stream at COHORT_PAGE_SIZE a page. */
  streamLarge: Stream;
  sql: {
    first: Timing;
    count: Timing & { n: number };
    deep: Timing | null;
    stream: { members: number; seconds: number; capped: boolean };
  };
  plans: { form: string; first: string; deep: string | null; count: string; sample: string };
};

/** The id page DEEP_PAGE starts after, as plain SQL finds it (null when the cohort is smaller). */
async function deepAfterId(pool: pg.Pool, f: BenchFilter): Promise<string | null> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT g.id FROM golden_patient g WHERE g.status = 'ACTIVE' AND ${f.sql} ORDER BY g.id OFFSET ${(DEEP_PAGE - 1) * PAGE_SIZE - 1} LIMIT 1`,
  );
  return rows[0]?.id ?? null;
}

type Signer = (filter: unknown, id: string) => string;

async function measure(
  client: Client,
  pool: pg.Pool,
  sign: Signer,
  f: BenchFilter,
  samples: number,
  args: StreamArgs,
): Promise<FilterResult> {
  err(`${f.name}: first page`);
  const first = await timeCalls(samples, () => client.page(f.filter, true, null));
  const firstPage = await client.page(f.filter, true, null).catch(() => null);
  // The same members as plain SQL says: the two describe one question.
  const sqlFirst = await pool.query<{ id: string }>(sqlPage(f), [ZERO_ID]);
  const gqlIds = firstPage?.edges.map((e) => e.node.id).join();
  const sqlIds = sqlFirst.rows
    .slice(0, PAGE_SIZE)
    .map((r) => r.id)
    .join();
  if (firstPage && gqlIds !== sqlIds) throw new Error(`${f.name}: the GraphQL and SQL first pages differ: the filter and its SQL disagree`);
  err(`${f.name}: stream ${args.limit}`);
  const s = await stream(client, f.filter, args.limit, args.capSeconds);
  if (!s.ordered) throw new Error(`${f.name}: the stream repeated or went back`);
  // Page DEEP_PAGE's cursor as the stream received it, or (a stream stopped early) signed here for the id SQL finds.
  const afterId = await deepAfterId(pool, f);
  const deepCursor = afterId === null ? null : sign(f.filter, afterId);
  if (s.deepCursor !== null && s.deepCursor !== deepCursor) throw new Error(`${f.name}: page ${DEEP_PAGE} starts elsewhere than SQL says`);
  err(`${f.name}: ${s.members} members in ${s.seconds} s${s.capped ? ' (stopped)' : ''}; stream at ${COHORT_PAGE_SIZE} a page`);
  const large = await stream(client, f.filter, args.limit, args.capSeconds, COHORT_PAGE_SIZE);
  if (!large.ordered) throw new Error(`${f.name}: the stream of large pages repeated or went back`);
  err(`${f.name}: ${large.members} members in ${large.seconds} s${large.capped ? ' (stopped)' : ''}; page 1 against page ${DEEP_PAGE}`);
  const page1 = await timeCalls(samples, () => client.page(f.filter, false, null));
  const deep = deepCursor === null ? null : await timeCalls(samples, () => client.page(f.filter, false, deepCursor));
  err(`${f.name}: plain SQL`);
  const sqlFirstT = await timeCalls(samples, () => pool.query(sqlPage(f), [ZERO_ID]));
  const sqlDeep = afterId === null ? null : await timeCalls(samples, () => pool.query(sqlPage(f), [afterId]));
  let n = 0;
  const sqlCountT = await timeCalls(Math.min(samples, 10), async () => {
    n = (await pool.query<{ n: number }>(sqlCount(f))).rows[0]!.n;
  });
  const sqlStreamed = await sqlStream(pool, f, args);
  const statements = await productStatements(pool, f, null);
  const plans = {
    form: statements.form === 'probe' ? 'walking the order, per-patient probes' : "the planner's choice",
    first: await explain(pool, statements.page),
    count: await explain(pool, statements.count),
    sample: await explain(pool, statements.sample),
    deep: afterId === null ? null : await explain(pool, (await productStatements(pool, f, afterId)).page),
  };
  return {
    filter: f,
    totalCount: firstPage?.totalCount ?? null,
    estimate: firstPage?.totalCountIsEstimate ?? false,
    first,
    page1,
    deep,
    stream: s,
    streamLarge: large,
    sql: { first: sqlFirstT, count: { ...sqlCountT, n }, deep: sqlDeep, stream: sqlStreamed },
    plans,
  };
}

function report(results: readonly FilterResult[], meta: Record<string, unknown>, limit: number): string {
  const ratio = (r: FilterResult) => (r.deep ? round(r.deep.p50 / r.page1.p50, 2) : null);
  const lines = [
    `# Cohort benchmark (${new Date().toISOString()})`,
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
    '## Through the gateway (analyst), beside plain SQL',
    '',
    markdownTable(
      [
        'filter',
        'members',
        'first page p50 / p99 ms',
        'SQL page p50 / p99',
        'SQL count p50',
        `page 1 p50 / p99 ms (no count)`,
        `page ${DEEP_PAGE} p50 / p99 ms`,
        'deep/first',
        `SQL deep/first`,
        `stream s (members), ${PAGE_SIZE} a page`,
        `stream s (members), ${COHORT_PAGE_SIZE} a page`,
        'SQL stream s',
        `RSS MB start / 10% / peak / end (${PAGE_SIZE}; ${COHORT_PAGE_SIZE})`,
      ],
      results.map((r) => [
        `${r.filter.name}: ${r.filter.what}`,
        `${r.totalCount ?? 'suppressed'}${r.estimate ? ' (estimate)' : ''}`,
        `${r.first.p50} / ${r.first.p99}${r.first.n < 20 ? ` (n=${r.first.n})` : ''}`,
        `${r.sql.first.p50} / ${r.sql.first.p99}`,
        `${r.sql.count.p50} (${r.sql.count.n > COUNT_BOUND ? `>${COUNT_BOUND}` : r.sql.count.n})`,
        `${r.page1.p50} / ${r.page1.p99}`,
        r.deep ? `${r.deep.p50} / ${r.deep.p99}` : 'n/a',
        `${ratio(r) ?? 'n/a'}`,
        r.sql.deep ? `${round(r.sql.deep.p50 / r.sql.first.p50, 2)}` : 'n/a',
        streamCell(r.stream, limit),
        streamCell(r.streamLarge, limit),
        `${r.sql.stream.seconds}${r.sql.stream.capped ? ` (stopped at ${r.sql.stream.members})` : ''}`,
        `${rssCell(r.stream)}; ${rssCell(r.streamLarge)}`,
      ]),
    ),
    '',
    ...failures(results),
    '## Plans of the product statements (EXPLAIN ANALYZE)',
  ];
  for (const r of results) {
    lines.push(
      '',
      `### ${r.filter.name}: first page (${r.plans.form})`,
      '',
      '```',
      r.plans.first,
      '```',
      '',
      `### ${r.filter.name}: count (bounded, exact; within its time budget)`,
      '',
      '```',
      r.plans.count,
      '```',
      '',
      `### ${r.filter.name}: count estimate (sample of ${COUNT_SAMPLE})`,
      '',
      '```',
      r.plans.sample,
      '```',
    );
    if (r.plans.deep) lines.push('', `### ${r.filter.name}: page ${DEEP_PAGE}`, '', '```', r.plans.deep, '```');
  }
  return lines.join('\n');
}

/** Requests that failed, by measurement, with the last error each gave. */
function failures(results: readonly FilterResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const timed = { 'first page': r.first, 'page 1': r.page1, [`page ${DEEP_PAGE}`]: r.deep };
    for (const [what, t] of Object.entries(timed))
      if (t && t.failed > 0) lines.push(`- ${r.filter.name}, ${what}: ${t.failed} of the timed requests failed: ${t.error ?? ''}`);
    for (const [what, st] of [
      [`stream (${PAGE_SIZE} a page)`, r.stream],
      [`stream (${COHORT_PAGE_SIZE} a page)`, r.streamLarge],
    ] as const)
      if (st.failure) lines.push(`- ${r.filter.name}, ${what}: stopped by a failed page after ${st.members} members: ${st.failure}`);
  }
  return lines.length ? ['## Failed requests', '', ...lines, ''] : [];
}

const streamCell = (s: Stream, limit: number) =>
  `${s.seconds} (${s.members}${s.capped ? `, stopped: ~${round(streamSeconds(s, limit))} s at that pace` : ''})`;
const rssCell = (s: Stream) => `${s.rssMb.start} / ${s.rssMb.atTenth} / ${s.rssMb.peak} / ${s.rssMb.end}`;

const streamSeconds = (s: Stream, limit: number) => (s.capped && s.members > 0 ? (s.seconds * limit) / s.members : s.seconds);

/** The figures line (streams at the largest page), and the same worst stream at 100 a page. */
function figures(results: readonly FilterResult[], limit: number): { line: string; stream100: string } {
  const p99 = Math.max(...results.map((r) => r.first.p99));
  const ratios = results.flatMap((r) => (r.deep ? [r.deep.p50 / r.page1.p50] : []));
  // A stream stopped by --stream-seconds counts at the pace it had (the report says so).
  const worstStream = (pick: (r: FilterResult) => Stream) =>
    results
      .map(pick)
      .filter((s) => s.members >= limit || s.capped)
      .map((s) => streamSeconds(s, limit));
  const worst = (xs: number[], d: number) => (xs.length ? round(Math.max(...xs), d).toString() : 'n/a');
  return {
    line: `cohort figures: first-page-p99=${round(p99)} ms deep/first=${worst(ratios, 2)} stream-100k=${worst(
      worstStream((r) => r.streamLarge),
      1,
    )} s`,
    stream100: worst(
      worstStream((r) => r.stream),
      1,
    ),
  };
}

async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url) return reportFailure(NAME, usageError('set DATABASE_URL: this benchmark is about PostgreSQL'));
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(values.schema)) return reportFailure(NAME, usageError('--schema must name a schema', 'schema'));
  const machine = describeMachine();
  const builder = await openStorage({ url, schema: values.schema, maxConnections: 3, timeouts: BATCH_TIMEOUTS });
  const t0 = performance.now();
  const population = await ensurePopulation(builder, { seed: values.seed, patients: values.patients }, err).finally(() => builder.close());
  err(`population ${population.reused ? 'reused' : `built in ${round(ms(t0) / 1000)} s`}: ${JSON.stringify(population.size)}`);
  const pool = new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${values.schema}` });
  pool.on('error', () => undefined);
  const sizes = await pool.query<{ name: string; size: string }>(
    `SELECT c.relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size FROM pg_class c
     WHERE c.relnamespace = $1::regnamespace AND c.relname = ANY($2::text[])`,
    [values.schema, ['golden_patient', 'source_record', 'clinical_item']],
  );
  const stack = await startStack({
    databaseUrl: url,
    dbSchema: values.schema,
    skipInitialLoad: true,
    sync: false,
    ingestMllpPort: null,
    ephemeralPorts: true,
    auditRoleCheck: 'warn',
  });
  try {
    // Tokens last an hour: a fresh one per filter.
    let token = (await tokenFor(stack, ['analyst'])).token;
    const client = gatewayClient(stack, () => token);
    // The gateway's mpi subgraph signs cursors with the key store's cohort-cursor key, for the analysts' view, ID order.
    const cursors = cohortCursors(loadSecretKey(stack.keys, keyNames.cohortCursor));
    const sign: Signer = (filter, id) => cursors.encode(cursorScope(filter, COHORT_ORDER.id, 'deidentified'), { key: null, id });
    const results: FilterResult[] = [];
    budgetSeconds = values.budget;
    const out = values.out ?? resolve(ROOT, `bench/results/cohort-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
    mkdirSync(dirname(out), { recursive: true });
    const meta = async () => ({
      machine: { ...machine, loadAverageNow: loadavg().map((l) => round(l, 2)) },
      postgres: (await pool.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v,
      population: { ...population.size, reused: population.reused, buildSeconds: population.seconds, seed: values.seed },
      tableSizes: Object.fromEntries(sizes.rows.map((r) => [r.name, r.size])),
      pageSize: PAGE_SIZE,
      streamPageSizes: [PAGE_SIZE, COHORT_PAGE_SIZE],
      samples: values.samples,
      budgetSeconds: values.budget,
      streamSeconds: values['stream-seconds'],
    });
    for (const f of benchFilters(new Date().getUTCFullYear())) {
      token = (await tokenFor(stack, ['analyst'])).token;
      // Written after each filter: a run stopped midway keeps what it measured.
      if (results.length) writeFileSync(out, `${report(results, await meta(), values.stream)}\n`);
      results.push(await measure(client, pool, sign, f, values.samples, { limit: values.stream, capSeconds: values['stream-seconds'] }));
    }
    const line = figures(results, values.stream);
    writeFileSync(
      out,
      `${report(results, await meta(), values.stream)}\n\n${line.line} (streams at ${COHORT_PAGE_SIZE} a page; at ${PAGE_SIZE} a page: ${line.stream100} s)\n`,
    );
    err(`report: ${out}`);
    err(`worst stream at ${PAGE_SIZE} a page: ${line.stream100} s`);
    process.stdout.write(`${line.line}\n`);
    return 0;
  } finally {
    await stack.close();
    await pool.end();
  }
}

runMain(NAME, main);
