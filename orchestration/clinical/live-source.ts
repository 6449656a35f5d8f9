// Reads a source record's clinical data through the connection's FHIR API: one search per
// connection and resource type per GraphQL request (DataLoader batches every patient asked for
// into `patient=a,b,c`), a TTL cache in front, translation to canonical types behind, and
// invalid resources quarantined with their reasons.
//
// A search reads at most the connection's maxPages pages within its timeoutMs. A batch whose
// search goes past that (one patient with a long history is enough) is searched again one patient
// at a time, under the same deadline: the others come back complete, and a patient whose own
// history is still longer comes back with what was read and a RESULT_TRUNCATED warning.
import DataLoader from 'dataloader';
import { createHash } from 'node:crypto';
import type { ConnectionConfig, VendorProfile } from '../../platform/config.ts';
import type { TtlCache } from '../../platform/cache.ts';
import type { Database } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import { logger } from '../../platform/log.ts';
import { ON_OVERFLOW, type FhirConnection, type FhirResource, type OnOverflow, type SearchResult } from '../../protocol/fhir/client.ts';
import { condition, medicationRequest, observation, subjectPatientId, type SourceContext } from '../../translation/fhir-r4/clinical.ts';
import { error, type Translated } from '../../translation/issues.ts';
import { quarantine, type QuarantineEntry, type SealedPayload } from '../../translation/quarantine.ts';

const log = logger('clinical');

export const CLINICAL_TRANSLATORS = {
  Observation: observation,
  Condition: condition,
  MedicationRequest: medicationRequest,
} as const satisfies Record<string, (r: FhirResource, ctx: SourceContext) => Translated<unknown>>;

export type ClinicalType = keyof typeof CLINICAL_TRANSLATORS;

export type SourceConnection = { readonly config: ConnectionConfig; readonly client: FhirConnection };

export type ClinicalSourceDeps = {
  readonly db: Database;
  /** Seals quarantined payloads (they are PHI). */
  readonly sealPayload: (payload: unknown) => SealedPayload;
  readonly profile: VendorProfile;
  readonly cache: TtlCache;
  readonly cacheTtlSeconds: number;
  /** Patients per FHIR search; bounded so the query string stays well under URL limits. */
  readonly maxPatientsPerSearch?: number;
};

/** Why a list is incomplete: what was returned, what the source reported, the bound that stopped it. */
export type Truncation = {
  readonly returned: number;
  readonly total: number | null;
  readonly maxPages: number;
  readonly stoppedBy: 'pages' | 'deadline';
};

/** One record's list of one clinical type. */
export type ClinicalList = { readonly values: readonly unknown[]; readonly truncated?: Truncation };

/** Resources per page asked of the source (FHIR `_count`). */
const PAGE_SIZE = '200';
/** Searches at once when a batch is searched one patient at a time. */
const PER_PATIENT_CONCURRENCY = 8;

/** Cache keys carry no identifiers in clear: a hash of the source, type and FHIR id. */
export const cacheKey = (source: string, type: string, patientId: string): string =>
  `clinical:${createHash('sha256').update(`${source}\u0000${type}\u0000${patientId}`).digest('base64url').slice(0, 32)}`;

const encode = (list: ClinicalList): string => JSON.stringify({ v: list.values, ...(list.truncated ? { t: list.truncated } : {}) });

/** A cached list; anything unreadable is a miss. */
function decode(value: string | undefined): ClinicalList | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as { v?: unknown; t?: Truncation };
    return Array.isArray(parsed.v) ? { values: parsed.v, ...(parsed.t ? { truncated: parsed.t } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** The warning a client sees beside a truncated list (ids and bounds only). */
export function truncationWarning(source: string, type: ClinicalType, t: Truncation): ProductError {
  const why =
    t.stoppedBy === 'pages'
      ? `the connection reads at most ${t.maxPages} pages per search`
      : "the rest did not arrive within the connection's timeout";
  const of = t.total === null ? '' : ` of ${t.total}`;
  return new ProductError(
    'RESULT_TRUNCATED',
    `Source ${source} returned the first ${t.returned}${of} ${type} resources of this record: ${why}`,
    {
      source,
      returned: t.returned,
      total: t.total,
      maxPages: t.maxPages,
    },
  );
}

/** Runs `fn` over `items`, at most `limit` at a time, results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

type Part = { readonly patients: readonly string[]; readonly result: SearchResult };

/** Every patient's list from the source: a list, or the SourceError that kept it from being read. */
async function fetchLists(
  deps: ClinicalSourceDeps,
  { config, client }: SourceConnection,
  type: ClinicalType,
  patients: readonly string[],
): Promise<Map<string, ClinicalList | Error>> {
  const lists = new Map<string, ClinicalList | Error>();
  // One deadline for the whole batch, per-patient searches included: the connection's timeoutMs holds.
  const signal = AbortSignal.timeout(config.timeoutMs);
  const search = (ids: readonly string[], onOverflow: OnOverflow) =>
    client.searchAll(type, { patient: ids.join(','), _count: PAGE_SIZE }, { signal, onOverflow });
  let parts: Part[];
  try {
    const batch = await search(patients, patients.length === 1 ? ON_OVERFLOW.truncate : ON_OVERFLOW.stop);
    if (batch.complete || patients.length === 1) parts = [{ patients, result: batch }];
    else {
      log.info('clinical_batch_split', { source: config.id, type, patients: patients.length, maxPages: client.maxPages });
      const each = await mapLimit(patients, PER_PATIENT_CONCURRENCY, async (id): Promise<Part | undefined> => {
        try {
          return { patients: [id], result: await search([id], ON_OVERFLOW.truncate) };
        } catch (e) {
          lists.set(id, e as Error);
          return undefined;
        }
      });
      parts = each.filter((p) => p !== undefined);
    }
  } catch (e) {
    // A SourceError is SOURCE_UNAVAILABLE for these patients; anything else is internal.
    for (const id of patients) lists.set(id, e as Error);
    return lists;
  }

  const ctx: SourceContext = { source: config.id, profile: deps.profile, timeZone: config.timeZone, retrievedAt: new Date().toISOString() };
  const refused: QuarantineEntry[] = [];
  const fresh: [string, ClinicalList][] = [];
  for (const { patients: ids, result } of parts) {
    const values = new Map<string, unknown[]>(ids.map((id) => [id, []]));
    for (const resource of result.resources) {
      const t = CLINICAL_TRANSLATORS[type](resource, ctx);
      const owner = subjectPatientId(resource);
      if (t.ok && owner && values.has(owner)) values.get(owner)!.push(t.value);
      else {
        const issues = t.ok ? [...t.issues, error(`${type}.subject`, 'refers to a patient that was not searched for')] : t.issues;
        refused.push({ source: config.id, resourceType: type, resourceId: resource.id ?? '', issues, payload: resource });
      }
    }
    for (const [id, list] of values) {
      // Only a part of one patient can be incomplete: a batch that stopped early was split.
      const truncated: Truncation | undefined = result.complete
        ? undefined
        : { returned: list.length, total: result.total ?? null, maxPages: client.maxPages, stoppedBy: result.stoppedBy ?? 'pages' };
      if (truncated) log.info('clinical_truncated', { source: config.id, type, ...truncated, total: truncated.total ?? undefined });
      fresh.push([id, truncated ? { values: list, truncated } : { values: list }]);
    }
  }
  for (const [id, list] of fresh) lists.set(id, list);
  try {
    await quarantine(deps.db, refused, deps.sealPayload);
  } catch (e) {
    // The valid data is still served; nothing is cached, so the refused resources are quarantined on the next read.
    log.error('quarantine_failed', { source: config.id, type, resources: refused.length, error: (e as Error).name });
    return lists;
  }
  await deps.cache.setMany(
    fresh.map(([id, list]) => [cacheKey(config.id, type, id), encode(list)] as const),
    deps.cacheTtlSeconds,
  );
  return lists;
}

export function clinicalLoader(
  deps: ClinicalSourceDeps,
  connection: SourceConnection,
  type: ClinicalType,
): DataLoader<string, ClinicalList> {
  const { config } = connection;
  return new DataLoader<string, ClinicalList>(
    async (patientIds) => {
      const cached = (await deps.cache.getMany(patientIds.map((id) => cacheKey(config.id, type, id)))).map(decode);
      const missing = patientIds.filter((_id, i) => cached[i] === undefined);
      const fetched = missing.length > 0 ? await fetchLists(deps, connection, type, missing) : new Map<string, ClinicalList | Error>();
      return patientIds.map((id, i) => cached[i] ?? fetched.get(id)!);
    },
    { maxBatchSize: deps.maxPatientsPerSearch ?? 100 },
  );
}
