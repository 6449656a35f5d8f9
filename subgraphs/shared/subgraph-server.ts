// The plumbing every subgraph shares, written once: federation schema, policies (deny by
// default), resolver-level audit written before the response leaves (fail closed), the hardened
// Apollo Server options, and an HTTP front door that refuses anyone but the gateway.
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from '../../policies/shield.ts';
import type { IncomingMessage } from 'node:http';
import type { Database } from '../../platform/db.ts';
import { formatProductError, ProductError, unauthenticated } from '../../platform/errors.ts';
import { hardenedPlugins, hardenedServerOptions, serveGraphQL, type RunningHttpServer } from '../../platform/graphql-http.ts';
import type { OperationLimits } from '../../platform/operation-limits/index.ts';
import { logger } from '../../platform/log.ts';
import { describeRule, policyMiddleware, ruleTreeFor, type PolicySet } from '../../policies/policy-set.ts';
import { auditCollector, type AuditSubjects } from '../../orchestration/audit/collector.ts';
import { writeAuditEvents } from '../../orchestration/audit/audit-log.ts';
import type { IdentityVerifier } from '../../security/identity-token.ts';
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
};

const log = logger('subgraph');

/** Records every field of a patient-data type that resolved successfully, with the rule that allowed it. */
function auditMiddleware(subjects: AuditSubjects, ruleOf: (type: string, field: string) => string) {
  const record = async (
    resolve: (...a: unknown[]) => unknown,
    parent: unknown,
    args: unknown,
    ctx: SubgraphContext,
    info: { parentType: { name: string }; fieldName: string },
  ) => {
    const value = await resolve(parent, args, ctx, info);
    if (!(value instanceof Error))
      ctx.audit.returned(info.parentType.name, info.fieldName, parent, ruleOf(info.parentType.name, info.fieldName));
    return value;
  };
  return Object.fromEntries(Object.keys(subjects).map((type) => [type, record]));
}

/** Writes the request's audit rows before the response is sent; without them, no data leaves. */
function auditPlugin(db: Database, subgraph: string): ApolloServerPlugin<SubgraphContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operationName }) {
          const accesses = contextValue.audit.accesses();
          const denials = contextValue.audit.denials();
          try {
            const { client } = contextValue;
            // FHIR AuditEvent.outcome: errors (a denied field, a source down) make a partial answer.
            const outcome = response.body.kind === 'single' && response.body.singleResult.errors?.length ? 'minor-failure' : 'success';
            await writeAuditEvents(
              db,
              {
                principal: contextValue.principal,
                subgraph,
                operationName: client.operationName ?? operationName ?? null,
                documentHash: client.documentHash,
                traceparent: client.traceparent,
                outcome,
              },
              accesses,
              denials,
            );
          } catch (error) {
            log.error('audit_write_failed', { subgraph, error: (error as Error).name });
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
  return applyMiddleware(schema, policyMiddleware(schema, def.policies), auditMiddleware(def.auditSubjects, ruleOf));
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
      ...(unguarded ? [] : [auditPlugin(runtime.db, def.name)]),
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
    try {
      // The request id is correlation only (audit rows of one operation); it travels beside the identity.
      const requestId = header('x-request-id', 100) ?? '';
      return {
        principal: { ...(await runtime.verifyIdentity(token)), requestId },
        audit: auditCollector(def.auditSubjects),
        subgraph: def.name,
        client,
        perRequest: new Map(),
      };
    } catch {
      throw unauthenticated('gateway identity rejected');
    }
  };
  return serveGraphQL({
    server,
    port: runtime.port,
    host: runtime.host,
    authenticate,
    health: async () => ({ subgraph: def.name }),
    operationLimits: runtime.operationLimits,
  });
}
