// A small schema for the operation limits' unit tests, shaped like the product's (a Relay
// connection with `first`, nested lists) plus a cycle (Patient.friends) so that depth bombs can
// be written with valid fields.
import { buildSchema } from 'graphql';

export const TEST_TYPE_DEFS = /* GraphQL */ `
  type Query {
    patient(id: ID!): Patient
    patients(first: Int = 20, after: String): PatientConnection!
    search(first: Int, last: Int): [Patient!]!
  }
  type PatientConnection {
    totalCount: Int!
    edges: [PatientEdge!]!
    pageInfo: PageInfo!
  }
  type PatientEdge {
    cursor: String!
    node: Patient!
  }
  type PageInfo {
    hasNextPage: Boolean!
  }
  type Patient {
    id: ID!
    name: String
    friends: [Patient!]!
    records: [Record!]!
  }
  type Record {
    id: ID!
    codes: [String!]!
  }
`;

export const testSchema = () => buildSchema(TEST_TYPE_DEFS);

/** `{ a { a { ... } } }` with `levels` nested fields of the cyclic `friends`, under `patient`. */
export const nestedFriends = (levels: number): string => `{ patient(id: "1") { ${'friends { '.repeat(levels)}id${' }'.repeat(levels)} } }`;
