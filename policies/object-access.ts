// Object-level access: may this caller see this patient at all? Checked in every resolver that
// returns a patient by id, by identifier, in a list, or as a federated entity (_entities), which
// field-level shield rules never see. A patient the caller may not see is indistinguishable from
// one that does not exist: null, never an error that confirms it.
import type { Principal } from '../security/principal.ts';
import { hasRole } from '../security/principal.ts';

const forTreatment = (p: Principal): boolean => hasRole(p, 'clinician') && (p.purposeOfUse === 'TREAT' || p.purposeOfUse === 'ETREAT');

/** Golden patients: clinicians for treatment, stewards, and analysts (who see de-identified fields only). */
export const mayAccessPatients = (p: Principal): boolean => forTreatment(p) || hasRole(p, 'steward') || hasRole(p, 'analyst');

/** Source records (and their clinical data): clinicians for treatment, stewards (key only, by field policy). */
export const mayAccessSourceRecords = (p: Principal): boolean => forTreatment(p) || hasRole(p, 'steward');
