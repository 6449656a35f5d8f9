// A TTL cache for source data: Redis when REDIS_URL is set (shared by every subgraph replica),
// in-process LRU otherwise. Redis is a cache here, never a system of record, so every failure
// degrades to a miss: a PHI request must never hang because Redis is down.
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface TtlCache {
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** A TTL of 0 disables caching. */
  setMany(entries: readonly (readonly [key: string, value: string])[], ttlSeconds: number): Promise<void>;
  /** Resolves when Redis answers (readiness checks), throws when it is down; absent for the in-process cache. */
  readonly ping?: () => Promise<void>;
  /** Removes every entry of this cache (its prefix only, on a shared Redis). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export type CacheOptions = { readonly redisUrl?: string; readonly prefix: string; readonly maxEntries?: number };

export function openCache(options: CacheOptions): TtlCache {
  return options.redisUrl ? redisCache(options.redisUrl, options.prefix) : memoryCache(options.maxEntries ?? 50_000);
}

function memoryCache(max: number): TtlCache {
  const lru = new LRUCache<string, string>({ max, ttlAutopurge: false });
  return {
    getMany: async (keys) => keys.map((k) => lru.get(k)),
    setMany: async (entries, ttlSeconds) => {
      if (ttlSeconds <= 0) return;
      for (const [k, v] of entries) lru.set(k, v, { ttl: ttlSeconds * 1000 });
    },
    clear: async () => lru.clear(),
    close: async () => lru.clear(),
  };
}

function redisCache(url: string, prefix: string): TtlCache {
  const redis = new Redis(url, {
    // Fail fast instead of queueing while disconnected (ioredis' default queues and retries 20 times).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 250,
    connectTimeout: 1000,
    lazyConnect: false,
    keyPrefix: `${prefix}:`,
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
  redis.on('error', () => {
    /* reported through misses; never crash on a cache outage */
  });
  return {
    async ping() {
      // No offline queue: a disconnected client refuses at once rather than waiting to reconnect.
      await redis.ping();
    },
    async getMany(keys) {
      if (keys.length === 0 || redis.status !== 'ready') return keys.map(() => undefined);
      try {
        return (await redis.mget(...keys)).map((v) => v ?? undefined);
      } catch {
        return keys.map(() => undefined);
      }
    },
    async setMany(entries, ttlSeconds) {
      if (entries.length === 0 || ttlSeconds <= 0 || redis.status !== 'ready') return;
      const pipeline = redis.pipeline();
      for (const [k, v] of entries) pipeline.set(k, v, 'EX', Math.ceil(ttlSeconds));
      await pipeline.exec().catch(() => undefined);
    },
    async clear() {
      if (redis.status !== 'ready') return;
      // ioredis applies keyPrefix to key arguments but not to SCAN's pattern or results.
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys.map((k) => k.slice(prefix.length + 1)));
      } while (cursor !== '0');
    },
    async close() {
      redis.disconnect();
    },
  };
}
