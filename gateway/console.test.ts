// The console's routes on their own (as a production gateway mounts them): no development sign-in,
// caching and CSP headers, and the OpenID Connect authorization code flow with PKCE run by the page
// in Chromium against a stand-in identity provider on loopback (it checks the challenge as a real
// one does). The console against the whole stack is test/e2e/console/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, generateKeyPair } from 'jose';
import type { Browser } from 'playwright-core';
import { consoleRoutes, contentSecurityPolicy } from './console.ts';
import { consoleOidcFromEnv } from '../runtime/components.ts';
import { CHROMIUM, launchChromium, SKIP_WITHOUT_BROWSER } from '../test/support/browser.ts';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

let idp: string;
let site: string;
let browser: Browser | undefined;
const servers: Server[] = [];
const seen: { authorize?: URLSearchParams; token?: URLSearchParams } = {};

before(async () => {
  // The identity provider: discovery, an authorization endpoint that signs the user in at once, and
  // a token endpoint that hands out a token only for the verifier of the challenge it was given.
  const key = await generateKeyPair('ES256');
  const idpServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', idp);
    const cors = { 'access-control-allow-origin': site, 'content-type': 'application/json' };
    if (url.pathname === '/.well-known/openid-configuration') {
      res
        .writeHead(200, cors)
        .end(JSON.stringify({ issuer: idp, authorization_endpoint: `${idp}/authorize`, token_endpoint: `${idp}/token` }));
      return;
    }
    if (url.pathname === '/authorize') {
      seen.authorize = url.searchParams;
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', 'code-1');
      back.searchParams.set('state', url.searchParams.get('state')!);
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += String(c)));
      req.on('end', async () => {
        const form = (seen.token = new URLSearchParams(body));
        const challenge = createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url');
        if (form.get('code') !== 'code-1' || challenge !== seen.authorize?.get('code_challenge')) {
          res.writeHead(400, cors).end(JSON.stringify({ error: 'invalid_grant' }));
          return;
        }
        const token = await new SignJWT({ roles: ['steward'] })
          .setProtectedHeader({ alg: 'ES256' })
          .setIssuer(idp)
          .setAudience('patient-gateway')
          .setSubject('idp-steward-1')
          .setExpirationTime('10m')
          .sign(key.privateKey);
        res.writeHead(200, cors).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 600 }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  servers.push(idpServer);
  idp = await listen(idpServer);
  const routes = await consoleRoutes({ production: true, oidc: { issuer: idp, clientId: 'steward-console', scope: 'openid' } });
  const consoleServer = createServer((req, res) => {
    routes(req, res).then((handled) => handled || res.writeHead(404).end());
  });
  servers.push(consoleServer);
  site = await listen(consoleServer);
  if (CHROMIUM) browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
});

test('production: no development sign-in, the issuer in connect-src only, caching as promised', async () => {
  const config = (await (await fetch(`${site}/console/config.json`)).json()) as { mode: string; roles: string[] };
  assert.deepEqual([config.mode, config.roles], ['production', []]);
  const mint = await fetch(`${site}/console/dev-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"role":"steward"}',
  });
  assert.equal(mint.status, 405, 'no token is minted in production');
  assert.doesNotMatch(await mint.text(), /eyJ/);
  const page = await fetch(`${site}/console/`);
  const csp = page.headers.get('content-security-policy')!;
  assert.equal(csp, contentSecurityPolicy({ issuer: idp, clientId: 'x', scope: 'openid' }));
  assert.match(csp, new RegExp(`connect-src 'self' ${idp.replace(/[.:/]/g, '\\$&')};`));
  assert.equal(csp.split(idp).length, 2, 'the issuer is allowed for fetches only');
  const again = await fetch(`${site}/console/`, { headers: { 'if-none-match': page.headers.get('etag')! } });
  assert.equal(again.status, 304);
  assert.equal((await fetch(`${site}/console/assets/main-NOPE.js`)).status, 404);
  assert.equal((await fetch(`${site}/consoles`)).status, 404, 'only /console and below belong to the console');
});

test('console OIDC settings: both or neither, https unless loopback', () => {
  assert.equal(consoleOidcFromEnv({}), null);
  assert.throws(() => consoleOidcFromEnv({ CONSOLE_OIDC_ISSUER: 'https://idp.example' }), /go together/);
  assert.throws(() => consoleOidcFromEnv({ CONSOLE_OIDC_ISSUER: 'http://idp.example', CONSOLE_OIDC_CLIENT_ID: 'c' }), /https/);
  assert.deepEqual(consoleOidcFromEnv({ CONSOLE_OIDC_ISSUER: 'https://idp.example/realm', CONSOLE_OIDC_CLIENT_ID: 'c' }), {
    issuer: 'https://idp.example/realm',
    clientId: 'c',
    scope: 'openid',
  });
});

test(
  'sign-in with OpenID Connect: authorization code with PKCE, the code gone from the address, nothing stored',
  { skip: SKIP_WITHOUT_BROWSER },
  async () => {
    const page = await browser!.newPage();
    const failures: string[] = [];
    page.on('console', (m) => m.type() === 'error' && failures.push(m.text()));
    await page.goto(`${site}/console/`);
    await page.getByRole('button', { name: 'Sign in with your organization' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.equal(seen.authorize?.get('code_challenge_method'), 'S256');
    assert.equal(seen.authorize?.get('client_id'), 'steward-console');
    assert.equal(seen.authorize?.get('redirect_uri'), `${site}/console/`);
    assert.equal(seen.token?.get('redirect_uri'), `${site}/console/`);
    assert.equal(page.url(), `${site}/console/`, 'the code and state are gone from the address bar');
    assert.match((await page.locator('.who').textContent()) ?? '', /idp-steward-1 \(steward\)/);
    assert.deepEqual(await page.evaluate<unknown>('[localStorage.length, sessionStorage.length, document.cookie]'), [0, 0, '']);
    assert.deepEqual(failures, [], 'no CSP violation or script error');

    // An answer this page did not ask for (a forged or replayed redirect) signs nobody in.
    await page.goto(`${site}/console/?code=code-1&state=forged`);
    await page.getByRole('alert').filter({ hasText: 'does not match this page' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
    await page.close();
  },
);

/** WCAG 2.x relative luminance and contrast ratio of two #rrggbb colours. */
const luminance = (hex: string): number => {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
};
const contrast = (a: string, b: string): number => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
};

test('the stylesheet meets WCAG 2.2 AA contrast: text 4.5:1, the focus ring 3:1', async () => {
  const css = await readFile(new URL('../console/client/style.css', import.meta.url), 'utf8');
  const v = Object.fromEntries([...css.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/g)].map((m) => [m[1]!, m[2]!]));
  const text: [string, string, string][] = [
    ['body text', v.ink!, v.paper!],
    ['muted text', v.muted!, v.paper!],
    ['muted text on panels', v.muted!, v.panel!],
    ['links', v.accent!, v.paper!],
    ['links on panels', v.accent!, v.panel!],
    ['buttons', v['accent-ink']!, v.accent!],
    ['differences', v.ink!, v.diff!],
    ['negative weights', v.bad!, v.paper!],
    ['positive weights', v.good!, v.paper!],
    ['badges', v.paper!, v.ink!],
    ['errors', '#5c0b0d', '#fdecec'],
    ['success', '#0f3d19', '#e8f5ec'],
    ['notices', v.ink!, '#e8f0fa'],
    ['development badge', '#3d2c00', '#fde68a'],
  ];
  for (const [what, fg, bg] of text) assert.ok(contrast(fg, bg) >= 4.5, `${what}: ${contrast(fg, bg).toFixed(2)}:1`);
  for (const bg of [v.paper!, v.panel!, v.diff!]) assert.ok(contrast(v.focus!, bg) >= 3, `focus ring on ${bg}`);
  for (const literal of ['#5c0b0d', '#fdecec', '#0f3d19', '#e8f5ec', '#e8f0fa', '#3d2c00', '#fde68a'])
    assert.ok(css.includes(literal), `${literal} is still in the stylesheet`);
});
