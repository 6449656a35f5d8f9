// The plumbing every subgraph shares, written once: federation schema, policies (deny by
// default), resolver-level audit written before the response leaves (fail closed), the hardened
// Apollo Server options, and an HTTP front door that refuses anyone but the gateway.
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { getNamedType, GraphQLError, isObjectType, parse, type GraphQLNamedType, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from '../../policies/shield.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '../../platform/db.ts';
import { formatProductError, ProductError, unauthenticated } from '../../platform/errors.ts';
import { hardenedPlugins, hardenedServerOptions, serveGraphQL, type RunningHttpServer } from '../../platform/graphql-http.ts';
import type { OperationLimits } from '../../platform/operation-limits/index.ts';
import type { ReadinessCheck } from '../../platform/graphql-http.ts';
import { logger } from '../../platform/log.ts';
import { metricsAccessFromEnv, type MetricsAccess } from '../../platform/metrics.ts';
import { describeRule, policyMiddleware, ruleTreeFor, type PolicySet } from '../../policies/policy-set.ts';
import { auditCollector, type AuditSubjects } from '../../orchestration/audit/collector.ts';
import { auditRows, writeAuditEvents, type AuditContext } from '../../orchestration/audit/audit-log.ts';
import { AUDIT_HANDOFF_EXTENSION, handoffEnvelope } from '../../orchestration/audit/handoff.ts';
import { httpRouteRequest, subgraphRequestHash, type IdentityVerifier, type VerifiedIdentity } from '../../security/identity-token.ts';
import type { Principal } from '../../security/principal.ts';
import type { SubgraphContext } from './context.ts';
import { warningsPlugin } from './warnings.ts';

export type SubgraphDefinition = {
  readonly name: string;
  readonly typeDefs: string;
  readonly resolvers: GraphQLResolverMap<SubgraphContext>;
  readonly policies: readonly PolicySet[];
  /** Types whose objects are patient data, and how to name the patient behind one. */
  readonly auditSubjects: AuditSubjects;
  /** Plain HTTP paths beside /graphql (downloads the gateway relays), behind the same gateway identity. */
  readonly routes?: readonly SubgraphRoute[];
};

/** A path served beside /graphql to a caller the gateway vouched for (an identity signed for this method and path). */
export type SubgraphRoute = {
  readonly prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, principal: Principal, path: string): Promise<void>;
};

export type SubgraphRuntime = {
  readonly db: Database;
  readonly verifyIdentity: IdentityVerifier;
  readonly port: number;
  readonly host?: string;
  readonly production: boolean;
  /**
   * Benchmarks only: serve the same resolvers without policies, audit or identity check, acting
   * as this principal, to measure what the guards cost. Refused in production mode.
   */
  readonly unguardedAs?: Principal;
  /** Depth, aliases, cost... (platform/operation-limits), as at the gateway; its defaults when absent. */
  readonly operationLimits?: OperationLimits;
  /** What /ready checks besides the database (the cache of an adapter). */
  readonly readiness?: readonly ReadinessCheck[];
  /** Who may read /metrics; METRICS_TOKEN when absent. */
  readonly metricsAccess?: MetricsAccess;
};

const log = logger('subgraph');

type Resolve = (...a: unknown[]) => unknown;
type Info = { parentType: { name: string }; fieldName: string };

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';

/**
 * Records every field of a patient-data type that resolved successfully, with the rule that allowed it.
 * A field whose resolver answers synchronously stays synchronous: wrapping it in a promise would make
 * graphql-js complete every scalar of every patient asynchronously. One wrapper per field, its
 * coordinate and rule name bound once, so a row costs no string building or lookups.
 */
function auditMiddleware(schema: GraphQLSchema, subjects: AuditSubjects, ruleOf: (type: string, field: string) => string) {
  const record =
    (coordinate: string, rule: string) =>
    (resolve: Resolve, parent: unknown, args: unknown, ctx: SubgraphContext, info: Info): unknown => {
      const note = (value: unknown): unknown => {
        if (!(value instanceof Error)) ctx.audit.returned(info.parentType.name, info.fieldName, parent, rule, coordinate);
        return value;
      };
      const value = resolve(parent, args, ctx, info);
      return isThenable(value) ? value.then(note) : note(value);
    };
  return Object.fromEntries(
    Object.keys(subjects).map((typeName) => {
      const type = schema.getType(typeName);
      // Not an object type of this schema (an interface): every field of it, named at run time.
      if (!isObjectType(type))
        return [
          typeName,
          (resolve: Resolve, parent: unknown, args: unknown, ctx: SubgraphContext, info: Info) =>
            record(`${info.parentType.name}.${info.fieldName}`, ruleOf(info.parentType.name, info.fieldName))(
              resolve,
              parent,
              args,
              ctx,
              info,
            ),
        ];
      return [typeName, Object.fromEntries(Object.keys(type.getFields()).map((f) => [f, record(`${typeName}.${f}`, ruleOf(typeName, f))]))];
    }),
  );
}

/** The values a field returned, lists flattened and promises settled (failures left out: they disclose nothing). */
async function settled(value: unknown): Promise<unknown[]> {
  const items = Array.isArray(value) ? value.flat(Infinity) : [value];
  const done = await Promise.allSettled(items);
  return done.flatMap((d) => (d.status === 'fulfilled' && d.value != null && !(d.value instanceof Error) ? [d.value] : []));
}

/** settled() of a value that holds no promise, without waiting; undefined when it holds one. */
function settledNow(value: unknown): unknown[] | undefined {
  const items = Array.isArray(value) ? value.flat(Infinity) : [value];
  if (items.some(isThenable)) return undefined;
  return items.filter((v) => v != null && !(v instanceof Error));
}

/**
 * Disclosure: every field that returns patient data (a patient-data type, a list of them, or a
 * Relay connection of them) tells the caller that those patients exist, whatever is selected
 * below it: `patient(id) { __typename }`, or cursors that carry golden ids. Each object returned
 * is recorded under the field's coordinate (`Query.patient`, `Query.patients` for every node of
 * the page). Federated entity lookups (`Query._entities`) are recorded per representation found.
 * Derived from the schema, so a new resolver that returns patients is audited without anyone
 * remembering to.
 */
function disclosureMiddleware(schema: GraphQLSchema, subjects: AuditSubjects, ruleOf: (type: string, field: string) => string) {
  const middleware: Record<string, Record<string, unknown>> = {};
  const nodeTypeOf = (type: GraphQLNamedType): string | undefined => {
    // A Relay connection: { edges: [{ node: T }] }.
    const edges = isObjectType(type) ? type.getFields().edges : undefined;
    const edge = edges ? getNamedType(edges.type) : undefined;
    const node = edge && isObjectType(edge) ? edge.getFields().node : undefined;
    return node ? getNamedType(node.type).name : undefined;
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const target = getNamedType(field.type);
      const node = nodeTypeOf(target);
      let wrap: ((resolve: Resolve, parent: unknown, args: unknown, ctx: SubgraphContext, info: Info) => unknown) | undefined;
      if (coordinate === 'Query._entities') {
        wrap = async (resolve, parent, args, ctx, info) => {
          const value = await resolve(parent, args, ctx, info);
          const representations = (args as { representations?: { __typename?: string }[] }).representations ?? [];
          if (Array.isArray(value))
            await Promise.all(
              value.map(async (item, i) => {
                const [found] = await settled(item);
                const typeName = (found as { __typename?: string } | undefined)?.__typename ?? representations[i]?.__typename;
                if (found && typeName) ctx.audit.lookedUp(typeName, found, coordinate);
              }),
            );
          return value;
        };
      } else if (target.name in subjects) {
        const rule = ruleOf(type.name, field.name);
        const disclose = (items: readonly unknown[], ctx: SubgraphContext): void => {
          for (const item of items) ctx.audit.disclosed(target.name, item, coordinate, rule);
        };
        // An edge's `node` (one per member of a page) is at hand: recorded without a promise per edge.
        wrap = (resolve, parent, args, ctx, info) => {
          const value = resolve(parent, args, ctx, info);
          const now = settledNow(value);
          if (now) {
            disclose(now, ctx);
            return value;
          }
          return Promise.resolve(value).then(async (v) => (disclose(await settled(v), ctx), v));
        };
      } else if (node !== undefined && node in subjects) {
        const rule = ruleOf(type.name, field.name);
        wrap = async (resolve, parent, args, ctx, info) => {
          const value = await resolve(parent, args, ctx, info);
          const [connection] = await settled(value);
          const edges = await settled((connection as { edges?: unknown } | undefined)?.edges ?? []);
          // Nodes at hand (a page's rows) are recorded without awaiting each one.
          for (const edge of edges) {
            const nodes = (edge as { node?: unknown }).node;
            for (const item of settledNow(nodes) ?? (await settled(nodes))) ctx.audit.disclosed(node, item, coordinate, rule);
          }
          return value;
        };
      }
      if (wrap) (middleware[type.name] ??= {})[field.name] = wrap;
    }
  }
  return middleware;
}

/**
 * Writes the request's audit rows before the response is sent; without them, no data leaves. Called
 * by a gateway that appends them itself (its identity carries a hand-off nonce), returns them instead,
 * in the response's extensions: the gateway releases nothing before they are committed.
 */
function auditPlugin(db: Database, subgraph: string): ApolloServerPlugin<SubgraphContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operationName }) {
          const accesses = contextValue.audit.accesses();
          const denials = contextValue.audit.denials();
          const { client } = contextValue;
          // FHIR AuditEvent.outcome: errors (a denied field, a source down) make a partial answer.
          const outcome = response.body.kind === 'single' && response.body.singleResult.errors?.length ? 'minor-failure' : 'success';
          const ctx: AuditContext = {
            principal: contextValue.principal,
            subgraph,
            operationName: client.operationName ?? operationName ?? null,
            documentHash: client.documentHash,
            traceparent: client.traceparent,
            outcome,
          };
          const nonce = contextValue.auditHandoff;
          if (nonce && response.body.kind === 'single') {
            const result = response.body.singleResult;
            result.extensions = {
              ...result.extensions,
              [AUDIT_HANDOFF_EXTENSION]: handoffEnvelope(nonce, auditRows(ctx, accesses, denials)),
            };
            return;
          }
          try {
            await writeAuditEvents(db, ctx, accesses, denials);
          } catch (error) {
            log.error('audit_write_failed', { subgraph, error: error instanceof ProductError ? error.code : (error as Error).name });
            // A GraphQL error (not an HTTP failure) so the gateway relays the reason to the client.
            response.body = {
              kind: 'single',
              singleResult: {
                errors: [formatProductError(new ProductError('AUDIT_UNAVAILABLE', 'audit log unavailable; no data returned'))],
              },
            };
          }
        },
      };
    },
  };
}

/**
 * Refuses a request whose document or variables are not those its gateway identity was signed for
 * (a captured identity replayed with another query or other ids), before anything resolves.
 */
function identityBindingPlugin(): ApolloServerPlugin<SubgraphContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, contextValue }) {
          const expected = contextValue.identityRequestHash;
          if (expected !== undefined && subgraphRequestHash(request) === expected) return;
          // Apollo Server reads the response status from `extensions.http`; the code comes from the ProductError.
          throw new GraphQLError('gateway identity was signed for another request', {
            originalError: unauthenticated('gateway identity was signed for another request'),
            extensions: { http: { status: 401 } },
          });
        },
      };
    },
  };
}

export function buildSubgraph(def: SubgraphDefinition): GraphQLSchema {
  const schema = buildSubgraphSchema([{ typeDefs: parse(def.typeDefs), resolvers: def.resolvers }]);
  // Order matters: policies run first, so a denied field is never resolved nor audited as returned.
  // Rule names for audit rows, computed once rather than on every resolved field.
  const tree = ruleTreeFor(schema, def.policies);
  const names = new Map(
    Object.entries(tree).flatMap(([type, fields]) =>
      Object.entries(fields).map(([field, rule]) => [`${type}.${field}`, describeRule(rule)] as const),
    ),
  );
  const ruleOf = (type: string, field: string): string => names.get(`${type}.${field}`) ?? describeRule(undefined);
  return applyMiddleware(
    schema,
    policyMiddleware(schema, def.policies),
    auditMiddleware(schema, def.auditSubjects, ruleOf),
    disclosureMiddleware(schema, def.auditSubjects, ruleOf),
  );
}

export async function startSubgraph(def: SubgraphDefinition, runtime: SubgraphRuntime): Promise<RunningHttpServer> {
  const unguarded = runtime.unguardedAs;
  if (unguarded && runtime.production) throw new Error('an unguarded subgraph cannot run in production mode');
  const server = new ApolloServer<SubgraphContext>({
    schema: unguarded ? buildSubgraphSchema([{ typeDefs: parse(def.typeDefs), resolvers: def.resolvers }]) : buildSubgraph(def),
    ...hardenedServerOptions(runtime.production, runtime.operationLimits),
    // Inline traces would hand resolver timings and paths to any caller asking for them.
    // Operation limits (length, cost, page sizes) and, in production, no landing page.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      ...hardenedPlugins<SubgraphContext>(runtime.production, runtime.operationLimits),
      // Before the audit plugin, which reads the errors for the row's outcome.
      warningsPlugin(),
      ...(unguarded ? [] : [identityBindingPlugin(), auditPlugin(runtime.db, def.name)]),
    ],
  });
  await server.start();
  const authenticate = async (req: IncomingMessage): Promise<SubgraphContext> => {
    const header = (name: string, max: number): string | null =>
      typeof req.headers[name] === 'string' ? (req.headers[name] as string).slice(0, max) : null;
    // Set by the gateway, whose identity this request carries (checked below); for audit rows only.
    const client = {
      operationName: header('x-client-operation-name', 200),
      documentHash: header('x-client-document-hash', 64),
      traceparent: header('traceparent', 55),
    };
    if (unguarded) return { principal: unguarded, audit: auditCollector({}), subgraph: def.name, client, perRequest: new Map() };
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw unauthenticated('gateway identity required');
    let identity: VerifiedIdentity;
    try {
      identity = await runtime.verifyIdentity(token);
    } catch {
      throw unauthenticated('gateway identity rejected');
    }
    // The request id comes from the identity; an x-request-id beside it must agree.
    const requestIdHeader = header('x-request-id', 100);
    if (requestIdHeader !== null && requestIdHeader !== identity.principal.requestId)
      throw unauthenticated('gateway identity was signed for another request');
    return {
      principal: identity.principal,
      audit: auditCollector(def.auditSubjects),
      subgraph: def.name,
      client,
      perRequest: new Map(),
      identityRequestHash: identity.requestHash,
      ...(identity.auditHandoff ? { auditHandoff: identity.auditHandoff } : {}),
    };
  };
  // A route's caller: the gateway's identity, signed for this very method and path (never a GraphQL request's).
  const routes = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = def.routes?.find((r) => path.startsWith(r.prefix));
    if (!route) return false;
    const { identityRequestHash, principal } = await authenticate(req);
    if (unguarded || identityRequestHash !== subgraphRequestHash(httpRouteRequest(req.method ?? 'GET', path)))
      throw unauthenticated('gateway identity was signed for another request');
    await route.handle(req, res, principal, path);
    return true;
  };
  return serveGraphQL({
    server,
    port: runtime.port,
    host: runtime.host,
    authenticate,
    routes,
    // The gateway's trace continued (after its identity is verified); audit rows carry this request's own span.
    tracing: {
      component: def.name,
      parent: unguarded ? 'client' : 'gateway',
      withTraceparent: (ctx, traceparent) => ({ ...ctx, client: { ...ctx.client, traceparent } }),
    },
    health: async () => ({ subgraph: def.name }),
    readiness: [{ name: 'postgres', check: () => runtime.db.ping() }, ...(runtime.readiness ?? [])],
    operationLimits: runtime.operationLimits,
    // Counted under the client's operation name (sent by the gateway), not the plan's generated one.
    metrics: {
      component: def.name,
      access: runtime.metricsAccess ?? metricsAccessFromEnv(runtime.production),
      operationName: (ctx, resolved) => ctx.client.operationName ?? resolved,
    },
  });
}
