// The GraphQL explorer's page script (gateway/explorer.ts serves it, development mode only): a token
// bar above GraphiQL. The developer picks a role (a development token minted by the console's
// sign-in route) or pastes a token; every request GraphiQL sends carries it as a bearer token. The
// token lives in this tab's sessionStorage only: never a URL, a cookie or localStorage.
// A separate entry point from the console's main.tsx; it shares only this folder's compiler settings.

type Config = {
  readonly endpoint: string;
  /** POST {role} here for a development token; null when the gateway does not trust the development issuer. */
  readonly devToken: string | null;
  /** Monaco's workers by label, served beside this script (no blob: URLs). */
  readonly workers: Readonly<Record<string, string>>;
  readonly nonce: string;
};

type GraphiQLParams = { query: string; operationName?: string | null; variables?: unknown };
type FetcherOptions = { headers?: Record<string, unknown> };

declare global {
  interface Window {
    YogaGraphiQL: { renderYogaGraphiQL(root: Element, options: Record<string, unknown>): void };
    MonacoEnvironment: { globalAPI: boolean; getWorkerUrl(moduleId: string, label: string): string };
  }
}

const STORAGE_KEY = 'explorer.token';

const config = JSON.parse(document.getElementById('explorer-config')!.textContent!) as Config;
const status = document.getElementById('token-status')!;
const form = document.getElementById('token-form') as HTMLFormElement;
const pasted = document.getElementById('token-paste') as HTMLInputElement;

/** Claims shown to the developer (display only: the gateway verifies the token). */
function claimsOf(token: string): { sub?: string; roles?: string[]; exp?: number } | null {
  try {
    const part = token.split('.')[1] ?? '';
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: string; roles?: string[]; exp?: number };
  } catch {
    return null;
  }
}

let expiry: ReturnType<typeof setTimeout> | undefined;

function currentToken(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

function setToken(token: string | null, note = ''): void {
  clearTimeout(expiry);
  if (token === null) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, token);
  const claims = token ? claimsOf(token) : null;
  if (!token) {
    status.textContent = note || 'No token: requests are refused (UNAUTHENTICATED).';
    status.dataset.state = 'none';
    return;
  }
  const expiresAt = (claims?.exp ?? 0) * 1000;
  if (expiresAt && expiresAt <= Date.now()) return setToken(null, 'The token has expired: get a new one.');
  if (expiresAt) expiry = setTimeout(() => setToken(null, 'The token has expired: get a new one.'), expiresAt - Date.now());
  const until = expiresAt ? ` until ${new Date(expiresAt).toLocaleTimeString()}` : '';
  status.textContent = `Sending a token for ${claims?.sub ?? 'an unknown subject'} (roles: ${(claims?.roles ?? []).join(', ') || 'none'})${until}.`;
  status.dataset.state = 'set';
  mountGraphiQL();
}

async function mintDevToken(role: string): Promise<string> {
  const res = await fetch(config.devToken!, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role }),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: string; errors?: { message?: string }[] };
  if (!body.token) throw new Error(body.errors?.[0]?.message ?? `development sign-in answered ${res.status}`);
  return body.token;
}

/** GraphiQL's requests, the schema's introspection included: the current token, then the headers editor's own. */
async function fetcher(params: GraphiQLParams, options?: FetcherOptions): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  for (const [name, value] of Object.entries(options?.headers ?? {})) headers[name.toLowerCase()] = String(value);
  const token = currentToken();
  if (token && !headers.authorization) headers.authorization = `Bearer ${token}`;
  const res = await fetch(config.endpoint, {
    method: 'POST',
    headers,
    credentials: 'omit',
    body: JSON.stringify({ query: params.query, operationName: params.operationName ?? undefined, variables: params.variables }),
  });
  return res.json();
}

let mounted = false;

/** Mounted once a token exists: the schema's introspection needs one too. A later token is read per request. */
function mountGraphiQL(): void {
  if (mounted) return;
  mounted = true;
  window.YogaGraphiQL.renderYogaGraphiQL(document.getElementById('graphiql')!, {
    title: 'Patient gateway explorer',
    fetcher,
    defaultQuery: '{ __typename }\n',
    // Tabs, queries, variables and history stay with this tab (sessionStorage), not on disk for good: they may
    // name a patient. The headers editor is not stored at all: a token typed there is not written anywhere.
    storage: window.sessionStorage,
    shouldPersistHeaders: false,
    // GraphiQL writes the query into the address bar by default; queries may name a patient, and URLs are kept in history.
    onEditQuery: () => undefined,
  });
}

// GraphiQL's parts (Monaco, Radix) insert <style> elements as they render; the page's policy admits
// a style element only with this page's nonce. Elements made by script get it here (only this
// origin's scripts run); markup parsed from a string still cannot bring a style element in.
const createElement = document.createElement.bind(document);
document.createElement = ((tag: string, options?: ElementCreationOptions) => {
  const element = createElement(tag, options);
  if (element instanceof HTMLStyleElement) element.nonce = config.nonce;
  return element;
}) as typeof document.createElement;
window.MonacoEnvironment = {
  globalAPI: false,
  getWorkerUrl: (_moduleId, label) => config.workers[label] ?? config.workers.editorWorkerService!,
};

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
  const action = submitter?.value;
  if (action === 'forget') return setToken(null);
  if (action === 'paste') {
    const token = pasted.value.trim().replace(/^Bearer\s+/i, '');
    pasted.value = '';
    return setToken(token || null);
  }
  const role = (document.getElementById('token-role') as HTMLSelectElement | null)?.value;
  if (!role || !config.devToken) return;
  status.textContent = `Getting a development token for ${role}…`;
  mintDevToken(role).then(
    (token) => setToken(token),
    (error: unknown) => {
      status.textContent = `No token: ${error instanceof Error ? error.message : String(error)}`;
      status.dataset.state = 'error';
    },
  );
});

setToken(currentToken());

// A module (its globals are its own), bundled as a classic script.
export {};
