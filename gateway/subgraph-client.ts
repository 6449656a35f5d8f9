// The gateway's HTTP client for subgraph calls: a JSON POST over node:http with keep-alive
// connections, read into one buffer and parsed once. @apollo/gateway's own path builds node-fetch
// Request and Headers objects and goes through web streams for every call; a subgraph call is a small
// JSON document each way, which this does without them (BENCHMARKS.md, "Issue 17: speed steps").
import http from 'node:http';
import https from 'node:https';

export type SubgraphHttpResponse = {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: Buffer;
};

export type SubgraphPost = (headers: Readonly<Record<string, string>>, body: string) => Promise<SubgraphHttpResponse>;

/** A poster for one subgraph URL, its own pool of kept-alive connections, each call bounded by timeoutMs. */
export function subgraphPoster(url: string, timeoutMs: number): SubgraphPost {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  // LIFO: the connection used last is warm, and idle ones beyond the load time out rather than linger.
  const agent = secure ? new https.Agent({ keepAlive: true, scheduling: 'lifo' }) : new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const request = secure ? https.request : http.request;
  return (headers, body) =>
    new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            resolve({
              status,
              ok: status >= 200 && status < 300,
              headers: {
                get: (name) => {
                  const value = res.headers[name.toLowerCase()];
                  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
                },
              },
              body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** What @apollo/gateway reads of a fetch Response: status, headers, json() and text(). */
export type SubgraphFetchResponse = {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
};

/**
 * A fetcher for RemoteGraphQLDataSource over subgraphPoster: the POST it makes (its init's headers and
 * JSON body), answered with an object that has what the data source reads of a Response.
 */
export function subgraphFetcher(
  url: string,
  timeoutMs: number,
): (input: string, init: { headers?: unknown; body?: unknown }) => Promise<SubgraphFetchResponse> {
  const post = subgraphPoster(url, timeoutMs);
  return async (_input, init) => {
    const r = await post((init.headers ?? {}) as Record<string, string>, String(init.body ?? ''));
    const text = () => r.body.toString('utf8');
    return {
      ok: r.ok,
      status: r.status,
      statusText: '',
      url,
      headers: r.headers,
      json: async () => JSON.parse(text()) as unknown,
      text: async () => text(),
    };
  };
}
