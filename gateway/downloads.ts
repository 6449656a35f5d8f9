// File downloads relayed by the gateway (cohort exports: `/exports/...`): the caller authenticates
// exactly as for /graphql (a bearer token, verified here), and the subgraph that holds the files
// gets a single-use identity signed for this method and path, with the Range and validator headers
// that make a download resumable. The body streams through; nothing is buffered or cached here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ProductError } from '../platform/errors.ts';
import { httpRouteRequest, type IdentitySigner } from '../security/identity-token.ts';
import type { Principal } from '../security/principal.ts';

/** Request headers relayed to the subgraph (the rest, cookies included, stay here). */
const FORWARDED = ['range', 'if-range', 'if-none-match'] as const;
/** Response headers relayed to the caller. */
const RETURNED = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'etag', 'cache-control', 'expires', 'allow'] as const;

export function downloadRoute(o: {
  readonly prefix: string;
  readonly subgraph: string;
  readonly subgraphUrl: string;
  readonly signIdentity: IdentitySigner;
  readonly authenticate: (req: IncomingMessage) => Promise<{ readonly principal: Principal }>;
  /** Until the subgraph's answer starts (the body then takes as long as it takes). */
  readonly timeoutMs: number;
}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(o.prefix)) return false;
    await relay(req, res, url);
    return true;
  };
  async function relay(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { principal } = await o.authenticate(req);
    const method = req.method === 'HEAD' ? 'HEAD' : req.method === 'GET' ? 'GET' : null;
    if (!method) {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const identity = await o.signIdentity(principal, o.subgraph, httpRouteRequest(method, url.pathname));
    const headers: Record<string, string> = { authorization: `Bearer ${identity}`, 'x-request-id': principal.requestId };
    for (const h of FORWARDED) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), o.timeoutMs);
    let answer: Response;
    try {
      answer = await fetch(new URL(url.pathname, o.subgraphUrl), { method, headers, signal: abort.signal });
    } catch {
      throw new ProductError('SUBGRAPH_UNAVAILABLE', `subgraph ${o.subgraph} did not answer`, { subgraph: o.subgraph });
    } finally {
      clearTimeout(timer);
    }
    const out: Record<string, string> = {};
    for (const h of RETURNED) {
      const v = answer.headers.get(h);
      if (v !== null) out[h] = v;
    }
    res.writeHead(answer.status, out);
    if (!answer.body) {
      res.end();
      return;
    }
    await pipeline(Readable.fromWeb(answer.body as WebReadableStream), res);
  }
}
