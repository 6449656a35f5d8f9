// Configuration: files under config/ (adapters, connections, vendor profiles) plus environment
// variables. Everything a deployment changes lives here, so that adding a hospital is an edit
// to config/connections.json and never a code change.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG_DIR = resolve(PROJECT_ROOT, 'config');

export type AdapterConfig = {
  /** Subgraph name, e.g. `epic`. */
  readonly name: string;
  /** Federated record type served by this adapter, e.g. `EpicRecord`. */
  readonly recordType: string;
  /** Vendor profile file name under config/vendor-profiles. */
  readonly profile: string;
};

export type ConnectionConfig = {
  readonly id: string;
  readonly adapter: string;
  readonly name?: string;
  readonly baseUrl: string;
  readonly clientId: string;
  readonly scope: string;
  readonly tokenUrl?: string;
  readonly privateKeyFile?: string;
  /** IANA zone of the hospital, used when a source sends local times without an offset. */
  readonly timeZone: string;
  /** Upper bound for one FHIR call, token request included; a search's pages share it. */
  readonly timeoutMs: number;
  /**
   * Pages one search reads at most (default 50; pages of 200, so 10,000 resources). A record with
   * more is returned in part with a RESULT_TRUNCATED error (README, "Configuration"). Keep it
   * low enough for that many pages to arrive within timeoutMs.
   */
  readonly maxPages?: number;
  /**
   * The assigning authority (FHIR Identifier.system) of this hospital's own identifiers, by v2-0203
   * type: `MR` (medical record number) and `PI` (patient internal id). An MRN means something only
   * at the hospital that issued it, so each connection has its own systems: the MPI indexes and the
   * API shows the identifiers under them. Absent ones are derived from the connection id
   * (localIdentifierSystems), so two connections never share one unless configured to, which is
   * refused at start (validateConnections).
   */
  readonly identifierSystems?: Readonly<Partial<Record<LocalIdentifierType, string>>>;
};

/** v2-0203 identifier types a facility assigns itself: meaningful only together with the connection that sent them. */
export const LOCAL_IDENTIFIER_TYPES = ['MR', 'PI'] as const;
export type LocalIdentifierType = (typeof LOCAL_IDENTIFIER_TYPES)[number];
export type LocalIdentifierSystems = Readonly<Record<LocalIdentifierType, string>>;

export const isLocalIdentifierType = (type: string): type is LocalIdentifierType =>
  (LOCAL_IDENTIFIER_TYPES as readonly string[]).includes(type);

/** The systems a connection's local identifiers are stamped with: configured, else `urn:patient-gateway:connection:<id>:<type>`. */
export function localIdentifierSystems(c: Pick<ConnectionConfig, 'id' | 'identifierSystems'>): LocalIdentifierSystems {
  return Object.fromEntries(
    LOCAL_IDENTIFIER_TYPES.map((t) => [t, c.identifierSystems?.[t] ?? `urn:patient-gateway:connection:${c.id}:${t.toLowerCase()}`]),
  ) as LocalIdentifierSystems;
}

export type VendorProfile = {
  readonly vendor: string;
  readonly mrnIdentifier: { readonly system: string; readonly typeText?: string; readonly typeCode?: string };
  /** Identifier systems surfaced on the golden record, mapped to their v2-0203 type code. */
  readonly keptIdentifierSystems: Readonly<Record<string, string>>;
  /** Extension carrying administrative gender when the vendor puts it there, or null. */
  readonly genderExtension: string | null;
  /** Non-conformant gender values this vendor sends, mapped to FHIR administrative-gender codes. */
  readonly genderAliases: Readonly<Record<string, string>>;
  /** Coding systems that are vendor-local (kept as codings, never used as the primary code). */
  readonly localCodingSystemPrefixes: readonly string[];
  /** Whether numbers may arrive as JSON strings (coerced, never dropped). */
  readonly numbersAsStrings: boolean;
};

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** `${VAR}` and `${VAR:-default}` from the environment, so URLs and secrets stay out of files. */
export function substituteEnv(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    throw new Error(`configuration references environment variable ${name}, which is not set`);
  });
}

export function loadAdapters(dir = CONFIG_DIR): readonly AdapterConfig[] {
  const { adapters } = readJson<{ adapters: AdapterConfig[] }>(resolve(dir, 'adapters.json'));
  for (const a of adapters) {
    if (!/^[a-z][a-z0-9-]*$/.test(a.name)) throw new Error(`adapter name "${a.name}" must be lower-case kebab`);
    if (!/^[A-Z][A-Za-z0-9]*Record$/.test(a.recordType)) throw new Error(`adapter ${a.name}: recordType must look like FooRecord`);
  }
  return adapters;
}

export function loadConnections(
  file = process.env.CONNECTIONS_FILE ?? resolve(CONFIG_DIR, 'connections.json'),
  env: NodeJS.ProcessEnv = process.env,
): readonly ConnectionConfig[] {
  const { connections } = readJson<{ connections: ConnectionConfig[] }>(file);
  return validateConnections(connections.map((c) => validateConnection({ ...c, baseUrl: substituteEnv(c.baseUrl, env) })));
}

/**
 * What no single connection can check: ids are unique, and no two connections (nor two types of
 * one) claim the same identifier system, or the same MRN at two hospitals would name one identifier.
 */
export function validateConnections(connections: readonly ConnectionConfig[]): readonly ConnectionConfig[] {
  const ids = new Set<string>();
  const owners = new Map<string, string>();
  for (const c of connections) {
    if (ids.has(c.id)) throw new Error(`connection id "${c.id}" is configured twice`);
    ids.add(c.id);
    for (const [type, system] of Object.entries(localIdentifierSystems(c))) {
      const owner = owners.get(system);
      if (owner !== undefined)
        throw new Error(
          `connection configuration: ${owner} and ${c.id}.identifierSystems.${type} both name the identifier system "${system}": ` +
            'each hospital assigns its own MRNs, so give each connection its own system (identifierSystems in config/connections.json)',
        );
      owners.set(system, `${c.id}.identifierSystems.${type}`);
    }
  }
  return connections;
}

export function validateConnection(c: ConnectionConfig): ConnectionConfig {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(c.id)) throw new Error(`connection id "${c.id}" must be lower-case letters, digits and dashes`);
  for (const key of ['adapter', 'baseUrl', 'clientId', 'timeZone'] as const) {
    if (!c[key]) throw new Error(`connection ${c.id}: ${key} is required`);
  }
  new URL(c.baseUrl); // throws on a malformed URL, at start rather than at first query
  if (c.maxPages !== undefined && !(Number.isInteger(c.maxPages) && c.maxPages >= 1))
    throw new Error(`connection ${c.id}: maxPages must be a positive integer`);
  for (const [type, system] of Object.entries(c.identifierSystems ?? {})) {
    if (!isLocalIdentifierType(type))
      throw new Error(
        `connection ${c.id}: identifierSystems.${type} is not a local identifier type (${LOCAL_IDENTIFIER_TYPES.join(', ')})`,
      );
    if (typeof system !== 'string' || !/^[a-z][a-z0-9+.-]*:\S+$/i.test(system))
      throw new Error(`connection ${c.id}: identifierSystems.${type} must be a URI (e.g. urn:oid:...)`);
  }
  return { ...c, baseUrl: c.baseUrl.replace(/\/+$/, ''), timeoutMs: c.timeoutMs ?? 5000, scope: c.scope ?? 'system/*.rs' };
}

export function loadVendorProfile(name: string, dir = resolve(CONFIG_DIR, 'vendor-profiles')): VendorProfile {
  return readJson<VendorProfile>(resolve(dir, `${name}.json`));
}

export type IssuerConfig = {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksFile?: string;
  readonly jwksUri?: string;
  /** An EHR's authorization server: the connection id whose FHIR Patient ids its SMART launches carry. */
  readonly connection?: string;
};

/** Trusted token issuers with their public keys (config/issuers.json, or AUTH_ISSUERS_FILE). */
export function loadIssuers(
  file = process.env.AUTH_ISSUERS_FILE ?? resolve(CONFIG_DIR, 'issuers.json'),
): { issuer: string; audience: string; jwks?: Record<string, unknown>[]; jwksUri?: string; connection?: string }[] {
  const { issuers } = readJson<{ issuers: IssuerConfig[] }>(file);
  return issuers.map((i) => {
    if (!i.issuer || !i.audience) throw new Error(`issuer ${i.issuer || '(unnamed)'}: issuer and audience are required`);
    if (i.connection !== undefined && (typeof i.connection !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(i.connection)))
      throw new Error(`issuer ${i.issuer}: connection must be a connection id of config/connections.json`);
    const base = {
      issuer: substituteEnv(i.issuer),
      audience: substituteEnv(i.audience),
      ...(i.connection ? { connection: i.connection } : {}),
    };
    if (i.jwksUri) return { ...base, jwksUri: new URL(substituteEnv(i.jwksUri)).href };
    const jwks = readJson<{ keys?: Record<string, unknown>[] }>(resolve(resolve(file, '..'), substituteEnv(i.jwksFile ?? '')));
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0)
      throw new Error(`issuer ${i.issuer}: a JWK Set with keys (jwksFile) or a jwksUri is required`);
    return { ...base, jwks: jwks.keys };
  });
}

export type Ports = {
  readonly gateway: number;
  readonly mpi: number;
  readonly audit: number;
  readonly clinical: number;
  readonly integration: number;
  readonly adapters: Readonly<Record<string, number>>;
};

/** Default ports of the embedded product; compose and tests override them. */
export function defaultPorts(adapters: readonly AdapterConfig[], env: NodeJS.ProcessEnv = process.env): Ports {
  const base = Number(env.GATEWAY_PORT ?? 4000);
  return {
    gateway: base,
    mpi: Number(env.MPI_PORT ?? base + 1),
    audit: Number(env.AUDIT_PORT ?? base + 9),
    clinical: Number(env.CLINICAL_PORT ?? base + 8),
    integration: Number(env.INTEGRATION_PORT ?? base + 12),
    adapters: Object.fromEntries(adapters.map((a, i) => [a.name, Number(env[`${a.name.toUpperCase()}_PORT`] ?? base + 2 + i)])),
  };
}

export const isProduction = (env: NodeJS.ProcessEnv = process.env): boolean => env.NODE_ENV === 'production';

/** Where embedded data, generated development keys and ground truth live. */
export const dataDir = (env: NodeJS.ProcessEnv = process.env): string => resolve(PROJECT_ROOT, env.DATA_DIR ?? '.data');
