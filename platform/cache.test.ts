import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCache } from './cache.ts';
import { redisUrl, uniqueSchema } from '../test/support/env.ts';

for (const [mode, url] of [
  ['in-process', undefined],
  ['redis', redisUrl()],
] as const) {
  test(
    `${mode} cache: get/set with TTL, misses for absent keys`,
    { skip: mode === 'redis' && !url && 'REDIS_URL is not set' },
    async () => {
      const cache = openCache({ redisUrl: url, prefix: uniqueSchema('cache') });
      try {
        if (url) await new Promise((r) => setTimeout(r, 200)); // connect
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
    },
  );
}

test('an unreachable Redis degrades to misses at once, never a hang', async () => {
  const cache = openCache({ redisUrl: 'redis://127.0.0.1:1', prefix: 'x' });
  const started = Date.now();
  assert.deepEqual(await cache.getMany(['a']), [undefined]);
  await cache.setMany([['a', '1']], 10);
  assert.ok(Date.now() - started < 500);
  await cache.close();
});
