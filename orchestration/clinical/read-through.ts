// A source record's clinical lists, read through the clinical store. A list is answered from the
// store; when the connection last retrieved it longer ago than the connection's TTL (or never),
// the EHR is asked first and what it returns is translated and stored (ingestResources: the same
// path as the initial load), then the store answers. One search per connection and resource type
// per GraphQL request (DataLoader batches every patient due into `patient=a,b,c`).
//
// A search reads at most the connection's maxPages pages within its timeoutMs. A batch whose
// search goes past that (one patient with a long history is enough) is searched again one patient
// at a time, under the same deadline: the others come back complete, and a patient whose own
// history is still longer is stored with what was read, and answered with a RESULT_TRUNCATED
// warning for as long as that retrieval is the last one.
//
// After a complete read, stored items the EHR no longer returned for those patients are marked
// deleted (retireAbsent) and leave the lists; withdrawn ones (entered-in-error) are never listed.
//
// An EHR that cannot be asked (down, too slow) never fails a list the store holds: the stored
// list is answered with a STALE_DATA warning saying when it was retrieved. A list never retrieved
// is null with SOURCE_UNAVAILABLE, as before the store.
import DataLoader from 'dataloader';
import type { ConnectionConfig, Hl7FeedConfig, VendorProfile } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import { logger } from '../../platform/log.ts';
import { SourceError } from '../../protocol/errors.ts';
import { ON_OVERFLOW, type FhirConnection, type OnOverflow, type SearchResult } from '../../protocol/fhir/client.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { STORED_CLINICAL_VIEWS, subjectPatientId } from '../../translation/fhir-r4/clinical.ts';
import { error } from '../../translation/issues.ts';
import { quarantine, type QuarantineEntry } from '../../translation/quarantine.ts';
import type { ConnectionIngest } from '../clinical-store/connection-ingest.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import { retireAbsent } from '../clinical-store/write.ts';
import { lastRetrievals, recordRetrievals, sourceItems, type Retrieval, type RetrievalTruncation } from '../clinical-store/retrieval.ts';

const log = logger('clinical');

/** The per-source lists the vendor subgraphs serve, and how each stored type is shown. */
export const SOURCE_LIST_VIEWS = STORED_CLINICAL_VIEWS;
export type ClinicalType = keyof typeof SOURCE_LIST_VIEWS;

/** A FHIR connection: its lists are read through (asked again after the TTL). */
export type FhirSourceConnection = {
  readonly config: ConnectionConfig;
  readonly client: FhirConnection;
  /** Built once at start (orchestration/clinical-store/connection-ingest.ts). */
  readonly ingest: ConnectionIngest;
};

/**
 * An HL7 v2 feed: nothing to ask, its messages fill the store as they arrive, so its lists are the
 * store's (never due, never stale; a patient with no items has empty lists).
 */
export type FeedSourceConnection = { readonly config: Hl7FeedConfig; readonly client: null; readonly ingest: ConnectionIngest };

export type SourceConnection = FhirSourceConnection | FeedSourceConnection;

export type ClinicalSourceDeps = {
  readonly db: Database;
  /** Seals protected identifiers of stored items and quarantined payloads (they are PHI). */
  readonly protection: Pick<IdentifierProtection, 'seal' | 'sealPayload'>;
  readonly profile: VendorProfile;
  /** How long a retrieved list is answered from the store without asking the EHR; a connection's clinicalTtlSeconds overrides it. */
  readonly ttlSeconds: number;
  /** Patients per FHIR search; bounded so the query string stays well under URL limits. */
  readonly maxPatientsPerSearch?: number;
};

/** Why a list is incomplete: what was returned, what the source reported, the bound that stopped it. */
export type Truncation = RetrievalTruncation;

/** One record's list of one clinical type, from the store. */
export type ClinicalList = {
  readonly values: readonly unknown[];
  /** The last retrieval of this list was incomplete. */
  readonly truncated?: Truncation;
  /** The EHR could not be asked for a fresher copy: the list as retrieved then. */
  readonly stale?: { readonly retrievedAt: string; readonly error: Error };
};

/** Resources per page asked of the source (FHIR `_count`). */
const PAGE_SIZE = '200';
/** Searches at once when a batch is searched one patient at a time. */
const PER_PATIENT_CONCURRENCY = 8;
/** The TTL when neither the connection nor the deployment names one: five minutes. */
export const DEFAULT_CLINICAL_TTL_SECONDS = 300;

/** The warning a client sees beside a truncated list (ids and bounds only). */
export function truncationWarning(source: string, type: ClinicalType, t: Truncation): ProductError {
  const why =
    t.stoppedBy === 'pages'
      ? `the connection reads at most ${t.maxPages} pages per search`
      : "the rest did not arrive within the connection's timeout";
  const of = t.total === null ? '' : ` of ${t.total}`;
  return new ProductError(
    'RESULT_TRUNCATED',
    `Source ${source} returned the first ${t.returned}${of} ${type} resources of this record: ${why}; the rest are as stored before`,
    {
      source,
      returned: t.returned,
      total: t.total,
      maxPages: t.maxPages,
    },
  );
}

/** The warning beside a list answered from the store because the EHR could not be asked (ids and times only). */
export function staleWarning(source: string, type: ClinicalType, stale: NonNullable<ClinicalList['stale']>): ProductError {
  const failure = stale.error instanceof SourceError ? stale.error.failure : 'INTERNAL';
  const why = stale.error instanceof SourceError ? stale.error.message : `Source ${source} could not be read`;
  return new ProductError('STALE_DATA', `${why}; these ${type} resources are as retrieved at ${stale.retrievedAt}`, {
    source,
    retrievedAt: stale.retrievedAt,
    failure,
  });
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

/**
 * Asks the EHR for the patients' lists, stores what it returns and records each retrieval.
 * Returns each patient's new retrieval, or the error that kept the list from being read.
 */
export async function refreshLists(
  deps: Pick<ClinicalSourceDeps, 'db' | 'protection'>,
  { config, client, ingest }: FhirSourceConnection,
  type: ClinicalType,
  patients: readonly string[],
): Promise<Map<string, Retrieval | Error>> {
  const outcome = new Map<string, Retrieval | Error>();
  const retrievedAt = new Date().toISOString();
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
          outcome.set(id, e as Error);
          return undefined;
        }
      });
      parts = each.filter((p) => p !== undefined);
    }
  } catch (e) {
    for (const id of patients) outcome.set(id, e as Error);
    return outcome;
  }

  const resources: unknown[] = [];
  const foreign: QuarantineEntry[] = [];
  const retrievals: Retrieval[] = [];
  const complete: { subjectIds: readonly string[]; present: string[] }[] = [];
  for (const { patients: ids, result } of parts) {
    const read = new Map<string, number>(ids.map((id) => [id, 0]));
    const present: string[] = [];
    if (result.complete) complete.push({ subjectIds: ids, present });
    for (const resource of result.resources) {
      const owner = subjectPatientId(resource);
      if (owner !== undefined && read.has(owner)) {
        read.set(owner, read.get(owner)! + 1);
        resources.push(resource);
        if (resource.id) present.push(resource.id);
      } else if (owner !== undefined) {
        // Stored under its own subject, it would be a patient's data this search was not about.
        const issues = [error(`${type}.subject`, 'refers to a patient that was not searched for')];
        foreign.push({ source: config.id, resourceType: type, resourceId: resource.id ?? '', issues, payload: resource });
      } else resources.push(resource); // no subject: ingest quarantines it with its reason
    }
    for (const [patientId, returned] of read) {
      // Only a part of one patient can be incomplete: a batch that stopped early was split.
      const truncated: Truncation | undefined = result.complete
        ? undefined
        : { returned, total: result.total ?? null, maxPages: client.maxPages, stoppedBy: result.stoppedBy ?? 'pages' };
      if (truncated) log.info('clinical_truncated', { source: config.id, type, ...truncated, total: truncated.total ?? undefined });
      retrievals.push({ patientId, retrievedAt, ...(truncated ? { truncated } : {}) });
    }
  }
  await quarantine(deps.db, foreign, deps.protection.sealPayload);
  await ingestResources(deps.db, resources, ingest.context(retrievedAt), deps.protection);
  // A complete read: what the source no longer returns for these patients was deleted there. A
  // truncated one says nothing about the rest.
  for (const c of complete) await retireAbsent(deps.db, { source: config.id, resourceType: type, ...c });
  await recordRetrievals(deps.db, config.id, type, retrievals);
  for (const r of retrievals) outcome.set(r.patientId, r);
  return outcome;
}

const ttlOf = (deps: ClinicalSourceDeps, config: ConnectionConfig): number => config.clinicalTtlSeconds ?? deps.ttlSeconds;

/** The patients' lists of one type from one connection, read through the store (see the file's comment). */
export async function readThrough(
  deps: ClinicalSourceDeps,
  connection: SourceConnection,
  type: ClinicalType,
  patientIds: readonly string[],
): Promise<(ClinicalList | Error)[]> {
  if (connection.client === null) return storedLists(deps, connection.config, type, patientIds);
  const { config } = connection;
  const known = await lastRetrievals(deps.db, config.id, type, patientIds);
  const oldest = Date.now() - ttlOf(deps, config) * 1000;
  const due = patientIds.filter((id) => {
    const r = known.get(id);
    return r === undefined || Date.parse(r.retrievedAt) <= oldest;
  });
  const refreshed = due.length > 0 ? await refreshLists(deps, connection, type, [...new Set(due)]) : new Map<string, Retrieval | Error>();
  const items = await sourceItems(deps.db, config.id, type, patientIds);
  const view = SOURCE_LIST_VIEWS[type];
  return patientIds.map((id) => {
    const fresh = refreshed.get(id);
    const last = fresh instanceof Error || fresh === undefined ? known.get(id) : fresh;
    if (last === undefined) return fresh instanceof Error ? fresh : new Error(`no retrieval of ${type} for a record of ${config.id}`);
    const values = (items.get(id) ?? []).map((item) =>
      view(item.resource, { source: config.id, profile: deps.profile, timeZone: config.timeZone, retrievedAt: item.lineage.retrievedAt }),
    );
    const list: ClinicalList = { values, ...(last.truncated ? { truncated: last.truncated } : {}) };
    if (!(fresh instanceof Error)) return list;
    log.warn('clinical_served_stale', { source: config.id, type, retrievedAt: last.retrievedAt, error: fresh.name });
    return { ...list, stale: { retrievedAt: last.retrievedAt, error: fresh } };
  });
}

/** A feed's lists: what the store holds for each patient. */
async function storedLists(
  deps: ClinicalSourceDeps,
  config: Hl7FeedConfig,
  type: ClinicalType,
  patientIds: readonly string[],
): Promise<ClinicalList[]> {
  const items = await sourceItems(deps.db, config.id, type, patientIds);
  const view = SOURCE_LIST_VIEWS[type];
  return patientIds.map((id) => ({
    values: (items.get(id) ?? []).map((item) =>
      view(item.resource, { source: config.id, profile: deps.profile, timeZone: config.timeZone, retrievedAt: item.lineage.retrievedAt }),
    ),
  }));
}

/** A per-request loader of one connection's lists of one type: one read-through per batch of patients. */
export function clinicalLoader(
  deps: ClinicalSourceDeps,
  connection: SourceConnection,
  type: ClinicalType,
): DataLoader<string, ClinicalList> {
  return new DataLoader<string, ClinicalList>((patientIds) => readThrough(deps, connection, type, patientIds), {
    maxBatchSize: deps.maxPatientsPerSearch ?? 100,
  });
}
