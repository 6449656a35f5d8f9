// The clinical part of a connection's initial load: every clinical resource type the store keeps
// (translation/fhir-r4/clinical-fields.ts) that the connection's scope grants and the server's
// CapabilityStatement offers, searched for the connection's patients (`patient=a,b,c`: EHRs refuse
// a clinical search without a patient) page by page, each page translated and stored
// (ingestResources: invalid resources quarantined with their reasons). Each completed search
// records, per patient, when the list was retrieved (the read-through serves it from the store
// until the connection's TTL passes) and marks deleted the stored items it no longer returned.
// Stored items are idempotent: loading unchanged data again writes no item, history row or
// quarantine row (only the retrieval times move on).
import type { ConnectionConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import type { FhirConnection } from '../../protocol/fhir/client.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { allows, parseScopes } from '../../security/smart-scopes.ts';
import { CLINICAL_FIELDS, type ClinicalResourceType } from '../../translation/fhir-r4/clinical-fields.ts';
import type { ConnectionIngest } from '../clinical-store/connection-ingest.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import { recordRetrievals } from '../clinical-store/retrieval.ts';
import { retireAbsent } from '../clinical-store/write.ts';
import { noteNewest, recordLoadWatermarks } from './state.ts';

const log = logger('initial-load');

/** Every type the store keeps, in load order. */
export const CLINICAL_LOAD_TYPES = Object.keys(CLINICAL_FIELDS) as ClinicalResourceType[];

/** Patients per search: a short enough query string for any server. */
export const PATIENTS_PER_SEARCH = 50;
const PAGE_SIZE = '200';

export type ClinicalCounts = { readonly stored: number; readonly unchanged: number; readonly quarantined: number };

export type ClinicalLoadReport = {
  /** Per type loaded. */
  readonly types: Readonly<Partial<Record<ClinicalResourceType, ClinicalCounts>>>;
  /** Types not loaded, with why (the scope does not grant a search, the server does not offer one). */
  readonly skipped: Readonly<Partial<Record<ClinicalResourceType, string>>>;
};

export type ClinicalLoadSource = {
  readonly connection: ConnectionConfig;
  readonly client: FhirConnection;
  readonly ingest: ConnectionIngest;
  readonly protection: Pick<IdentifierProtection, 'seal' | 'sealPayload'>;
};

/**
 * The types to load and the ones skipped. A CapabilityStatement that cannot be read does not stop
 * the load: every type the scope grants is tried (a server that refuses one fails that source's load).
 */
export async function offeredTypes(
  connection: Pick<ConnectionConfig, 'id' | 'scope'>,
  client: Pick<FhirConnection, 'searchableTypes'>,
): Promise<{ readonly types: ClinicalResourceType[]; readonly skipped: Partial<Record<ClinicalResourceType, string>> }> {
  const permissions = parseScopes(connection.scope.split(/\s+/));
  const skipped: Partial<Record<ClinicalResourceType, string>> = {};
  let offered: ReadonlySet<string> | undefined;
  try {
    offered = await client.searchableTypes();
  } catch (e) {
    log.warn('capability_statement_unreadable', { source: connection.id, error: (e as Error).message });
  }
  const types: ClinicalResourceType[] = [];
  for (const type of CLINICAL_LOAD_TYPES) {
    if (!allows(permissions, type, 's')) skipped[type] = 'the connection scope grants no search of this type';
    else if (offered && !offered.has(type)) skipped[type] = "the server's CapabilityStatement offers no search of this type";
    else types.push(type);
  }
  for (const [type, reason] of Object.entries(skipped)) log.info('clinical_type_skipped', { source: connection.id, type, reason });
  return { types, skipped };
}

/** Loads the clinical resources of `patientIds` (the connection's linked records). SourceErrors propagate. */
export async function loadClinical(
  db: Database,
  { connection, client, ingest, protection }: ClinicalLoadSource,
  patientIds: readonly string[],
): Promise<ClinicalLoadReport> {
  const { types, skipped } = await offeredTypes(connection, client);
  const counts: Partial<Record<ClinicalResourceType, ClinicalCounts>> = {};
  for (const type of types) {
    const newest: Record<string, number> = {};
    let stored = 0,
      unchanged = 0,
      quarantined = 0;
    for (let i = 0; i < patientIds.length; i += PATIENTS_PER_SEARCH) {
      const batch = patientIds.slice(i, i + PATIENTS_PER_SEARCH);
      // The search's start: a resource changed while its pages are read is newer than this.
      const retrievedAt = new Date().toISOString();
      const context = ingest.context(retrievedAt);
      const present: string[] = [];
      for await (const page of client.searchPages(type, { patient: batch.join(','), _count: PAGE_SIZE })) {
        const r = await ingestResources(db, page, context, protection);
        stored += r.inserted + r.updated;
        unchanged += r.unchanged;
        quarantined += r.quarantined.length;
        noteNewest(newest, page);
        for (const resource of page) if (resource.id) present.push(resource.id);
      }
      // Every page was read: what the source no longer returns for these patients was deleted there.
      await retireAbsent(db, { source: connection.id, resourceType: type, subjectIds: batch, present });
      await recordRetrievals(
        db,
        connection.id,
        type,
        batch.map((patientId) => ({ patientId, retrievedAt })),
      );
    }
    // Every patient's resources of this type were read: incremental sync goes on from the newest.
    await recordLoadWatermarks(db, connection.id, newest);
    counts[type] = { stored, unchanged, quarantined };
    log.info('clinical_type_loaded', { source: connection.id, type, stored, unchanged, quarantined });
  }
  return { types: counts, skipped };
}
