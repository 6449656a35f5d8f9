// The operation limits as the subgraphs see them. The gateway does not send a subgraph the client's
// document: it sends the part of the query plan for that subgraph, with key fields, `__typename`
// and one inline fragment per implementing type added, so that part can cost more than the whole
// client operation (25 aliased `sourceRecords` on a page of 100 cost 7,701 at the gateway and
// 15,201 at the MPI). Every subgraph applies the same limits to what it receives, so the gateway
// costs each fetch of the plan against that subgraph's schema, with the same function and the same
// limits, and refuses before calling any subgraph: an operation the gateway accepts is never refused
// downstream for cost. A refusal that happens downstream anyway reaches the client with its code and
// bound, and is logged, instead of becoming an internal error.
import type { Experimental_DidResolveQueryPlanCallback } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, Kind, parse, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { isErrorCode, ProductError, type ErrorDetails } from '../platform/errors.ts';
import { logger } from '../platform/log.ts';
import {
  DEFAULT_OPERATION_LIMITS,
  operationCost,
  subgraphCostLimitError,
  type OperationLimits,
} from '../platform/operation-limits/index.ts';
import type { SubgraphDefinition } from './compose.ts';

const log = logger('gateway');

type QueryPlan = Parameters<Experimental_DidResolveQueryPlanCallback>[0]['queryPlan'];
type FetchLike = { readonly serviceName: string; readonly operation: string; readonly operationDocumentNode?: DocumentNode };
/** The plan's node kinds, structurally: only what is needed to find every fetch. */
type NodeLike = {
  readonly kind: string;
  readonly nodes?: readonly NodeLike[];
  readonly node?: NodeLike;
  readonly ifClause?: NodeLike;
  readonly elseClause?: NodeLike;
  readonly primary?: NodeLike | { readonly node?: NodeLike };
  readonly rest?: NodeLike;
  readonly deferred?: readonly { readonly node?: NodeLike }[];
} & Partial<FetchLike>;

/** Every fetch of a plan (each is one request to one subgraph). */
export function planFetches(plan: QueryPlan): FetchLike[] {
  const fetches: FetchLike[] = [];
  const visit = (node: NodeLike | undefined): void => {
    if (!node) return;
    if (node.kind === 'Fetch' && node.serviceName !== undefined && node.operation !== undefined) {
      fetches.push(node as FetchLike);
      return;
    }
    for (const child of node.nodes ?? []) visit(child);
    visit(node.node);
    visit(node.ifClause);
    visit(node.elseClause);
    visit(node.rest);
    const primary = node.primary;
    if (primary) visit('kind' in primary ? (primary as NodeLike) : primary.node);
    for (const d of node.deferred ?? []) visit(d.node);
  };
  visit(plan.node as NodeLike | undefined);
  return fetches;
}

/** Each subgraph's schema, built from the SDL it serves (federation's `_entities` and `_service` included). */
export function subgraphSchemas(definitions: readonly SubgraphDefinition[]): Map<string, GraphQLSchema> {
  return new Map(definitions.map((d) => [d.name, buildSubgraphSchema([{ typeDefs: parse(d.typeDefs) }])]));
}

export type FetchCost = { readonly subgraph: string; readonly cost: number };

// Plans are cached by the gateway and reused; so are their fetch documents.
const parsedFetches = new WeakMap<FetchLike, DocumentNode>();
const documentOf = (fetch: FetchLike): DocumentNode => {
  let document = fetch.operationDocumentNode ?? parsedFetches.get(fetch);
  if (!document) parsedFetches.set(fetch, (document = parse(fetch.operation)));
  return document;
};

/** The cost of every fetch of a plan, as the subgraph receiving it computes it (same variables, same limits). */
export function fetchCosts(
  plan: QueryPlan,
  schemas: ReadonlyMap<string, GraphQLSchema>,
  variables: Readonly<Record<string, unknown>> | undefined,
  limits: OperationLimits,
): FetchCost[] {
  return planFetches(plan).flatMap((fetch) => {
    const schema = schemas.get(fetch.serviceName);
    if (!schema) return [];
    const document = documentOf(fetch);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    if (!operation) return [];
    return [{ subgraph: fetch.serviceName, cost: operationCost(schema, document, operation, variables, limits).cost }];
  });
}

/**
 * The gateway's check of a plan, before it is executed: the first fetch over the cost limit refuses
 * the whole operation (no subgraph is called), naming the subgraph, the limit and the cost.
 */
export function planCostCheck(
  schemas: ReadonlyMap<string, GraphQLSchema>,
  limits: OperationLimits = DEFAULT_OPERATION_LIMITS,
): Experimental_DidResolveQueryPlanCallback {
  return ({ queryPlan, requestContext }) => {
    const over = fetchCosts(queryPlan, schemas, requestContext.request.variables, limits).find((f) => f.cost > limits.maxCost);
    if (!over) return;
    log.info('operation_refused', { limit: 'cost', max: limits.maxCost, actual: over.cost, subgraph: over.subgraph });
    throw subgraphCostLimitError(over.subgraph, over.cost, limits);
  };
}

type SubgraphBody = { readonly errors?: readonly { readonly message?: unknown; readonly extensions?: Record<string, unknown> }[] };

/** Facts safe to show and log: the limit, its bound, a source id (never a value a client sent). */
const SAFE_DETAILS = ['limit', 'max', 'actual', 'argument', 'field', 'source', 'failure'] as const;

/**
 * What a client sees when a subgraph refuses the request the gateway sent it (a non-2xx answer):
 * the subgraph's own error when it carries one of the product's codes (an operation limit, its
 * bound, the subgraph's name), else SUBGRAPH_UNAVAILABLE with the subgraph and the HTTP status.
 * A subgraph refusing the gateway's identity (401/403) is the deployment's fault, not the client's:
 * SUBGRAPH_UNAVAILABLE too. Either way the refusal is logged (codes and bounds only, no PHI).
 */
export function subgraphRefusal(subgraph: string, status: number, body: unknown): GraphQLError {
  const first = typeof body === 'object' && body !== null ? (body as SubgraphBody).errors?.[0] : undefined;
  const code = first?.extensions?.code;
  const details: Record<string, string | number | boolean | null> = {};
  for (const key of SAFE_DETAILS) {
    const value = first?.extensions?.[key];
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) details[key] = value as string | number | boolean | null;
  }
  let error: ProductError;
  if (isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR' && status !== 401 && status !== 403 && typeof first?.message === 'string') {
    error = new ProductError(code, first.message, { ...details, subgraph } satisfies ErrorDetails);
    log.warn('subgraph_refused', { subgraph, status, code, ...numbers(details) });
  } else {
    error = new ProductError('SUBGRAPH_UNAVAILABLE', `Subgraph ${subgraph} failed (HTTP ${status})`, { subgraph, status });
    log.error('subgraph_failed', { subgraph, status, code: typeof code === 'string' ? code.slice(0, 64) : undefined });
  }
  // The gateway's data source must return a GraphQLError; the ProductError beneath it is what
  // platform/errors.ts maps for the client.
  return new GraphQLError(error.message, { originalError: error });
}

/**
 * What a client is shown when a subgraph call fails without an answer (the gateway's timeout, a
 * refused connection, a body that is not JSON): SUBGRAPH_UNAVAILABLE naming the subgraph and the
 * kind of failure, logged. A GraphQL error (a relayed refusal) is kept.
 */
export function subgraphCallFailure(subgraph: string, error: Error): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const failure =
    error.name === 'TimeoutError' || error.name === 'AbortError'
      ? 'TIMEOUT'
      : /JSON/.test(error.message)
        ? 'INVALID_RESPONSE'
        : 'UNREACHABLE';
  const text = {
    TIMEOUT: 'did not answer in time',
    INVALID_RESPONSE: 'answered something unreadable',
    UNREACHABLE: 'could not be reached',
  }[failure];
  log.error('subgraph_failed', { subgraph, failure });
  const product = new ProductError('SUBGRAPH_UNAVAILABLE', `Subgraph ${subgraph} ${text}`, { subgraph, failure });
  return new GraphQLError(product.message, { originalError: product });
}

const numbers = (d: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(d).filter(([, v]) => typeof v === 'number' || typeof v === 'string')) as Record<
    string,
    string | number
  >;
