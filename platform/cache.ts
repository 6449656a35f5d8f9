// A TTL cache for source data: Redis when REDIS_URL is set (shared by every subgraph replica),
// in-process LRU otherwise. Redis is a cache here, never a system of record, so every failure
// degrades to a miss: a PHI request must never hang because Redis is down.
//
// What goes to Redis is clinical data, so it leaves the process encrypted: each value is an
// AES-256-GCM ciphertext under the field-encryption keys (security/field-encryption.ts), bound to
// its Redis key as associated data, so a value copied under another key does not decrypt. A value
// that does not decrypt (moved, tampered with, written under a key since retired by
// `npm run keys:rotate-field`, or written in clear by an older version) is a miss. In production
// mode the connection must be authenticated and TLS (`rediss://user:password@host`).
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { logger } from './log.ts';
import { metrics } from './metrics.ts';

const log = logger('cache');

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

/** The field cipher as the cache uses it (security/field-encryption.ts: FieldCipher). */
export type CacheCipher = {
  encrypt(plaintext: string, associatedData: string): string;
  /** Throws when the key, the associated data or the ciphertext is not the one it was made with. */
  decrypt(value: string, associatedData: string): string;
  isEncrypted(value: string): boolean;
};

export type CacheOptions = {
  readonly redisUrl?: string;
  readonly prefix: string;
  readonly maxEntries?: number;
  /** Required with Redis: values are stored encrypted. */
  readonly cipher?: CacheCipher;
  /** Production mode: Redis must be reached over TLS with credentials. */
  readonly production?: boolean;
  /**
   * Larger values are not written to Redis (default 1 MB): within the 250 ms command timeout one
   * such value could make a whole batch's read a miss, and it holds Redis up for every client.
   */
  readonly maxValueBytes?: number;
};

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Why a Redis URL may not be used, or undefined. In production: TLS (`rediss://`) and credentials
 * (a password, with an ACL user or the default one). Elsewhere anything goes; a plain connection
 * beyond loopback is allowed but logged.
 */
export function redisUrlProblem(redisUrl: string, production: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    return 'REDIS_URL is not a valid URL';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `REDIS_URL must be redis:// or rediss://, not ${url.protocol}//`;
  if (!production) return undefined;
  const missing = [url.protocol === 'rediss:' ? '' : 'TLS (rediss://)', url.password ? '' : 'credentials (user:password@)'].filter(Boolean);
  return missing.length === 0
    ? undefined
    : `in production mode REDIS_URL needs ${missing.join(' and ')}, e.g. rediss://gateway:PASSWORD@redis.internal:6379`;
}

export function openCache(options: CacheOptions): TtlCache {
  if (!options.redisUrl) return counted(memoryCache(options.maxEntries ?? 50_000), 'memory');
  const problem = redisUrlProblem(options.redisUrl, options.production ?? false);
  if (problem) throw new Error(problem);
  if (!options.cipher) throw new Error('a Redis cache needs the field cipher: cached values are encrypted');
  const url = new URL(options.redisUrl);
  if (url.protocol === 'redis:' && !LOOPBACK.test(url.hostname)) log.warn('redis_plaintext', { host: url.hostname });
  return counted(
    sealed(redisCache(options.redisUrl, options.prefix), options.cipher, options.prefix, options.maxValueBytes ?? 1_000_000),
    'redis',
  );
}

/** Hits and misses for /metrics (platform/metrics.ts); a value that does not decrypt counts as the miss it is. */
function counted(inner: TtlCache, backend: 'memory' | 'redis'): TtlCache {
  return {
    ...inner,
    async getMany(keys) {
      const values = await inner.getMany(keys);
      const hits = values.filter((v) => v !== undefined).length;
      metrics.cacheLookups(backend, hits, values.length - hits);
      return values;
    },
  };
}

/** Encrypts values on their way in, bound to their key under this prefix; a value that does not decrypt is a miss. */
function sealed(inner: TtlCache, cipher: CacheCipher, prefix: string, maxValueBytes: number): TtlCache {
  const bound = (key: string): string => `${prefix}:${key}`;
  const open = (key: string, value: string | undefined): string | undefined => {
    if (value === undefined || !cipher.isEncrypted(value)) return undefined;
    try {
      return cipher.decrypt(value, bound(key));
    } catch {
      return undefined;
    }
  };
  return {
    async getMany(keys) {
      const values = await inner.getMany(keys);
      return values.map((v, i) => open(keys[i]!, v));
    },
    async setMany(entries, ttlSeconds) {
      if (ttlSeconds <= 0) return;
      const values = entries.map(([k, v]) => [k, cipher.encrypt(v, bound(k))] as const);
      const kept = values.filter(([, v]) => v.length <= maxValueBytes);
      if (kept.length < values.length) log.debug('cache_value_too_large', { skipped: values.length - kept.length, maxValueBytes });
      await inner.setMany(kept, ttlSeconds);
    },
    clear: () => inner.clear(),
    close: () => inner.close(),
    ...(inner.ping ? { ping: inner.ping } : {}),
  };
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
