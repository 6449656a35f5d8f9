// Object-level access: may this caller see this patient at all? Checked in every resolver that
// returns a patient by id, by identifier, in a list, or as a federated entity (_entities), which
// field-level shield rules never see. A patient the caller may not see is indistinguishable from
// one that does not exist: null, never an error that confirms it.
import type { Principal } from '../security/principal.ts';
import { hasRole } from '../security/principal.ts';

const forTreatment = (p: Principal): boolean => hasRole(p, 'clinician') && (p.purposeOfUse === 'TREAT' || p.purposeOfUse === 'ETREAT');

/** Golden patients in general: clinicians for treatment, stewards, and analysts (who see de-identified fields only). */
export const mayAccessPatients = (p: Principal): boolean => forTreatment(p) || hasRole(p, 'steward') || hasRole(p, 'analyst');

/** One golden patient: as above, and within the SMART launch context when the token carries one. */
export const mayAccessPatient = (p: Principal, goldenId: string): boolean =>
  mayAccessPatients(p) && (p.patientContext === null || p.patientContext === goldenId);

/** Who may know who a patient is (names, identifiers, exact counts): clinicians for treatment and stewards. Analysts may not. */
export const mayIdentifyPatients = (p: Principal): boolean => forTreatment(p) || hasRole(p, 'steward');

/** Source records (and their clinical data): clinicians for treatment, stewards (key only, by field policy). */
export const mayAccessSourceRecords = (p: Principal): boolean => mayIdentifyPatients(p);

/** One source record, linked to golden patient `goldenId` (undefined when not linked). */
export const mayAccessSourceRecord = (p: Principal, goldenId: string | undefined): boolean =>
  mayAccessSourceRecords(p) && (p.patientContext === null || (goldenId !== undefined && p.patientContext === goldenId));
