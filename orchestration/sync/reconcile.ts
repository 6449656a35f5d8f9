// Reconciliation (layer 3): finds what an EHR deleted. A FHIR DELETE leaves no trace in a
// `_lastUpdated` search (incremental.ts sees changes, never absences), so on a schedule each
// connection's current ids are listed cheaply (`_elements=id`, paged): every Patient, and each
// clinical type for the connection's live patients (a batch per search, as EHRs require a
// patient). What we hold and the EHR no longer lists is asked for again by `_id` (an EHR paging by
// offset skips a resource when another one is deleted between two pages; a resource moved to another
// patient is still there): only what that confirms absent becomes a delete event in the durable
// inbox (the same path as every change: deduplicated, applied in order per patient by the workers,
// apply-fhir.ts), which retires the source record from the MPI (link event DELETED) or hides the
// clinical item (kept with its lineage).
//
// Disaster guard: a listing that fails midway sends nothing (the error propagates); one that comes
// back empty, or with more records absent than the connection's limit (an EHR bug, an expired
// authorisation that answers empty bundles, a paging bug), sends nothing either and leaves a
// warning in connection_health, which ingestionStatus shows. Over unchanged sources a pass sends
// nothing new: what was deleted is no longer held, and an event not applied yet is the same key
// and payload again (an inbox duplicate).
import type { ConnectionConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import type { FhirConnection } from '../../protocol/fhir/client.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { receive, type MessageKey } from '../ingest/inbox.ts';
import { PATIENTS_PER_SEARCH } from './clinical-load.ts';
import { chunk, FHIR_SYNC_APPLICATION, NO_ACK, patientKeyOf } from './incremental.ts';
import { recordHealth } from './state.ts';

const log = logger('fhir-reconcile');

/** How often a connection is reconciled when its configuration does not say (a full id listing: not cheap). */
export const DEFAULT_RECONCILE_EVERY_SECONDS = 3600;
/** The largest share of a type's held records a pass may delete; more is taken for an EHR failure. */
export const DEFAULT_MAX_MISSING_SHARE = 0.05;
const PAGE_SIZE = '200';
/** Ids per confirming `_id` search: a short enough query string for any server. */
const IDS_PER_SEARCH = 50;

/** A resource we hold: its id, the version we hold (the delete event's key names it), and its patient. */
export type Held = { readonly id: string; readonly version: string | null; readonly patientId: string };

/** A delete event's payload: which resource, at which version we held it. No timestamps: the same deletion is the same event. */
export type DeletionEvent = {
  readonly deleted: { readonly resourceType: string; readonly id: string; readonly version: string | null; readonly patientId: string };
};

export const isDeletionEvent = (x: unknown): x is DeletionEvent => {
  const d = (x as { deleted?: Record<string, unknown> } | null)?.deleted;
  return !!d && typeof d.resourceType === 'string' && typeof d.id === 'string' && typeof d.patientId === 'string';
};

/** The inbox key of a delete event: the type's sync events' key with `deleted` and the version held. */
export const deletionKey = (channel: string, type: string, held: Held): MessageKey => ({
  channel,
  sendingApplication: FHIR_SYNC_APPLICATION,
  sendingFacility: type,
  controlId: `${type}/${held.id}/deleted/${held.version ?? ''}`,
});

export type ReconcileLimits = { readonly maxMissingShare?: number; readonly maxMissing?: number };

export type TypeCount = { readonly held: number; readonly listed: number; readonly missing: number };

/**
 * Whether a type's absences may be applied: never when the EHR listed nothing while we hold
 * records (an empty answer is a failure until proven otherwise), nor when more are absent than
 * `maxMissing` (default: the share of those held, at least one). Returns the refusal, or null.
 */
export function refusal(type: string, c: TypeCount, limits: ReconcileLimits = {}): string | null {
  if (c.held > 0 && c.listed === 0) return `${type}: the EHR listed none of the ${c.held} held`;
  const limit = limits.maxMissing ?? Math.max(1, Math.floor(c.held * (limits.maxMissingShare ?? DEFAULT_MAX_MISSING_SHARE)));
  return c.missing > limit ? `${type}: ${c.missing} of ${c.held} held are absent at the EHR (limit ${limit})` : null;
}

export type ReconcileSource = {
  readonly connection: Pick<ConnectionConfig, 'id' | 'reconcileMaxMissingShare' | 'reconcileMaxMissing'>;
  readonly client: FhirConnection;
  readonly protection: Pick<IdentifierProtection, 'cipher' | 'sealPayload'>;
  /** The clinical types to reconcile (those incremental sync polls). */
  readonly clinicalTypes: readonly string[];
};

export type ReconcileReport = {
  readonly source: string;
  readonly types: Readonly<Record<string, TypeCount & { readonly deleted: number }>>;
  /** Delete events newly committed to the inbox. */
  readonly accepted: number;
  /** Absent from the listing but found by `_id`: the listing was inconsistent (paging while the data changed). */
  readonly stillPresent: number;
  /** Set when the pass refused to apply anything. */
  readonly warning: string | null;
};

/** Every id a search lists, all pages (subsets: ids only). SourceErrors propagate: a partial listing is no listing. */
async function listIds(client: FhirConnection, type: string, params: Readonly<Record<string, string>>): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const page of client.searchPages(type, { ...params, _elements: 'id', _count: PAGE_SIZE }))
    for (const r of page) if (typeof r.id === 'string') ids.add(r.id);
  return ids;
}

async function heldPatients(db: Database, source: string): Promise<Held[]> {
  const r = await db.query<{ id: string; version: string | null }>(
    'SELECT source_patient_id AS id, source_updated_at AS version FROM source_record WHERE source = $1 AND deleted_at IS NULL ORDER BY 1',
    [source],
  );
  return r.rows.map((x) => ({ id: x.id, version: x.version, patientId: x.id }));
}

async function heldItems(db: Database, source: string, type: string, patients: readonly string[]): Promise<Held[]> {
  const r = await db.query<{ id: string; version: string; subject: string }>(
    `SELECT resource_id AS id, version, subject_id AS subject FROM clinical_item
     WHERE source = $1 AND resource_type = $2 AND subject_id = ANY($3::text[]) AND deleted_at IS NULL`,
    [source, type, patients],
  );
  return r.rows.map((x) => ({ id: x.id, version: x.version, patientId: x.subject }));
}

/** Of the candidates, those an `_id` search (with their patients, for a clinical type) does not find. */
async function confirmAbsent(client: FhirConnection, type: string, candidates: readonly Held[]): Promise<Held[]> {
  const found = new Set<string>();
  for (const batch of chunk(candidates, IDS_PER_SEARCH)) {
    const params: Record<string, string> = { _id: batch.map((h) => h.id).join(',') };
    if (type !== 'Patient') params.patient = [...new Set(batch.map((h) => h.patientId))].join(',');
    for (const id of await listIds(client, type, params)) found.add(id);
  }
  return candidates.filter((h) => !found.has(h.id));
}

type TypePass = { readonly type: string; readonly held: number; readonly listed: number; readonly candidates: Held[] };

/** Lists one type at the EHR and compares it with what we hold. */
async function compareType(db: Database, s: ReconcileSource, type: string, livePatients: readonly string[]): Promise<TypePass> {
  const source = s.connection.id;
  if (type === 'Patient') {
    const held = await heldPatients(db, source);
    const listed = await listIds(s.client, 'Patient', {});
    return { type, held: held.length, listed: listed.size, candidates: held.filter((h) => !listed.has(h.id)) };
  }
  let heldCount = 0,
    listedCount = 0;
  const candidates: Held[] = [];
  for (const batch of chunk(livePatients, PATIENTS_PER_SEARCH)) {
    const held = await heldItems(db, source, type, batch);
    if (held.length === 0) continue;
    const listed = await listIds(s.client, type, { patient: batch.join(',') });
    heldCount += held.length;
    listedCount += listed.size;
    candidates.push(...held.filter((h) => !listed.has(h.id)));
  }
  return { type, held: heldCount, listed: listedCount, candidates };
}

/**
 * One reconciliation pass of one connection (see the file's comment). Lists every type first and
 * sends nothing unless every type passes the guard: a failure that truncates one list tends to
 * truncate the others.
 */
export async function reconcileConnection(db: Database, s: ReconcileSource): Promise<ReconcileReport> {
  const source = s.connection.id;
  const limits = { maxMissingShare: s.connection.reconcileMaxMissingShare, maxMissing: s.connection.reconcileMaxMissing };
  const passes: TypePass[] = [await compareType(db, s, 'Patient', [])];
  if (s.clinicalTypes.length > 0) {
    const live = (await heldPatients(db, source)).map((h) => h.id);
    for (const type of s.clinicalTypes) passes.push(await compareType(db, s, type, live));
  }
  const refused = passes.flatMap((p) => refusal(p.type, { held: p.held, listed: p.listed, missing: p.candidates.length }, limits) ?? []);
  const types: Record<string, TypeCount & { deleted: number }> = {};
  for (const p of passes) types[p.type] = { held: p.held, listed: p.listed, missing: p.candidates.length, deleted: 0 };
  const now = new Date();
  if (refused.length > 0) {
    const warning = `reconciliation refused: ${refused.join('; ')}`;
    log.warn('fhir_reconcile_refused', { source, warning });
    await recordHealth(db, source, { reconciledAt: now, reconcileDeletions: 0, reconcileWarning: warning, reconcileWarningAt: now });
    return { source, types, accepted: 0, stillPresent: 0, warning };
  }
  let accepted = 0,
    stillPresent = 0;
  for (const p of passes) {
    if (p.candidates.length === 0) continue;
    const absent = await confirmAbsent(s.client, p.type, p.candidates);
    stillPresent += p.candidates.length - absent.length;
    for (const held of absent) {
      const event: DeletionEvent = { deleted: { resourceType: p.type, id: held.id, version: held.version, patientId: held.patientId } };
      const r = await receive(
        db,
        {
          key: deletionKey(source, p.type, held),
          payload: JSON.stringify(event),
          ack: NO_ACK,
          patientKey: patientKeyOf(source, held.patientId, s.protection),
        },
        s.protection,
      );
      if (r.status === 'accepted') accepted++;
      else if (r.status === 'conflict') log.warn('fhir_reconcile_conflict', { source, type: p.type, event: r.id });
    }
    types[p.type] = { ...types[p.type]!, deleted: absent.length };
  }
  if (stillPresent > 0) log.warn('fhir_reconcile_listing_inconsistent', { source, stillPresent });
  if (accepted > 0) log.info('fhir_reconcile_deletions', { source, accepted });
  await recordHealth(db, source, { reconciledAt: now, reconcileDeletions: accepted, reconcileWarning: null, reconcileWarningAt: null });
  return { source, types, accepted, stillPresent, warning: null };
}
