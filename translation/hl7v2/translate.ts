// translateHl7 (TranslateHl7 of contract.ts): one parsed HL7 v2 message -> its effect, the Patient
// it states and the clinical resources it carries, following the HL7 v2-to-FHIR IG. Pure: no I/O.
// A message that cannot be translated is refused with specific paths (PID-7, OBX[2]-3); repairs
// are warnings. Messages never quote patient values.
import { header } from '../../protocol/hl7v2/message.ts';
import type { Hl7Message, Segment } from '../../protocol/hl7v2/er7.ts';
import { rawField } from '../../protocol/hl7v2/message.ts';
import { error, result, warning, type TranslationIssue, type Translated } from '../issues.ts';
import { translateClinical } from './clinical.ts';
import { HL7_EFFECTS, type Hl7Effect, type Hl7Translation, type Hl7TranslationContext, type TranslateHl7 } from './contract.ts';
import { cx, dateTime, repetitions } from './datatypes.ts';
import { sourcePatientIdOf, translatePatient, type Authorities } from './patient.ts';

const UPSERT: ReadonlySet<string> = new Set(['A01', 'A04', 'A05', 'A08', 'A28', 'A31']);
// A30/A34/A39/A40 merge patient identifiers (A41/A42 merge accounts and visits, not patients).
const MERGE: ReadonlySet<string> = new Set(['A30', 'A34', 'A39', 'A40']);
const CLINICAL: ReadonlySet<string> = new Set(['ORU^R01', 'ORM^O01', 'VXU^V04']);

/** What the pipeline does with a message of this type. */
export function effectOf(code: string, trigger: string): Hl7Effect {
  if (code === 'ADT' && UPSERT.has(trigger)) return HL7_EFFECTS.upsertPatient;
  if (code === 'ADT' && MERGE.has(trigger)) return HL7_EFFECTS.mergePatients;
  if (CLINICAL.has(`${code}^${trigger}`)) return HL7_EFFECTS.clinical;
  return HL7_EFFECTS.storeOnly;
}

/** PID segments, each with the PD1 and NK1 segments that follow it (before the next PID). */
function patientGroups(message: Hl7Message): { pid: Segment; related: Segment[] }[] {
  const groups: { pid: Segment; related: Segment[] }[] = [];
  for (const s of message.segments) {
    if (s.id === 'PID') groups.push({ pid: s, related: [] });
    else if (s.id === 'NK1' || s.id === 'PD1') groups.at(-1)?.related.push(s);
  }
  return groups;
}

export const translateHl7: TranslateHl7 = (message: Hl7Message, context: Hl7TranslationContext): Translated<Hl7Translation> => {
  const issues: TranslationIssue[] = [];
  const h = header(message);
  const code = h.messageType.code.toUpperCase();
  // ACKs and queries may omit the trigger; v2.3 ADT sends it in EVN-1 too.
  const trigger = (h.messageType.triggerEvent || evnTrigger(message)).toUpperCase();
  const messageType = { code, trigger, structure: h.messageType.structure || `${code}_${trigger}` };
  if (!code) return { ok: false, issues: [error('MSH-9', 'no message type')] };
  const effect = effectOf(code, trigger);
  if (effect === HL7_EFFECTS.storeOnly && code !== 'ADT')
    issues.push(warning('MSH-9', 'message type is not translated into clinical data; stored only'));

  const sender = [h.sendingApplication, h.sendingFacility].map((x) => ({
    namespace: x.namespaceId,
    universalId: x.universalId,
    universalIdType: x.universalIdType,
  }));
  const authorities: Authorities = { sender, context };
  const groups = patientGroups(message);
  const first = groups[0];
  if (!first && effect !== HL7_EFFECTS.storeOnly) return { ok: false, issues: [...issues, error('PID', 'required segment is missing')] };
  const distinct = new Set(groups.map((g) => rawField(g.pid, 3, message.delimiters)));
  if (distinct.size > 1 && effect === HL7_EFFECTS.clinical)
    issues.push(error('PID[2]', 'results for several patients in one message are not supported; send one patient per message'));

  const { sourcePatientId, patient: stated } = first
    ? translatePatient(first.pid, first.related, message.delimiters, authorities, issues)
    : { sourcePatientId: null, patient: null };
  // The message's time (MSH-7) dates the patient as stated: the MPI ignores a state older than the one it holds
  // (a replayed or late message never brings old demographics back).
  const sentAt = dateTime(h.dateTime, context.timeZone, 'MSH-7', []); // a message time read without issue: not the patient's data
  const patient = stated && sentAt ? { ...stated, meta: { lastUpdated: sentAt.instant } } : stated;

  let mergedPatientId: string | undefined;
  if (effect === HL7_EFFECTS.mergePatients) {
    const mrg = message.segments.find((s) => s.id === 'MRG');
    if (!mrg) issues.push(error('MRG', 'required segment is missing'));
    else {
      const prior = repetitions(rawField(mrg, 1, message.delimiters), message.delimiters).map(cx);
      mergedPatientId = sourcePatientIdOf(prior, authorities, 'MRG-1', issues) ?? undefined;
      if (mergedPatientId !== undefined && mergedPatientId === sourcePatientId)
        issues.push(error('MRG-1', 'the merged-away record is the surviving record'));
    }
    if (groups.length > 1) issues.push(warning('PID[2]', 'only the first patient pair of a merge message is applied'));
  }

  const resources =
    sourcePatientId === null
      ? []
      : translateClinical(
          message,
          { source: context.source, timeZone: context.timeZone, sourcePatientId, messageCode: code, trigger },
          issues,
        );

  return result(
    {
      effect,
      messageType,
      sourcePatientId,
      patient,
      ...(mergedPatientId === undefined ? {} : { mergedPatientId }),
      resources,
    },
    issues,
  );
};

const evnTrigger = (message: Hl7Message): string => {
  const evn = message.segments.find((s) => s.id === 'EVN');
  return evn ? (rawField(evn, 1, message.delimiters) ?? '') : '';
};
