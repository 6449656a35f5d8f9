// Sign-in. Production: OpenID Connect authorization code flow with PKCE at the configured issuer
// (only the PKCE verifier and state wait in sessionStorage across the redirect, never a token).
// Development: a clearly marked form that asks the gateway's development issuer for a role's token.
import { useEffect, useState } from 'preact/hooks';
import { signedOutReason, startSession } from './session.ts';
import { useSignal } from './signal.ts';

export type ConsoleConfig = {
  readonly mode: 'development' | 'production';
  readonly roles: readonly string[];
  readonly oidc: { readonly issuer: string; readonly clientId: string; readonly scope: string } | null;
};

const PKCE_KEY = 'console.pkce';
const redirectUri = (): string => `${location.origin}/console/`;

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const randomText = (): string => base64url(crypto.getRandomValues(new Uint8Array(32)));

type Discovery = { authorization_endpoint: string; token_endpoint: string };
async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`the identity provider's discovery document answered ${res.status}`);
  return (await res.json()) as Discovery;
}

async function startOidc(oidc: NonNullable<ConsoleConfig['oidc']>): Promise<void> {
  const { authorization_endpoint } = await discover(oidc.issuer);
  const verifier = randomText();
  const state = randomText();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL(authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    scope: oidc.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(k, v);
  location.assign(url.href);
}

/** The redirect back: exchanges the code (with the verifier) for a token, then clears the code from the address bar. */
export async function finishOidc(config: ConsoleConfig): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (!code && !params.get('error')) return false;
  history.replaceState(null, '', '/console/');
  const stored = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PKCE_KEY);
  if (params.get('error')) throw new Error(`the identity provider refused the sign-in (${params.get('error')})`);
  if (!config.oidc || !stored || stored.state !== params.get('state')) throw new Error('the sign-in answer does not match this page');
  const { token_endpoint } = await discover(config.oidc.issuer);
  const res = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri(),
      client_id: config.oidc.clientId,
      code_verifier: stored.verifier,
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string };
  if (!res.ok || !body.access_token) throw new Error(`the token endpoint answered ${res.status}`);
  startSession(body.access_token);
  return true;
}

async function devSignIn(role: string): Promise<void> {
  const res = await fetch('/console/dev-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role }),
  });
  const body = (await res.json()) as { token?: string; errors?: { message: string }[] };
  if (!body.token) throw new Error(body.errors?.[0]?.message ?? `development sign-in answered ${res.status}`);
  startSession(body.token);
}

export function SignIn({ config, error }: { config: ConsoleConfig; error: string | null }) {
  const reason = useSignal(signedOutReason);
  const [role, setRole] = useState('steward');
  const [failure, setFailure] = useState<string | null>(error);
  const [busy, setBusy] = useState(false);
  useEffect(() => setFailure(error), [error]);
  const run = (fn: () => Promise<void>) => {
    setBusy(true);
    setFailure(null);
    fn()
      .catch((e: unknown) => setFailure(e instanceof Error ? e.message : String(e)))
      .finally(() => setBusy(false));
  };
  return (
    <main class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Steward console</h1>
      {reason && (
        <p role="status" class="notice">
          {reason}
        </p>
      )}
      {failure && (
        <p role="alert" class="error">
          {failure}
        </p>
      )}
      {config.mode === 'development' ? (
        <form
          class="dev-sign-in"
          onSubmit={(e) => {
            e.preventDefault();
            run(() => devSignIn(role));
          }}
        >
          <p class="dev-banner" role="note">
            <strong>Development sign-in.</strong> This gateway trusts its local development issuer: anyone here can pick a role. A
            production gateway has no such sign-in.
          </p>
          <label for="role">Role</label>
          <select id="role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            {config.roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button type="submit" disabled={busy}>
            Sign in as {role}
          </button>
        </form>
      ) : config.oidc ? (
        <button type="button" disabled={busy} onClick={() => run(() => startOidc(config.oidc!))}>
          Sign in with your organization
        </button>
      ) : (
        <p role="alert" class="error">
          No sign-in is configured: set CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID on the gateway.
        </p>
      )}
    </main>
  );
}
