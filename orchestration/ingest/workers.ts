// The processing loop: `concurrency` workers, each claiming one message at a time, handing it to
// the handler and recording the outcome. Idle workers poll every pollMs; an optional wake-up
// (Redis pub/sub, a listener in the same process) makes them look at once after a receive. The
// wake-up is only a hint: nothing is lost without it, work is found by polling PostgreSQL.
//
// Delivery is at-least-once (a worker that dies, or outlives its lease, leaves the message to be
// claimed again): the handler's apply step must be idempotent.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import { metrics } from '../../platform/metrics.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { claim, complete, DEFAULT_LEASE_MS, fail, type ClaimedMessage } from './inbox.ts';
import { DEFAULT_RETRY, errorSummary, PermanentFailure, type RetryPolicy } from './state.ts';

/** Something that calls back when new work may be there; returns an unsubscribe. */
export type WakeUp = { subscribe(onWake: () => void): () => void };

export type WorkerOptions = {
  readonly db: Database;
  readonly protection: Pick<IdentifierProtection, 'revealPayload'>;
  /** Applies one message; throws PermanentFailure for a message that will never succeed, anything else is retried. */
  readonly handler: (message: ClaimedMessage) => Promise<void>;
  readonly concurrency: number;
  readonly pollMs: number;
  readonly wakeUp?: WakeUp;
  readonly leaseMs?: number;
  readonly policy?: RetryPolicy;
  readonly workerId?: string;
};

export type Workers = {
  /** Stops claiming; resolves when the messages in hand are finished. */
  stop(): Promise<void>;
};

const log = logger('ingest');

export function runWorkers(options: WorkerOptions): Workers {
  const policy = options.policy ?? DEFAULT_RETRY;
  const base = options.workerId ?? `w-${randomUUID().slice(0, 8)}`;
  let stopped = false;
  const sleepers = new Set<() => void>();
  const wakeAll = (): void => {
    for (const wake of [...sleepers]) wake();
  };
  const unsubscribe = options.wakeUp?.subscribe(wakeAll);

  const idle = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, options.pollMs);
      sleepers.add(done);
    });

  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;

  /**
   * Writes a claim's outcome, again after a pause while the database is away: without it, a message
   * whose database went down under it would wait for its lease to end (a minute) once it is back.
   * Gives up when the lease would have ended anyway (the message is then claimed again) or on stop.
   */
  const record = async <T>(write: () => Promise<T>, claimedAt: number): Promise<T> => {
    for (;;) {
      try {
        return await write();
      } catch (error) {
        if (stopped || Date.now() + options.pollMs >= claimedAt + leaseMs) throw error;
        await idle();
      }
    }
  };

  const processOne = async (message: ClaimedMessage): Promise<void> => {
    const claimedAt = Date.now();
    const started = performance.now();
    try {
      await options.handler(message);
    } catch (error) {
      const kind = error instanceof PermanentFailure ? 'permanent' : 'transient';
      const outcome = await record(() => fail(options.db, message, kind, errorSummary(error), policy), claimedAt);
      metrics.inboxApplied(message.key.channel, outcome?.state === 'dead' ? 'dead' : 'retry', started);
      log.warn('inbox_message_failed', { id: message.id, attempt: message.attempt, kind, outcome: outcome?.state ?? 'lost-claim' });
      return;
    }
    metrics.inboxApplied(message.key.channel, 'applied', started);
    if (!(await record(() => complete(options.db, message), claimedAt)))
      log.warn('inbox_claim_lost', { id: message.id, attempt: message.attempt });
  };

  const loop = async (workerId: string): Promise<void> => {
    while (!stopped) {
      try {
        const [message] = await claim(options.db, { limit: 1, workerId, leaseMs, policy }, options.protection);
        if (message) await processOne(message);
        else await idle();
      } catch (error) {
        // The database away: the message stays claimed until its lease ends; poll again later.
        log.warn('inbox_worker_error', { error: errorSummary(error) });
        await idle();
      }
    }
  };

  const loops = Array.from({ length: options.concurrency }, (_, i) => loop(`${base}-${i}`));
  return {
    async stop() {
      stopped = true;
      unsubscribe?.();
      wakeAll();
      await Promise.all(loops);
    },
  };
}
