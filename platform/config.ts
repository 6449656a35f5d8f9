// Configuration: files under config/ (adapters, connections, vendor profiles) plus environment
// variables. Everything a deployment changes lives here, so that adding a hospital is an edit
// to config/connections.json and never a code change.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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

/** How a source reaches us: a FHIR R4 server we ask (default), or an HL7 v2 feed that sends to our MLLP listener. */
export const CONNECTION_KINDS = { fhir: 'fhir', hl7v2: 'hl7v2' } as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[keyof typeof CONNECTION_KINDS];

/** A FHIR hospital connection (kind "fhir", the default when a file's entry names no kind). */
export type ConnectionConfig = {
  readonly kind?: typeof CONNECTION_KINDS.fhir;
  readonly id: string;
  readonly adapter: string;
  readonly name?: string;
  readonly baseUrl: string;
  readonly clientId: string;
  readonly scope: string;
  readonly tokenUrl?: string;
  readonly privateKeyFile?: string;
  /**
   * IANA zone of the hospital, used when a source sends local times without an offset. In the
   * connections file it may be left out: the adapter's vendor profile then gives it.
   */
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
   * How long (seconds) a patient's clinical list retrieved from this connection is answered from the
   * clinical store before the EHR is asked again (README, "How fresh is clinical data"); the
   * deployment's CACHE_TTL_SECONDS (default 300) when absent. 0 asks at every request.
   */
  readonly clinicalTtlSeconds?: number;
  /**
   * How often (seconds) incremental sync asks this EHR what changed (`_lastUpdated`); default 30,
   * so a patient added at the EHR is found within a minute (README, "Incremental sync").
   */
  readonly syncIntervalSeconds?: number;
  /**
   * How often (seconds) the EHR's current ids are listed to find what it deleted (a FHIR DELETE
   * leaves nothing for `_lastUpdated` to find); default 3600, 0 = never (README, "Deletions at the EHR").
   */
  readonly reconcileEverySeconds?: number;
  /**
   * A reconciliation applies nothing, and warns in ingestionStatus, when more of one type's held
   * records are absent at the EHR than this share (default 0.05) or, when given, than
   * reconcileMaxMissing: so many at once is an EHR failure (empty or truncated answers) until a person says otherwise.
   */
  readonly reconcileMaxMissingShare?: number;
  readonly reconcileMaxMissing?: number;
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

/**
 * An HL7 v2 feed (kind "hl7v2"): a hospital system that sends ADT and ORU messages to the MLLP
 * listener. A message belongs to the feed whose facility matches its MSH-4 (and MSH-3 when
 * sendingApplication is given); nothing is asked of the feed, its records are served from the store.
 */
export type Hl7FeedConfig = {
  readonly kind: typeof CONNECTION_KINDS.hl7v2;
  readonly id: string;
  /** The adapter serving its records (config/adapters.json), whose vendor profile reads its patients. */
  readonly adapter: string;
  readonly name?: string;
  /** MSH-4 namespace id (HD.1), and MSH-3's when the facility has several sending applications. */
  readonly facility: { readonly sendingFacility: string; readonly sendingApplication?: string };
  /** IANA zone for times the feed sends without an offset. */
  readonly timeZone: string;
  /** As for a FHIR connection: the feed's own assigning authorities by v2-0203 type. */
  readonly identifierSystems?: Readonly<Partial<Record<LocalIdentifierType, string>>>;
};

/** Any configured source: what the MPI, quarantine and the adapters know a record's source by. */
export type AnyConnectionConfig = ConnectionConfig | Hl7FeedConfig;

export const isHl7Feed = (c: AnyConnectionConfig): c is Hl7FeedConfig => c.kind === CONNECTION_KINDS.hl7v2;

/** The connections we ask over FHIR (initial load, read-through, simulators): the one place that decides. */
export const fhirConnections = (all: readonly AnyConnectionConfig[]): ConnectionConfig[] =>
  all.filter((c): c is ConnectionConfig => !isHl7Feed(c));

/** The HL7 v2 feeds the MLLP listener serves. */
export const hl7Feeds = (all: readonly AnyConnectionConfig[]): Hl7FeedConfig[] => all.filter(isHl7Feed);

/** v2-0203 identifier types a facility assigns itself: meaningful only together with the connection that sent them. */
export const LOCAL_IDENTIFIER_TYPES = ['MR', 'PI'] as const;
export type LocalIdentifierType = (typeof LOCAL_IDENTIFIER_TYPES)[number];
export type LocalIdentifierSystems = Readonly<Record<LocalIdentifierType, string>>;

export const isLocalIdentifierType = (type: string): type is LocalIdentifierType =>
  (LOCAL_IDENTIFIER_TYPES as readonly string[]).includes(type);

/** The systems a connection's local identifiers are stamped with: configured, else `urn:patient-gateway:connection:<id>:<type>`. */
export function localIdentifierSystems(c: Pick<AnyConnectionConfig, 'id' | 'identifierSystems'>): LocalIdentifierSystems {
  return Object.fromEntries(
    LOCAL_IDENTIFIER_TYPES.map((t) => [t, c.identifierSystems?.[t] ?? `urn:patient-gateway:connection:${c.id}:${t.toLowerCase()}`]),
  ) as LocalIdentifierSystems;
}

/**
 * Known ways a vendor departs from FHIR R4 / US Core, named in a profile's `deviations`. Translation
 * repairs the first ones and flags the others; each is recorded in lineage or flags where it occurs.
 */
export const DEVIATIONS = {
  /** Quantity values sent as JSON strings ("98.6"): read as numbers (repaired). */
  numbersAsStrings: 'numbers-as-strings',
  /** Date-times without an offset: read in the connection's zone (repaired, recorded). */
  localTimesWithoutOffset: 'local-times-without-offset',
  /** Quantities without a unit: kept unnormalized (flagged). */
  quantitiesWithoutUnit: 'quantities-without-unit',
  /** Patient.gender outside the required value set ("Female"): repaired by the administrative-gender concept map. */
  nonConformantGender: 'non-conformant-gender',
  /** Vendor codes where US Core expects CDC race and ethnicity codes: mapped by the profile's concept maps. */
  vendorRaceCodes: 'vendor-race-codes',
  /** Resources coded with a vendor-local coding only: mapped by the profile's concept maps, else kept and flagged unmapped. */
  localCodesOnly: 'local-codes-only',
} as const;
export type Deviation = (typeof DEVIATIONS)[keyof typeof DEVIATIONS];
const KNOWN_DEVIATIONS: ReadonlySet<string> = new Set(Object.values(DEVIATIONS));

/**
 * How one EHR vendor shapes FHIR R4 (config/vendor-profiles/<name>.json): everything translation
 * needs to know about it, so that supporting a vendor is configuration, not code.
 */
export type VendorProfile = {
  readonly vendor: string;
  readonly mrnIdentifier: { readonly system: string; readonly typeText?: string; readonly typeCode?: string };
  /** Identifier systems surfaced on the golden record, mapped to their v2-0203 type code. */
  readonly keptIdentifierSystems: Readonly<Record<string, string>>;
  /**
   * Extensions to read, or null: where the vendor puts administrative sex when Patient.gender is
   * absent or unusable, and the race and ethnicity extensions (US Core's, or the vendor's own).
   */
  readonly extensions: {
    readonly administrativeGender: string | null;
    readonly race: string | null;
    readonly ethnicity: string | null;
  };
  /** ConceptMap urls (config/concept-maps) of this vendor's codes: the code maps translation uses for it. */
  readonly conceptMaps: readonly string[];
  /** IANA zone for a connection that names none (local times without an offset are read in it). */
  readonly timeZone: string;
  /** Known deviations this vendor's data has (DEVIATIONS): what translation repairs or flags. */
  readonly deviations: readonly Deviation[];
  /** Coding systems that are vendor-local (kept as codings, never used as the primary code). */
  readonly localCodingSystemPrefixes: readonly string[];
  /** Whether numbers may arrive as JSON strings (coerced, never dropped): the `numbers-as-strings` deviation. */
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

/**
 * The connections of a file (CONNECTIONS_FILE, default config/connections.json). A connection
 * without a timeZone takes its adapter's vendor profile's; the adapters are those of the
 * adapters.json beside the file when there is one, else config/adapters.json.
 */
export function loadConnections(
  file = process.env.CONNECTIONS_FILE ?? resolve(CONFIG_DIR, 'connections.json'),
  env: NodeJS.ProcessEnv = process.env,
  adapters?: readonly AdapterConfig[],
): readonly AnyConnectionConfig[] {
  const { connections } = readJson<{ connections: AnyConnectionConfig[] }>(file);
  const zoneOf = (c: AnyConnectionConfig): string | undefined => {
    if (c.timeZone) return c.timeZone;
    const known = adapters ?? loadAdapters(existsSync(resolve(dirname(file), 'adapters.json')) ? dirname(file) : CONFIG_DIR);
    const profile = known.find((a) => a.name === c.adapter)?.profile;
    return profile === undefined ? undefined : loadVendorProfile(profile).timeZone;
  };
  return validateConnections(
    connections.map((c) =>
      isHl7Feed(c)
        ? validateHl7Feed({ ...c, timeZone: zoneOf(c) as string })
        : validateConnection({ ...c, baseUrl: substituteEnv(c.baseUrl, env), timeZone: zoneOf(c) as string }),
    ),
  );
}

/**
 * What no single connection can check: ids are unique, and no two connections (nor two types of
 * one) claim the same identifier system, or the same MRN at two hospitals would name one identifier.
 */
export function validateConnections<C extends AnyConnectionConfig>(connections: readonly C[]): readonly C[] {
  const ids = new Set<string>();
  const facilities = new Map<string, string>();
  const owners = new Map<string, string>();
  for (const c of connections) {
    if (ids.has(c.id)) throw new Error(`connection id "${c.id}" is configured twice`);
    ids.add(c.id);
    if (isHl7Feed(c)) {
      // One listener serves every feed: a message must belong to exactly one.
      const key = `${c.facility.sendingFacility}|${c.facility.sendingApplication ?? '*'}`;
      const other = facilities.get(key);
      if (other !== undefined) throw new Error(`HL7 feeds ${other} and ${c.id} both claim the facility ${key}`);
      facilities.set(key, c.id);
    }
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

const checkConnectionId = (id: string): void => {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new Error(`connection id "${id}" must be lower-case letters, digits and dashes`);
};

function checkIdentifierSystems(c: Pick<AnyConnectionConfig, 'id' | 'identifierSystems'>): void {
  for (const [type, system] of Object.entries(c.identifierSystems ?? {})) {
    if (!isLocalIdentifierType(type))
      throw new Error(
        `connection ${c.id}: identifierSystems.${type} is not a local identifier type (${LOCAL_IDENTIFIER_TYPES.join(', ')})`,
      );
    if (typeof system !== 'string' || !/^[a-z][a-z0-9+.-]*:\S+$/i.test(system))
      throw new Error(`connection ${c.id}: identifierSystems.${type} must be a URI (e.g. urn:oid:...)`);
  }
}

/** An HL7 v2 feed's entry, checked: id, adapter, the facility MSH-4 names, an IANA zone. */
export function validateHl7Feed(c: Hl7FeedConfig): Hl7FeedConfig {
  checkConnectionId(c.id);
  if (!c.adapter) throw new Error(`connection ${c.id}: adapter is required`);
  if (typeof c.facility?.sendingFacility !== 'string' || c.facility.sendingFacility === '')
    throw new Error(`connection ${c.id}: facility.sendingFacility (MSH-4) is required for an hl7v2 feed`);
  if (c.facility.sendingApplication !== undefined && (typeof c.facility.sendingApplication !== 'string' || !c.facility.sendingApplication))
    throw new Error(`connection ${c.id}: facility.sendingApplication (MSH-3) must be a non-empty string when given`);
  if (!c.timeZone) throw new Error(`connection ${c.id}: timeZone is required`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: c.timeZone });
  } catch {
    throw new Error(`connection ${c.id}: timeZone "${c.timeZone}" is not an IANA time zone`);
  }
  checkIdentifierSystems(c);
  return c;
}

export function validateConnection(c: ConnectionConfig): ConnectionConfig {
  checkConnectionId(c.id);
  if ((c.kind as string | undefined) !== undefined && c.kind !== CONNECTION_KINDS.fhir)
    throw new Error(`connection ${c.id}: kind must be "fhir" or "hl7v2"`);
  for (const key of ['adapter', 'baseUrl', 'clientId', 'timeZone'] as const) {
    if (!c[key]) throw new Error(`connection ${c.id}: ${key} is required`);
  }
  new URL(c.baseUrl); // throws on a malformed URL, at start rather than at first query
  if (c.maxPages !== undefined && !(Number.isInteger(c.maxPages) && c.maxPages >= 1))
    throw new Error(`connection ${c.id}: maxPages must be a positive integer`);
  if (c.clinicalTtlSeconds !== undefined && !(Number.isInteger(c.clinicalTtlSeconds) && c.clinicalTtlSeconds >= 0))
    throw new Error(`connection ${c.id}: clinicalTtlSeconds must be a whole number of seconds, 0 or more`);
  if (c.syncIntervalSeconds !== undefined && !(Number.isInteger(c.syncIntervalSeconds) && c.syncIntervalSeconds >= 1))
    throw new Error(`connection ${c.id}: syncIntervalSeconds must be a whole number of seconds, 1 or more`);
  if (c.reconcileEverySeconds !== undefined && !(Number.isInteger(c.reconcileEverySeconds) && c.reconcileEverySeconds >= 0))
    throw new Error(`connection ${c.id}: reconcileEverySeconds must be a whole number of seconds, 0 (never) or more`);
  if (c.reconcileMaxMissingShare !== undefined && !(c.reconcileMaxMissingShare >= 0 && c.reconcileMaxMissingShare <= 1))
    throw new Error(`connection ${c.id}: reconcileMaxMissingShare must be a number from 0 to 1`);
  if (c.reconcileMaxMissing !== undefined && !(Number.isInteger(c.reconcileMaxMissing) && c.reconcileMaxMissing >= 0))
    throw new Error(`connection ${c.id}: reconcileMaxMissing must be a whole number, 0 or more`);
  checkIdentifierSystems(c);
  return { ...c, baseUrl: c.baseUrl.replace(/\/+$/, ''), timeoutMs: c.timeoutMs ?? 5000, scope: c.scope ?? 'system/*.rs' };
}

type VendorProfileFile = Omit<VendorProfile, 'numbersAsStrings'>;

/** A vendor profile, checked: a profile that cannot be applied stops the start, naming the file and field. */
export function loadVendorProfile(name: string, dir = resolve(CONFIG_DIR, 'vendor-profiles')): VendorProfile {
  const file = resolve(dir, `${name}.json`);
  const p = readJson<VendorProfileFile>(file);
  const fail = (field: string, reason: string): never => {
    throw new Error(`vendor profile ${name}: ${field} ${reason}`);
  };
  if (p.vendor !== name) fail('vendor', `must be "${name}", the file's name`);
  if (!p.mrnIdentifier?.system) fail('mrnIdentifier.system', 'is required');
  if (typeof p.keptIdentifierSystems !== 'object' || p.keptIdentifierSystems === null) fail('keptIdentifierSystems', 'is required');
  for (const key of ['administrativeGender', 'race', 'ethnicity'] as const) {
    const url = p.extensions?.[key];
    if (url !== null && (typeof url !== 'string' || !/^[a-z][a-z0-9+.-]*:\S+$/i.test(url)))
      fail(`extensions.${key}`, 'must be an extension URL or null');
  }
  if (!Array.isArray(p.conceptMaps) || p.conceptMaps.some((u) => typeof u !== 'string'))
    fail('conceptMaps', 'must be a list of ConceptMap urls');
  try {
    if (typeof p.timeZone !== 'string' || p.timeZone === '') throw new Error('missing');
    new Intl.DateTimeFormat('en-US', { timeZone: p.timeZone });
  } catch {
    fail('timeZone', `"${String(p.timeZone)}" is not an IANA time zone`);
  }
  if (!Array.isArray(p.deviations)) fail('deviations', 'must be a list');
  for (const d of p.deviations)
    if (!KNOWN_DEVIATIONS.has(d)) fail('deviations', `names an unknown deviation "${d}" (one of ${[...KNOWN_DEVIATIONS].join(', ')})`);
  if (!Array.isArray(p.localCodingSystemPrefixes)) fail('localCodingSystemPrefixes', 'must be a list');
  return { ...p, numbersAsStrings: p.deviations.includes(DEVIATIONS.numbersAsStrings) };
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
