import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphQLError } from 'graphql';
import { ERROR_CODES, ProductError, badUserInput, forbidden, toClientError, toHttpError } from './errors.ts';

const asFormatted = (e: GraphQLError) => e.toJSON();

test('a ProductError thrown in a resolver reaches the client with its code, message and details', () => {
  const wrapped = new GraphQLError('ignored', { path: ['patient', 'name'], originalError: badUserInput('`id` must be a UUID', 'id') });
  assert.deepEqual(toClientError(asFormatted(wrapped), wrapped), {
    message: '`id` must be a UUID',
    path: ['patient', 'name'],
    extensions: { argument: 'id', code: 'BAD_USER_INPUT' },
  });
});

test('anything unexpected is an internal error whose message is never shown', () => {
  const wrapped = new GraphQLError('duplicate key value violates unique constraint "x" (value=Smith)', {
    path: ['patients'],
    originalError: new Error('duplicate key value violates unique constraint "x" (value=Smith)'),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
  assert.deepEqual(toClientError(asFormatted(wrapped), wrapped), {
    message: 'internal error',
    path: ['patients'],
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
  // A code outside the vocabulary is not trusted either.
  const odd = new GraphQLError('weird', { extensions: { code: 'SOMETHING_ELSE' } });
  assert.equal(toClientError(asFormatted(odd), odd).extensions?.code, 'INTERNAL_SERVER_ERROR');
});

test('errors that already carry one of our codes (validation, relayed subgraph errors) keep it', () => {
  const relayed = new GraphQLError('Source epic-main is unavailable: it did not answer in time', {
    extensions: { code: 'SOURCE_UNAVAILABLE', source: 'epic-main' },
  });
  assert.deepEqual(toClientError(asFormatted(relayed), relayed), asFormatted(relayed));
  // @apollo/gateway wraps a subgraph's error with the JSON object it received as originalError.
  const fromSubgraph = { message: 'Not authorized', extensions: { code: 'FORBIDDEN' } };
  const gatewayError = new GraphQLError('Not authorized', {
    originalError: fromSubgraph as unknown as Error,
    extensions: { code: 'FORBIDDEN', serviceName: 'mpi' },
  });
  assert.equal(toClientError(asFormatted(gatewayError), gatewayError).extensions?.code, 'FORBIDDEN');
});

test('front-door refusals get the HTTP status of their code', () => {
  assert.equal(toHttpError(forbidden()).status, 403);
  assert.equal(toHttpError(new ProductError('PAYLOAD_TOO_LARGE', 'too big')).status, 413);
  assert.equal(toHttpError(new ProductError('DATABASE_UNAVAILABLE', 'retry')).status, 503);
  assert.deepEqual(toHttpError(new Error('secret detail')), {
    status: 500,
    body: { errors: [{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] },
  });
  for (const [code, { status }] of Object.entries(ERROR_CODES)) assert.ok(status >= 400 && status < 600, code);
});
