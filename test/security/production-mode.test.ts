// Production mode (NODE_ENV=production, i.e. `production: true`) against the running product:
// the development token issuer never trusted (a gateway configured to trust it refuses to start),
// introspection off (also split into fragments, and `__type`), no "Did you mean" hints, no stack
// traces, no landing page, at the gateway and at a subgraph; CSRF prevention on in both modes.
// A development stack shows the differences are production's doing (introspection, hints and
// the landing page are on there).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, validate } from 'graphql';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subgraphDefinitions } from '../../gateway/compose.ts';
import { PROJECT_ROOT } from '../../platform/config.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../platform/keys.ts';
import { DEV_ISSUER_IN_PRODUCTION, startGatewayService } from '../../runtime/components.ts';
import type { Stack } from '../../runtime/stack.ts';
import { mintDevToken } from '../../security/user-token.ts';
import { post, startTestStack } from '../support/stack.ts';
import { assertRefused, doors, patientValues, send, sendGet, stillServes, type Door, type Reply } from './operation-limits-support.ts';

let prod: Stack;
let dev: Stack;
let gateway: Door;
let mpi: Door;
let devGateway: Door;
let forbidden: string[] = [];
before(async () => {
  [prod, dev] = await Promise.all([startTestStack({ production: true }), startTestStack({ skipInitialLoad: true })]);
  ({ gateway, mpi } = await doors(prod));
  ({ gateway: devGateway } = await doors(dev));
  forbidden = patientValues(await stillServes(gateway, 'before'));
});
after(async () => {
  await Promise.all([prod?.close(), dev?.close()]);
});

/** Runs `node runtime/service.ts <args>` as compose would; its exit code and stderr (killed after 20 s). */
function service(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['runtime/service.ts', ...args], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('production: the development issuer is never trusted; a gateway configured to trust it refuses to start', async () => {
  // Library and stack: the one place every gateway starts through refuses the combination.
  const subgraphUrls = Object.fromEntries(Object.entries(prod.subgraphs).map(([name, s]) => [name, s.url]));
  const refusal = await startGatewayService({ keys: prod.keys, subgraphUrls, port: 0, production: true, trustDevIssuer: true }).then(
    async (started) => (await started.close(), null),
    (error: unknown) => error,
  );
  assert.equal((refusal as Error | null)?.message, DEV_ISSUER_IN_PRODUCTION);
  // The compose service (NODE_ENV=production, TRUST_DEV_ISSUER=true, keys present): exits 1 with one clear line.
  const run = await service(['gateway'], { NODE_ENV: 'production', TRUST_DEV_ISSUER: 'true', KEYS_DIR: prod.keys.dir });
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, /refusing to start: production mode \(NODE_ENV=production\) never trusts the development token issuer/);
  // A token minted with the development issuer's key is refused by the production gateway.
  const devKey = await loadKeyPair(prod.keys, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
  const devToken = await mintDevToken(devKey, { sub: 'dev-attacker', roles: ['clinician'], purposeOfUse: 'TREAT' });
  const res = await post(prod.gateway.url, { query: PAGE_QUERY }, { authorization: `Bearer ${devToken}` });
  assert.equal(res.status, 401);
  assert.equal(res.body.errors?.[0]?.message, 'untrusted issuer');
});

test('production: the keys service generates no development issuer key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-prod-keys-'));
  try {
    const run = await service(['keys'], { NODE_ENV: 'production', KEYS_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(existsSync(join(dir, `${keyNames.gatewayIdentity}.json`)), 'the keys production needs are generated');
    assert.ok(!existsSync(join(dir, `${keyNames.devIssuer}.json`)), 'no development issuer key');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const VALIDATION = 'GRAPHQL_VALIDATION_FAILED';
const PAGE = 'patients(first: 3) { edges { node { id name { family } birthDate } } }';
const PAGE_QUERY = `{ ${PAGE} }`;
const noStackTrace = (res: Reply, label: string) => {
  for (const e of res.body.errors ?? []) assert.equal(e.extensions?.stacktrace, undefined, `${label}: no stack trace`);
  assert.doesNotMatch(res.text, /\.ts:\d+|node_modules|at [A-Za-z.]+ \(/, `${label}: no stack frames`);
};

const INTROSPECTION = {
  plain: '{ __schema { types { name } } }',
  'split into a fragment': `{ ${PAGE} ...F } fragment F on Query { __schema { types { name fields { name } } } }`,
  'split across two fragments': `{ ${PAGE} ...A } fragment A on Query { ...B } fragment B on Query { __schema { queryType { name } } }`,
  '__type(name:)': `{ ${PAGE} __type(name: "Patient") { name fields { name } } }`,
  '__type in an inline fragment': `{ ${PAGE} ... on Query { __type(name: "Patient") { fields { name } } } }`,
};

test('production: introspection is refused at the gateway and at the subgraph, however it is split', async () => {
  for (const door of [gateway, mpi]) {
    for (const [name, query] of Object.entries(INTROSPECTION)) {
      const res = await send(door, { query });
      assertRefused(
        res,
        { status: 400, code: VALIDATION, message: /introspection is not allowed/ },
        forbidden,
        `${door.name}, introspection ${name}`,
      );
      assert.ok(res.body.errors!.some((e) => e.extensions?.validationErrorCode === 'INTROSPECTION_DISABLED'));
      await stillServes(door, `after introspection ${name}`);
    }
  }
});

test('development: introspection is allowed (production mode is what turns it off)', async () => {
  for (const query of ['{ __schema { queryType { name } } }', '{ ...F } fragment F on Query { __type(name: "Patient") { name } }']) {
    const res = await send(devGateway, { query });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(res.body.errors, undefined);
    assert.ok(res.body.data);
  }
});

const TYPOS: Record<string, { query: string; variables?: Record<string, unknown> }> = {
  field: { query: '{ patients(first: 1) { totalCont } }' },
  argument: { query: `{ patient(idd: "x") { id } }` },
  'type condition': { query: '{ patients(first: 1) { edges { node { ...F } } } } fragment F on Patien { id }' },
  'input field in variables': {
    query: 'query ($f: PatientFilter) { patients(first: 1, filter: $f) { totalCount } }',
    variables: { f: { gendr: 'female' } },
  },
  'input field in a literal': { query: '{ patients(first: 1, filter: { gendr: "female" }) { totalCount } }' },
  'variable type': { query: 'query ($f: PatientFiltr) { patients(first: 1, filter: $f) { totalCount } }' },
};

test('no "Did you mean" in any error, at the gateway and at the subgraph, in production and development', async () => {
  for (const door of [gateway, mpi, devGateway]) {
    for (const [name, body] of Object.entries(TYPOS)) {
      const res = await send(door, body);
      const label = `${door.name}, misspelt ${name}`;
      assert.equal(res.status, 400, `${label}: ${res.text.slice(0, 300)}`);
      assert.ok(res.body.data === undefined || res.body.data === null, label);
      assert.ok((res.body.errors ?? []).length > 0, label);
      assert.doesNotMatch(res.text, /Did you mean/i, label);
      noStackTrace(res, label);
      // The development stack holds no patients (its own test needs none): only the others are re-checked.
      if (door !== devGateway) await stillServes(door, `after ${name}`);
    }
  }
  // graphql-js itself would hint at these mistakes: the test above would notice a hint that got through.
  const schema = buildSubgraphSchema([{ typeDefs: parse(subgraphDefinitions().find((d) => d.name === 'mpi')!.typeDefs) }]);
  const hinted = Object.values(TYPOS).filter((t) => validate(schema, parse(t.query)).some((e) => /Did you mean/.test(e.message)));
  assert.ok(hinted.length >= 3, `${hinted.length} hinted`);
});

test('no stack traces in either mode', async () => {
  for (const door of [gateway, mpi, devGateway]) {
    for (const query of [
      '{ patient(id: "not-a-uuid") { id } }',
      '{ patients(first: ',
      '{ patients(first: 1, after: "garbage") { totalCount } }',
    ]) {
      const res = await send(door, { query });
      assert.ok((res.body.errors ?? []).length > 0, `${door.name}: ${query}`);
      noStackTrace(res, `${door.name}: ${query}`);
    }
  }
});

test('production: no landing page at the gateway or the subgraph; development has one', async () => {
  for (const door of [gateway, mpi]) {
    const res = await fetch(door.url, { headers: { accept: 'text/html', ...(await door.headers()) } });
    const text = await res.text();
    assert.doesNotMatch(res.headers.get('content-type') ?? '', /text\/html/, door.name);
    assert.doesNotMatch(text, /<html|<!DOCTYPE/i, door.name);
  }
  // The gateway's is its own explorer (gateway/explorer.ts), which a browser's GET of /graphql is sent to.
  const res = await fetch(devGateway.url, { headers: { accept: 'text/html', ...(await devGateway.headers()) } });
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.equal(new URL(res.url).pathname, '/explorer');
  await res.arrayBuffer();
});

test('CSRF prevention, in both modes: a GET without a preflight header and simple-content-type POSTs are refused', async () => {
  const csrf = { status: 400, code: 'BAD_REQUEST', message: /Cross-Site Request Forgery/ } as const;
  const query = `{ ${PAGE} }`;
  for (const door of [gateway, mpi, devGateway]) {
    const label = (what: string) => `${door.name}: ${what}`;
    assertRefused(await sendGet(door, query), csrf, forbidden, label('GET query without a preflight header'));
    assertRefused(await sendGet(door, query, { 'content-type': 'text/plain' }), csrf, forbidden, label('GET query with text/plain'));
    assertRefused(await sendGet(door, 'mutation { __typename }'), csrf, forbidden, label('GET mutation without a preflight header'));
    // The product has no mutations; with the preflight header a GET mutation is still refused.
    const preflightedMutation = await sendGet(door, 'mutation { __typename }', { 'apollo-require-preflight': 'true' });
    assert.ok([400, 405].includes(preflightedMutation.status), label(`GET mutation with preflight: ${preflightedMutation.status}`));
    assert.ok(!preflightedMutation.body.data, label('GET mutation with preflight: no data'));
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      assertRefused(await send(door, JSON.stringify({ query }), { contentType }), csrf, forbidden, label(`${contentType} POST`));
    }
    // A GET that a browser could only send after a preflight is served: CSRF, not GET, was refused.
    const preflighted = await sendGet(door, query, { 'apollo-require-preflight': 'true' });
    assert.equal(preflighted.status, 200, label(`GET with preflight: ${preflighted.text.slice(0, 200)}`));
    assert.ok(preflighted.body.data);
    if (door !== devGateway) await stillServes(door, 'after CSRF attempts');
  }
});
