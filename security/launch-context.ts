// The SMART launch context (`patient` claim) as a principal carries it. An EHR launch names the
// patient as that EHR knows it, a FHIR Patient id; the gateway cannot query the MPI, so it only
// qualifies the id with the connection whose authorization server issued the token
// (config/issuers.json, `connection`), and the subgraphs resolve it to a golden patient through
// the MPI's link table (subgraphs/shared/launch-context.ts). A token from an identity provider of
// our own may name the golden patient directly, or a record as `<connection id>:<FHIR id>`.
import { unauthenticated } from '../platform/errors.ts';

export const GOLDEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** FHIR R4 id: [A-Za-z0-9\-.]{1,64}. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
export const CONNECTION_ID = /^[a-z0-9][a-z0-9-]*$/;

/** A launch patient: a golden patient, or a source record (connection and FHIR Patient id) the MPI links to one. */
export type LaunchRef = { readonly goldenId: string } | { readonly source: string; readonly sourcePatientId: string };

/** Reads a principal's launch context; undefined when it is neither form. */
export function parseLaunchContext(value: string): LaunchRef | undefined {
  if (GOLDEN_ID.test(value)) return { goldenId: value.toLowerCase() };
  const colon = value.indexOf(':');
  const source = value.slice(0, colon);
  const id = value.slice(colon + 1);
  return colon > 0 && CONNECTION_ID.test(source) && FHIR_ID.test(id) ? { source, sourcePatientId: id } : undefined;
}

/**
 * The launch context of a token's `patient` claim, or null without one. An issuer configured for a
 * connection (an EHR's authorization server) names that EHR's FHIR Patient id: it becomes
 * `<connection>:<id>`, and anything that is not a FHIR id is refused. Any other trusted issuer's
 * claim is kept as it is: a golden id or `<connection>:<id>` binds the caller to that patient,
 * anything else to nobody (parseLaunchContext finds no patient in it), never to everyone.
 */
export function launchContextOf(claim: unknown, issuerConnection: string | undefined): string | null {
  if (claim === undefined || claim === null || claim === '') return null;
  if (typeof claim !== 'string') throw unauthenticated('the patient launch context must be a string');
  if (issuerConnection === undefined) return GOLDEN_ID.test(claim) ? claim.toLowerCase() : claim;
  if (!FHIR_ID.test(claim)) throw unauthenticated('the patient launch context is not a FHIR Patient id');
  return `${issuerConnection}:${claim}`;
}
