// Initial load: pulls every Patient from each connection (FHIR search, paged), translates it
// with the connection's vendor profile and links it in the MPI, then pulls the clinical resources
// of the linked patients into the clinical store (clinical-load.ts). Invalid records go to
// quarantine with their reasons; one unreachable source does not stop the others.
// It is the connection's first sync: what it read completely sets the watermarks incremental sync
// (incremental.ts) goes on from, so later changes come through the inbox.
import { SourceError } from '../../protocol/errors.ts';
import type { ConnectionConfig, VendorProfile } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import type { FhirConnection } from '../../protocol/fhir/client.ts';
import { sourceDemographics, sourceScope } from '../../translation/fhir-r4/patient.ts';
import { quarantine } from '../../translation/quarantine.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { ConnectionIngest } from '../clinical-store/connection-ingest.ts';
import { linkBatch } from '../mpi/store.ts';
import { loadClinical, type ClinicalLoadReport } from './clinical-load.ts';
import { noteNewest, recordLoadWatermarks } from './state.ts';
import { traceJob } from '../../platform/tracing.ts';

const log = logger('initial-load');

export type LoadReport = {
  readonly source: string;
  readonly read: number;
  readonly linked: number;
  readonly newGolden: number;
  readonly quarantined: number;
  /** Clinical resources per type (stored, unchanged, quarantined) and the types skipped; absent when not loaded. */
  readonly clinical?: ClinicalLoadReport;
  readonly failed?: string;
};

export type LoadSource = {
  readonly connection: ConnectionConfig;
  readonly client: FhirConnection;
  readonly profile: VendorProfile;
  readonly protection: IdentifierProtection;
  /** The connection's clinical ingest context; without it only Patients are loaded. */
  readonly ingest?: ConnectionIngest;
};

export async function loadSource(db: Database, { connection, client, profile, protection, ingest }: LoadSource): Promise<LoadReport> {
  let read = 0,
    linked = 0,
    newGolden = 0,
    quarantined = 0;
  let clinical: ClinicalLoadReport | undefined;
  const linkedIds: string[] = [];
  const scope = sourceScope(connection);
  const newest: Record<string, number> = {};
  try {
    for await (const page of client.searchPages('Patient', { _count: '200' })) {
      read += page.length;
      noteNewest(newest, page);
      const refused = [];
      const valid = [];
      for (const resource of page) {
        const t = sourceDemographics(resource as never, scope, profile);
        if (t.ok) valid.push(t.value);
        else
          refused.push({
            source: connection.id,
            resourceType: 'Patient',
            resourceId: resource.id ?? '',
            issues: t.issues,
            payload: resource,
          });
      }
      // A page at a time, set-based: the same matching as one record at a time.
      const outcomes = await linkBatch(db, valid, protection);
      linked += outcomes.length;
      linkedIds.push(...valid.map((v) => v.sourcePatientId));
      newGolden += outcomes.filter((o) => o.created).length;
      await quarantine(db, refused, protection.sealPayload);
      quarantined += refused.length;
    }
    log.info('source_loaded', { source: connection.id, read, linked, newGolden, quarantined });
    // Patients were read to the end: incremental sync goes on from the newest.
    await recordLoadWatermarks(db, connection.id, newest);
    if (ingest) clinical = await loadClinical(db, { connection, client, ingest, protection }, [...new Set(linkedIds)]);
    return { source: connection.id, read, linked, newGolden, quarantined, ...(clinical ? { clinical } : {}) };
  } catch (error) {
    const reason = error instanceof SourceError ? `${error.message} (${error.detail})` : (error as Error).message;
    log.warn('source_load_failed', { source: connection.id, read, error: reason });
    return { source: connection.id, read, linked, newGolden, quarantined, ...(clinical ? { clinical } : {}), failed: reason };
  }
}

/** Loads sources one after another: linking order then follows configuration order, deterministically. */
export async function initialLoad(db: Database, sources: readonly LoadSource[]): Promise<LoadReport[]> {
  const reports: LoadReport[] = [];
  for (const s of sources) reports.push(await traceJob('initial load', { 'pgw.connection': s.connection.id }, () => loadSource(db, s)));
  return reports;
}
