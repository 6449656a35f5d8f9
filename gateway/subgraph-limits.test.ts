// What a client is shown when a subgraph refuses the part of a plan it was sent (the e2e side is in
// test/security/operation-limits-subgraphs.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GraphQLFormattedError } from 'graphql';
import { toClientError } from '../platform/errors.ts';
import { subgraphCallFailure, subgraphRefusal } from './subgraph-limits.ts';

const shown = (status: number, body: unknown): GraphQLFormattedError => {
  const error = subgraphRefusal('mpi', status, body);
  return toClientError({ message: error.message }, error);
};

test("a subgraph's operation-limit refusal keeps its code and bound, and names the subgraph", () => {
  const body = {
    errors: [
      {
        message: 'The operation costs 15201; the limit is 15000.',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', max: 15_000, actual: 15_201, stacktrace: ['x'] },
      },
    ],
  };
  assert.deepEqual(shown(400, body), {
    message: 'The operation costs 15201; the limit is 15000.',
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', max: 15_000, actual: 15_201, subgraph: 'mpi' },
  });
});

test('anything else a subgraph answers with is SUBGRAPH_UNAVAILABLE naming it, never its text', () => {
  const unavailable = {
    message: 'Subgraph mpi failed (HTTP 500)',
    extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'mpi', status: 500 },
  };
  assert.deepEqual(shown(500, '<html>oops</html>'), unavailable);
  assert.deepEqual(shown(500, { errors: [{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }), unavailable);
  assert.deepEqual(shown(502, { errors: [{ message: 'Doe, Jane', extensions: { code: 'MADE_UP' } }] }), {
    ...unavailable,
    message: 'Subgraph mpi failed (HTTP 502)',
    extensions: { ...unavailable.extensions, status: 502 },
  });
  // The gateway's identity refused: the deployment's fault, not the caller's credentials.
  const refused = shown(401, { errors: [{ message: 'gateway identity rejected', extensions: { code: 'UNAUTHENTICATED' } }] });
  assert.equal(refused.extensions?.code, 'SUBGRAPH_UNAVAILABLE');
  assert.equal(refused.extensions?.status, 401);
});

test('a call that got no answer is SUBGRAPH_UNAVAILABLE naming the subgraph and the kind of failure', () => {
  const shownFor = (error: Error) => {
    const e = subgraphCallFailure('epic', error);
    return toClientError({ message: e.message }, e);
  };
  const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
  assert.deepEqual(shownFor(timeout), {
    message: 'Subgraph epic did not answer in time',
    extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'epic', failure: 'TIMEOUT' },
  });
  assert.equal(shownFor(new TypeError('fetch failed')).extensions?.failure, 'UNREACHABLE');
  assert.equal(shownFor(new Error('Expected JSON response body, but received: <html>')).extensions?.failure, 'INVALID_RESPONSE');
});
