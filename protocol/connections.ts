// Opens a FHIR client for each configured hospital connection, each with its own SMART Backend
// Services token provider. Connections are configuration; nothing here knows a vendor.
import type { ConnectionConfig } from '../platform/config.ts';
import { metrics } from '../platform/metrics.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyFile, loadKeyPair, type KeyStoreOptions } from '../platform/keys.ts';
import { fhirConnection, type FhirConnection } from './fhir/client.ts';
import { resilience, type BreakerState } from './fhir/resilience.ts';
import { smartBackendServices } from './smart/backend-services.ts';

/** Told when a connection's circuit breaker changes state (the caller persists it for every process to see). */
export type BreakerListener = (connectionId: string, state: BreakerState, since: Date) => void;

export async function openConnection(c: ConnectionConfig, keys: KeyStoreOptions, onBreaker?: BreakerListener): Promise<FhirConnection> {
  const key = c.privateKeyFile
    ? await loadKeyFile(c.privateKeyFile, KEY_ALGORITHMS.smartClient)
    : await loadKeyPair(keys, keyNames.smartClient(c.id), KEY_ALGORITHMS.smartClient);
  const tokens = smartBackendServices({
    source: c.id,
    baseUrl: c.baseUrl,
    clientId: c.clientId,
    scope: c.scope,
    privateKey: key.privateKey,
    kid: key.kid,
    alg: key.alg,
    tokenUrl: c.tokenUrl,
    timeoutMs: c.timeoutMs,
  });
  // Each process has its own breaker per connection; its state changes are shared through the listener.
  const guard = resilience(
    c.id,
    {},
    {
      onStateChange: (state, since) => onBreaker?.(c.id, state, since),
      onCall: (outcome, started) => metrics.ehrCall(c.id, outcome, started),
    },
  );
  return fhirConnection({ source: c.id, baseUrl: c.baseUrl, tokens, timeoutMs: c.timeoutMs, maxPages: c.maxPages, resilience: guard });
}

export async function openConnections(
  configs: readonly ConnectionConfig[],
  keys: KeyStoreOptions,
  onBreaker?: BreakerListener,
): Promise<Map<string, FhirConnection>> {
  return new Map(await Promise.all(configs.map(async (c) => [c.id, await openConnection(c, keys, onBreaker)] as const)));
}
