import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProductError } from '../../platform/errors.ts';
import {
  afterFailure,
  backoffCeilingMs,
  backoffMs,
  errorSummary,
  PermanentFailure,
  transition,
  TRANSITIONS,
  type InboxState,
} from './state.ts';

const policy = { baseMs: 100, capMs: 5000, maxAttempts: 5 };

test('backoff: exponential ceiling, capped, full jitter within [0, ceiling)', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffCeilingMs(a, policy)),
    [100, 200, 400, 800, 1600, 3200, 5000, 5000],
  );
  for (let attempt = 1; attempt <= 12; attempt++) {
    assert.equal(
      backoffMs(attempt, policy, () => 0),
      0,
    );
    assert.equal(
      backoffMs(attempt, policy, () => 0.999999),
      backoffCeilingMs(attempt, policy) - 1,
    );
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(attempt, policy);
      assert.ok(d >= 0 && d < backoffCeilingMs(attempt, policy) && d <= policy.capMs, `attempt ${attempt}: ${d}`);
    }
  }
  // Jitter spreads: 200 draws at the cap are not all alike.
  assert.ok(new Set(Array.from({ length: 200 }, () => backoffMs(10, policy))).size > 50);
});

test('after a failure: retry until maxAttempts, then dead; permanent is dead at once', () => {
  assert.deepEqual(
    afterFailure('transient', 1, policy, () => 0.5),
    { state: 'pending', delayMs: 50 },
  );
  assert.equal(afterFailure('transient', 4, policy).state, 'pending');
  assert.deepEqual(afterFailure('transient', 5, policy), { state: 'dead', reason: 'max-attempts' });
  assert.deepEqual(afterFailure('permanent', 1, policy), { state: 'dead', reason: 'permanent' });
});

test('state machine: only the listed transitions', () => {
  assert.equal(transition('pending', 'claim'), 'processing');
  assert.equal(transition('processing', 'complete'), 'done');
  assert.equal(transition('dead', 'replay'), 'pending');
  assert.equal(transition('done', 'replay'), undefined);
  assert.equal(transition('pending', 'complete'), undefined);
  assert.equal(transition('done', 'claim'), undefined);
  for (const s of Object.keys(TRANSITIONS) as InboxState[]) assert.equal(transition(s, 'replay') !== undefined, s === 'dead');
});

test('errorSummary keeps no arbitrary error text (it may quote the payload)', () => {
  assert.equal(errorSummary(new TypeError('PID|1||MRN-77^^^X||DOE^JANE')), 'TypeError');
  assert.equal(errorSummary(new PermanentFailure('unsupported message type')), 'PermanentFailure: unsupported message type');
  assert.match(
    errorSummary(new ProductError('DATABASE_UNAVAILABLE', 'the database is unreachable')),
    /DATABASE_UNAVAILABLE: the database is unreachable/,
  );
  assert.equal(errorSummary('x'.repeat(900)).length, 500);
});
