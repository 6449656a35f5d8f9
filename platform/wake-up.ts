// Wake-ups between processes: "the inbox may have new work", as Redis pub/sub when REDIS_URL is
// set, always delivered in-process too. Only a hint: workers poll PostgreSQL anyway, so a lost
// wake-up (Redis down, a message published while a subscriber reconnects) costs one poll interval,
// never a message. Redis failures are swallowed: a dead Redis never stops ingestion.
import { Redis } from 'ioredis';

export type WakeUpChannel = {
  /** Calls back on every wake-up; returns an unsubscribe. */
  subscribe(onWake: () => void): () => void;
  /** Wakes every subscriber (this process at once, other processes through Redis when configured). */
  notify(): void;
  close(): Promise<void>;
};

const redisOptions = {
  // Fail fast rather than queue: a hint that cannot be sent now is worthless later.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 250,
  connectTimeout: 1000,
  retryStrategy: (times: number) => Math.min(times * 200, 5000),
} as const;

export function wakeUpChannel(options: { readonly redisUrl?: string; readonly name: string }): WakeUpChannel {
  const local = new Set<() => void>();
  const wake = (): void => {
    for (const f of [...local]) f();
  };
  const quiet = (): void => undefined;
  const pub = options.redisUrl ? new Redis(options.redisUrl, redisOptions) : undefined;
  // A subscriber connection needs its offline queue to (re)subscribe after a reconnect.
  const sub = options.redisUrl ? new Redis(options.redisUrl, { ...redisOptions, enableOfflineQueue: true }) : undefined;
  pub?.on('error', quiet);
  sub?.on('error', quiet);
  sub?.subscribe(options.name).catch(quiet);
  sub?.on('message', (channel: string) => {
    if (channel === options.name) wake();
  });
  return {
    subscribe(onWake) {
      local.add(onWake);
      return () => local.delete(onWake);
    },
    notify() {
      wake();
      if (pub?.status === 'ready') pub.publish(options.name, '1').catch(quiet);
    },
    async close() {
      local.clear();
      await Promise.all([pub, sub].map((r) => r?.quit().catch(() => r.disconnect())));
    },
  };
}
