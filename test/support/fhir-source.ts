// A simulated EHR whose data a test shapes (the generated population plus resources it adds),
// with a FHIR client for it as the product opens one, and storage as the product opens it:
// real HTTP, real PostgreSQL (or PGlite), real field encryption.
import { exportJWK, generateKeyPair } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionConfig } from '../../platform/config.ts';
import { dropSchema, type Database } from '../../platform/db.ts';
import { fhirConnection, type FhirConnection } from '../../protocol/fhir/client.ts';
import { smartBackendServices } from '../../protocol/smart/backend-services.ts';
import { openStorage, protectionFor } from '../../runtime/components.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { generatePopulation, startFhirSimulator, type FhirSimulator, type SiteData } from '../../simulators/index.ts';
import { databaseUrl, uniqueSchema } from './env.ts';

export type FhirSource = {
  readonly sim: FhirSimulator;
  readonly data: SiteData;
  readonly config: ConnectionConfig;
  readonly client: FhirConnection;
  readonly db: Database;
  readonly protection: IdentifierProtection;
  close(): Promise<void>;
};

/** The generated population of one Epic site, reshaped by `shape`, served over HTTP. */
export async function fhirSource(options: { size: number; shape: (data: SiteData) => SiteData }): Promise<FhirSource> {
  const id = 'sim-epic';
  const data = options.shape(generatePopulation({ seed: 3, size: options.size, sites: [{ id, vendor: 'epic' }] }).sites[id]!);
  const pair = await generateKeyPair('RS384', { extractable: true });
  const sim = await startFhirSimulator({
    siteId: id,
    vendor: 'epic',
    data,
    clients: [{ clientId: 'app', publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'RS384' } }],
  });
  const config: ConnectionConfig = {
    id,
    adapter: 'epic',
    baseUrl: sim.url,
    clientId: 'app',
    scope: 'system/*.rs',
    timeZone: 'America/Chicago',
    timeoutMs: 5000,
  };
  const tokens = smartBackendServices({
    source: id,
    baseUrl: sim.url,
    clientId: 'app',
    scope: 'system/*.rs',
    privateKey: pair.privateKey,
    kid: 'k',
    alg: 'RS384',
    timeoutMs: 5000,
  });
  const client = fhirConnection({ source: id, baseUrl: sim.url, tokens, timeoutMs: 5000 });
  const keysDir = mkdtempSync(join(tmpdir(), 'pgw-keys-'));
  // A database that cannot be opened must not leave the simulator listening (the test process would never end).
  const db = await openStorage({ url: databaseUrl(), schema: uniqueSchema('src') }).catch(async (error: unknown) => {
    await sim.close();
    rmSync(keysDir, { recursive: true, force: true });
    throw error;
  });
  return {
    sim,
    data,
    config,
    client,
    db,
    protection: protectionFor({ dir: keysDir, generateMissing: true }),
    async close() {
      await sim.close();
      await dropSchema(db).catch(() => undefined);
      await db.close();
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

export type QuarantineRow = {
  resource_type: string;
  resource_id: string;
  payload_key: string;
  issues: { path: string; message: string; severity: string }[];
  payload: unknown;
  first_seen_at: Date;
};

export const quarantineRows = async (db: Database, source: string): Promise<QuarantineRow[]> =>
  (
    await db.query<QuarantineRow>(
      'SELECT resource_type, resource_id, payload_key, issues, payload, first_seen_at FROM quarantine WHERE source = $1 ORDER BY resource_id, payload_key',
      [source],
    )
  ).rows;
