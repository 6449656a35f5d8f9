// The explorer's routes on real gateways (runtime/components.ts, as the product starts them) over
// real HTTP, without subgraphs (nothing here reaches one): in development the page, its files and
// its policy; in production no trace of it. GraphiQL in a browser against a whole stack, sending
// the developer's token: test/e2e/explorer/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningHttpServer } from '../platform/graphql-http.ts';
import { startGatewayService } from '../runtime/components.ts';
import { contentSecurityPolicy } from './explorer.ts';

const keysDir = mkdtempSync(join(tmpdir(), 'pgw-explorer-keys-'));
// Nothing listens there: a request that reached a subgraph would fail, and none should.
const subgraphUrls = { mpi: 'http://127.0.0.1:9/graphql', audit: 'http://127.0.0.1:9/graphql' };
let dev: RunningHttpServer;
let devWithoutSignIn: RunningHttpServer;
let prod: RunningHttpServer;

const start = (production: boolean, trustDevIssuer: boolean) =>
  startGatewayService({
    keys: { dir: keysDir, generateMissing: true },
    subgraphUrls,
    port: 0,
    production,
    trustDevIssuer,
    issuers: [],
    consoleOidc: null,
    metricsAccess: { production },
  });

before(async () => {
  [dev, devWithoutSignIn, prod] = await Promise.all([start(false, true), start(false, false), start(true, false)]);
});
after(async () => {
  await Promise.all([dev?.close(), devWithoutSignIn?.close(), prod?.close()]);
  rmSync(keysDir, { recursive: true, force: true });
});

const at = (server: RunningHttpServer, path: string) => new URL(path, server.url).href;
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

test('development: the page under a strict policy, no other origin anywhere in it, never cached', async () => {
  const res = await fetch(at(dev, '/explorer'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  const csp = res.headers.get('content-security-policy') ?? '';
  const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
  assert.ok(nonce, csp);
  assert.equal(csp, contentSecurityPolicy(nonce));
  const directives = new Map(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
  assert.equal(directives.get('default-src'), "'self'");
  assert.equal(directives.get('script-src'), "'self'", 'scripts are files from this origin: no inline script, no eval');
  assert.equal(directives.get('connect-src'), "'self'");
  assert.equal(directives.get('worker-src'), "'self'");
  assert.equal(directives.get('frame-ancestors'), "'none'");
  assert.doesNotMatch(csp, /https?:|\*|blob:|unsafe-eval/, 'no other origin, wildcard or eval');
  assert.doesNotMatch(directives.get('style-src-elem') ?? '', /unsafe-inline/, 'a style element needs the nonce');

  const html = await res.text();
  assert.doesNotMatch(html, /https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}/i, 'no absolute or protocol-relative URL in the page');
  assert.doesNotMatch(html, /<script>|<style|style=|\son[a-z]+=/i, 'no inline script, style or event handler');
  const references = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(references.length >= 5, references.join(' '));
  for (const ref of references) assert.match(ref, /^\/explorer\//, `${ref} is served by the explorer`);
  const config = JSON.parse(/<script type="application\/json" id="explorer-config">(.*?)<\/script>/.exec(html)![1]!) as {
    endpoint: string;
    devToken: string | null;
    workers: Record<string, string>;
    nonce: string;
  };
  assert.equal(config.endpoint, '/graphql');
  assert.equal(config.devToken, '/console/dev-token');
  assert.equal(config.nonce, nonce);
  assert.match(html, /<option value="integration">/);
  assert.ok(!html.includes('eyJ'), 'no token in the page');

  // Every file the page and GraphiQL load comes from here, named by its content and kept for good.
  for (const path of [...references, ...Object.values(config.workers)]) {
    const asset = await fetch(at(dev, path));
    assert.equal(asset.status, 200, path);
    assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
    if (path.includes('/assets/')) assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable', path);
    assert.match(asset.headers.get('content-type') ?? '', path.endsWith('.css') ? /^text\/css/ : /^(text\/javascript|image\/svg)/, path);
    await asset.arrayBuffer();
  }
  assert.deepEqual(Object.keys(config.workers).sort(), ['editorWorkerService', 'graphql', 'json']);

  const again = await fetch(at(dev, '/explorer/'));
  assert.equal(again.status, 200);
  assert.notEqual(/'nonce-([^']+)'/.exec(again.headers.get('content-security-policy')!)?.[1], nonce, 'a fresh nonce per page');
  await again.body?.cancel();
});

test('development: unknown explorer paths, other methods and a look-alike path', async () => {
  assert.equal((await fetch(at(dev, '/explorer/assets/graphiql-NOPE.js'))).status, 404);
  assert.equal((await fetch(at(dev, '/explorer/elsewhere'))).status, 404);
  const post = await fetch(at(dev, '/explorer'), { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  const lookAlike = await fetch(at(dev, '/explorers'));
  assert.equal(lookAlike.status, 404, 'only /explorer and below belong to the explorer');
});

test('development: a browser opening /graphql is sent to the explorer; a GraphQL client is not', async () => {
  const browser = await fetch(dev.url, { headers: { accept: BROWSER_ACCEPT }, redirect: 'manual' });
  assert.equal(browser.status, 302);
  assert.equal(browser.headers.get('location'), '/explorer');
  for (const accept of ['application/json', 'application/graphql-response+json, text/html', '*/*']) {
    const client = await fetch(`${dev.url}?query=%7B__typename%7D`, { headers: { accept }, redirect: 'manual' });
    assert.equal(client.status, 401, `${accept}: GraphQL, which needs a token`);
    await client.body?.cancel();
  }
});

test('development without the development issuer: no role picker, a token is pasted', async () => {
  const html = await (await fetch(at(devWithoutSignIn, '/explorer'))).text();
  assert.doesNotMatch(html, /<select|Get a development token/);
  assert.match(html, /"devToken":null/);
  assert.match(html, /paste a token/);
});

test('production: no explorer, answered exactly as an unknown path, and /graphql does not point to one', async () => {
  const unknown = await fetch(at(prod, '/no-such-page'));
  const expected = { status: unknown.status, type: unknown.headers.get('content-type'), body: await unknown.text() };
  assert.equal(expected.status, 404);
  for (const path of ['/explorer', '/explorer/', '/explorer/favicon.svg', '/explorer/assets/graphiql.js']) {
    const res = await fetch(at(prod, path), { headers: { accept: BROWSER_ACCEPT } });
    assert.deepEqual({ status: res.status, type: res.headers.get('content-type'), body: await res.text() }, expected, path);
    assert.equal(res.headers.get('content-security-policy'), null, path);
  }
  const graphql = await fetch(prod.url, { headers: { accept: BROWSER_ACCEPT }, redirect: 'manual' });
  assert.equal(graphql.status, 401, 'no redirect: GraphQL, which needs a token');
  assert.equal(graphql.headers.get('location'), null);
  assert.doesNotMatch(await graphql.text(), /explorer|graphiql/i);
});
