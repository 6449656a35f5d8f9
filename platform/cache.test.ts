import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openCache, redisUrlProblem } from './cache.ts';
import { metrics } from './metrics.ts';
import { sample } from '../test/support/metrics.ts';
import { liveFieldCipher, retireFieldKeys, rotateFieldKey } from '../security/field-encryption.ts';
import { redisUrl, uniqueSchema } from '../test/support/env.ts';

const keysDir = mkdtempSync(join(tmpdir(), 'pgw-cache-keys-'));
const cipher = liveFieldCipher(keysDir, true);
after(() => rmSync(keysDir, { recursive: true, force: true }));

const REDIS_SKIP = !redisUrl() && 'REDIS_URL is not set: these tests need a real Redis and are skipped';
const connected = () => new Promise((r) => setTimeout(r, 200));

for (const [mode, url] of [
  ['in-process', undefined],
  ['redis', redisUrl()],
] as const) {
  test(`${mode} cache: get/set with TTL, misses for absent keys`, { skip: mode === 'redis' && REDIS_SKIP }, async () => {
    const cache = openCache({ redisUrl: url, prefix: uniqueSchema('cache'), cipher });
    try {
      if (url) await connected();
      await cache.setMany(
        [
          ['a', '1'],
          ['b', '2'],
        ],
        1,
      );
      assert.deepEqual(await cache.getMany(['a', 'b', 'c']), ['1', '2', undefined]);
      await cache.setMany([['z', 'no']], 0);
      assert.deepEqual(await cache.getMany(['z']), [undefined]);
      await new Promise((r) => setTimeout(r, 1100));
      assert.deepEqual(await cache.getMany(['a']), [undefined]);
      await cache.setMany(
        [
          ['k1', 'v'],
          ['k2', 'v'],
        ],
        60,
      );
      await cache.clear();
      assert.deepEqual(await cache.getMany(['k1', 'k2']), [undefined, undefined]);
    } finally {
      await cache.close();
    }
  });
}

test('an unreachable Redis degrades to misses at once, never a hang', async () => {
  const cache = openCache({ redisUrl: 'redis://127.0.0.1:1', prefix: 'x', cipher });
  const started = Date.now();
  assert.deepEqual(await cache.getMany(['a']), [undefined]);
  await cache.setMany([['a', '1']], 10);
  assert.ok(Date.now() - started < 500);
  await cache.close();
});

test('production mode refuses Redis without TLS or credentials, in one line', () => {
  const refused = {
    'redis://127.0.0.1:6379': /needs TLS \(rediss:\/\/\) and credentials/,
    'redis://gateway:secret@redis:6379': /needs TLS \(rediss:\/\/\)/,
    'rediss://redis:6379': /needs credentials \(user:password@\)/,
    'rediss://gateway@redis:6379': /needs credentials/,
  };
  for (const [url, message] of Object.entries(refused)) {
    const problem = redisUrlProblem(url, true);
    assert.match(problem ?? '', message, url);
    assert.ok(!problem!.includes('\n'), 'one line');
    assert.ok(!problem!.includes('secret'), 'the URL (and its password) is not repeated');
    assert.throws(() => openCache({ redisUrl: url, prefix: 'x', cipher, production: true }), { message: problem });
  }
  for (const url of ['rediss://gateway:secret@redis:6379', 'rediss://:secret@10.0.0.5:6380/2'])
    assert.equal(redisUrlProblem(url, true), undefined, url);
  // Outside production a plain loopback Redis is fine.
  assert.equal(redisUrlProblem('redis://127.0.0.1:6379', false), undefined);
  assert.match(redisUrlProblem('http://127.0.0.1:6379', false) ?? '', /must be redis:\/\/ or rediss:\/\//);
  assert.throws(() => openCache({ redisUrl: 'redis://127.0.0.1:6379', prefix: 'x' }), /needs the field cipher/);
});

test('Redis holds ciphertexts bound to their key: a moved, altered or clear value is a miss', { skip: REDIS_SKIP }, async () => {
  const prefix = uniqueSchema('cache');
  const cache = openCache({ redisUrl: redisUrl(), prefix, cipher });
  const raw = new Redis(redisUrl()!);
  try {
    await connected();
    const clinical = JSON.stringify({ v: [{ resourceType: 'Observation', code: '8867-4', value: 72 }] });
    await cache.setMany(
      [
        ['clinical:a', clinical],
        ['clinical:b', '{"v":[]}'],
      ],
      60,
    );
    assert.deepEqual(await cache.getMany(['clinical:a', 'clinical:b']), [clinical, '{"v":[]}']);
    const stored = await raw.mget(`${prefix}:clinical:a`, `${prefix}:clinical:b`);
    for (const value of stored) {
      assert.match(value ?? '', /^enc:v1:[^:]+:[^:]+:[^:]+:[^:]+$/);
      assert.ok(!value!.includes('Observation') && !value!.includes('8867-4') && !value!.includes('{'));
    }
    // An attacker with write access to Redis moves a's value under b: it does not decrypt there.
    await raw.set(`${prefix}:clinical:b`, stored[0]!, 'EX', 60);
    assert.deepEqual(await cache.getMany(['clinical:b', 'clinical:a']), [undefined, clinical]);
    // Another cache's value (another prefix) under the same key name: refused too.
    const other = openCache({ redisUrl: redisUrl(), prefix: uniqueSchema('cache'), cipher });
    await connected();
    await raw.set(`${prefix}:clinical:b`, cipher.encrypt('{"v":[]}', 'pgw:other:clinical:b'), 'EX', 60);
    assert.deepEqual(await cache.getMany(['clinical:b']), [undefined]);
    await other.close();
    // Altered ciphertext, or a value in clear (as an older version wrote it): misses, not errors.
    const [head, tail] = [stored[0]!.slice(0, -4), stored[0]!.slice(-4)];
    await raw.set(`${prefix}:clinical:a`, `${head}${tail === 'AAAA' ? 'BBBB' : 'AAAA'}`, 'EX', 60);
    await raw.set(`${prefix}:clinical:c`, clinical, 'EX', 60);
    assert.deepEqual(await cache.getMany(['clinical:a', 'clinical:c']), [undefined, undefined]);
  } finally {
    await cache.clear();
    await cache.close();
    raw.disconnect();
  }
});

test('a value over maxValueBytes is not written to Redis; the rest of its batch is', { skip: REDIS_SKIP }, async () => {
  const cache = openCache({ redisUrl: redisUrl(), prefix: uniqueSchema('cache'), cipher, maxValueBytes: 10_000 });
  try {
    await connected();
    await cache.setMany(
      [
        ['small', '{"v":[]}'],
        ['big', 'x'.repeat(20_000)],
      ],
      60,
    );
    assert.deepEqual(await cache.getMany(['small', 'big']), ['{"v":[]}', undefined]);
  } finally {
    await cache.clear();
    await cache.close();
  }
});

test(
  'key rotation: values under a key still held are read; once it is retired they are misses, never errors',
  { skip: REDIS_SKIP },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-cache-rotate-'));
    const prefix = uniqueSchema('cache');
    const running = openCache({ redisUrl: redisUrl(), prefix, cipher: liveFieldCipher(dir, true) });
    let restarted: ReturnType<typeof openCache> | undefined;
    try {
      await connected();
      await running.setMany([['clinical:a', '{"v":[1]}']], 60);
      rotateFieldKey(dir); // npm run keys:rotate-field: a new current key, the old one kept...
      assert.deepEqual(await running.getMany(['clinical:a']), ['{"v":[1]}']);
      retireFieldKeys(dir, []); // ...then retired once nothing in the database uses it
      // A running service still holds the old key in memory: read, or a miss; never an error.
      assert.ok(['{"v":[1]}', undefined].includes((await running.getMany(['clinical:a']))[0]));
      // A service started after the rotation no longer has it: a miss.
      restarted = openCache({ redisUrl: redisUrl(), prefix, cipher: liveFieldCipher(dir, false) });
      await connected();
      assert.deepEqual(await restarted.getMany(['clinical:a']), [undefined]);
      // Written again, under the new key, and read by both.
      await restarted.setMany([['clinical:a', '{"v":[2]}']], 60);
      assert.deepEqual(await restarted.getMany(['clinical:a']), ['{"v":[2]}']);
      assert.deepEqual(await running.getMany(['clinical:a']), ['{"v":[2]}']);
    } finally {
      await running.clear();
      await running.close();
      await restarted?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('lookups are counted for /metrics as hits and misses by backend', async () => {
  const count = async (result: string) => sample(await metrics.scrape(), 'pgw_cache_lookups_total', { backend: 'memory', result }) ?? 0;
  const [hits, misses] = [await count('hit'), await count('miss')];
  const cache = openCache({ prefix: 'metrics-test' });
  await cache.setMany([['a', '1']], 60);
  await cache.getMany(['a', 'b', 'c']);
  assert.deepEqual([(await count('hit')) - hits, (await count('miss')) - misses], [1, 2]);
  await cache.close();
});
