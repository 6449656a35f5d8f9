// What any gateway in front of the subgraphs does for the product's security, whichever engine
// plans the query (@apollo/gateway in gateway/server.ts, Hive Gateway in gateway/hive/): the
// caller is who its verified bearer token says (never what its headers claim), and each subgraph
// call carries a fresh identity signed for that subgraph and that very request.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { clientAddress, type ProxyTrust } from '../security/client-address.ts';
import type { IdentityOptions, IdentitySigner, SubgraphRequest } from '../security/identity-token.ts';
import type { Principal } from '../security/principal.ts';
import type { UserTokenVerifier } from '../security/user-token.ts';
import { outgoingTraceHeaders } from '../platform/tracing.ts';

/** The parts of an incoming HTTP request authentication reads. */
export type CallerRequest = { readonly headers: IncomingHttpHeaders; readonly socket: { readonly remoteAddress?: string | undefined } };

/**
 * The caller's principal, from its verified bearer token only: headers such as x-user or x-roles
 * are ignored. Throws UNAUTHENTICATED (HTTP 401) or FORBIDDEN from the verifier.
 */
export function authenticateCaller(
  verifyUserToken: UserTokenVerifier,
  proxyTrust: ProxyTrust | null,
  req: CallerRequest,
): Promise<Principal> {
  const header = (name: string): string | undefined => (typeof req.headers[name] === 'string' ? req.headers[name] : undefined);
  return verifyUserToken(req.headers.authorization, {
    requestId: randomUUID(),
    clientIp: clientAddress(req.socket.remoteAddress, req.headers, proxyTrust),
    purposeOfUseHeader: header('x-purpose-of-use'),
    breakGlassReasonHeader: header('x-break-glass-reason'),
  });
}

/** What the client asked, as the subgraphs' audit rows record it: never the document's text or the variables. */
export type ClientCall = {
  readonly operationName?: string | null | undefined;
  /** SHA-256 (hex) of the client's document, as Apollo Server's queryHash. */
  readonly documentHash?: string | null | undefined;
  /** The client's W3C traceparent header, forwarded when well-formed and tracing is off (platform/tracing.ts). */
  readonly traceparent?: string | null | undefined;
};

/** The hash subgraph audit rows carry for a client document (the same as Apollo Server's queryHash). */
export const clientDocumentHash = (document: string): string => createHash('sha256').update(document).digest('hex');

/**
 * The headers of one subgraph call: a fresh identity bound to this subgraph, this document and these
 * variables (security/identity-token.ts), the request id the audit rows share, and what the client asked.
 */
export async function subgraphCallHeaders(
  sign: IdentitySigner,
  principal: Principal,
  subgraph: string,
  request: SubgraphRequest,
  client: ClientCall,
  options?: IdentityOptions,
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${await sign(principal, subgraph, request, options)}`,
    'x-request-id': principal.requestId,
  };
  if (client.operationName) headers['x-client-operation-name'] = client.operationName.slice(0, 200);
  if (client.documentHash) headers['x-client-document-hash'] = client.documentHash;
  // Tracing on: the context of the active span (this subgraph call's); off: the client's, as received.
  return { ...headers, ...outgoingTraceHeaders(client.traceparent) };
}
