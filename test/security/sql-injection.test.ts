// SQL injection strings in every argument of every query: each is refused as bad input or finds
// nothing, the database is intact afterwards, and each request is audited like any other.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../runtime/stack.ts';
import { gql, startTestStack, tokenFor } from '../support/stack.ts';

const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE golden_patient; --",
  '1; DELETE FROM audit_event',
  "00000000-0000-4000-8000-000000000000' OR 1=1 --",
  "\\'; SELECT pg_sleep(5); --",
  "%' UNION SELECT id::text FROM golden_patient --",
  '$1',
  '\u0000',
];

let stack: Stack;
let token: string;
let sub: string;
let patients: number;
before(async () => {
  stack = await startTestStack();
  ({ token, sub } = await tokenFor(stack, ['clinician']));
  patients = (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM golden_patient')).rows[0]!.n;
});
after(() => stack?.close());

test('every argument refuses or ignores injection strings, quickly and without leaking', async () => {
  for (const evil of INJECTIONS) {
    const started = Date.now();
    const cases = [
      ['query ($v: ID!) { patient(id: $v) { id } }', 'BAD_USER_INPUT'],
      ['query ($v: String!) { patientByIdentifier(system: $v, value: $v) { id } }', evil.includes('\u0000') ? 'BAD_USER_INPUT' : null],
      [
        'query ($v: String!) { patientByIdentifier(system: "http://hl7.org/fhir/sid/us-ssn", value: $v) { id } }',
        evil.includes('\u0000') ? 'BAD_USER_INPUT' : null,
      ],
      ['query ($v: String) { patients(first: 1, after: $v) { totalCount } }', 'BAD_USER_INPUT'],
      // Not a gender nor a configured source: refused by name.
      [
        'query ($v: String) { patients(first: 5, filter: { gender: $v, source: $v }) { totalCount edges { node { id } } } }',
        'BAD_USER_INPUT',
      ],
      ['query ($v: String) { patients(first: 1, filter: { postalCodePrefix: $v }) { totalCount } }', 'BAD_USER_INPUT'],
    ] as const;
    for (const [query, expectedCode] of cases) {
      const res = await gql<Record<string, unknown>>(stack, token, query, { v: evil });
      const body = JSON.stringify(res.body);
      if (expectedCode)
        assert.equal(res.body.errors?.[0]?.extensions?.code, expectedCode, `${query} with ${JSON.stringify(evil)}: ${body}`);
      else {
        assert.equal(res.body.errors, undefined, `${query} with ${JSON.stringify(evil)}: ${body}`);
        assert.doesNotMatch(body, /"id":"[0-9a-f-]{36}"/, 'an injection string matched a patient');
      }
      assert.doesNotMatch(body, /syntax error|relation|pg_|SELECT/i, 'database details leaked');
    }
    assert.ok(Date.now() - started < 4000, 'no injected sleep ran');
  }
  assert.equal((await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM golden_patient')).rows[0]!.n, patients);
  // Nothing was returned, so nothing was audited as returned.
  const audited = await stack.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_event WHERE actor_sub = $1 AND decision = 'permit'",
    [sub],
  );
  assert.equal(audited.rows[0]!.n, 0);
});
