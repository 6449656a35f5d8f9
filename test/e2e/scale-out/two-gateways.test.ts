// Two gateway processes (node runtime/service.ts gateway, as compose runs it) in front of the same
// subgraphs: they share nothing but the key directory's public material and what the subgraphs
// share (PostgreSQL, Redis), answer alike, and their audit rows form one chain that verifies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { verifyAuditLog } from '../../../orchestration/audit/verify.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../../platform/keys.ts';
import type { Stack } from '../../../runtime/stack.ts';
import { post, startTestStack, tokenFor } from '../../support/stack.ts';

const SERVICE = fileURLToPath(new URL('../../../runtime/service.ts', import.meta.url));

type GatewayProcess = { readonly child: ChildProcess; readonly url: string; readonly log: () => string };

/**
 * Starts `node runtime/service.ts gateway` on an ephemeral port and waits for its `listening` log line. With
 * `database` (a PostgreSQL stack), it gets DATABASE_URL as compose gives it, and appends the audit rows the
 * subgraphs hand over; without, each subgraph commits its own.
 */
async function startGatewayProcess(stack: Stack, database: boolean): Promise<GatewayProcess> {
  const subgraphUrls = Object.fromEntries(
    Object.entries(stack.subgraphs).map(([name, s]) => [`SUBGRAPH_URL_${name.toUpperCase().replace(/-/g, '_')}`, s.url]),
  );
  const child = spawn(process.execPath, [SERVICE, 'gateway'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      KEYS_DIR: stack.keys.dir,
      TRUST_DEV_ISSUER: 'true',
      HOST: '127.0.0.1',
      PORT: '0',
      ...subgraphUrls,
      ...(database && process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DB_SCHEMA: stack.db.schema } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway process did not start: ${log.slice(-500)}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const listening = /"event":"listening".*?"url":"([^"]+)"/.exec(log);
      // Started: listening, and its audit mode said (logged once the server is up).
      if (listening && log.includes('"event":"gateway_audit"')) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway process exited with ${code}: ${log.slice(-500)}`)));
  });
  return { child, url, log: () => log };
}

async function stop(p: GatewayProcess | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  const exited = once(p.child, 'exit');
  p.child.kill('SIGTERM');
  await exited;
}

let stack: Stack;
let a: GatewayProcess;
let b: GatewayProcess;
let token: string;
let sub: string;
before(async () => {
  stack = await startTestStack();
  // The development issuer's key must exist before a gateway process trusts it (only `keys` generates keys).
  ({ token, sub } = await tokenFor(stack, ['clinician']));
  [a, b] = await Promise.all([startGatewayProcess(stack, true), startGatewayProcess(stack, false)]);
});
after(async () => {
  await Promise.all([stop(a), stop(b)]);
  await stack?.close();
});

const GOLDEN = `query Golden($first: Int, $after: String) {
  patients(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name { family given } birthDate identifiers { system value }
      sourceRecords { source mrn observations { code { coding { code } } valueQuantity { value } } } } }
  }
}`;

test('two gateway processes serve the same answers, pages continue across them, and the audit chain verifies', async () => {
  assert.notEqual(a.url, b.url);
  // On PostgreSQL (CI) one process appends its requests' audit rows itself (the hand-off), the other leaves it to
  // the subgraphs: both modes side by side in one chain.
  const handoff = process.env.DATABASE_URL ? 'handoff' : 'per-subgraph';
  assert.match(a.log(), new RegExp(`"event":"gateway_audit","mode":"${handoff}"`));
  assert.match(b.log(), /"event":"gateway_audit","mode":"per-subgraph"/);
  const auth = { authorization: `Bearer ${token}` };
  const first = { query: GOLDEN, variables: { first: 5 } };
  const [fromA, fromB, inProcess] = await Promise.all([
    post(a.url, first, auth),
    post(b.url, first, auth),
    post(stack.gateway.url, first, auth),
  ]);
  assert.equal(fromA.body.errors, undefined, JSON.stringify(fromA.body.errors));
  assert.deepEqual(fromB.body, fromA.body);
  assert.deepEqual(inProcess.body, fromA.body);
  // A cursor from one process is good at the other: cursors come from the subgraphs, no gateway keeps state.
  const page = fromA.body.data as { patients: { pageInfo: { endCursor: string } } };
  const next = { query: GOLDEN, variables: { first: 5, after: page.patients.pageInfo.endCursor } };
  const [nextA, nextB] = await Promise.all([post(a.url, next, auth), post(b.url, next, auth)]);
  assert.equal(nextB.body.errors, undefined, JSON.stringify(nextB.body.errors));
  assert.deepEqual(nextB.body, nextA.body);

  // Concurrent load over both: every answer complete, every request audited under its own id.
  const before = (
    await stack.db.query<{ n: number }>('SELECT count(DISTINCT request_id)::int AS n FROM audit_event WHERE actor_sub = $1', [sub])
  ).rows[0]!.n;
  const small = { query: '{ patients(first: 3) { edges { node { id name { family } } } } }' };
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? a.url : b.url, small, auth)));
  for (const res of answers) assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.equal(new Set(answers.map((r) => JSON.stringify(r.body))).size, 1, 'one answer from both processes');
  const afterLoad = (
    await stack.db.query<{ n: number }>('SELECT count(DISTINCT request_id)::int AS n FROM audit_event WHERE actor_sub = $1', [sub])
  ).rows[0]!.n;
  assert.equal(afterLoad - before, 20, 'one audited request per client request, from both processes');

  const key = await loadKeyPair(stack.keys, keyNames.auditCheckpoint, KEY_ALGORITHMS.auditCheckpoint);
  const report = await verifyAuditLog(stack.db, { publicKeys: [key.publicJwk] });
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)));
});

test('neither process believes identity headers', async () => {
  for (const p of [a, b]) {
    const spoofed = await post(p.url, { query: '{ patients(first: 1) { totalCount } }' }, { 'x-user': 'admin', 'x-roles': 'clinician' });
    assert.equal(spoofed.status, 401);
    assert.equal(spoofed.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  }
});
