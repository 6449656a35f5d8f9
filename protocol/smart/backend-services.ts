// SMART Backend Services (client_credentials with a private_key_jwt client assertion), as Epic
// and Oracle Health implement it. One provider per connection: the access token is cached and
// refreshed before it expires; concurrent callers share one in-flight token request.
import { SignJWT, type CryptoKey } from 'jose';
import { randomUUID } from 'node:crypto';
import { SOURCE_FAILURE, SourceError, toSourceError } from '../errors.ts';

export type SmartClientOptions = {
  readonly source: string;
  readonly baseUrl: string;
  readonly clientId: string;
  readonly scope: string;
  readonly privateKey: CryptoKey;
  readonly kid: string;
  readonly alg: string;
  /** Token endpoint; discovered from .well-known/smart-configuration when absent. */
  readonly tokenUrl?: string;
  readonly timeoutMs: number;
  /** Refresh this long before expiry so no request is sent with a token about to lapse. */
  readonly refreshMarginSeconds?: number;
  readonly now?: () => number;
};

export type TokenProvider = {
  getToken(): Promise<string>;
  /** Drops the cached token (after a 401) so the next call fetches a new one. */
  invalidate(): void;
};

type Cached = { readonly token: string; readonly refreshAt: number };

export function smartBackendServices(options: SmartClientOptions): TokenProvider {
  const now = options.now ?? Date.now;
  let cached: Cached | undefined;
  let inflight: Promise<Cached> | undefined;
  let tokenUrl = options.tokenUrl;

  const fetchJson = async (url: string, init: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> => {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) });
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        throw new SourceError(options.source, SOURCE_FAILURE.invalidResponse, `non-JSON answer from ${new URL(url).pathname}`, res.status);
      }
      return { status: res.status, body };
    } catch (error) {
      throw toSourceError(options.source, error, options.timeoutMs);
    }
  };

  const discover = async (): Promise<string> => {
    if (tokenUrl) return tokenUrl;
    const { status, body } = await fetchJson(`${options.baseUrl}/.well-known/smart-configuration`, {
      headers: { accept: 'application/json' },
    });
    if (status !== 200 || typeof body.token_endpoint !== 'string') {
      throw new SourceError(options.source, SOURCE_FAILURE.auth, `SMART configuration has no token_endpoint (HTTP ${status})`, status);
    }
    tokenUrl = body.token_endpoint;
    return tokenUrl;
  };

  const requestToken = async (): Promise<Cached> => {
    const endpoint = await discover();
    const issuedAt = Math.floor(now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: options.alg, kid: options.kid, typ: 'JWT' })
      .setIssuer(options.clientId)
      .setSubject(options.clientId)
      .setAudience(endpoint)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 240)
      .sign(options.privateKey);
    const { status, body } = await fetchJson(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: options.scope,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }),
    });
    if (status !== 200 || typeof body.access_token !== 'string') {
      const oauthError = typeof body.error === 'string' ? body.error : 'no access_token';
      throw new SourceError(options.source, SOURCE_FAILURE.auth, `token endpoint refused: ${oauthError}`, status);
    }
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 300;
    const margin = Math.min(options.refreshMarginSeconds ?? 30, expiresIn / 2);
    return { token: body.access_token, refreshAt: now() + (expiresIn - margin) * 1000 };
  };

  return {
    async getToken() {
      if (cached && now() < cached.refreshAt) return cached.token;
      inflight ??= requestToken().finally(() => {
        inflight = undefined;
      });
      cached = await inflight;
      return cached.token;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
