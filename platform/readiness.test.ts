// /health and /ready at the front door every server shares (platform/graphql-http.ts), with real
// dependencies: an embedded database (closed to take it down), and Redis on a port nobody serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { openCache } from './cache.ts';
import { openDatabase } from './db.ts';
import { READY_TIMEOUT_MS, remoteReadiness, serveGraphQL, type ReadinessCheck, type RunningHttpServer } from './graphql-http.ts';
import { liveFieldCipher } from '../security/field-encryption.ts';
import { redisUrl } from '../test/support/env.ts';

const keysDir = mkdtempSync(join(tmpdir(), 'pgw-ready-keys-'));
const cipher = liveFieldCipher(keysDir, true);
process.on('exit', () => rmSync(keysDir, { recursive: true, force: true }));

async function serve(readiness: readonly ReadinessCheck[]): Promise<RunningHttpServer> {
  const server = new ApolloServer({ typeDefs: 'type Query { ok: Boolean }', resolvers: { Query: { ok: () => true } } });
  await server.start();
  return serveGraphQL({ server, port: 0, authenticate: async () => ({}), readiness });
}

const get = async (server: RunningHttpServer, path: string) => {
  const res = await fetch(new URL(path, server.url));
  return { status: res.status, text: await res.text() };
};

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test('/ready answers 200 when every dependency answers, and 503 naming the one that does not, with no address or error text', async () => {
  const db = await openDatabase({});
  const deadPort = await freePort();
  const deadRedis = openCache({ redisUrl: `redis://:secret-password@127.0.0.1:${deadPort}`, prefix: 'ready-test', cipher });
  const liveRedis = redisUrl() ? openCache({ redisUrl: redisUrl(), prefix: 'ready-test', cipher }) : undefined;
  const up = await serve([
    { name: 'postgres', check: () => db.ping() },
    ...(liveRedis?.ping ? [{ name: 'redis', check: liveRedis.ping }] : []),
  ]);
  const down = await serve([
    { name: 'postgres', check: () => db.ping() },
    { name: 'redis', check: deadRedis.ping! },
  ]);
  try {
    // Redis is ready once connected, a few milliseconds after the cache opens.
    let ready = await get(up, '/ready');
    for (let i = 0; i < 20 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await get(up, '/ready');
    }
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(JSON.parse(ready.text), { status: 'ready', checks: { postgres: 'up', ...(liveRedis ? { redis: 'up' } : {}) } });

    const notReady = await get(down, '/ready');
    assert.equal(notReady.status, 503);
    assert.deepEqual(JSON.parse(notReady.text), { status: 'unavailable', checks: { postgres: 'up', redis: 'down' } });
    // The same outage of an optional dependency (a cache) degrades readiness instead of failing it.
    const cacheOnly = await serve([
      { name: 'postgres', check: () => db.ping() },
      { name: 'redis', check: deadRedis.ping!, optional: true },
    ]);
    try {
      const degraded = await get(cacheOnly, '/ready');
      assert.equal(degraded.status, 200);
      assert.deepEqual(JSON.parse(degraded.text), { status: 'degraded', checks: { postgres: 'up', redis: 'down' } });
    } finally {
      await cacheOnly.close();
    }
    assert.doesNotMatch(notReady.text, new RegExp(`secret|127\\.0\\.0\\.1|${deadPort}|ECONNREFUSED|redis:`));
    // Liveness is not readiness: the process answers.
    assert.equal((await get(down, '/health')).status, 200);

    // The database gone: the embedded engine closed.
    await db.close();
    assert.deepEqual(JSON.parse((await get(up, '/ready')).text).checks.postgres, 'down');
    assert.equal((await get(up, '/ready')).status, 503);
  } finally {
    await Promise.all([up.close(), down.close(), deadRedis.close(), liveRedis?.close()]);
  }
});

test('/ready does not wait on a dependency that never answers, and the gateway reads its subgraphs through their /ready', async () => {
  const hung = await serve([{ name: 'postgres', check: () => new Promise(() => undefined) }]);
  const fine = await serve([]);
  const gateway = await serve([remoteReadiness('mpi', fine.url), remoteReadiness('audit', hung.url)]);
  try {
    const started = performance.now();
    const res = await get(hung, '/ready');
    assert.equal(res.status, 503);
    assert.ok(performance.now() - started < READY_TIMEOUT_MS + 500);
    const front = await get(gateway, '/ready');
    assert.equal(front.status, 503);
    assert.deepEqual(JSON.parse(front.text), { status: 'unavailable', checks: { mpi: 'up', audit: 'down' } });
  } finally {
    await Promise.all([hung.close(), fine.close(), gateway.close()]);
  }
});
