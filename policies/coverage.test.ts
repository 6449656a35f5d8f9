// Policy coverage and the access matrix, over every subgraph of the product as configured:
// each field is covered by a rule (or deliberately denied), and each role-and-scope decision on
// each field is the one written below. A new field fails both until a security engineer decides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { isObjectType, parse, type GraphQLSchema } from 'graphql';
import { loadAdapters, loadConnections } from '../platform/config.ts';
import { auditSubgraph } from '../subgraphs/audit/subgraph.ts';
import { clinicalSubgraph } from '../subgraphs/clinical/subgraph.ts';
import { integrationSubgraph } from '../subgraphs/integration/subgraph.ts';
import { mpiSubgraph } from '../subgraphs/mpi/subgraph.ts';
import { vendorAdapterSubgraph } from '../subgraphs/vendor-adapter/subgraph.ts';
import type { SubgraphDefinition } from '../subgraphs/shared/subgraph-server.ts';
import type { Principal, PurposeOfUse, Role } from '../security/principal.ts';
import { uncoveredFields } from './coverage.ts';
import { ruleTreeFor } from './policy-set.ts';

const adapters = loadAdapters();
const none = null as never;
const definitions: SubgraphDefinition[] = [
  mpiSubgraph({ db: none, protection: none, adapters, connections: loadConnections(undefined, {}) }),
  ...adapters.map((a) => vendorAdapterSubgraph(a, { db: none, protection: none, profile: none, ttlSeconds: 1, connections: new Map() })),
  auditSubgraph({ db: none }),
  clinicalSubgraph({ db: none }),
  integrationSubgraph({ db: none, protection: none, connections: [], adapters }),
];
const schemaOf = (d: SubgraphDefinition): GraphQLSchema => buildSubgraphSchema([{ typeDefs: parse(d.typeDefs) }]);

test('every field of every subgraph is covered by a policy or deliberately denied', () => {
  for (const d of definitions) assert.deepEqual(uncoveredFields(schemaOf(d), d.policies), [], `subgraph ${d.name}`);
});

test('the coverage check reports a field nobody wrote a policy for', () => {
  const d = definitions[0]!;
  const schema = buildSubgraphSchema([{ typeDefs: parse(`${d.typeDefs}\nextend type Patient { deceased: Boolean }`) }]);
  assert.deepEqual(uncoveredFields(schema, d.policies), ['Patient.deceased']);
  assert.deepEqual(uncoveredFields(schema, d.policies, { 'Patient.deceased': 'not exposed yet' }), []);
});

// The principals of the matrix: roles, purposes of use and SMART scopes that matter.
const principal = (roles: Role[], purposeOfUse: PurposeOfUse | null, scopes: string[]): Principal => ({
  sub: 'm',
  roles,
  purposeOfUse,
  clientId: null,
  scopes,
  patientContext: null,
  breakGlassReason: null,
  clientIp: null,
  requestId: 'm',
});
const PRINCIPALS = {
  clinician: principal(['clinician'], 'TREAT', ['user/*.rs']),
  breakGlass: principal(['clinician'], 'ETREAT', ['user/*.read']),
  clinicianForPayment: principal(['clinician'], 'HPAYMT', ['user/*.rs']),
  clinicianConditionsOnly: principal(['clinician'], 'TREAT', ['patient/Patient.rs', 'patient/Condition.rs']),
  clinicianWithoutScopes: principal(['clinician'], 'TREAT', []),
  steward: principal(['steward'], null, ['user/*.rs']),
  analyst: principal(['analyst'], 'HRESCH', ['user/*.rs']),
  security: principal(['security'], null, ['user/*.rs']),
  integration: principal(['integration'], 'HOPERAT', []),
} as const;
type Who = keyof typeof PRINCIPALS;
const ALL = Object.keys(PRINCIPALS) as Who[];
const IDENTITY: Who[] = ['clinician', 'breakGlass', 'clinicianConditionsOnly', 'steward'];
const DEIDENTIFIED: Who[] = [...IDENTITY, 'analyst'];
const recordTypes = adapters.map((a) => a.recordType);

/** Who may read each field. Value-type fields are reachable only through an authorized field: everyone. */
function expectedReaders(subgraph: string, type: string, field: string): Who[] {
  if (['_service', '_entities'].includes(field) || type === '_Service') return ALL;
  if (subgraph === 'audit') return type === 'PageInfo' ? ALL : ['security'];
  if (subgraph === 'integration') {
    if (type === 'Mutation') return ['integration'];
    return type === 'Query' ? ['integration', 'security'] : ALL;
  }
  if (type === 'Mutation' || (type === 'Query' && ['reviewQueue', 'linkHistory', 'findPatients'].includes(field))) return ['steward'];
  if (['PatientLink', 'LinkEvent'].includes(type) && field === 'matchReason') return ['steward'];
  if (type === 'Query') return field === 'patients' ? DEIDENTIFIED : IDENTITY;
  // The merged clinical view: clinicians for treatment whose scopes read the list's resource types.
  if (subgraph === 'clinical' && type === 'Patient' && field !== 'id')
    return field === 'conditions' ? ['clinician', 'breakGlass', 'clinicianConditionsOnly'] : ['clinician', 'breakGlass'];
  if (type === 'Patient')
    return ['id', 'gender', 'birthYear', 'ageOver89', 'postalCodePrefix', 'mergedInto', 'redirectedFrom'].includes(field)
      ? DEIDENTIFIED
      : IDENTITY;
  if (['PatientConnection', 'PatientEdge', 'PageInfo'].includes(type)) return DEIDENTIFIED;
  if (recordTypes.includes(type)) {
    if (subgraph === 'mpi' || field === 'id') return IDENTITY;
    return field === 'conditions' ? ['clinician', 'breakGlass', 'clinicianConditionsOnly'] : ['clinician', 'breakGlass'];
  }
  return ALL;
}

test('access matrix: every decision, field by field and principal by principal', async () => {
  let decisions = 0;
  for (const d of definitions) {
    const schema = schemaOf(d);
    const tree = ruleTreeFor(schema, d.policies);
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.keys(type.getFields())) {
        const rule = tree[type.name]?.[field] as unknown as { resolve(...a: unknown[]): Promise<unknown> };
        const expected: Set<Who> = new Set(expectedReaders(d.name, type.name, field));
        for (const who of ALL) {
          const ctx = { principal: PRINCIPALS[who], _shield: { cache: {} } };
          const allowed: boolean = (await rule.resolve({}, {}, ctx, { parentType: type, fieldName: field }, { debug: false })) === true;
          assert.equal(allowed, expected.has(who), `${d.name}: ${type.name}.${field} for ${who}`);
          decisions++;
        }
      }
    }
  }
  assert.ok(decisions > 500, `${decisions} decisions`);
});
