// Object-level access: may this caller see this patient at all? Checked in every resolver that
// returns a patient by id, by identifier, in a list, or as a federated entity (_entities), which
// field-level shield rules never see. A patient the caller may not see is indistinguishable from
// one that does not exist: null, never an error that confirms it.
import type { Principal } from '../security/principal.ts';
import { hasRole } from '../security/principal.ts';

const forTreatment = (p: Principal): boolean => hasRole(p, 'clinician') && (p.purposeOfUse === 'TREAT' || p.purposeOfUse === 'ETREAT');

/** Golden patients in general: clinicians for treatment, stewards, and analysts (who see de-identified fields only). */
export const mayAccessPatients = (p: Principal): boolean => forTreatment(p) || hasRole(p, 'steward') || hasRole(p, 'analyst');

/**
 * The golden patient a SMART launch binds the caller to, as the MPI resolved the token's `patient`
 * claim (subgraphs/shared/launch-context.ts): undefined when the token carries no launch context,
 * null when its launch patient is unknown to the MPI (the caller then sees nobody).
 */
export type LaunchPatient = string | null | undefined;

/**
 * Whether `goldenId` is within the launch: any patient without one, that patient only with one. A
 * token with a launch context whose caller forgot to resolve it (undefined) sees nobody.
 */
const withinLaunch = (p: Principal, launch: LaunchPatient, goldenId: string | undefined): boolean =>
  launch === undefined ? p.patientContext === null : launch !== null && goldenId === launch;

/** One golden patient (its id after merge redirects): as above, and within the SMART launch context when the token carries one. */
export const mayAccessPatient = (p: Principal, launch: LaunchPatient, goldenId: string): boolean =>
  mayAccessPatients(p) && withinLaunch(p, launch, goldenId);

/** Who may know who a patient is (names, identifiers, exact counts): clinicians for treatment and stewards. Analysts may not. */
export const mayIdentifyPatients = (p: Principal): boolean => forTreatment(p) || hasRole(p, 'steward');

/** Source records (and their clinical data): clinicians for treatment, stewards (key only, by field policy). */
export const mayAccessSourceRecords = (p: Principal): boolean => mayIdentifyPatients(p);

/** One source record, linked to golden patient `goldenId` (undefined when not linked). */
export const mayAccessSourceRecord = (p: Principal, launch: LaunchPatient, goldenId: string | undefined): boolean =>
  mayAccessSourceRecords(p) && withinLaunch(p, launch, goldenId);
