// The analyst's de-identified view follows HIPAA Safe Harbor (45 CFR 164.514(b)(2)) through the
// gateway: no birth year that reveals an age over 89, no three-digit ZIP of an area of 20,000
// people or fewer, no count of a tiny cohort (and no filter that gets around any of these), while
// clinicians and stewards keep exact counts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../../runtime/stack.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
let analyst: string;
let clinician: string;
type Exact = { id: string; birthDate: string | null; gender: string | null; addresses: { postalCode: string | null }[] };
let people: Exact[];
const CUTOFF = new Date().getUTCFullYear() - 90; // born in or before: the "90 or older" category
const yearOf = (p: Exact) => (p.birthDate ? Number(p.birthDate.slice(0, 4)) : null);

const SET_FIELDS = `mutation ($id: ID!, $f: PatientFieldsInput!) { setPatientFields(patientId: $id, fields: $f, reason: "test fixture") { changed } }`;

before(async () => {
  stack = await startTestStack();
  analyst = (await tokenFor(stack, ['analyst'])).token;
  clinician = (await tokenFor(stack, ['clinician'])).token;
  const steward = (await tokenFor(stack, ['steward'])).token;
  const all = () => everyone<Exact>(clinician, 'id birthDate gender addresses { postalCode }');
  const some = (await all()).filter((p) => yearOf(p) !== null && yearOf(p)! > CUTOFF + 5);
  // Fixtures a steward sets: two people over 89 (one turning 90 this year), two in small ZIP areas.
  const fixtures = [
    { birthDate: `${CUTOFF}-12-31` },
    { birthDate: `${CUTOFF - 7}-02-03` },
    { addresses: [{ line: ['1 Test Road'], city: 'Testville', postalCode: '03601' }] },
    { addresses: [{ line: ['2 Test Road'], city: 'Testville', postalCode: '89310-1234' }] },
  ];
  for (const [i, f] of fixtures.entries()) {
    const res = await gql(stack, steward, SET_FIELDS, { id: some[i]!.id, f });
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  }
  people = await all();
});
after(() => stack?.close());

/** Every patient, page by page, with the fields `selection` asks for. */
async function everyone<T>(token: string, selection: string): Promise<T[]> {
  type Page = { patients: { edges: { node: T }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } };
  const nodes: T[] = [];
  for (let after: string | null = null; ;) {
    const res: { body: { data?: Page | null; errors?: unknown } } = await gql<Page>(
      stack,
      token,
      `query ($a: String) { patients(first: 100, after: $a) { edges { node { ${selection} } } pageInfo { hasNextPage endCursor } } }`,
      { a: after },
    );
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    nodes.push(...res.body.data!.patients.edges.map((e) => e.node));
    if (!res.body.data!.patients.pageInfo.hasNextPage) return nodes;
    after = res.body.data!.patients.pageInfo.endCursor;
  }
}

type Shown = { id: string; birthYear: number | null; ageOver89: boolean | null; postalCodePrefix: string | null };
const shown = async (token: string): Promise<Map<string, Shown>> =>
  new Map((await everyone<Shown>(token, 'id birthYear ageOver89 postalCodePrefix')).map((n) => [n.id, n]));
const count = async (token: string, filter: string) =>
  (
    await gql<{ patients: { totalCount: number | null; countSuppressed: boolean; edges: unknown[] } }>(
      stack,
      token,
      `{ patients(first: 100, filter: ${filter}) { totalCount countSuppressed edges { node { id } } } }`,
    )
  ).body.data!.patients;

test('no birth year reveals an age over 89: they are one "90 or older" category', async () => {
  const view = await shown(analyst);
  const old = people.filter((p) => yearOf(p) !== null && yearOf(p)! <= CUTOFF);
  assert.ok(old.length >= 2, 'the fixtures are over 89');
  for (const p of people) {
    const v = view.get(p.id)!;
    const year = yearOf(p);
    if (year === null) assert.deepEqual([v.birthYear, v.ageOver89], [null, null]);
    else if (year <= CUTOFF) assert.deepEqual([v.birthYear, v.ageOver89], [null, true], p.id);
    else assert.deepEqual([v.birthYear, v.ageOver89], [year, false], p.id);
  }
});

test('three-digit ZIPs of areas with 20,000 people or fewer read 000', async () => {
  const view = await shown(analyst);
  const small = people.filter((p) => /^(036|893)/.test(p.addresses[0]?.postalCode ?? ''));
  assert.equal(small.length, 2);
  for (const p of small) assert.equal(view.get(p.id)!.postalCodePrefix, '000');
  for (const p of people.filter((x) => !small.includes(x)))
    assert.equal(view.get(p.id)!.postalCodePrefix, p.addresses[0]?.postalCode?.slice(0, 3) ?? null);
});

test('filters cannot isolate the over-89 or the small areas (exact counts for a clinician show it)', async () => {
  // An exact birth year of the category, or a range inside it, matches nobody: those people have no birth year.
  const oldYear = yearOf(people.find((p) => yearOf(p) !== null && yearOf(p)! <= CUTOFF)!)!;
  for (const filter of [
    `{ birthYearFrom: ${oldYear}, birthYearTo: ${oldYear} }`,
    `{ birthYearFrom: 1800, birthYearTo: ${CUTOFF} }`,
    '{ postalCodePrefix: "036" }',
    '{ postalCodePrefix: "893" }',
  ])
    assert.equal((await count(clinician, filter)).totalCount, 0, filter);
  // The categories themselves can be selected, as a whole.
  const over89 = people.filter((p) => yearOf(p) !== null && yearOf(p)! <= CUTOFF).length;
  assert.equal((await count(clinician, '{ ageOver89: true }')).totalCount, over89);
  assert.equal((await count(clinician, '{ postalCodePrefix: "000" }')).totalCount, 2);
});

test('an analyst gets neither the count nor the members of a cohort under 11; a clinician gets the exact count', async () => {
  // A four-way filter around one person.
  const p = people.find(
    (x) => yearOf(x) !== null && yearOf(x)! > CUTOFF && x.gender && /^(?!036|893)\d{5}/.test(x.addresses[0]?.postalCode ?? ''),
  )!;
  const filter = `{ gender: "${p.gender}", birthYearFrom: ${yearOf(p)}, birthYearTo: ${yearOf(p)}, postalCodePrefix: "${p.addresses[0]!.postalCode!.slice(0, 3)}" }`;
  const exact = await count(clinician, filter);
  assert.ok(exact.totalCount! >= 1 && exact.totalCount! <= 10, String(exact.totalCount));
  assert.equal(exact.countSuppressed, false);
  assert.deepEqual(await count(analyst, filter), { totalCount: null, countSuppressed: true, edges: [] });
  // A large cohort, and an empty one, are counted.
  const everyone = await count(analyst, '{}');
  assert.equal(everyone.countSuppressed, false);
  assert.equal(everyone.totalCount, people.length);
  assert.deepEqual(await count(analyst, '{ birthYearFrom: 1800, birthYearTo: 1801 }'), {
    totalCount: 0,
    countSuppressed: false,
    edges: [],
  });
});
