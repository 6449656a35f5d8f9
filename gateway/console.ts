// The steward console at /console on the gateway's own port: a static single-page app bundled
// with esbuild when the gateway starts (no separate build step), served under a strict
// Content-Security-Policy (self only, no inline code), with hashed asset names cached for good and
// index.html never cached. It talks to /graphql like any other client; the only other route is
// the development sign-in, which exists only when the gateway trusts the development issuer.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProductError } from '../platform/errors.ts';
import { isRole, ROLES, type Role } from '../security/principal.ts';

/** Production sign-in: OpenID Connect authorization code flow with PKCE, run by the browser against this issuer. */
export type ConsoleOidc = { readonly issuer: string; readonly clientId: string; readonly scope: string };

export type ConsoleOptions = {
  readonly production: boolean;
  /** Production sign-in; null shows the console without a way to sign in and says why. */
  readonly oidc: ConsoleOidc | null;
  /** Development sign-in: a token for one role from the development issuer. Absent: no such route. */
  readonly mintDevToken?: (role: Role) => Promise<{ token: string; expiresAt: number }>;
};

/** Handles a request when it is the console's and says so; any other path is left to the caller. */
export type ConsoleRoutes = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'console', 'client');

/**
 * Self only: no inline script or style, no other origin. connect-src adds the OIDC issuer (its
 * discovery document and token endpoint are called from the browser); frame-ancestors 'none'
 * refuses being framed (clickjacking on confirm buttons).
 */
export function contentSecurityPolicy(oidc: ConsoleOidc | null): string {
  const issuerOrigin = oidc ? ` ${new URL(oidc.issuer).origin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    `connect-src 'self'${issuerOrigin}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Without an icon of its own the browser asks for /favicon.ico, which the gateway does not serve. */
export const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b5cad"/>' +
  '<path d="M4 8h8M8 4v8" stroke="#fff" stroke-width="2"/></svg>';

type Asset = { readonly body: Buffer; readonly type: string };

/** Bundles the client (TypeScript, Preact, CSS) in memory; file names carry a content hash. */
export async function buildConsole(production: boolean): Promise<{ index: string; assets: Map<string, Asset> }> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(CLIENT_DIR, 'main.tsx')],
    bundle: true,
    write: false,
    outdir: '/console-build',
    entryNames: '[name]-[hash]',
    format: 'esm',
    target: ['es2022'],
    minify: production,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') },
  });
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    const name = file.path.split('/').at(-1)!;
    assets.set(name, { body: Buffer.from(file.contents), type: name.endsWith('.css') ? 'text/css' : 'text/javascript' });
  }
  const js = [...assets.keys()].find((n) => n.endsWith('.js'));
  const css = [...assets.keys()].find((n) => n.endsWith('.css'));
  if (!js || !css) throw new Error('console build produced no script or stylesheet');
  const index = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Steward console</title>
<link rel="icon" href="/console/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/assets/${css}">
<script type="module" src="/console/assets/${js}"></script>
</head>
<body><div id="app"><p class="boot">Loading the console…</p></div><noscript>The console needs JavaScript.</noscript></body>
</html>
`;
  return { index, assets };
}

const send = (res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>): void => {
  res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
};

const sendJson = (res: ServerResponse, status: number, body: unknown): void =>
  send(res, status, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });

const productError = (res: ServerResponse, status: number, error: ProductError): void =>
  sendJson(res, status, { errors: [{ message: error.message, extensions: { code: error.code, ...error.details } }] });

/**
 * A browser on another site must not get a token minted here: the request must say it comes from
 * this origin (Sec-Fetch-Site, or Origin naming this host), and be JSON (no simple cross-site form post).
 */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = req.headers.origin;
  if (origin !== undefined && URL.parse(origin)?.host !== req.headers.host) return false;
  return (req.headers['content-type'] ?? '').startsWith('application/json');
}

async function readSmallJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 1000) throw new ProductError('PAYLOAD_TOO_LARGE', 'request body exceeds 1000 bytes');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ProductError('BAD_REQUEST', 'request body is not valid JSON');
  }
}

export async function consoleRoutes(options: ConsoleOptions): Promise<ConsoleRoutes> {
  const { index, assets } = await buildConsole(options.production);
  const csp = contentSecurityPolicy(options.oidc);
  const pageHeaders = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-cache',
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
  const etag = `"${createHash('sha256').update(index).digest('base64url').slice(0, 22)}"`;
  const config = {
    mode: options.mintDevToken ? 'development' : 'production',
    roles: options.mintDevToken ? ROLES : [],
    oidc: options.oidc,
  };
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/console' && !path.startsWith('/console/')) return false;
    const method = req.method ?? 'GET';
    if (path === '/console/dev-token' && options.mintDevToken) {
      if (method !== 'POST') return (sendJson(res, 405, { errors: [{ message: 'use POST' }] }), true);
      if (!sameOrigin(req)) return (productError(res, 403, new ProductError('FORBIDDEN', 'development sign-in from this page only')), true);
      const body = (await readSmallJson(req)) as { role?: unknown } | null;
      if (!isRole(body?.role)) {
        productError(res, 400, new ProductError('BAD_USER_INPUT', `role must be one of ${ROLES.join(', ')}`, { argument: 'role' }));
        return true;
      }
      sendJson(res, 200, await options.mintDevToken(body.role));
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return (sendJson(res, 405, { errors: [{ message: 'method not allowed' }] }), true);
    if (path === '/console/config.json') return (sendJson(res, 200, config), true);
    if (path === '/console/favicon.svg') {
      send(res, 200, FAVICON, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' });
      return true;
    }
    if (path.startsWith('/console/assets/')) {
      const asset = assets.get(path.slice('/console/assets/'.length));
      if (!asset) return (sendJson(res, 404, { errors: [{ message: 'not found', extensions: { code: 'NOT_FOUND' } }] }), true);
      // The name changes with the content: a browser may keep it for good.
      send(res, 200, asset.body, {
        'content-type': `${asset.type}; charset=utf-8`,
        'cache-control': 'public, max-age=31536000, immutable',
      });
      return true;
    }
    if (req.headers['if-none-match'] === etag) return (send(res, 304, '', { ...pageHeaders, etag }), true);
    // Every other console path is the app (it routes in the fragment; nothing after /console names a patient).
    send(res, 200, index, { ...pageHeaders, etag });
    return true;
  };
}
