// Applies one FHIR sync event from the inbox (orchestration/sync/incremental.ts put it there):
// - a Patient: translated with the connection's vendor profile (sourceDemographics) and linked in
//   the MPI (linkSourceRecord: a record sent again unchanged writes nothing); a Patient the EHR
//   marks inactive (active: false) leaves the MPI (deleteSourceRecord: link ended softly, history
//   kept, golden record recomputed); one that cannot be translated is quarantined with its reasons;
// - a clinical resource: translated and stored (ingestResources), with the inbox message as its
//   lineage; entered-in-error is retired from the views as the clinical store does for any path.
// - a delete event (reconcile.ts found the resource absent at the EHR): a Patient's source record
//   leaves the MPI as an inactive one does (link event DELETED, by the reconciliation), a clinical
//   item is marked deleted with the event as why; either only while what we hold is still the
//   version found absent (a newer one read since means the EHR has it again).
// Every effect is idempotent, so an event applied twice (at-least-once delivery) changes nothing
// the second time.
import type { ConnectionConfig, VendorProfile } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { sourceDemographics, sourceScope } from '../../translation/fhir-r4/patient.ts';
import { quarantine } from '../../translation/quarantine.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import type { ConnectionIngest } from '../clinical-store/connection-ingest.ts';
import { retireDeleted } from '../clinical-store/write.ts';
import { deleteSourceRecord, linkSourceRecord } from '../mpi/store.ts';
import { isDeletionEvent, type DeletionEvent } from '../sync/reconcile.ts';
import type { Applier } from './apply.ts';
import type { ClaimedMessage } from './inbox.ts';
import { PermanentFailure } from './state.ts';

export type FhirApplyConnection = {
  readonly connection: Pick<ConnectionConfig, 'id' | 'identifierSystems'>;
  readonly profile: VendorProfile;
  readonly ingest: ConnectionIngest;
};

export type FhirApplyDeps = {
  readonly db: Database;
  readonly protection: IdentifierProtection;
  /** The FHIR connections by id (the inbox channel). */
  readonly connections: ReadonlyMap<string, FhirApplyConnection>;
};

export const FHIR_APPLIED = {
  linked: 'linked',
  removed: 'removed',
  stored: 'stored',
  quarantined: 'quarantined',
  /** A delete event about what is already gone, or was changed since (nothing to do). */
  unchanged: 'unchanged',
} as const;
export type FhirApplied = (typeof FHIR_APPLIED)[keyof typeof FHIR_APPLIED];

type Resource = { readonly resourceType?: unknown; readonly id?: unknown; readonly active?: unknown };

/** Applies one FHIR sync event. PermanentFailure: it can never be applied (unknown channel, not a resource). */
export async function applyFhirMessage(deps: FhirApplyDeps, message: ClaimedMessage): Promise<FhirApplied> {
  const target = deps.connections.get(message.key.channel);
  if (!target) throw new PermanentFailure(`no FHIR connection ${message.key.channel} is configured`);
  let resource: Resource;
  try {
    resource = JSON.parse(message.payload) as Resource;
  } catch {
    throw new PermanentFailure('the event is not JSON');
  }
  if (isDeletionEvent(resource)) return applyDeletion(deps, target.connection.id, resource, message.id);
  if (typeof resource?.resourceType !== 'string' || resource.resourceType !== message.key.sendingFacility)
    throw new PermanentFailure(`the event is not a ${message.key.sendingFacility} resource`);
  const source = target.connection.id;
  if (resource.resourceType !== 'Patient') {
    const report = await ingestResources(
      deps.db,
      [resource],
      target.ingest.context(message.receivedAt.toISOString(), message.id),
      deps.protection,
    );
    return report.quarantined.length > 0 ? FHIR_APPLIED.quarantined : FHIR_APPLIED.stored;
  }
  if (resource.active === false && typeof resource.id === 'string') {
    await deleteSourceRecord(deps.db, { source, sourcePatientId: resource.id }, deps.protection);
    return FHIR_APPLIED.removed;
  }
  const t = sourceDemographics(resource as never, sourceScope(target.connection), target.profile);
  if (!t.ok) {
    const id = typeof resource.id === 'string' ? resource.id : '';
    await quarantine(
      deps.db,
      [{ source, resourceType: 'Patient', resourceId: id, issues: t.issues, payload: resource }],
      deps.protection.sealPayload,
    );
    return FHIR_APPLIED.quarantined;
  }
  await linkSourceRecord(deps.db, t.value, deps.protection);
  return FHIR_APPLIED.linked;
}

/** Who retires a record found deleted at its EHR (the link event's actor). */
export const RECONCILE_ACTOR = { actor: 'system:fhir-reconcile', reason: 'deleted at the source EHR' } as const;

async function applyDeletion(deps: FhirApplyDeps, source: string, event: DeletionEvent, messageId: string): Promise<FhirApplied> {
  const d = event.deleted;
  if (d.resourceType !== 'Patient') {
    const done = await retireDeleted(deps.db, { source, resourceType: d.resourceType, resourceId: d.id, version: d.version }, messageId);
    return done ? FHIR_APPLIED.removed : FHIR_APPLIED.unchanged;
  }
  const held = await deps.db.query<{ version: string | null }>(
    'SELECT source_updated_at AS version FROM source_record WHERE source = $1 AND source_patient_id = $2 AND deleted_at IS NULL',
    [source, d.id],
  );
  if (held.rows.length === 0 || held.rows[0]!.version !== d.version) return FHIR_APPLIED.unchanged;
  const done = await deleteSourceRecord(deps.db, { source, sourcePatientId: d.id }, deps.protection, { actor: RECONCILE_ACTOR });
  return done ? FHIR_APPLIED.removed : FHIR_APPLIED.unchanged;
}

/** The dispatcher's `fhir` entry (apply.ts): events of the given connections. */
export function fhirApplier(
  deps: Omit<FhirApplyDeps, 'connections'>,
  connections: readonly FhirApplyConnection[],
): Applier<Pick<ConnectionConfig, 'id'>> {
  const all = { ...deps, connections: new Map(connections.map((c) => [c.connection.id, c])) };
  return async (_connection, message) => void (await applyFhirMessage(all, message));
}
