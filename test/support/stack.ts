// The whole product started for a test: simulated EHRs, subgraphs and gateway on ephemeral
// loopback ports, storage per env.ts (a fresh schema per run, dropped on close).
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../platform/keys.ts';
import type { PurposeOfUse, Role } from '../../security/principal.ts';
import { DEFAULT_AUDIENCE, mintDevToken, type TrustedIssuer } from '../../security/user-token.ts';
import { startStack, type Stack, type StackOptions } from '../../runtime/stack.ts';
import { databaseUrl, redisUrl, uniqueSchema } from './env.ts';

export const TEST_POPULATION = { seed: 7, size: 150 } as const;

/**
 * A production gateway never trusts the development issuer, so production stacks trust this
 * identity provider instead (configured as an operator would, with its public JWK Set), and
 * tokenFor mints their tokens with its key.
 */
export const TEST_IDP_ISSUER = 'https://idp.test.invalid/realms/patient-gateway';
const testIdpKey = await generateKeyPair('ES256', { extractable: true });
export const TEST_IDP: TrustedIssuer = {
  issuer: TEST_IDP_ISSUER,
  audience: DEFAULT_AUDIENCE,
  jwks: [{ ...(await exportJWK(testIdpKey.publicKey)), kid: 'test-idp-1', alg: 'ES256' }],
};
const productionStacks = new WeakSet<Stack>();

export async function startTestStack(overrides: Partial<StackOptions> = {}): Promise<Stack> {
  const stack = await startStack({
    databaseUrl: databaseUrl(),
    // Production mode requires Redis over TLS with credentials (platform/cache.ts); the test Redis
    // is plain loopback, so a production-mode stack caches in process.
    redisUrl: overrides.production ? undefined : redisUrl(),
    dbSchema: uniqueSchema('e2e'),
    dropSchemaOnClose: true,
    simulators: TEST_POPULATION,
    ephemeralPorts: true,
    // Tests connect as the database's superuser; test/e2e/audit/app-role.test.ts tests the refusal.
    auditRoleCheck: 'warn',
    // Tests drive incremental sync (stack.sync.runNow) rather than wait for its schedule.
    sync: { autoStart: false },
    ...overrides,
    ...(overrides.production ? { issuers: [...(overrides.issuers ?? []), TEST_IDP] } : {}),
  });
  if (overrides.production) productionStacks.add(stack);
  return stack;
}

/** A development-issuer token for the given roles; the sub is unique so audit rows can be found. */
export async function tokenFor(
  stack: Stack,
  roles: readonly Role[],
  /** One purpose, several (the request picks one with x-purpose-of-use), or [] for none; clinicians default to TREAT. */
  purposeOfUse?: PurposeOfUse | readonly PurposeOfUse[],
  ttlSeconds?: number,
  extra: { scope?: string; patient?: string } = {},
): Promise<{ token: string; sub: string }> {
  const production = productionStacks.has(stack);
  const key = production
    ? { privateKey: testIdpKey.privateKey, kid: 'test-idp-1', alg: 'ES256' }
    : await loadKeyPair(stack.keys, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
  const sub = `test-${roles.join('-')}-${randomUUID()}`;
  return {
    token: await mintDevToken(key, {
      ...(production ? { issuer: TEST_IDP_ISSUER } : {}),
      sub,
      roles,
      purposeOfUse: purposeOfUse ?? (roles.includes('clinician') ? 'TREAT' : undefined),
      ttlSeconds,
      ...extra,
    }),
    sub,
  };
}

export type GraphQLResponse<T = Record<string, unknown>> = {
  status: number;
  body: { data?: T | null; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] };
};

export async function post<T = Record<string, unknown>>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as GraphQLResponse<T>['body'] };
}

export const gql = <T = Record<string, unknown>>(
  stack: Stack,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
) => post<T>(stack.gateway.url, { query, variables }, token ? { authorization: `Bearer ${token}` } : {});
