// Automatic linking on a real database (PostgreSQL when DATABASE_URL is set, else PGlite):
// decision bands, provisional records for poor data, re-matching on updates, concurrency.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareFeatures, loadMatchingConfig, matchFeatures, type MatchingConfig } from './matching/index.ts';
import { blockKey, deleteSourceRecord, linkSourceRecord, prepare, withoutNul } from './linking.ts';
import { goldenByIds, linkBySourceRecord, linkHistory, linksForGolden, reviewQueuePage } from './store.ts';
import { recomputeGolden } from './golden.ts';
import { loadSurvivorshipConfig } from './survivorship.ts';
import { openMpiTestDb, person, type MpiTestDb } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => (t = await openMpiTestDb()));
after(() => t.close());

const matching = loadMatchingConfig();
const ada = (source: string, id: string, extra: Partial<Parameters<typeof person>[0]> = {}) =>
  person({
    source,
    id,
    family: 'Quillfeather',
    given: ['Adelina'],
    birthDate: '1971-04-02',
    ssn: '512345678',
    line: '12 Juniper Avenue',
    postalCode: '62704',
    phone: '217-555-0142',
    ...extra,
  });

test('the same person from two EHRs is linked (MATCH) into one golden record with evidence', async () => {
  const a = await linkSourceRecord(t.db, ada('epic-main', 'A1'), t.protection);
  assert.equal(a.decision, 'NO_MATCH');
  assert.equal(a.created, true);
  const b = await linkSourceRecord(t.db, ada('cerner-main', 'A1', { line: '12 Juniper Ave', phone: '(217) 555-0142' }), t.protection);
  assert.equal(b.decision, 'MATCH');
  assert.equal(b.goldenId, a.goldenId);
  assert.ok(b.score! >= matching.thresholds.autoLink);
  const link = await linkBySourceRecord(t.db, 'cerner-main', 'A1');
  assert.equal(link?.state, 'MATCH');
  assert.equal(link?.origin, 'AUTO');
  assert.ok(link!.evidence.length >= 5, 'per-field evidence is kept with the link');
  const golden = (await goldenByIds(t.db, [a.goldenId], t.protection)).get(a.goldenId)!;
  assert.equal(golden.provisional, false, 'confirmed by a match');
  assert.equal(golden.identifiers.find((i) => i.type === 'SS')?.value, '512345678', 'SSN readable through the store');
  assert.ok(golden.provenance.some((p) => p.field === 'name'));
});

test('a different person is a new provisional golden record (NO_MATCH)', async () => {
  const other = await linkSourceRecord(
    t.db,
    person({
      source: 'epic-main',
      id: 'Z1',
      family: 'Brackenridge',
      given: ['Tobias'],
      birthDate: '1950-11-30',
      line: '400 Pine Road',
      postalCode: '10001',
    }),
    t.protection,
  );
  assert.equal(other.decision, 'NO_MATCH');
  assert.equal(other.created, true);
  assert.equal((await goldenByIds(t.db, [other.goldenId], t.protection)).get(other.goldenId)?.provisional, true);
});

test('decision bands: the same kind of pair is linked, queued for review or kept apart as the thresholds say', async () => {
  // Pairs whose score sits between 0 and 1: same name and birth year, one birth date partial, nothing else known.
  const pair = (family: string, birthDate: string) =>
    [
      person({ source: 'epic-main', id: family, family, given: ['Lucinda'], birthDate }),
      person({ source: 'cerner-main', id: family, family, given: ['Lucinda'], birthDate: birthDate.slice(0, 4) }),
    ] as const;
  const bands = (autoLink: number, review: number): MatchingConfig => ({ ...matching, thresholds: { autoLink, review } });
  const cases = [
    { family: 'Ormsby', birthDate: '1988-09-09', expected: 'MATCH', config: (s: number) => bands(s - 0.001, s - 0.002) },
    {
      family: 'Thistlewood',
      birthDate: '1978-02-03',
      expected: 'POSSIBLE_MATCH',
      config: (s: number) => bands(Math.min(s + 0.001, 1), s - 0.001),
    },
    {
      family: 'Wetherell',
      birthDate: '1968-05-06',
      expected: 'NO_MATCH',
      config: (s: number) => bands(Math.min(s + 0.002, 1), Math.min(s + 0.001, 1)),
    },
  ] as const;
  for (const c of cases) {
    const [p1, p2] = pair(c.family, c.birthDate);
    const score = compareFeatures(matchFeatures(p1, matching), matchFeatures(p2, matching), matching).probability;
    assert.ok(score > 0.01 && score < 0.998, `an ambiguous pair (score ${score})`);
    const first = await linkSourceRecord(t.db, p1, t.protection, { matching: c.config(score) });
    const second = await linkSourceRecord(t.db, p2, t.protection, { matching: c.config(score) });
    assert.equal(second.decision, c.expected, `band ${c.expected}`);
    assert.equal(second.goldenId === first.goldenId, c.expected === 'MATCH');
    const queue = await reviewQueuePage(t.db, 100, undefined);
    const item = queue.items.find((i) => i.record?.sourcePatientId === c.family);
    assert.equal(Boolean(item), c.expected === 'POSSIBLE_MATCH', 'only the middle band is queued for review');
    if (item) {
      assert.equal(item.kind, 'POSSIBLE_MATCH');
      assert.equal(item.goldenId, second.goldenId);
      assert.equal(item.candidateId, first.goldenId);
      assert.ok(item.evidence.length > 0);
    }
  }
});

test('a record without name and birth date is never linked automatically: provisional, flagged', async () => {
  const ssnTwin = await linkSourceRecord(
    t.db,
    person({ source: 'epic-main', id: 'Q1', family: 'Vantongeren', given: ['Maud'], ssn: '598765432', phone: '312-555-0177' }),
    t.protection,
  );
  const blank = await linkSourceRecord(
    t.db,
    person({ source: 'cerner-main', id: 'Q1', family: null, given: [], birthDate: null, ssn: '598765432', phone: '312-555-0177' }),
    t.protection,
  );
  assert.notEqual(blank.decision, 'MATCH');
  assert.notEqual(blank.goldenId, ssnTwin.goldenId);
  assert.ok(blank.flags.includes('NO_NAME') && blank.flags.includes('NO_BIRTH_DATE'), blank.flags.join());
  const golden = (await goldenByIds(t.db, [blank.goldenId], t.protection)).get(blank.goldenId)!;
  assert.equal(golden.provisional, true);
  assert.ok(golden.dataQuality.includes('NO_NAME'));
});

test('garbage demographics are normalized or flagged, never a crash', async () => {
  const weird = person({ source: 'epic-main', id: 'W1', family: '\u200b\u0000ＱＵＩＬＬ\u202e', given: ['', '😀'], birthDate: null });
  const outcome = await linkSourceRecord(
    t.db,
    {
      ...weird,
      birthDateAsRecorded: '2099-13-45',
      addresses: [{ use: null, line: ['', 'x'.repeat(5000)], city: '', state: null, postalCode: '', country: null }],
    },
    t.protection,
  );
  assert.ok(outcome.goldenId);
  assert.notEqual(outcome.decision, 'MATCH');
});

test('a record sent again unchanged is not decided again: one CREATED in its history, nothing rewritten', async () => {
  const rec = ada('epic-main', 'R1', { family: 'Hollingbrook', given: ['Perpetua'], ssn: '566112233', birthDate: '1948-10-10' });
  const first = await linkSourceRecord(t.db, rec, t.protection);
  const queued = async () => (await reviewQueuePage(t.db, 1000, undefined)).items.length;
  const golden = async () =>
    (await t.db.query('SELECT xmin::text, updated_at FROM golden_patient WHERE id = $1', [first.goldenId])).rows[0];
  const [reviews, stored] = [await queued(), await golden()];
  for (const _ of [2, 3]) {
    const again = await linkSourceRecord(t.db, structuredClone(rec), t.protection);
    assert.deepEqual(again, { ...first, created: false });
  }
  assert.deepEqual(
    (await linkHistory(t.db, 'epic-main', 'R1')).map((e) => e.action),
    ['CREATED'],
  );
  assert.equal(await queued(), reviews, 'no review item');
  assert.deepEqual(await golden(), stored, 'the golden record is not rewritten');
});

test('a state older than the stored one (a replayed or late message) changes nothing; the same data later is unchanged', async () => {
  const at = (lastUpdated: string, family: string) =>
    ada('epic-main', 'L1', { family, given: ['Wilhelmina'], ssn: '577220011', birthDate: '1958-06-14', lastUpdated });
  const first = await linkSourceRecord(t.db, at('2026-03-01T10:00:00Z', 'Trelawney'), t.protection);
  const renamed = await linkSourceRecord(t.db, at('2026-03-02T10:00:00Z', 'Ashcombe'), t.protection);
  assert.equal(renamed.goldenId, first.goldenId);
  const history = async () => (await linkHistory(t.db, 'epic-main', 'L1')).map((e) => e.action);
  const before = await history();
  // The older message arrives again: the newer name stays, nothing is written.
  const late = await linkSourceRecord(t.db, at('2026-03-01T10:00:00Z', 'Trelawney'), t.protection);
  assert.equal(late.goldenId, first.goldenId);
  // The newer data sent again at a later time: still the same record, nothing decided again.
  await linkSourceRecord(t.db, at('2026-03-05T08:00:00Z', 'Ashcombe'), t.protection);
  assert.deepEqual(await history(), before);
  const golden = (await goldenByIds(t.db, [first.goldenId], t.protection)).get(first.goldenId)!;
  assert.equal(golden.name?.family, 'Ashcombe');
});

test('an update re-evaluates an automatic link; an unchanged record keeps it', async () => {
  const x = await linkSourceRecord(
    t.db,
    ada('epic-main', 'U1', { family: 'Pemberton', given: ['Silas'], ssn: '533000111', birthDate: '1962-01-20', line: '9 Birch Court' }),
    t.protection,
  );
  const y = await linkSourceRecord(
    t.db,
    ada('cerner-main', 'U1', { family: 'Pemberton', given: ['Silas'], ssn: '533000111', birthDate: '1962-01-20', line: '9 Birch Court' }),
    t.protection,
  );
  assert.equal(y.goldenId, x.goldenId);
  const again = await linkSourceRecord(
    t.db,
    ada('cerner-main', 'U1', {
      family: 'Pemberton',
      given: ['Silas'],
      ssn: '533000111',
      birthDate: '1962-01-20',
      line: '9 Birch Court',
      lastUpdated: '2026-02-02T00:00:00Z',
    }),
    t.protection,
  );
  assert.equal(again.goldenId, x.goldenId);
  // The source corrects a registration error: it was someone else entirely.
  const moved = await linkSourceRecord(
    t.db,
    person({
      source: 'cerner-main',
      id: 'U1',
      family: 'Okonkwo',
      given: ['Ifeoma'],
      birthDate: '1999-12-01',
      line: '1 Lakeview Drive',
      postalCode: '60601',
    }),
    t.protection,
  );
  assert.notEqual(moved.goldenId, x.goldenId);
  const history = await linkHistory(t.db, 'cerner-main', 'U1');
  // The same data with only a later lastUpdated ("again") is unchanged: no UPDATED event.
  assert.deepEqual(
    history.map((e) => e.action),
    ['CREATED', 'REMATCHED'],
  );
  assert.equal(history.at(-1)?.previousGoldenId, x.goldenId);
  assert.deepEqual(
    (await linksForGolden(t.db, [x.goldenId])).get(x.goldenId)?.map((l) => l.source),
    ['epic-main'],
  );
});

test('a candidate whose record changed since this process read it is compared on its new demographics', async () => {
  const orrin = { family: 'Vexley', given: ['Orrin'], line: '77 Harrow Lane', postalCode: '62711', phone: '217-555-0177' };
  const first = await linkSourceRecord(t.db, person({ source: 'epic-main', id: 'V1', ...orrin, birthDate: '1960-01-01' }), t.protection);
  // A household member: V1 is read as her candidate (and its features kept by this process).
  await linkSourceRecord(
    t.db,
    person({ source: 'lab', id: 'V2', ...orrin, given: ['Mirela'], birthDate: '1963-03-03', ssn: '544000222' }),
    t.protection,
  );
  // The source corrects V1's birth date and adds the SSN.
  await linkSourceRecord(
    t.db,
    person({ source: 'epic-main', id: 'V1', ...orrin, birthDate: '1962-07-15', ssn: '544000111', lastUpdated: '2026-03-01T00:00:00Z' }),
    t.protection,
  );
  // Only the corrected V1 is this person (on the old birth date, a different one in the same home).
  const same = await linkSourceRecord(
    t.db,
    person({ source: 'cerner-main', id: 'V1', ...orrin, birthDate: '1962-07-15', ssn: '544000111' }),
    t.protection,
  );
  assert.equal(same.decision, 'MATCH');
  assert.equal(same.goldenId, first.goldenId);
});

test('two records of one new person processed at the same moment make one golden record', async () => {
  const copies = ['epic-main', 'cerner-main', 'athena-1', 'athena-2', 'lab-1', 'lab-2', 'hie-1', 'hie-2'].map((source) =>
    ada(source, 'P7', {
      family: 'Featherstonehaugh',
      given: ['Cosima'],
      ssn: '577123456',
      birthDate: '1983-07-07',
      line: '3 Willow Way',
      phone: '217-555-0999',
    }),
  );
  const outcomes = await Promise.all(copies.map((c) => linkSourceRecord(t.db, c, t.protection)));
  assert.equal(new Set(outcomes.map((o) => o.goldenId)).size, 1, 'one golden record');
  assert.equal(outcomes.filter((o) => o.created).length, 1, 'created once');
});

test('a deleted source record is soft-deleted: gone from the golden record, kept in history, back when re-sent', async () => {
  const rec = ada('epic-main', 'D1', {
    family: 'Ashdown',
    given: ['Wilhelmina'],
    ssn: '544332211',
    birthDate: '1959-08-08',
    line: '70 Sorrel Street',
    phone: '217-555-0770',
    postalCode: '62711',
  });
  const a = await linkSourceRecord(t.db, rec, t.protection);
  await linkSourceRecord(t.db, { ...rec, source: 'cerner-main' }, t.protection);
  assert.equal(await deleteSourceRecord(t.db, { source: 'cerner-main', sourcePatientId: 'D1' }, t.protection), true);
  assert.equal(await deleteSourceRecord(t.db, { source: 'cerner-main', sourcePatientId: 'D1' }, t.protection), false, 'idempotent');
  assert.deepEqual(
    (await linksForGolden(t.db, [a.goldenId])).get(a.goldenId)?.map((l) => l.source),
    ['epic-main'],
  );
  assert.equal(await linkBySourceRecord(t.db, 'cerner-main', 'D1'), undefined);
  assert.deepEqual(
    (await linkHistory(t.db, 'cerner-main', 'D1')).map((e) => e.action),
    ['CREATED', 'DELETED'],
  );
  const back = await linkSourceRecord(t.db, { ...rec, source: 'cerner-main', lastUpdated: '2026-04-04T00:00:00Z' }, t.protection);
  assert.equal(back.goldenId, a.goldenId);
});

test('preparing a record: NUL stripped (a copy only when there is one), keyed hashes the same when looked up again', () => {
  const clean = ada('epic-main', 'N1');
  assert.equal(withoutNul(clean), clean, 'no NUL: the record itself, not a copy');
  const dirty = ada('epic-main', 'N2', { family: 'Quill\u0000feather', line: '12 Juniper\u0000 Avenue' });
  const stripped = withoutNul(dirty);
  assert.notEqual(stripped, dirty);
  assert.equal(JSON.stringify(stripped).includes('\\u0000'), false);
  assert.deepEqual(stripped, ada('epic-main', 'N2'), 'only the NUL characters go');
  assert.equal(JSON.stringify(dirty).includes('\\u0000'), true, 'the input is left as it was');
  const first = prepare(dirty, t.protection, matching);
  const again = prepare(ada('epic-main', 'N3'), t.protection, matching);
  assert.deepEqual(again.blockKeys, first.blockKeys);
  assert.deepEqual(again.terms, first.terms);
  assert.equal(blockKey(t.protection.cipher, 'dob|19710402'), blockKey(t.protection.cipher, 'dob|19710402'));
  assert.notEqual(blockKey(t.protection.cipher, 'dob|19710402'), blockKey(t.protection.cipher, 'dob|19710403'));
});

/** The database, with every statement it runs (in transactions too) recorded. */
function recording(db: MpiTestDb['db']): { db: MpiTestDb['db']; statements: string[] } {
  const statements: string[] = [];
  const queryable = <Q extends object>(q: Q): Q =>
    new Proxy(q, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (prop === 'query')
          return (text: string, ...rest: unknown[]) => (
            statements.push(text),
            (value as (...a: unknown[]) => unknown).call(target, text, ...rest)
          );
        if (prop === 'transaction')
          return (fn: (tx: object) => unknown, ...rest: unknown[]) =>
            (value as (...a: unknown[]) => unknown).call(target, (tx: object) => fn(queryable(tx)), ...rest);
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  return { db: queryable(db), statements };
}

test('a record that starts its own golden record inserts it complete, as recomputing it would write it', async () => {
  const { db, statements } = recording(t.db);
  const a = await linkSourceRecord(db, ada('epic-main', 'G1', { family: 'Brightwater', given: ['Oswin'], ssn: '523456789' }), t.protection);
  assert.equal(a.created, true);
  assert.deepEqual(
    statements.filter((s) => /^\s*UPDATE (golden_patient|source_record)\b/.test(s)),
    [],
    'no empty golden row updated afterwards, no rewrite of the new source record',
  );
  const columns = 'name, birth_date, gender, identifiers, addresses, telecom, provenance, data_quality, provisional, status';
  const read = async () => (await t.db.query(`SELECT ${columns} FROM golden_patient WHERE id = $1`, [a.goldenId])).rows[0];
  const link = async () =>
    (
      await t.db.query(
        "SELECT golden_id, link_state, link_origin, link_score, link_evidence, matched_via, match_reason FROM source_record WHERE source = 'epic-main' AND source_patient_id = 'G1'",
      )
    ).rows[0];
  const inserted = await read();
  const linked = await link();
  await recomputeGolden(t.db, a.goldenId, loadSurvivorshipConfig(), t.protection);
  assert.deepEqual(await read(), inserted, 'recomputing it changes nothing');
  assert.equal((linked as { golden_id: string }).golden_id, a.goldenId);
  assert.equal((linked as { link_state: string }).link_state, 'NO_MATCH');
  const [event] = await linkHistory(t.db, 'epic-main', 'G1');
  assert.equal(event?.action, 'CREATED');
});
