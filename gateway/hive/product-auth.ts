// The product's gateway security as a Hive Gateway plugin, for users who serve the committed
// supergraph on Hive Gateway instead of the product's Node gateway. It does what gateway/server.ts
// does, with the same functions (gateway/identity-forwarding.ts): the caller is who its verified
// bearer token says, nothing else it sends about itself is believed or forwarded, and each subgraph
// call carries a fresh identity signed for that subgraph, that document and those variables.
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import type { IncomingMessage } from 'node:http';
import { toHttpError } from '../../platform/errors.ts';
import { endRequestSpan, inRequestSpan, startRequestSpan, TRACE_PARENT, type RequestTrace } from '../../platform/tracing.ts';
import type { ProxyTrust } from '../../security/client-address.ts';
import type { IdentitySigner, SubgraphRequest } from '../../security/identity-token.ts';
import type { Principal } from '../../security/principal.ts';
import type { UserTokenVerifier } from '../../security/user-token.ts';
import { authenticateCaller, clientDocumentHash, subgraphCallHeaders } from '../identity-forwarding.ts';

export type ProductAuthOptions = {
  readonly verifyUserToken: UserTokenVerifier;
  readonly signIdentity: IdentitySigner;
  /** Proxies whose forwarded-for header names the client (TRUSTED_PROXIES); none when absent. */
  readonly proxyTrust?: ProxyTrust | null;
  /** The GraphQL endpoint's path; every request to it is authenticated. */
  readonly graphqlEndpoint?: string;
};

export type ProductAuthContext = { readonly principal: Principal };

/** The subgraph request as sent: the identity is bound to exactly these (security/identity-token.ts). */
function sentRequest(body: unknown): SubgraphRequest {
  if (typeof body !== 'string') throw new Error('a subgraph request body that is not JSON text cannot be bound to an identity');
  const parsed = JSON.parse(body) as Record<string, unknown>;
  return {
    query: typeof parsed.query === 'string' ? parsed.query : null,
    operationName: typeof parsed.operationName === 'string' ? parsed.operationName : null,
    variables: parsed.variables && typeof parsed.variables === 'object' ? (parsed.variables as Record<string, unknown>) : null,
  };
}

/**
 * Authenticates every request to the GraphQL endpoint before any GraphQL work (a refusal is the
 * product's UNAUTHENTICATED JSON with HTTP 401, as the Node gateway answers) and signs every
 * subgraph call. A subgraph call without an authenticated caller is never sent.
 */
export function useProductAuth(options: ProductAuthOptions): GatewayPlugin<ProductAuthContext> {
  const endpoint = options.graphqlEndpoint ?? '/graphql';
  // Keyed by the request object Hive Gateway hands every hook (its own Request class, not necessarily the global one).
  const principals = new WeakMap<object, Principal>();
  const principalOf = (context: object): Principal | undefined =>
    'request' in context && typeof context.request === 'object' && context.request ? principals.get(context.request) : undefined;
  // The request's span (platform/tracing.ts, when on), and its operation's name once known.
  const traces = new WeakMap<object, { span: RequestTrace; operationName?: string | null }>();
  const traceOf = (context: object) =>
    'request' in context && typeof context.request === 'object' && context.request ? traces.get(context.request) : undefined;
  return {
    async onRequest({ request, serverContext, url, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint) return;
      const started = performance.now();
      // The socket the client connected from (its address, behind trusted proxies the forwarded one).
      const req = (serverContext as { req?: IncomingMessage } | undefined)?.req;
      const caller = {
        headers: req?.headers ?? Object.fromEntries(request.headers),
        socket: { remoteAddress: req?.socket.remoteAddress },
      };
      try {
        principals.set(request, await authenticateCaller(options.verifyUserToken, options.proxyTrust ?? null, caller));
        // As the product's gateway: a client's traceparent is a link unless configured to be the parent.
        const span = startRequestSpan('hive-gateway', caller.headers, TRACE_PARENT.client, started);
        if (span) traces.set(request, { span });
      } catch (error) {
        const { status, body } = toHttpError(error);
        const refused = startRequestSpan('hive-gateway', caller.headers, TRACE_PARENT.untrusted, started);
        endRequestSpan(refused, { status, operationName: null, errorCodes: body.errors.map((e) => e.extensions?.code) });
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
        if (status === 401) headers['www-authenticate'] = 'Bearer';
        endResponse(new fetchAPI.Response(JSON.stringify(body), { status, headers }));
      }
    },
    onContextBuilding({ context, extendContext }) {
      const principal = principalOf(context);
      if (principal) extendContext({ principal });
      const traced = traceOf(context);
      if (traced && 'params' in context) traced.operationName = (context.params as { operationName?: string | null }).operationName;
    },
    onResponse({ request, response }) {
      const traced = traces.get(request);
      if (traced) endRequestSpan(traced.span, { status: response.status, operationName: traced.operationName ?? null, errorCodes: [] });
    },
    async onFetch({ executionRequest, options: init, setOptions, context }) {
      const subgraph = executionRequest?.subgraphName;
      const principal = principalOf(context);
      // Fail closed: no subgraph call leaves without the caller it is made for.
      if (!subgraph || !principal) throw new Error('no authenticated principal for a subgraph call');
      const client = 'params' in context ? context.params : undefined;
      const request = 'request' in context ? context.request : undefined;
      // Inside the request's span: the subgraph continues its trace (subgraphCallHeaders injects it).
      const headers = await inRequestSpan(traceOf(context)?.span, () =>
        subgraphCallHeaders(options.signIdentity, principal, subgraph, sentRequest(init.body), {
          operationName: client?.operationName,
          documentHash: typeof client?.query === 'string' ? clientDocumentHash(client.query) : null,
          traceparent: request?.headers.get('traceparent'),
        }),
      );
      setOptions({ ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...headers } });
    },
  };
}
