// Wake-ups: in-process always, across processes through Redis pub/sub when configured (skipped
// without REDIS_URL), and a Redis that cannot be reached never makes notify throw or hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { redisUrl } from '../test/support/env.ts';
import { wakeUpChannel } from './wake-up.ts';

const woken = (channel: ReturnType<typeof wakeUpChannel>) =>
  new Promise<void>((resolve) => {
    const off = channel.subscribe(() => (off(), resolve()));
  });

test('in process: notify wakes every subscriber at once; an unsubscribed one is not called', async () => {
  const channel = wakeUpChannel({ name: 'local' });
  let calls = 0;
  const off = channel.subscribe(() => calls++);
  const other = woken(channel);
  channel.notify();
  await other;
  off();
  channel.notify();
  assert.equal(calls, 1);
  await channel.close();
});

test('across processes: a notify through Redis wakes the other side', { skip: redisUrl() ? false : 'needs REDIS_URL' }, async () => {
  const name = `pgw-test:${randomUUID()}`;
  const a = wakeUpChannel({ redisUrl: redisUrl(), name });
  const b = wakeUpChannel({ redisUrl: redisUrl(), name });
  try {
    const other = woken(b);
    // The subscription is asynchronous: notify until it is there (a wake-up is a hint, repeats are harmless).
    const timer = setInterval(() => a.notify(), 50);
    await other.finally(() => clearInterval(timer));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a Redis that cannot be reached: notify still wakes this process, and close returns', async () => {
  const channel = wakeUpChannel({ redisUrl: 'redis://127.0.0.1:1', name: 'unreachable' });
  const local = woken(channel);
  channel.notify();
  await local;
  await channel.close();
});
