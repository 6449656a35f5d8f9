// The GraphQL explorer in a real headless Chromium against one real development stack: the page
// loads nothing from another origin and breaks none of its Content-Security-Policy, the developer
// gets a development token for a role, and GraphiQL sends it: `{ __typename }` answers (the
// gateway refuses any request without a token) and a query only the integration role may read
// answers too; once forgotten, requests are refused, and a pasted token is sent instead. Without
// Debian's chromium the browser test skips, saying so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { Stack } from '../../../runtime/stack.ts';
import { CHROMIUM, launchChromium, SKIP_WITHOUT_BROWSER } from '../../support/browser.ts';
import { startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
let browser: Browser | undefined;
let base: string;

before(async () => {
  // No patient is read here: the simulated population is not loaded.
  stack = await startTestStack({ skipInitialLoad: true });
  base = stack.gateway.url.replace(/\/graphql$/, '');
  if (CHROMIUM) browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

/** The text of GraphiQL's response pane once it has one containing `expected`. */
async function response(page: Page, expected: string): Promise<string> {
  const pane = page.locator('.graphiql-response');
  await pane.getByText(expected).first().waitFor({ timeout: 15_000 });
  return (await pane.textContent()) ?? '';
}

async function runQuery(page: Page, query: string): Promise<void> {
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText: no key presses, so Monaco does not close brackets on its own.
  await page.keyboard.insertText(query);
  await page.getByRole('button', { name: /Execute query/ }).click();
}

test('a browser opening /graphql in development lands in the explorer', async () => {
  const res = await fetch(`${base}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }, redirect: 'manual' });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/explorer');
  // A GraphQL client's GET is GraphQL as before (and needs a token).
  const api = await fetch(`${base}/graphql?query=%7B__typename%7D`, { headers: { accept: 'application/json' } });
  assert.equal(api.status, 401);
});

test('the explorer gets a development token and sends it on every request, offline', { skip: SKIP_WITHOUT_BROWSER }, async () => {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
  const elsewhere: string[] = [];
  const sentTokens: (string | undefined)[] = [];
  // Any request to another origin is recorded and refused: the page must work without a network.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin !== base && !url.startsWith('blob:') && !url.startsWith('data:')) {
      elsewhere.push(url);
      return route.abort();
    }
    if (new URL(url).pathname === '/graphql') sentTokens.push(route.request().headers().authorization);
    return route.continue();
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  await page.goto(`${base}/explorer`);
  await page.getByRole('status').filter({ hasText: 'No token' }).waitFor();
  await page.getByLabel('Role').selectOption('integration');
  await page.getByRole('button', { name: 'Get a development token' }).click();
  await page.getByRole('status').filter({ hasText: 'roles: integration' }).waitFor();

  await runQuery(page, '{ __typename }');
  assert.match(await response(page, '"__typename"'), /"__typename":\s*"Query"/);
  await runQuery(page, '{ ingestionStatus { connectionId } }');
  const answer = await response(page, '"connectionId"');
  assert.match(answer, /"connectionId":\s*"epic-main"/);
  assert.doesNotMatch(answer, /UNAUTHENTICATED|FORBIDDEN/);

  assert.ok(sentTokens.length >= 3, `introspection and both queries reached /graphql (${sentTokens.length})`);
  assert.ok(
    sentTokens.every((t) => t !== undefined && t === sentTokens[0] && t.startsWith('Bearer ey')),
    'every request carried the development token',
  );
  // The token is in this tab's sessionStorage only: not in the URL, not in localStorage.
  const token = sentTokens[0]!.slice('Bearer '.length);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('explorer.token')), token);
  const local = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(!local.includes(token), 'no token in localStorage');
  assert.ok(!local.includes('ingestionStatus'), 'queries are kept with the tab, not in localStorage');
  assert.match(
    await page.evaluate(() => JSON.stringify({ ...sessionStorage })),
    /ingestionStatus/,
    'GraphiQL keeps its tabs in sessionStorage',
  );
  assert.ok(!page.url().includes(token.slice(0, 20)), 'no token in the URL');

  assert.deepEqual(errors, [], 'no script error and no Content-Security-Policy violation so far');
  // Without a token the same query is refused: the answers above were the token's.
  await page.getByRole('button', { name: 'Forget the token' }).click();
  await page.getByRole('status').filter({ hasText: 'No token' }).waitFor();
  await runQuery(page, '{ __typename }');
  assert.match(await response(page, 'UNAUTHENTICATED'), /"code":\s*"UNAUTHENTICATED"/);
  // A pasted token (as `npm run token` prints) is sent the same way, with its own roles.
  const { token: pastedToken, sub } = await tokenFor(stack, ['security']);
  await page.getByLabel('Token').fill(pastedToken);
  await page.getByRole('button', { name: 'Use this token' }).click();
  await page.getByRole('status').filter({ hasText: sub }).waitFor();
  await runQuery(page, '{ ingestionStatus { kind } }');
  assert.match(await response(page, '"kind"'), /"kind":\s*"/);
  assert.equal(sentTokens.at(-1), `Bearer ${pastedToken}`);

  assert.deepEqual(elsewhere, [], 'nothing requested from another origin');
  // Chromium logs the refusal asked for above as an error; anything else is one.
  const unexpected = errors.filter((e) => !/status of 401 \(Unauthorized\)/.test(e));
  assert.deepEqual(unexpected, [], 'no script error and no Content-Security-Policy violation');
  await context.close();
});
