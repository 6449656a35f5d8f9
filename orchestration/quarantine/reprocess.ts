// Re-processing quarantine (layer 3): after a concept map, unit rule or vendor profile changed,
// the refused resources of one source are opened (their payloads are sealed: PHI) and run again
// through the current translation: clinical resources through the store's ingest (which stores
// what loads and takes it out of quarantine, and keeps the rest with their new reasons), Patient
// resources through the Patient translation and the MPI link. The configuration is read again
// from disk for each run, so an engineer fixes a map and re-processes without a restart.
import type { AdapterConfig, AnyConnectionConfig, VendorProfile } from '../../platform/config.ts';
import { loadVendorProfile } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { notFound, ProductError } from '../../platform/errors.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { sourceDemographics, sourceScope } from '../../translation/fhir-r4/patient.ts';
import { toOperationOutcome, type OperationOutcome } from '../../translation/outcome.ts';
import { NO_ID, quarantine, quarantineSubject, type QuarantineEntry } from '../../translation/quarantine.ts';
import { loadTerminology, type Terminology } from '../../translation/terminology/translate.ts';
import { loadUnitRules, type UnitRules } from '../../translation/units.ts';
import { connectionIngest } from '../clinical-store/connection-ingest.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import { linkBatch } from '../mpi/store.ts';
import { quarantineRowsByFilter, quarantineRowsByKey, type QuarantineFilter, type QuarantineKey } from './list.ts';

/** What translation reads, as configured now. */
export type TranslationConfig = {
  readonly terminology: Terminology;
  readonly units: UnitRules;
  readonly profile: (name: string) => VendorProfile;
};

/** The configuration on disk at this moment (CONCEPT_MAP_DIRS, UNITS_FILE, config/vendor-profiles); throws on a broken file. */
export const currentTranslationConfig = (): TranslationConfig => ({
  terminology: loadTerminology(),
  units: loadUnitRules(),
  profile: (name) => loadVendorProfile(name),
});

export type ReprocessDeps = {
  readonly db: Database;
  readonly protection: IdentifierProtection;
  readonly connections: readonly AnyConnectionConfig[];
  readonly adapters: readonly AdapterConfig[];
  /** Defaults to currentTranslationConfig. */
  readonly translation?: () => TranslationConfig;
};

/** Which entries of one source: these keys, or every entry a filter selects (up to the limit). */
export type ReprocessSelection =
  | { readonly source: string; readonly keys: readonly Omit<QuarantineKey, 'source'>[] }
  | { readonly source: string; readonly filter: Omit<QuarantineFilter, 'source'> };

export const REPROCESS_STATUS = { reloaded: 'reloaded', stillRefused: 'still-refused' } as const;
export type ReprocessStatus = (typeof REPROCESS_STATUS)[keyof typeof REPROCESS_STATUS];

export type ReprocessedResource = QuarantineKey & {
  readonly subjectId: string | null;
  readonly status: ReprocessStatus;
  /** Why it is still refused (the current translation's reasons); null once it loaded. */
  readonly outcome: OperationOutcome | null;
};

export type ReprocessReport = { readonly source: string; readonly resources: readonly ReprocessedResource[] };

/** Entries re-processed by one call at most: each is decrypted and translated in this request. */
export const MAX_REPROCESS = 500;

/** NOT_FOUND: the source names no configured connection (or one whose adapter is not configured). */
const unknownSource = () => notFound('`source` names no configured connection');

type Opened = QuarantineKey & { readonly subjectId: string | null; readonly payload: unknown; readonly receivedAt: string };

const PATIENT = 'Patient';

export async function reprocessQuarantine(
  deps: ReprocessDeps,
  selection: ReprocessSelection,
  limit = MAX_REPROCESS,
): Promise<ReprocessReport> {
  const { db, protection } = deps;
  const connection = deps.connections.find((c) => c.id === selection.source);
  if (!connection) throw unknownSource();
  const adapter = deps.adapters.find((a) => a.name === connection.adapter);
  if (!adapter) throw unknownSource();
  // Read the configuration before touching anything: a broken map stops here, with nothing half-done.
  let config: TranslationConfig;
  let profile: VendorProfile;
  try {
    config = (deps.translation ?? currentTranslationConfig)();
    profile = config.profile(adapter.profile);
  } catch (error) {
    // The files' own messages name the file and element, never data.
    throw new ProductError(
      'CONFIGURATION_INVALID',
      `cannot re-process with the current configuration: ${(error as Error).message}`,
      {},
      {
        cause: error,
      },
    );
  }

  const bounded = Math.max(0, Math.min(limit, MAX_REPROCESS));
  const rows =
    'keys' in selection
      ? await quarantineRowsByKey(
          db,
          selection.keys.slice(0, bounded).map((k) => ({ ...k, source: selection.source })),
        )
      : await quarantineRowsByFilter(db, { ...selection.filter, source: selection.source }, bounded);
  const opened: Opened[] = rows.map((r) => ({
    source: r.source,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    payloadKey: r.payloadKey,
    subjectId: r.subjectId,
    payload: protection.revealPayload(r.payload),
    receivedAt: r.lastSeenAt,
  }));

  const patients = opened.filter((o) => o.resourceType === PATIENT);
  const clinical = opened.filter((o) => o.resourceType !== PATIENT);
  const results = [
    ...(await reprocessClinical(db, protection, connection, profile, config, clinical)),
    ...(await reprocessPatients(db, protection, connection, profile, patients)),
  ];
  return { source: selection.source, resources: results };
}

/** The resource's own id: the row holds NO_ID for a resource that has none. */
const ownId = (o: Opened): string => (o.resourceId === NO_ID ? '' : o.resourceId);

async function reprocessClinical(
  db: Database,
  protection: IdentifierProtection,
  connection: AnyConnectionConfig,
  profile: VendorProfile,
  config: TranslationConfig,
  entries: readonly Opened[],
): Promise<ReprocessedResource[]> {
  const out: ReprocessedResource[] = [];
  // One ingest per reception time: an item's retrievedAt stays when the source sent it, not now.
  for (const batch of Map.groupBy(entries, (e) => e.receivedAt).values()) {
    const report = await ingestResources(
      db,
      batch.map((e) => e.payload),
      connectionIngest(connection, profile, config).context(batch[0]!.receivedAt),
      protection,
    );
    for (const e of batch) {
      const refused = report.quarantined.find((q) => q.resourceType === e.resourceType && q.resourceId === ownId(e));
      out.push(
        refused
          ? { ...key(e), status: REPROCESS_STATUS.stillRefused, outcome: refused.outcome }
          : { ...key(e), status: REPROCESS_STATUS.reloaded, outcome: null },
      );
    }
  }
  return out;
}

async function reprocessPatients(
  db: Database,
  protection: IdentifierProtection,
  connection: AnyConnectionConfig,
  profile: VendorProfile,
  entries: readonly Opened[],
): Promise<ReprocessedResource[]> {
  if (entries.length === 0) return [];
  const scope = sourceScope(connection);
  const translated = entries.map((e) => ({ e, t: sourceDemographics(e.payload as never, scope, profile) }));
  const valid = translated.flatMap(({ e, t }) => (t.ok ? [{ e, value: t.value, issues: t.issues }] : []));
  const refused: QuarantineEntry[] = translated.flatMap(({ e, t }) =>
    t.ok ? [] : [{ source: connection.id, resourceType: PATIENT, resourceId: ownId(e), issues: t.issues, payload: e.payload }],
  );
  // Linking is idempotent (the same record twice is one link): a failure between the link and
  // the delete leaves the entry in quarantine, and the next run links it again harmlessly.
  if (valid.length > 0)
    await linkBatch(
      db,
      valid.map((v) => v.value),
      protection,
    );
  await db.transaction(async (tx) => {
    // The same row again (same payload, same key): its reasons are the new ones, one more attempt.
    await quarantine(tx, refused, protection.sealPayload);
    if (valid.length > 0)
      await tx.query(
        `DELETE FROM quarantine q USING jsonb_to_recordset($1::jsonb) AS k(i text, p text)
         WHERE q.source = $2 AND q.resource_type = '${PATIENT}' AND q.resource_id = k.i AND q.payload_key = k.p`,
        [JSON.stringify(valid.map((v) => ({ i: v.e.resourceId, p: v.e.payloadKey }))), connection.id],
      );
  });
  return translated.map(({ e, t }) => ({
    ...key(e),
    status: t.ok ? REPROCESS_STATUS.reloaded : REPROCESS_STATUS.stillRefused,
    outcome: t.ok ? null : toOperationOutcome(t.issues),
  }));
}

const key = (e: Opened): QuarantineKey & { subjectId: string | null } => ({
  source: e.source,
  resourceType: e.resourceType,
  resourceId: e.resourceId,
  payloadKey: e.payloadKey,
  subjectId: e.subjectId ?? quarantineSubject(e.payload),
});
