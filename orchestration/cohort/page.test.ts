// Keyset pages under concurrent change: patients inserted, merged and unmerged between pages are
// never shown twice and never skipped (a merged-away patient is answered by its survivor once),
// in every order; cursors are signed and bound to their filter, order and view.
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { ProductError } from '../../platform/errors.ts';
import { loadUnitRules } from '../../translation/units.ts';
import { defaultTerminology } from '../../translation/terminology/translate.ts';
import { mergePatients, unmergePatient } from '../mpi/stewardship.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';
import { cohortCriteria, type PatientFilterInput } from './criteria.ts';
import { cohortCursors, cursorScope, type CursorPosition } from './cursor.ts';
import { snomedDescendants } from './descendants.ts';
import { COHORT_ORDER, cohortPage, type CohortOrder } from './page.ts';
import { CERNER, EPIC, openCohortTestDb, someone, steward } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => (t = await openCohortTestDb()));
after(() => t.close());

const cursors = cohortCursors(createSecretKey(randomBytes(32)));
const context = {
  deidentified: false,
  sources: new Set([EPIC, CERNER]),
  units: loadUnitRules(),
  descendants: snomedDescendants(defaultTerminology()),
  today: '2026-12-05',
};
const coarsening = { oldestCategoryBirthYear: 1936, restrictedZip3: [] };

let seq = 0;
const newPatient = (gender = 'female') =>
  someone(t, seq % 2 ? EPIC : CERNER, `P${++seq}`, {
    gender,
    birthDate: `19${String(40 + ((seq * 7) % 60)).padStart(2, '0')}-0${1 + (seq % 9)}-15`,
  });

const active = async (): Promise<Set<string>> =>
  new Set(
    (await t.db.query<{ id: string }>(`SELECT id::text FROM golden_patient WHERE status = 'ACTIVE' AND gender = 'female'`)).rows.map(
      (r) => r.id,
    ),
  );

/** Pages through the female cohort 2 at a time through signed cursors, calling `between` after each page. */
async function pageThrough(order: CohortOrder, between: (page: number, seen: readonly string[]) => Promise<void>): Promise<string[]> {
  const filter: PatientFilterInput = { gender: 'female' };
  const scope = cursorScope(filter, order, 'identified');
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const position: CursorPosition | null = cursor === null ? null : cursors.decode(scope, cursor);
    const r = await cohortPage(t.db, t.protection, {
      criteria: cohortCriteria(filter, context),
      order,
      deidentified: false,
      coarsening,
      onlyId: null,
      first: 2,
      after: position,
    });
    seen.push(...r.members.map((m) => m.patient.id));
    if (!r.hasNextPage) return seen;
    cursor = cursors.encode(scope, r.members.at(-1)!.position);
    await between(page, seen);
  }
  throw new Error('paging did not end');
}

// In birth-date order a merge may change the survivor's birth date (survivorship), moving it across
// the cursor: the order is stable under inserts, and merges are exercised in id order (the default).
for (const [order, merging] of [
  [COHORT_ORDER.id, true],
  [COHORT_ORDER.birthDate, false],
] as const)
  test(`${order} order: inserts${merging ? ', merges and an unmerge' : ''} between pages skip no one and repeat no one`, async () => {
    for (let i = 0; i < 16; i++) await newPatient(i % 4 === 0 ? 'male' : 'female');
    const before = await active();
    let mergedSeen: string | undefined;
    let survivorUnseen: string | undefined;
    let mergedUnseen: string | undefined;
    const inserted: string[] = [];
    const seen = await pageThrough(order, async (page, sofar) => {
      inserted.push(await newPatient());
      const unseen = [...(await active())].filter((id) => !sofar.includes(id) && !inserted.includes(id)).sort();
      if (merging && page === 0 && unseen.length >= 3) {
        // A patient already shown merged into one not shown yet: the survivor comes once, later.
        [mergedSeen, survivorUnseen] = [sofar[0]!, unseen[0]!];
        await mergePatients(steward(t.db, t.protection), survivorUnseen, mergedSeen);
        // A patient not shown yet merged into one already shown: neither comes again.
        mergedUnseen = unseen[1]!;
        await mergePatients(steward(t.db, t.protection), sofar[1]!, mergedUnseen);
      }
      // Undone while paging: the patient comes back as a cohort member it was before the merge.
      if (page === 1 && mergedSeen) await unmergePatient(steward(t.db, t.protection), mergedSeen);
    });
    assert.ok(!merging || (mergedSeen && survivorUnseen && mergedUnseen), 'the merges happened');
    assert.equal(new Set(seen).size, seen.length, 'no patient is shown twice');
    // Every patient present from start to end is shown.
    const after = await active();
    const throughout = [...before].filter((id) => after.has(id));
    assert.deepEqual(
      throughout.filter((id) => !seen.includes(id)),
      [],
      'no patient is skipped',
    );
    if (merging) assert.equal(seen.filter((id) => id === survivorUnseen).length, 1, 'the survivor is shown once');
    assert.ok(!merging || !seen.includes(mergedUnseen!), 'a patient merged away before its turn is not shown');
    assert.ok(inserted.length >= 2, 'patients were inserted while paging');
  });

test('cursors are bound to their filter, order and view; an altered cursor is refused', () => {
  const scope = cursorScope({ gender: 'female', source: null }, COHORT_ORDER.id, 'identified');
  // Equal filters, however written, share cursors.
  assert.equal(scope, cursorScope({ source: undefined, gender: 'female' }, COHORT_ORDER.id, 'identified'));
  const position = { key: null, id: '0b5d3f1e-8c1a-4c55-9e0f-6a2b7d9c1e11' };
  const cursor = cursors.encode(scope, position);
  assert.deepEqual(cursors.decode(scope, cursor), position);
  const refused = (s: string, c: string) =>
    assert.throws(
      () => cursors.decode(s, c),
      (e: ProductError) => e.code === 'BAD_USER_INPUT' && e.details?.argument === 'after',
    );
  refused(cursorScope({ gender: 'male' }, COHORT_ORDER.id, 'identified'), cursor);
  refused(cursorScope({ gender: 'female' }, COHORT_ORDER.birthDate, 'identified'), cursor);
  refused(cursorScope({ gender: 'female' }, COHORT_ORDER.id, 'deidentified'), cursor);
  const [body, tag] = cursor.split('.') as [string, string];
  const forged = Buffer.from(JSON.stringify([1, null, 'ffffffff-8c1a-4c55-9e0f-6a2b7d9c1e11'])).toString('base64url');
  refused(scope, `${forged}.${tag}`);
  refused(scope, `${body}.${tag.slice(0, -2)}AA`);
  refused(scope, body);
  refused(scope, `${cursor}.x`);
  // Another key (another deployment) signs other cursors.
  refused(scope, cohortCursors(createSecretKey(randomBytes(32))).encode(scope, position));
});

test('a floor count (the small-cell check nobody reads) is answered by a full page, else counted up to the bound', async () => {
  for (let i = 0; i < 4; i++) await newPatient('unknown');
  const statements: string[] = [];
  const watched = { query: (text: string, values?: readonly unknown[]) => (statements.push(text), t.db.query(text, values)) };
  const floor = (filter: PatientFilterInput, first: number, bound: number) =>
    cohortPage(watched as typeof t.db, t.protection, {
      criteria: cohortCriteria(filter, context),
      order: COHORT_ORDER.id,
      deidentified: false,
      coarsening,
      onlyId: null,
      first,
      after: null,
      countBound: bound,
      countFloorOnly: true,
    });
  const all = await active();
  // The page alone shows the cohort exceeds the bound: one statement, the page's.
  const full = await floor({ gender: 'female' }, 5, 3);
  assert.deepEqual([full.totalCount, full.totalCountIsEstimate, statements.length], [4, true, 1]);
  // A short page (2 of 4 unknown) cannot show it: counted, exactly up to the bound.
  statements.length = 0;
  const short = await floor({ gender: 'unknown' }, 1, 10);
  assert.deepEqual([short.totalCount, short.totalCountIsEstimate, statements.length], [4, false, 2]);
  // Above the bound without the page showing it: the bound + 1, flagged, and no planner estimate asked.
  statements.length = 0;
  const above = await floor({ gender: 'female' }, 1, 3);
  assert.deepEqual([above.totalCount, above.totalCountIsEstimate], [4, true]);
  assert.ok(!statements.some((s) => s.startsWith('EXPLAIN')), statements.join('\n'));
  assert.ok(all.size > 4, 'the female cohort is larger than the bound');
});
