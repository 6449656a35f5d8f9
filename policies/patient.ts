// Golden patient records (MPI subgraph): who may look patients up and which demographic fields
// each role sees. Every field is listed; a field missing here is denied to everyone.
import { allOf, deidentifiedAccess, identityWork, reachedThroughAuthorizedField, scopeToRead } from './rules.ts';
import type { PolicySet } from './policy-set.ts';

// Every patient field also needs a SMART scope that lets the token read Patient resources.
const patientScope = scopeToRead('Patient');
const identity = allOf(identityWork, patientScope);
const deidentified = allOf(deidentifiedAccess, patientScope);

export const patientPolicies = {
  Query: {
    // Looking up one named person is identity work: clinicians and stewards only.
    patient: identity,
    patientByIdentifier: identity,
    patientsByIdentifier: identity,
    // Paging through patients is also how analysts count cohorts; what they see per patient is limited below.
    patients: deidentified,
  },
  Patient: {
    id: deidentified,
    gender: deidentified,
    birthYear: deidentified,
    ageOver89: deidentified,
    postalCodePrefix: deidentified,
    name: identity,
    birthDate: identity,
    identifiers: identity,
    addresses: identity,
    telecom: identity,
    sourceRecords: identity,
    // A redirect after a merge says only which id answers: as visible as the id itself.
    mergedInto: deidentified,
    redirectedFrom: deidentified,
    provisional: identity,
    dataQuality: identity,
    provenance: identity,
    links: identity,
    linkHistory: identity,
  },
  PatientConnection: {
    edges: deidentified,
    pageInfo: deidentified,
    totalCount: deidentified,
    countSuppressed: deidentified,
    totalCountIsEstimate: deidentified,
  },
  PatientEdge: { cursor: deidentified, node: deidentified },
  PageInfo: { hasNextPage: deidentified, endCursor: deidentified },
  // A source record's key and origin; clinical content is in clinical.ts.
  SourceRecord: { id: identity, source: identity, mrn: identity },
  HumanName: {
    use: reachedThroughAuthorizedField,
    family: reachedThroughAuthorizedField,
    given: reachedThroughAuthorizedField,
    prefix: reachedThroughAuthorizedField,
    suffix: reachedThroughAuthorizedField,
    text: reachedThroughAuthorizedField,
  },
  Identifier: {
    system: reachedThroughAuthorizedField,
    value: reachedThroughAuthorizedField,
    type: reachedThroughAuthorizedField,
    source: reachedThroughAuthorizedField,
  },
  Address: {
    use: reachedThroughAuthorizedField,
    line: reachedThroughAuthorizedField,
    city: reachedThroughAuthorizedField,
    state: reachedThroughAuthorizedField,
    postalCode: reachedThroughAuthorizedField,
    country: reachedThroughAuthorizedField,
  },
  ContactPoint: { system: reachedThroughAuthorizedField, value: reachedThroughAuthorizedField, use: reachedThroughAuthorizedField },
} as const satisfies PolicySet;
