// The signed-in session: the bearer token lives in memory only (never a URL, cookie or web
// storage), and the session ends when the token expires.
import { signal } from './signal.ts';

export type Session = { readonly token: string; readonly roles: readonly string[]; readonly sub: string; readonly expiresAt: number };

export const session = signal<Session | null>(null);
export const signedOutReason = signal<string | null>(null);

let expiry: ReturnType<typeof setTimeout> | undefined;

/** Reads the roles and expiry from the token's claims (display only: the gateway verifies it). */
export function startSession(token: string): void {
  const claims = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as {
    roles?: string[];
    sub?: string;
    exp?: number;
  };
  const expiresAt = (claims.exp ?? 0) * 1000;
  clearTimeout(expiry);
  expiry = setTimeout(() => signOut('Your session expired: sign in again.'), Math.max(0, expiresAt - Date.now()));
  signedOutReason.value = null;
  session.value = { token, roles: claims.roles ?? [], sub: claims.sub ?? '', expiresAt };
}

export function signOut(reason: string | null = null): void {
  clearTimeout(expiry);
  session.value = null;
  signedOutReason.value = reason;
  location.hash = '';
}

export const hasRole = (role: string): boolean => session.value?.roles.includes(role) ?? false;
