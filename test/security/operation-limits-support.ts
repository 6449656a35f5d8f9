// Shared by the operation-limit and production-mode suites: the two doors of the product
// (the gateway with a user token, a subgraph with a genuine gateway identity), a normal query for
// each, and the assertions every refusal must pass.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../platform/keys.ts';
import type { Stack } from '../../runtime/stack.ts';
import { identitySigner, type SubgraphRequest } from '../../security/identity-token.ts';
import type { Principal } from '../../security/principal.ts';
import { tokenFor } from '../support/stack.ts';

export type Body = {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
};
export type Reply = { status: number; body: Body; text: string };

/** The README's sample query: golden patients with their source records' observations. */
export const GATEWAY_SAMPLE =
  '{ patients(first: 3) { totalCount edges { node { id name { family given } birthDate sourceRecords { source observations { code { coding { system code } } valueQuantity { value unit } } } } } } }';
/** The MPI subgraph's part of it (clinical fields live in the vendor subgraphs). */
export const MPI_SAMPLE =
  '{ patients(first: 3) { totalCount edges { node { id name { family given } birthDate sourceRecords { id source mrn } } } } }';

/** Where a request goes and with which credentials (a fresh one per request, for the subgraph bound to that request). */
export type Door = {
  readonly name: string;
  readonly url: string;
  readonly sample: string;
  headers(request?: SubgraphRequest): Promise<Record<string, string>>;
};

export async function doors(stack: Stack): Promise<{ gateway: Door; mpi: Door }> {
  const { token } = await tokenFor(stack, ['clinician']);
  const key = await loadKeyPair(stack.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  const sign = identitySigner(key);
  const principal: Principal = {
    sub: `limits-${randomUUID()}`,
    roles: ['clinician'],
    purposeOfUse: 'TREAT',
    clientId: null,
    scopes: ['user/*.rs'],
    patientContext: null,
    breakGlassReason: null,
    clientIp: null,
    requestId: randomUUID(),
  };
  return {
    gateway: {
      name: 'gateway',
      url: stack.gateway.url,
      sample: GATEWAY_SAMPLE,
      headers: async () => ({ authorization: `Bearer ${token}` }),
    },
    mpi: {
      name: 'mpi subgraph',
      url: stack.subgraphs.mpi!.url,
      sample: MPI_SAMPLE,
      headers: async (request = {}) => ({ authorization: `Bearer ${await sign(principal, 'mpi', request)}` }),
    },
  };
}

/** POSTs a JSON value (or a raw string with its own content type) to a door. */
export async function send(
  door: Door,
  body: unknown,
  init: { contentType?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await fetch(door.url, {
    method: 'POST',
    headers: {
      'content-type': init.contentType ?? 'application/json',
      ...(await door.headers(typeof body === 'string' ? undefined : (body as SubgraphRequest))),
      ...init.headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return reply(res);
}

/** GETs `?query=` from a door, with extra headers (e.g. a CSRF preflight header). */
export async function sendGet(door: Door, query: string, headers: Record<string, string> = {}): Promise<Reply> {
  return reply(
    await fetch(`${door.url}?query=${encodeURIComponent(query)}`, { headers: { ...(await door.headers({ query })), ...headers } }),
  );
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: Body;
  try {
    body = JSON.parse(text) as Body;
  } catch {
    body = {};
  }
  return { status: res.status, body, text };
}

type PageOfPatients = {
  patients: { totalCount: number; edges: { node: { id: string; name: { family: string | null } | null; birthDate: string | null } }[] };
};

/** Runs the door's normal query and returns what it read; fails unless it is a complete answer. */
export async function stillServes(door: Door, context = ''): Promise<PageOfPatients['patients']['edges']> {
  const res = await send(door, { query: door.sample });
  assert.equal(res.status, 200, `${door.name} answers a normal query ${context}: ${res.text.slice(0, 300)}`);
  assert.equal(res.body.errors, undefined, `${door.name} ${context}: ${JSON.stringify(res.body.errors)}`);
  const edges = (res.body.data as PageOfPatients).patients.edges;
  assert.equal(edges.length, 3);
  for (const { node } of edges) assert.ok(node.name?.family, 'names are returned to a clinician');
  return edges;
}

/** Patient values (ids, family names, birth dates) that must never appear in a refusal. */
export function patientValues(edges: PageOfPatients['patients']['edges']): string[] {
  return edges
    .flatMap(({ node }) => [node.id, node.name?.family, node.birthDate])
    .filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/**
 * A refusal: this status, an error with this code (and limit, if given), no data, no patient
 * value anywhere in the body, and no stack trace.
 */
export function assertRefused(
  res: Reply,
  expected: { status: number | readonly number[]; code: string; limit?: string | readonly string[]; message?: RegExp },
  forbidden: readonly string[],
  label: string,
): void {
  const statuses = typeof expected.status === 'number' ? [expected.status] : expected.status;
  assert.ok(statuses.includes(res.status), `${label}: HTTP ${res.status}, expected ${statuses.join(' or ')}: ${res.text.slice(0, 300)}`);
  assert.ok(res.body.data === undefined || res.body.data === null, `${label}: no data`);
  const errors = res.body.errors ?? [];
  assert.ok(errors.length > 0, `${label}: a GraphQL error body (${res.text.slice(0, 200)})`);
  const limits = expected.limit === undefined ? undefined : typeof expected.limit === 'string' ? [expected.limit] : expected.limit;
  const match = errors.find(
    (e) =>
      e.extensions?.code === expected.code &&
      (!limits || limits.includes(e.extensions?.limit as string)) &&
      (!expected.message || expected.message.test(e.message)),
  );
  assert.ok(
    match,
    `${label}: an error with code ${expected.code}${limits ? ` and limit ${limits.join('|')}` : ''}: ${JSON.stringify(errors).slice(0, 500)}`,
  );
  if (limits) assert.equal(typeof match.extensions?.max, 'number', `${label}: the bound is named`);
  for (const value of forbidden) assert.ok(!res.text.includes(value), `${label}: no patient value in the body`);
  for (const e of errors) assert.equal(e.extensions?.stacktrace, undefined, `${label}: no stack trace`);
}
