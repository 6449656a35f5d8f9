// The HL7 v2 translation's contract (layer 2): what one parsed message becomes. The message is
// turned into FHIR R4 resources following the HL7 v2-to-FHIR implementation guide, so that an HL7
// feed reaches the MPI and the clinical store through the same translation as a FHIR hospital
// (translation/fhir-r4: sourceDemographics, ingestResources). Nothing here touches the database.
import type { Hl7Message } from '../../protocol/hl7v2/er7.ts';
import type { Translated } from '../issues.ts';

/** What the pipeline does with a message: one decision path per message kind. */
export const HL7_EFFECTS = {
  /** ADT A01/A04/A08/A28/A31 (and A05): create or update the source patient, run MPI matching. */
  upsertPatient: 'upsert-patient',
  /** ADT A40 (and A34/A39/A41 where they merge patients): the prior record merges into the surviving one. */
  mergePatients: 'merge-patients',
  /** ORU^R01, ORM^O01, VXU^V04: the patient as the message states it, plus clinical resources to store. */
  clinical: 'clinical',
  /** A03 and every other ADT event: stored in the inbox, applied as a patient update when it carries a PID. */
  storeOnly: 'store-only',
} as const;
export type Hl7Effect = (typeof HL7_EFFECTS)[keyof typeof HL7_EFFECTS];

/** How one feed's messages are read (from its connection in config/connections.json). */
export type Hl7TranslationContext = {
  /** The connection id: Patient.id and references are scoped by it. */
  readonly source: string;
  /** IANA zone for times sent without an offset. */
  readonly timeZone: string;
  /** The feed's own assigning authorities (v2-0203 type -> FHIR Identifier.system), as for a FHIR connection. */
  readonly identifierSystems: Readonly<Partial<Record<string, string>>>;
};

/** A FHIR R4 resource as JSON (validated downstream by the FHIR R4 translation). */
export type FhirResource = { readonly resourceType: string; readonly id?: string; readonly [field: string]: unknown };

export type Hl7Translation = {
  readonly effect: Hl7Effect;
  /** MSH-9: message code, trigger event, structure (e.g. ADT, A01, ADT_A01). */
  readonly messageType: { readonly code: string; readonly trigger: string; readonly structure: string };
  /** The source patient id the message is about (the PID-3 identifier the feed keys its patients on). */
  readonly sourcePatientId: string | null;
  /** The Patient the message states (PID, PD1, NK1...), id = sourcePatientId; null when it has no PID. */
  readonly patient: FhirResource | null;
  /** For mergePatients: the merged-away record's source patient id (MRG-1). */
  readonly mergedPatientId?: string;
  /** Observations, DiagnosticReports, ServiceRequests, Immunizations, Encounters... with stable ids. */
  readonly resources: readonly FhirResource[];
};

export type TranslateHl7 = (message: Hl7Message, context: Hl7TranslationContext) => Translated<Hl7Translation>;
