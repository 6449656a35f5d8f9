// Incremental FHIR sync (layer 3): one poll of one connection. For each resource type, asks the
// EHR for what changed since the type's watermark (`_lastUpdated=ge<watermark - overlap>`; the
// clinical types per batch of the connection's live patients, since EHRs refuse a clinical search
// without one), commits every resource to the durable inbox as a FHIR sync event (channel = the
// connection, controlId = <type>/<id>/<versionId or lastUpdated>), and only then moves the
// watermark to the newest lastUpdated seen. Workers apply the events (orchestration/ingest/apply-fhir.ts).
//
// No gap: the watermark moves only after a type's search has been read to the end and committed;
// a crash before that re-reads from the old watermark. No double apply: the overlap window (the
// EHR may commit a resource stamped slightly before one it already served) re-reads a few
// resources, which the inbox's key recognises as duplicates; a re-read after a restart is the same.
import type { ConnectionConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import type { FhirConnection, FhirResource } from '../../protocol/fhir/client.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { receive, type MessageKey } from '../ingest/inbox.ts';
import { PATIENTS_PER_SEARCH } from './clinical-load.ts';
import { advanceWatermark, lastUpdatedOf, watermarks } from './state.ts';

const log = logger('fhir-sync');

/** sendingApplication of every FHIR sync event (the inbox key's MSH-3 place). */
export const FHIR_SYNC_APPLICATION = 'fhir-sync';
/** How far before the watermark each poll starts again (the EHR's commit-order slack). */
export const DEFAULT_OVERLAP_MS = 120_000;
const PAGE_SIZE = '200';
/** FHIR sync events carry no acknowledgement: nothing is sent back to an EHR we poll. */
export const NO_ACK = new Uint8Array(0);

/**
 * The inbox key of a FHIR sync event. A resource that names neither version nor lastUpdated gets a
 * keyed digest of its content as version (the same content is then the same event; never a plain hash of PHI).
 */
export function fhirEventKey(
  channel: string,
  resource: FhirResource,
  payload: string,
  protection: Pick<IdentifierProtection, 'cipher'>,
): MessageKey {
  const m = (resource.meta ?? {}) as { versionId?: unknown; lastUpdated?: unknown };
  const version =
    typeof m.versionId === 'string' && m.versionId !== ''
      ? m.versionId
      : typeof m.lastUpdated === 'string' && m.lastUpdated !== ''
        ? m.lastUpdated
        : `digest-${protection.cipher.blindIndex('fhir-sync-payload', payload).slice(0, 32)}`;
  return {
    channel,
    sendingApplication: FHIR_SYNC_APPLICATION,
    sendingFacility: resource.resourceType,
    controlId: `${resource.resourceType}/${resource.id ?? ''}/${version}`,
  };
}

/** The source patient a resource is about: the Patient itself, or its subject/patient reference. */
export function sourcePatientOf(r: FhirResource): string | undefined {
  if (r.resourceType === 'Patient') return r.id;
  for (const k of ['subject', 'patient'] as const) {
    const ref = (r[k] as { reference?: unknown } | undefined)?.reference;
    const m = typeof ref === 'string' ? /(?:^|\/)Patient\/([^/]+)$/.exec(ref) : null;
    if (m) return m[1];
  }
  return undefined;
}

/** The ordering key: events of one source patient are applied in the order received. Keyed, never in clear. */
export const patientKeyOf = (channel: string, sourcePatientId: string, protection: Pick<IdentifierProtection, 'cipher'>): string =>
  protection.cipher.blindIndex('inbox-patient', `${channel}|${sourcePatientId}`);

export type TypeSyncReport = {
  readonly read: number;
  /** New events committed to the inbox. */
  readonly accepted: number;
  /** Already there (overlap re-reads, restarts). */
  readonly duplicates: number;
  /** Same key, other content: left as it was, logged (an EHR that changed a resource without a new version). */
  readonly conflicts: number;
  /** The watermark after this poll (ISO), null when the type has none yet. */
  readonly watermark: string | null;
};

export type SyncReport = { readonly source: string; readonly types: Readonly<Record<string, TypeSyncReport>> };

export type SyncSource = {
  readonly connection: Pick<ConnectionConfig, 'id'>;
  readonly client: FhirConnection;
  readonly protection: Pick<IdentifierProtection, 'cipher' | 'sealPayload'>;
  /** The clinical types to poll (those the initial load loads: scope and CapabilityStatement allowing). */
  readonly clinicalTypes: readonly string[];
  readonly overlapMs?: number;
};

export type SyncOptions = {
  /** Poll the clinical types too (they cost a search per batch of patients; the scheduler does it less often). */
  readonly clinical: boolean;
};

/** The connection's live source records: whose clinical resources are polled. */
async function livePatients(db: Database, source: string): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    'SELECT source_patient_id AS id FROM source_record WHERE source = $1 AND deleted_at IS NULL ORDER BY 1',
    [source],
  );
  return r.rows.map((x) => x.id);
}

/** One poll of one connection. SourceErrors propagate (the scheduler backs off); watermarks moved so far stay. */
export async function syncConnection(db: Database, s: SyncSource, options: SyncOptions): Promise<SyncReport> {
  const source = s.connection.id;
  const marks = await watermarks(db, source);
  const overlap = s.overlapMs ?? DEFAULT_OVERLAP_MS;
  const types: Record<string, TypeSyncReport> = {};
  const clinical = options.clinical ? s.clinicalTypes : [];
  const patients = clinical.length > 0 ? await livePatients(db, source) : [];
  for (const type of ['Patient', ...clinical]) {
    const mark = marks.get(type);
    const since: Record<string, string> = mark ? { _lastUpdated: `ge${new Date(mark.getTime() - overlap).toISOString()}` } : {};
    const searches =
      type === 'Patient'
        ? [{ ...since, _count: PAGE_SIZE }]
        : chunk(patients, PATIENTS_PER_SEARCH).map((batch) => ({ ...since, patient: batch.join(','), _count: PAGE_SIZE }));
    let newest = mark?.getTime();
    let read = 0,
      accepted = 0,
      duplicates = 0,
      conflicts = 0;
    for (const params of searches) {
      for await (const page of s.client.searchPages(type, params)) {
        for (const resource of page) {
          read++;
          const payload = JSON.stringify(resource);
          const pid = sourcePatientOf(resource);
          const r = await receive(
            db,
            {
              key: fhirEventKey(source, resource, payload, s.protection),
              payload,
              ack: NO_ACK,
              patientKey: pid === undefined ? null : patientKeyOf(source, pid, s.protection),
            },
            s.protection,
          );
          if (r.status === 'accepted') accepted++;
          else if (r.status === 'duplicate') duplicates++;
          else {
            conflicts++;
            log.warn('fhir_sync_conflict', { source, type, event: r.id });
          }
          const t = lastUpdatedOf(resource);
          if (t !== undefined && (newest === undefined || t > newest)) newest = t;
        }
      }
    }
    // Everything up to `newest` is in the inbox now: the next poll may start from there.
    if (newest !== undefined && newest !== mark?.getTime()) await advanceWatermark(db, source, type, new Date(newest));
    types[type] = { read, accepted, duplicates, conflicts, watermark: newest === undefined ? null : new Date(newest).toISOString() };
  }
  const changed = Object.entries(types).filter(([, t]) => t.accepted > 0);
  if (changed.length > 0) log.info('fhir_sync_events', { source, ...Object.fromEntries(changed.map(([k, t]) => [k, t.accepted])) });
  return { source, types };
}

/** The list in consecutive pieces of at most `size` (patients a search, ids a search). */
export const chunk = <T>(list: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
