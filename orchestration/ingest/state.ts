// The inbox's processing state machine, as data and small pure functions (the SQL in inbox.ts
// applies exactly these transitions).
//
//   pending ──claim──▶ processing ──complete──▶ done
//      ▲                  │  │
//      └──fail(transient)─┘  └─fail(permanent) / attempts exhausted / lease expired N times──▶ dead
//      ▲                                                                                    │
//      └───────────────────────────────────replay────────────────────────────────────────────┘
//
// A claim whose lease expired (its worker died) is claimed again as it stands: delivery is
// at-least-once, so the handler's apply step must be idempotent (keyed on the message id or on
// the content it writes), which is what makes it exactly-once in effect.
import { ProductError } from '../../platform/errors.ts';

/**
 * A handler throws this for a message that will never succeed (it cannot be translated, it names
 * nothing we know): dead-lettered at once, not retried. Its message is stored: it must name no PHI.
 */
export class PermanentFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentFailure';
  }
}

export const INBOX_STATES = { pending: 'pending', processing: 'processing', done: 'done', dead: 'dead' } as const;
export type InboxState = (typeof INBOX_STATES)[keyof typeof INBOX_STATES];

export const INBOX_EVENTS = { claim: 'claim', complete: 'complete', retry: 'retry', deadLetter: 'deadLetter', replay: 'replay' } as const;
export type InboxEvent = (typeof INBOX_EVENTS)[keyof typeof INBOX_EVENTS];

export const TRANSITIONS = {
  pending: { claim: 'processing' },
  // claim again: a lease that expired.
  processing: { claim: 'processing', complete: 'done', retry: 'pending', deadLetter: 'dead' },
  done: {},
  dead: { replay: 'pending' },
} as const satisfies Record<InboxState, Partial<Record<InboxEvent, InboxState>>>;

/** The state after `event`, or undefined when the event does not apply in `state`. */
export function transition(state: InboxState, event: InboxEvent): InboxState | undefined {
  return (TRANSITIONS[state] as Partial<Record<InboxEvent, InboxState>>)[event];
}

/** States that hold back later messages of the same patient key (per-patient order). */
export const OPEN_STATES = ['pending', 'processing'] as const satisfies readonly InboxState[];

export const DEAD_REASONS = { permanent: 'permanent', maxAttempts: 'max-attempts', leaseExpired: 'lease-expired' } as const;
export type DeadReason = (typeof DEAD_REASONS)[keyof typeof DEAD_REASONS];

export type RetryPolicy = {
  /** First retry's upper bound, in milliseconds. */
  readonly baseMs: number;
  /** No delay is longer. */
  readonly capMs: number;
  /** Attempts (claims) before a transient failure goes to the dead letters. */
  readonly maxAttempts: number;
};

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, capMs: 5 * 60_000, maxAttempts: 8 };

/** The ceiling of the delay after attempt `attempt` (1-based): base·2^(attempt-1), at most cap. */
export const backoffCeilingMs = (attempt: number, policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>): number =>
  Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));

/**
 * Exponential backoff with full jitter (uniform in [0, ceiling)): retries of many messages that
 * failed together (an EHR down) spread out instead of arriving together when it comes back.
 */
export const backoffMs = (attempt: number, policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>, random: () => number = Math.random): number =>
  Math.floor(random() * backoffCeilingMs(attempt, policy));

export type FailureKind = 'transient' | 'permanent';

/** What a failure of attempt `attempts` leads to. */
export function afterFailure(
  kind: FailureKind,
  attempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): { readonly state: 'pending'; readonly delayMs: number } | { readonly state: 'dead'; readonly reason: DeadReason } {
  if (kind === 'permanent') return { state: 'dead', reason: DEAD_REASONS.permanent };
  if (attempts >= policy.maxAttempts) return { state: 'dead', reason: DEAD_REASONS.maxAttempts };
  return { state: 'pending', delayMs: backoffMs(attempts, policy, random) };
}

const MAX_ERROR_LENGTH = 500;

/**
 * What last_error keeps of a failure: its name and code, and its message only when it is the
 * product's own (a ProductError's message names no patient data); a handler's arbitrary error
 * text may quote the payload, so it is not stored.
 */
export function errorSummary(error: unknown): string {
  if (typeof error === 'string') return error.slice(0, MAX_ERROR_LENGTH);
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  const own = error instanceof ProductError || error instanceof PermanentFailure;
  return [error.name, typeof code === 'string' ? code : undefined, own ? error.message : undefined]
    .filter((s) => s !== undefined && s !== '')
    .join(': ')
    .slice(0, MAX_ERROR_LENGTH);
}
