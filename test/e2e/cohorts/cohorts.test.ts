// Cohorts through the gateway: a clinical filter (a LOINC code with a value range) returns the
// patients whose merged observations match; analysts get de-identified members and no small
// cells, and filter on what they see; cursors are signed for one filter, order and view; a page
// is audited with every patient it exposed in one audit write.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Stack } from '../../../runtime/stack.ts';
import { protectionFor } from '../../../runtime/components.ts';
import { loadAdapters, loadVendorProfile } from '../../../platform/config.ts';
import { ingestResources } from '../../../orchestration/clinical-store/ingest.ts';
import { loadTerminology } from '../../../translation/terminology/translate.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const EPIC = 'epic-main';
const HBA1C = { system: 'http://loinc.org', code: '4548-4' };
// A year the synthetic population does not use, so items the initial load may store never interfere.
const YEAR = '2001';

let stack: Stack;
let clinician: string;
let analyst: string;
/** Golden ids with an HbA1c of 9 % or more in 2001 (12), and those below (3) or withdrawn (1). */
let high: string[];

const hba1c = (patient: string, value: number, extra: object = {}) => ({
  resourceType: 'Observation',
  id: `a1c-${randomUUID().slice(0, 8)}`,
  status: 'final',
  code: { coding: [HBA1C] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: `${YEAR}-06-0${1 + (Math.round(value * 10) % 7)}T10:00:00Z`,
  valueQuantity: { value, unit: '%' },
  ...extra,
});

before(async () => {
  stack = await startTestStack();
  clinician = (await tokenFor(stack, ['clinician'])).token;
  analyst = (await tokenFor(stack, ['analyst'])).token;
  const records = await stack.db.query<{ golden_id: string; id: string }>(
    `SELECT s.golden_id::text, s.source_patient_id AS id FROM source_record s JOIN golden_patient g ON g.id = s.golden_id
     WHERE s.source = $1 AND s.deleted_at IS NULL AND g.status = 'ACTIVE' ORDER BY s.source_patient_id LIMIT 16`,
    [EPIC],
  );
  assert.equal(records.rows.length, 16);
  const connection = stack.connections.find((c) => c.id === EPIC)!;
  const profile = loadAdapters().find((a) => a.name === connection.adapter)!.profile;
  const values = [9, 9.4, 10, 11, 12.5, 9.1, 9.9, 13, 9.2, 10.5, 9.7, 14, 7, 6.5, 8.9];
  const report = await ingestResources(
    stack.db,
    [
      ...values.map((v, i) => hba1c(records.rows[i]!.id, v)),
      // Withdrawn by its source: leaves the cohort.
      hba1c(records.rows[15]!.id, 12, { status: 'entered-in-error' }),
    ],
    {
      source: EPIC,
      timeZone: connection.timeZone,
      retrievedAt: new Date().toISOString(),
      terminology: loadTerminology(),
      numbersAsStrings: loadVendorProfile(profile).numbersAsStrings,
    },
    protectionFor(stack.keys),
  );
  assert.deepEqual(report.quarantined, []);
  high = [...new Set(records.rows.slice(0, 12).map((r) => r.golden_id))].sort();
});
after(() => stack?.close());

type Page = {
  patients: {
    totalCount: number | null;
    totalCountIsEstimate: boolean;
    countSuppressed: boolean;
    edges: { cursor: string; node: { id: string; birthYear?: number | null } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};
const PAGE = `query ($f: PatientFilter, $n: Int, $a: String, $o: PatientOrder) {
  patients(filter: $f, first: $n, after: $a, orderBy: $o) {
    totalCount totalCountIsEstimate countSuppressed edges { cursor node { id birthYear } } pageInfo { hasNextPage endCursor }
  }
}`;
const page = (token: string, f: unknown, n = 50, a: string | null = null, o = 'ID') => gql<Page>(stack, token, PAGE, { f, n, a, o });

async function all(token: string, f: unknown, n: number, o = 'ID'): Promise<{ ids: string[]; totalCount: number | null }> {
  const ids: string[] = [];
  let first: Page['patients'] | undefined;
  for (let a: string | null = null; ;) {
    const res = await page(token, f, n, a, o);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    const p = res.body.data!.patients;
    first ??= p;
    ids.push(...p.edges.map((e) => e.node.id));
    if (!p.pageInfo.hasNextPage) return { ids, totalCount: first.totalCount };
    a = p.pageInfo.endCursor;
  }
}

const a1cFilter = (from: string) => ({ observation: { code: '4548-4', valueFrom: 9, unit: '%', from, to: YEAR } });

test('a LOINC code with a value range returns the patients whose merged observations match, exactly', async () => {
  const { ids, totalCount } = await all(clinician, a1cFilter(`${YEAR}-01-01`), 5);
  assert.deepEqual([...ids].sort(), high);
  assert.equal(totalCount, high.length);
  // The same cohort in birth-date order: the same members, once each.
  const byBirth = await all(clinician, a1cFilter(`${YEAR}-01-01`), 5, 'BIRTH_DATE');
  assert.deepEqual([...byBirth.ids].sort(), high);
});

test('paging through gender female, 50 at a time, returns every match once, as many as totalCount says', async () => {
  const { ids, totalCount } = await all(clinician, { gender: 'female' }, 50);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids.length, totalCount);
  const expected = await stack.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM golden_patient WHERE status = 'ACTIVE' AND gender = 'female'`,
  );
  assert.equal(totalCount, expected.rows[0]!.n);
});

test('analysts get de-identified members, filter on years only, and no small cells', async () => {
  const res = await page(analyst, a1cFilter(YEAR));
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.deepEqual(res.body.data!.patients.edges.map((e) => e.node.id).sort(), high);
  assert.equal(res.body.data!.patients.totalCount, 12);
  // Names are not the analyst's to read.
  const names = await gql(stack, analyst, `{ patients(first: 1) { edges { node { name { family } } } } }`);
  assert.ok(names.body.errors?.every((e) => e.extensions?.code === 'FORBIDDEN'));
  // Two patients above 12.9 %: a cell under 11 (a clinician counts them).
  const byUpdate = await page(analyst, {}, 5, null, 'UPDATED_AT');
  assert.deepEqual(
    [byUpdate.body.errors?.[0]?.extensions?.code, byUpdate.body.errors?.[0]?.extensions?.argument],
    ['BAD_USER_INPUT', 'orderBy'],
  );
  const small = { observation: { code: '4548-4', valueFrom: 12.9, from: YEAR, to: YEAR } };
  assert.deepEqual((await page(analyst, small)).body.data!.patients, {
    totalCount: null,
    totalCountIsEstimate: false,
    countSuppressed: true,
    edges: [],
    pageInfo: { hasNextPage: false, endCursor: null },
  });
  assert.equal((await page(clinician, small)).body.data!.patients.totalCount, 2);
  // Not asking for the count does not lift the small-cell rule: the page is withheld all the same.
  const uncounted = await gql<Page>(
    stack,
    analyst,
    `query ($f: PatientFilter) { patients(filter: $f, first: 50) { edges { node { id } } } }`,
    {
      f: small,
    },
  );
  assert.deepEqual(uncounted.body.data!.patients.edges, []);
  // A large cohort asked without its count: a full page, nothing counted beyond the small-cell floor.
  const many = await gql<Page>(stack, analyst, `{ patients(first: 20) { edges { node { id } } pageInfo { hasNextPage } } }`);
  assert.equal(many.body.data!.patients.edges.length, 20);
  // Finer than the de-identified view: refused, naming the argument.
  for (const [f, argument] of [
    [a1cFilter(`${YEAR}-06-01`), 'filter.observation.from'],
    [{ or: [{ gender: 'male' }, { birthDateFrom: '1970-01-01' }] }, 'filter.or[1].birthDateFrom'],
  ] as const) {
    const refused = await page(analyst, f);
    assert.deepEqual(
      [refused.body.errors?.[0]?.extensions?.code, refused.body.errors?.[0]?.extensions?.argument],
      ['BAD_USER_INPUT', argument],
      JSON.stringify(refused.body),
    );
  }
});

test('cohort pages take up to 1,000 members; a large page that selects much is refused by cost', async () => {
  const lean = `{ patients(first: 1000, filter: { gender: "female" }) { edges { cursor node { id gender birthYear postalCodePrefix } } } }`;
  const ok = await gql<{ patients: { edges: unknown[] } }>(stack, analyst, lean);
  assert.equal(ok.body.errors, undefined, JSON.stringify(ok.body.errors));
  const female = await stack.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM golden_patient WHERE status = 'ACTIVE' AND gender = 'female'`,
  );
  assert.equal(ok.body.data!.patients.edges.length, Math.min(1000, female.rows[0]!.n));
  const tooBig = await gql(stack, analyst, lean.replace('first: 1000', 'first: 1001'));
  assert.deepEqual([tooBig.body.errors?.[0]?.extensions?.limit, tooBig.body.errors?.[0]?.extensions?.max], ['pageSize', 1000]);
  const heavy = `{ patients(first: 1000) { totalCount edges { node { id name { family given } birthDate gender identifiers { system value } sourceRecords { id source mrn } } } } }`;
  const refused = await gql(stack, clinician, heavy);
  assert.equal(refused.body.errors?.[0]?.extensions?.limit, 'cost', JSON.stringify(refused.body.errors));
  assert.equal(refused.body.data, undefined);
});

test('bad filters are BAD_USER_INPUT naming the argument', async () => {
  for (const [f, argument] of [
    [{ gender: 'nobody' }, 'filter.gender'],
    [{ source: 'nowhere' }, 'filter.source'],
    [{ and: [] }, 'filter.and'],
    [{ condition: { system: 'http://example.org/codes', codes: ['E11'] } }, 'filter.condition.system'],
    [{ observation: { code: '4548-4', valueFrom: 10, valueTo: 9 } }, 'filter.observation.valueTo'],
  ] as const) {
    const res = await page(clinician, f);
    assert.deepEqual([res.body.errors?.[0]?.extensions?.code, res.body.errors?.[0]?.extensions?.argument], ['BAD_USER_INPUT', argument]);
  }
});

test('a cursor is good only for its filter, order and view; an altered one is refused', async () => {
  const first = await page(clinician, { gender: 'female' }, 5);
  const cursor = first.body.data!.patients.pageInfo.endCursor!;
  assert.equal((await page(clinician, { gender: 'female' }, 5, cursor)).body.errors, undefined);
  const refused = async (token: string, f: unknown, c: string, o = 'ID') => {
    const res = await page(token, f, 5, c, o);
    assert.deepEqual([res.body.errors?.[0]?.extensions?.code, res.body.errors?.[0]?.extensions?.argument], ['BAD_USER_INPUT', 'after']);
  };
  await refused(clinician, { gender: 'male' }, cursor);
  await refused(clinician, { gender: 'female' }, cursor, 'BIRTH_DATE');
  await refused(analyst, { gender: 'female' }, cursor);
  const [body, tag] = cursor.split('.') as [string, string];
  const position = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
  const moved = Buffer.from(JSON.stringify([position[0], position[1], '00000000-0000-4000-8000-000000000000'])).toString('base64url');
  await refused(clinician, { gender: 'female' }, `${moved}.${tag}`);
});

test('a page is audited with every patient it exposed, in one audit write', async () => {
  const { token, sub } = await tokenFor(stack, ['analyst']);
  const res = await page(token, { gender: 'female' }, 7);
  const shown = res.body.data!.patients.edges.map((e) => `Patient/${e.node.id}`).sort();
  assert.equal(shown.length, 7);
  const rows = await stack.db.query<{ seq: string; recorded_at: Date; patient_ref: string; fields: string[] }>(
    `SELECT seq::text, recorded_at, patient_ref, fields FROM audit_event WHERE actor_sub = $1 AND decision = 'permit' ORDER BY seq`,
    [sub],
  );
  // One row per patient shown, appended by one audit_append: one time, consecutive sequence numbers.
  const last = rows.rows;
  assert.deepEqual(last.map((r) => r.patient_ref).sort(), shown);
  for (const r of last) assert.ok(r.fields.includes('Query.patients'), r.fields.join());
  assert.equal(new Set(last.map((r) => r.recorded_at.toISOString())).size, 1);
  const seqs = last.map((r) => Number(r.seq));
  assert.equal(seqs.at(-1)! - seqs[0]!, 6);
});
