// Memo of verified tokens: a bearer token presented again (every request of a session, every
// subgraph call of a gateway identity) is not verified again until it expires. Only successful
// verifications are remembered, and never past the token's own expiry.
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';

export type TokenCache<T extends object> = {
  get(token: string): T | undefined;
  set(token: string, value: T, expiresAtSeconds: number | undefined): void;
};

export function tokenCache<T extends object>(max = 10_000): TokenCache<T> {
  const lru = new LRUCache<string, T>({ max });
  // Keys are digests: the cache never holds a usable credential.
  const key = (token: string): string => createHash('sha256').update(token).digest('base64url');
  return {
    get: (token) => lru.get(key(token)),
    set(token, value, exp) {
      const ttl = exp === undefined ? 0 : exp * 1000 - Date.now();
      if (ttl > 1000) lru.set(key(token), value, { ttl });
    },
  };
}
