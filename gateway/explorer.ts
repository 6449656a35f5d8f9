// The GraphQL explorer at /explorer on the gateway's own port, in development mode only: GraphiQL
// from @graphql-yoga/render-graphiql (one package holding GraphiQL, Monaco and its workers as
// strings), served as hashed files from this process, so it works offline and loads nothing from
// another origin. Its page script (console/client/explorer.ts) gets the developer a token (the
// console's development sign-in, or a pasted one) and sends it on every request. In production
// there is no such route: /explorer is as unknown as any other path, and the bundle is never loaded.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAVICON } from './console.ts';

export type ExplorerOptions = {
  readonly production: boolean;
  /** Roles the development sign-in mints tokens for (POST /console/dev-token); empty: paste a token instead. */
  readonly devRoles: readonly string[];
};

/** Handles a request when it is the explorer's and says so; any other path is left to the caller. */
export type ExplorerRoutes = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export const EXPLORER_PATH = '/explorer';
const ASSETS = `${EXPLORER_PATH}/assets/`;
const DEV_TOKEN_PATH = '/console/dev-token';
const CLIENT = join(dirname(fileURLToPath(import.meta.url)), '..', 'console', 'client', 'explorer.ts');

/**
 * Self only. Scripts are files from this origin (no inline script, no eval). Style sheets: files
 * from this origin plus the <style> elements GraphiQL's components create at run time, which
 * the page script gives this page's nonce. Style attributes are allowed (Monaco positions every line and widget with
 * them); with images and connections limited to this origin they cannot send anything elsewhere.
 * Monaco's workers are files from this origin too (worker-src 'self', no blob:). img-src allows
 * data: for the icons GraphiQL's stylesheet embeds.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    `style-src-elem 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

type Asset = { readonly body: Buffer; readonly type: string };
type Built = { readonly assets: Map<string, Asset>; readonly names: Readonly<Record<string, string>> };

const hashed = (stem: string, body: Buffer, ext: string): string =>
  `${stem}-${createHash('sha256').update(body).digest('base64url').slice(0, 16)}.${ext}`;

/** The explorer's own look: a token bar above GraphiQL, which fills the rest of the window. */
const STYLE = `html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font: 14px system-ui, sans-serif; }
.token-bar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 6px 12px; border-bottom: 1px solid #d0d7de; }
.token-bar form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 0; }
.token-bar input { width: 22em; }
#token-status[data-state='none'], #token-status[data-state='error'] { color: #a40e26; }
#graphiql { flex: 1; min-height: 0; }
#graphiql .graphiql-container { height: 100%; }
`;

/** Loads GraphiQL's bundle (about 9 MB of strings) and bundles the page script; once, on the first request. */
async function buildExplorer(): Promise<Built> {
  const graphiql = await import('@graphql-yoga/render-graphiql/graphiql');
  const { build } = await import('esbuild');
  const client = await build({
    entryPoints: [CLIENT],
    bundle: true,
    write: false,
    format: 'iife',
    target: ['es2022'],
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files: [string, string, string, string][] = [
    ['graphiql', 'graphiql', graphiql.js, 'js'],
    ['graphiqlCss', 'graphiql', graphiql.css, 'css'],
    ['explorer', 'explorer', client.outputFiles[0]!.text, 'js'],
    ['explorerCss', 'explorer', STYLE, 'css'],
    ['editorWorkerService', 'editor.worker', graphiql.editorWorkerService, 'js'],
    ['json', 'json.worker', graphiql.jsonWorker, 'js'],
    ['graphql', 'graphql.worker', graphiql.graphqlWorker, 'js'],
  ];
  const assets = new Map<string, Asset>();
  const names: Record<string, string> = {};
  for (const [key, stem, text, ext] of files) {
    const body = Buffer.from(text);
    const name = hashed(stem, body, ext);
    assets.set(name, { body, type: ext === 'css' ? 'text/css' : 'text/javascript' });
    names[key] = `${ASSETS}${name}`;
  }
  return { assets, names };
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page: no inline script or style; its settings ride in a JSON data block, which is never executed. */
export function explorerPage(names: Readonly<Record<string, string>>, devRoles: readonly string[], nonce: string): string {
  const config = {
    endpoint: '/graphql',
    devToken: devRoles.length > 0 ? DEV_TOKEN_PATH : null,
    workers: { editorWorkerService: names.editorWorkerService, json: names.json, graphql: names.graphql },
    nonce,
  };
  const roles = devRoles.map((r) => `<option value="${escapeHtml(r)}">${escapeHtml(r)}</option>`).join('');
  const devSignIn =
    devRoles.length > 0
      ? `<label>Role <select id="token-role">${roles}</select></label><button type="submit" value="mint">Get a development token</button><span>or</span>`
      : '<span>No development sign-in here (the development issuer is not trusted): paste a token from <code>npm run token</code>.</span>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>GraphQL explorer</title>
<link rel="icon" href="${EXPLORER_PATH}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${names.graphiqlCss}">
<link rel="stylesheet" href="${names.explorerCss}">
<script type="application/json" id="explorer-config">${JSON.stringify(config).replace(/</g, '\\u003c')}</script>
<script defer src="${names.graphiql}"></script>
<script defer src="${names.explorer}"></script>
</head>
<body>
<div class="token-bar">
<form id="token-form" autocomplete="off">
${devSignIn}
<label>Token <input id="token-paste" type="password" placeholder="paste a bearer token"></label>
<button type="submit" value="paste">Use this token</button>
<button type="submit" value="forget">Forget the token</button>
</form>
<span id="token-status" role="status"></span>
</div>
<div id="graphiql"></div>
<noscript>The explorer needs JavaScript.</noscript>
</body>
</html>
`;
}

const send = (res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>): void => {
  res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
};

const notFound = (res: ServerResponse): void =>
  send(res, 404, JSON.stringify({ errors: [{ message: 'not found', extensions: { code: 'NOT_FOUND' } }] }), {
    'content-type': 'application/json; charset=utf-8',
  });

/** Production: no route at all (the caller answers 404 as for any unknown path). */
export function explorerRoutes(options: ExplorerOptions): ExplorerRoutes {
  if (options.production) return async () => false;
  let built: Promise<Built> | undefined;
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== EXPLORER_PATH && !path.startsWith(`${EXPLORER_PATH}/`)) return false;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, JSON.stringify({ errors: [{ message: 'method not allowed' }] }), {
        'content-type': 'application/json; charset=utf-8',
        allow: 'GET, HEAD',
      });
      return true;
    }
    if (path === `${EXPLORER_PATH}/favicon.svg`) {
      send(res, 200, FAVICON, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' });
      return true;
    }
    // Built once; a failed build is tried again on the next request rather than remembered.
    built ??= buildExplorer().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    const { assets, names } = await built;
    if (path.startsWith(ASSETS)) {
      const asset = assets.get(path.slice(ASSETS.length));
      if (!asset) return (notFound(res), true);
      // The name changes with the content: a browser may keep it for good.
      send(res, 200, asset.body, {
        'content-type': `${asset.type}; charset=utf-8`,
        'cache-control': 'public, max-age=31536000, immutable',
      });
      return true;
    }
    if (path !== EXPLORER_PATH && path !== `${EXPLORER_PATH}/`) return (notFound(res), true);
    // A fresh nonce per page: the page is never cached (it is also where a token is first used).
    const nonce = randomBytes(16).toString('base64');
    send(res, 200, explorerPage(names, options.devRoles, nonce), {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': contentSecurityPolicy(nonce),
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
    });
    return true;
  };
}
