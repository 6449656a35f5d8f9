// Applies one FHIR sync event from the inbox (orchestration/sync/incremental.ts put it there):
// - a Patient: translated with the connection's vendor profile (sourceDemographics) and linked in
//   the MPI (linkSourceRecord: a record sent again unchanged writes nothing); a Patient the EHR
//   marks inactive (active: false) leaves the MPI (deleteSourceRecord: link ended softly, history
//   kept, golden record recomputed); one that cannot be translated is quarantined with its reasons;
// - a clinical resource: translated and stored (ingestResources), with the inbox message as its
//   lineage; entered-in-error is retired from the views as the clinical store does for any path.
// Every effect is idempotent, so an event applied twice (at-least-once delivery) changes nothing
// the second time.
import type { ConnectionConfig, VendorProfile } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { sourceDemographics, sourceScope } from '../../translation/fhir-r4/patient.ts';
import { quarantine } from '../../translation/quarantine.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import type { ConnectionIngest } from '../clinical-store/connection-ingest.ts';
import { deleteSourceRecord, linkSourceRecord } from '../mpi/store.ts';
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

export const FHIR_APPLIED = { linked: 'linked', removed: 'removed', stored: 'stored', quarantined: 'quarantined' } as const;
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

/** The dispatcher's `fhir` entry (apply.ts): events of the given connections. */
export function fhirApplier(
  deps: Omit<FhirApplyDeps, 'connections'>,
  connections: readonly FhirApplyConnection[],
): Applier<Pick<ConnectionConfig, 'id'>> {
  const all = { ...deps, connections: new Map(connections.map((c) => [c.connection.id, c])) };
  return async (_connection, message) => void (await applyFhirMessage(all, message));
}
