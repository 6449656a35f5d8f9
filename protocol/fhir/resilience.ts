// Resilience toward one EHR (layer 1): a token bucket so we never send it more than it agreed to,
// a circuit breaker so a failing EHR is left alone for a while instead of hammered (closed ->
// open -> half-open with one probe -> closed), a retry budget so retries stay a small share of
// the traffic (no retry storm when the EHR is slow for everyone), and exponential backoff with
// full jitter so many clients coming back after downtime do not arrive together.
//
// Small and pure with an injected clock: cockatiel (4, Node 22+) has a breaker and backoff but no
// token bucket or retry budget, and its breaker's state must be visible across processes anyway
// (the caller persists it through onStateChange), so the four pieces are kept here, tested.
import { SOURCE_FAILURE, SourceError } from '../errors.ts';

export const BREAKER_STATES = { closed: 'closed', open: 'open', halfOpen: 'half-open' } as const;
export type BreakerState = (typeof BREAKER_STATES)[keyof typeof BREAKER_STATES];

export type Clock = () => number;

/** Exponential backoff with full jitter (AWS Architecture Blog): uniform in [0, min(cap, base * 2^attempt)). */
export const fullJitter = (attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.max(0, attempt)));

export type CircuitBreakerOptions = {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long it stays open before one probe is let through. */
  readonly openMs: number;
  readonly now?: Clock;
  readonly onStateChange?: (state: BreakerState, since: Date) => void;
};

export type CircuitBreaker = {
  readonly state: () => BreakerState;
  readonly since: () => Date;
  /** May a call go out now? In half-open, only one probe at a time. */
  allow(): boolean;
  success(): void;
  failure(): void;
};

export function circuitBreaker(o: CircuitBreakerOptions): CircuitBreaker {
  const now = o.now ?? Date.now;
  let state: BreakerState = BREAKER_STATES.closed;
  let since = now();
  let failures = 0;
  let probing = false;
  const become = (next: BreakerState): void => {
    if (next === state) return;
    state = next;
    since = now();
    o.onStateChange?.(state, new Date(since));
  };
  return {
    state: () => state,
    since: () => new Date(since),
    allow() {
      if (state === BREAKER_STATES.open && now() - since >= o.openMs) become(BREAKER_STATES.halfOpen);
      if (state === BREAKER_STATES.closed) return true;
      if (state === BREAKER_STATES.halfOpen && !probing) return (probing = true);
      return false;
    },
    success() {
      failures = 0;
      probing = false;
      become(BREAKER_STATES.closed);
    },
    failure() {
      probing = false;
      failures++;
      if (state === BREAKER_STATES.halfOpen || failures >= o.failureThreshold) become(BREAKER_STATES.open);
      // A failure while open (a call let through before it opened) restarts the wait.
      else if (state === BREAKER_STATES.open) since = now();
    },
  };
}

export type TokenBucketOptions = { readonly ratePerSecond: number; readonly burst: number; readonly now?: Clock };

export type TokenBucket = {
  /** Takes a token: 0 when one was there, else how many ms until the reserved one is (the caller waits that long). */
  reserve(): number;
  /** Waits for a token (aborted with the signal). */
  acquire(signal?: AbortSignal): Promise<void>;
};

export function tokenBucket(o: TokenBucketOptions): TokenBucket {
  const now = o.now ?? Date.now;
  if (!(o.ratePerSecond > 0) || !(o.burst >= 1)) throw new Error('token bucket: ratePerSecond must be > 0 and burst >= 1');
  let tokens = o.burst;
  let at = now();
  const reserve = (): number => {
    const t = now();
    tokens = Math.min(o.burst, tokens + ((t - at) / 1000) * o.ratePerSecond);
    at = t;
    tokens -= 1;
    // Negative tokens are reservations: each waiter waits for its own.
    return tokens >= 0 ? 0 : Math.ceil((-tokens / o.ratePerSecond) * 1000);
  };
  return {
    reserve,
    async acquire(signal) {
      const wait = reserve();
      if (wait > 0) await sleep(wait, signal);
    },
  };
}

export type RetryBudgetOptions = {
  /** Retries allowed as a share of the requests in the window (0.2 = one retry per five requests). */
  readonly ratio: number;
  /** Retries always allowed per window, so a quiet connection can still retry. */
  readonly minRetries: number;
  readonly windowMs: number;
  readonly now?: Clock;
};

export type RetryBudget = {
  /** Counts a first attempt. */
  request(): void;
  /** Spends a retry when the budget has one. */
  tryRetry(): boolean;
};

export function retryBudget(o: RetryBudgetOptions): RetryBudget {
  const now = o.now ?? Date.now;
  const requests: number[] = [];
  const retries: number[] = [];
  const prune = (list: number[], t: number): void => {
    while (list.length > 0 && list[0]! <= t - o.windowMs) list.shift();
  };
  return {
    request() {
      requests.push(now());
    },
    tryRetry() {
      const t = now();
      prune(requests, t);
      prune(retries, t);
      if (retries.length >= o.minRetries + Math.floor(requests.length * o.ratio)) return false;
      retries.push(t);
      return true;
    },
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const done = (): void => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/** Failures that say the EHR is in trouble (count against the breaker, worth a retry): not our own mistakes (4xx, auth). */
export function isTransient(e: SourceError): boolean {
  if (e.failure === SOURCE_FAILURE.timeout || e.failure === SOURCE_FAILURE.unreachable) return true;
  return e.failure === SOURCE_FAILURE.http && e.httpStatus !== undefined && (e.httpStatus >= 500 || e.httpStatus === 429);
}

export type ResilienceSettings = {
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly retryRatio: number;
  readonly minRetries: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
};

export const DEFAULT_RESILIENCE: ResilienceSettings = {
  failureThreshold: 5,
  openMs: 30_000,
  ratePerSecond: 50,
  burst: 100,
  retryRatio: 0.2,
  minRetries: 10,
  maxAttempts: 3,
  backoffBaseMs: 200,
  backoffCapMs: 5_000,
};

export type ResilienceEvents = {
  readonly onStateChange?: (state: BreakerState, since: Date) => void;
  /** Each attempt's end (or its refusal by the open breaker): `ok` or the failure code, and when it began (performance.now()). */
  readonly onCall?: (outcome: 'ok' | SourceError['failure'], startedMs: number) => void;
};

export type Resilience = {
  readonly breaker: CircuitBreaker;
  /** Runs one call under the rate limit and the breaker, retrying transient failures within the budget. */
  run<T>(call: () => Promise<T>, toError: (e: unknown) => SourceError, signal?: AbortSignal): Promise<T>;
};

export function resilience(
  source: string,
  settings: Partial<ResilienceSettings> = {},
  events: ResilienceEvents = {},
  env: { readonly now?: Clock; readonly random?: () => number } = {},
): Resilience {
  const s = { ...DEFAULT_RESILIENCE, ...settings };
  const breaker = circuitBreaker({
    failureThreshold: s.failureThreshold,
    openMs: s.openMs,
    now: env.now,
    onStateChange: events.onStateChange,
  });
  const bucket = tokenBucket({ ratePerSecond: s.ratePerSecond, burst: s.burst, now: env.now });
  const budget = retryBudget({ ratio: s.retryRatio, minRetries: s.minRetries, windowMs: 10_000, now: env.now });
  return {
    breaker,
    async run(call, toError, signal) {
      budget.request();
      let last: SourceError | undefined;
      for (let attempt = 1; ; attempt++) {
        // Opened by our own failures while retrying: the caller hears what actually went wrong.
        if (!breaker.allow()) {
          events.onCall?.(SOURCE_FAILURE.circuitOpen, performance.now());
          throw last ?? new SourceError(source, SOURCE_FAILURE.circuitOpen, `circuit open since ${breaker.since().toISOString()}`);
        }
        await bucket.acquire(signal);
        const started = performance.now();
        try {
          const result = await call();
          breaker.success();
          events.onCall?.('ok', started);
          return result;
        } catch (error) {
          const failure = toError(error);
          events.onCall?.(failure.failure, started);
          if (!isTransient(failure)) {
            // The EHR answered (a 4xx is our request's fault): it is up.
            breaker.success();
            throw failure;
          }
          breaker.failure();
          last = failure;
          if (attempt >= s.maxAttempts || signal?.aborted || !budget.tryRetry()) throw failure;
          await sleep(fullJitter(attempt - 1, s.backoffBaseMs, s.backoffCapMs, env.random), signal).catch(() => undefined);
          if (signal?.aborted) throw failure;
        }
      }
    },
  };
}
