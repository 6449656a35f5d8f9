// Applying one HL7 v2 message of a feed: parse it, translate it (layer 2, translation/hl7v2) with
// the feed's context, and apply the one effect its type has:
//   upsertPatient  the patient through the FHIR path (sourceDemographics), then MPI matching (linkSourceRecord);
//   clinical       the patient as stated, then the resources into the clinical store, with the
//                  inbox message as their lineage (ConnectionIngest.context(receivedAt, message id));
//   mergePatients  the source merged two records (A40): the merged-away record's items go to the
//                  survivor and the record leaves the MPI (deleteSourceRecord: soft, history kept);
//   storeOnly      a patient update when the message has a PID, else nothing.
// A message that cannot be translated is quarantined (reason, sealed payload) and dead-lettered
// (PermanentFailure): the patient's next messages flow. Database errors propagate (retried).
// Every step is idempotent (stable ids, linkSourceRecord decides an unchanged record once), so a
// message applied twice (at-least-once delivery) changes nothing the second time.
import type { Hl7FeedConfig, VendorProfile } from '../../platform/config.ts';
import { localIdentifierSystems } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { HL7_V2_VERSIONS, parseMessage, type Hl7Message } from '../../protocol/hl7v2/er7.ts';
import { Hl7Error } from '../../protocol/hl7v2/errors.ts';
import { header } from '../../protocol/hl7v2/message.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { sourceDemographics, sourceScope } from '../../translation/fhir-r4/patient.ts';
import { HL7_EFFECTS, type FhirResource, type Hl7Effect, type TranslateHl7 } from '../../translation/hl7v2/contract.ts';
import { error, type TranslationIssue } from '../../translation/issues.ts';
import { quarantine } from '../../translation/quarantine.ts';
import type { ConnectionIngest } from '../clinical-store/connection-ingest.ts';
import { ingestResources } from '../clinical-store/ingest.ts';
import { reassignSubject } from '../clinical-store/reassign.ts';
import { deleteSourceRecord, linkSourceRecord, type LinkOptions, type LinkOutcome } from '../mpi/store.ts';
import type { Applier } from './apply.ts';
import type { ClaimedMessage } from './inbox.ts';
import { PermanentFailure } from './state.ts';

/** The quarantine's resource type for a whole message that could not be translated. */
export const HL7_MESSAGE_RESOURCE = 'Hl7v2Message';

/** A feed as its messages are applied: its connection, its adapter's vendor profile, its ingest context. */
export type Hl7Feed = { readonly config: Hl7FeedConfig; readonly profile: VendorProfile; readonly ingest: ConnectionIngest };

export type ApplyHl7Deps = {
  readonly db: Database;
  readonly protection: IdentifierProtection;
  readonly translate: TranslateHl7;
  readonly link?: LinkOptions;
};

/** What applying one message did (for tests and logs: ids and counts, no PHI). */
export type Hl7Applied = {
  readonly effect: Hl7Effect;
  readonly linked: LinkOutcome | null;
  readonly stored: number;
  readonly quarantined: number;
  readonly moved: number;
  readonly mergedAway: boolean;
};

/** Paths of the issues only: their messages never quote values, but the dead letter's reason stays short. */
const reasonOf = (what: string, issues: readonly TranslationIssue[]): string =>
  `${what}: ${issues
    .filter((i) => i.severity === 'error')
    .map((i) => i.path)
    .slice(0, 5)
    .join(', ')}`;

async function refuse(deps: ApplyHl7Deps, feed: Hl7Feed, message: ClaimedMessage, issues: readonly TranslationIssue[]): Promise<never> {
  await quarantine(
    deps.db,
    [{ source: feed.config.id, resourceType: HL7_MESSAGE_RESOURCE, resourceId: message.key.controlId, issues, payload: message.payload }],
    deps.protection.sealPayload,
  );
  throw new PermanentFailure(reasonOf('HL7 message not translatable', issues));
}

function parse(message: ClaimedMessage): Hl7Message | TranslationIssue[] {
  try {
    return parseMessage(message.payload, { versions: HL7_V2_VERSIONS });
  } catch (e) {
    if (!(e instanceof Hl7Error)) throw e;
    return [error(`HL7v2(${e.hl7Code})`, 'the stored message does not parse')];
  }
}

/** The patient as the message states it, through the FHIR path, then MPI matching. */
async function upsertPatient(deps: ApplyHl7Deps, feed: Hl7Feed, patient: FhirResource): Promise<LinkOutcome> {
  const t = sourceDemographics(patient as never, sourceScope(feed.config), feed.profile);
  if (!t.ok) {
    await quarantine(
      deps.db,
      [{ source: feed.config.id, resourceType: 'Patient', resourceId: patient.id ?? '', issues: t.issues, payload: patient }],
      deps.protection.sealPayload,
    );
    throw new PermanentFailure(reasonOf('Patient not loadable', t.issues));
  }
  return linkSourceRecord(deps.db, t.value, deps.protection, deps.link);
}

export async function applyHl7Message(deps: ApplyHl7Deps, feed: Hl7Feed, message: ClaimedMessage): Promise<Hl7Applied> {
  const parsed = parse(message);
  if (Array.isArray(parsed)) return refuse(deps, feed, message, parsed);
  const t = deps.translate(parsed, {
    source: feed.config.id,
    timeZone: feed.config.timeZone,
    identifierSystems: localIdentifierSystems(feed.config),
  });
  if (!t.ok) return refuse(deps, feed, message, t.issues);
  const { effect, patient, resources } = t.value;
  const applied = { effect, linked: null, stored: 0, quarantined: 0, moved: 0, mergedAway: false };
  switch (effect) {
    case HL7_EFFECTS.upsertPatient:
    case HL7_EFFECTS.storeOnly:
      return patient ? { ...applied, linked: await upsertPatient(deps, feed, patient) } : applied;
    case HL7_EFFECTS.clinical: {
      const linked = patient ? await upsertPatient(deps, feed, patient) : null;
      const report = await ingestResources(
        deps.db,
        resources,
        feed.ingest.context(message.receivedAt.toISOString(), message.id),
        deps.protection,
      );
      return { ...applied, linked, stored: report.inserted + report.updated, quarantined: report.quarantined.length };
    }
    case HL7_EFFECTS.mergePatients: {
      const survivor = t.value.sourcePatientId;
      const merged = t.value.mergedPatientId;
      if (!survivor || !merged)
        return refuse(deps, feed, message, [error(survivor ? 'MRG-1' : 'PID-3', 'a merge names both the surviving and the merged record')]);
      const linked = patient ? await upsertPatient(deps, feed, patient) : null;
      // Items first, then the record: a crash between the two leaves a retry that finishes the job.
      const moved = await reassignSubject(deps.db, feed.config.id, merged, survivor);
      const mergedAway = await deleteSourceRecord(deps.db, { source: feed.config.id, sourcePatientId: merged }, deps.protection, deps.link);
      return { ...applied, linked, moved, mergedAway };
    }
  }
}

/** The dispatcher's applier for HL7 v2 feeds (apply.ts). */
export function hl7Applier(deps: ApplyHl7Deps, feeds: readonly Hl7Feed[]): Applier<Hl7FeedConfig> {
  const byId = new Map(feeds.map((f) => [f.config.id, f]));
  return async (connection, message) => {
    const feed = byId.get(connection.id);
    if (!feed) throw new PermanentFailure(`HL7 feed ${connection.id} has no applier`);
    await applyHl7Message(deps, feed, message);
  };
}

/** MSH-9 of a message, for logs (no PHI). */
export const messageTypeOf = (m: Hl7Message): string => `${header(m).messageType.code}^${header(m).messageType.triggerEvent}`;
