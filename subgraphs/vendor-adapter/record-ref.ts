// A reference to one source record: `<connection id>:<FHIR Patient id>`, the federated key.
export type RecordRef = { readonly id: string; readonly source: string; readonly patientId: string };

const RECORD_ID = /^([a-z0-9][a-z0-9-]*):([A-Za-z0-9\-.]{1,64})$/;

/** Parses a record id; undefined for anything malformed (FHIR ids are [A-Za-z0-9-.]{1,64}). */
export function parseRecordId(id: string): RecordRef | undefined {
  const m = RECORD_ID.exec(id);
  return m ? { id, source: m[1]!, patientId: m[2]! } : undefined;
}
