// The benchmark's pure pieces: the equality check that gates a run, the ratios line issue 17
// fixes, the command-line lists, the audit count, and how the floor plans and assembles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, checkAudit, firstDifference, parseConnections, parseTargets, ratiosLine } from './compare.ts';
import { assemble, entityCalls } from './floor.ts';

test('same data whatever the key order; a difference is named by its path', () => {
  const a = { data: { patient: { id: 'p1', name: [{ family: 'Doe', given: ['J'] }], sourceRecords: [{ source: 's', mrn: '1' }] } } };
  const b = { data: { patient: { sourceRecords: [{ mrn: '1', source: 's' }], name: [{ given: ['J'], family: 'Doe' }], id: 'p1' } } };
  assert.equal(firstDifference(a, b), undefined);
  assert.equal(canonicalJson(a), canonicalJson(b));
  assert.notEqual(JSON.stringify(a), JSON.stringify(b));

  const changed = structuredClone(b);
  changed.data.patient.sourceRecords[0]!.mrn = '2';
  assert.equal(firstDifference(a, changed), '$.data.patient.sourceRecords[0].mrn');
  assert.match(firstDifference(a, { data: { patient: { ...a.data.patient, sourceRecords: [] } } })!, /sourceRecords \(length 1 vs 0\)/);
  assert.match(firstDifference({ x: 1 }, { x: 1, errors: [] })!, /^\$\.errors \(present in one answer only\)$/);
  // A list's order is data; null is not an empty list; 1 is not "1".
  assert.equal(firstDifference([1, 2], [2, 1]), '$[0]');
  assert.equal(firstDifference({ o: null }, { o: [] }), '$.o');
  assert.equal(firstDifference({ v: 1 }, { v: '1' }), '$.v');
});

test('the ratios line has exactly the form of issue 17', () => {
  assert.equal(
    ratiosLine({ fullOverStock: 1.234, fullOverHiveRust: 0.9, unloadedP50FullMs: 7, unloadedP50StockMs: 5.25 }),
    'gateway ratios: full/stock=1.23 full/hive-rust=0.90 unloaded-p50 full=7.0 ms stock=5.3 ms',
  );
  assert.match(
    ratiosLine({ fullOverStock: 1, fullOverHiveRust: 1, unloadedP50FullMs: 4, unloadedP50StockMs: 4 }),
    /^gateway ratios: full\/stock=\d+\.\d\d full\/hive-rust=\d+\.\d\d unloaded-p50 full=\d+\.\d ms stock=\d+\.\d ms$/,
  );
  assert.equal(
    ratiosLine({ fullOverStock: null, fullOverHiveRust: null, unloadedP50FullMs: null, unloadedP50StockMs: NaN }),
    'gateway ratios: full/stock=n/a full/hive-rust=n/a unloaded-p50 full=n/a ms stock=n/a ms',
  );
});

test('--connections and --targets: checked, ordered, full required', () => {
  assert.deepEqual(parseConnections('50,16'), [16, 50]);
  assert.deepEqual(parseConnections(' 16 , 16,1 '), [1, 16]);
  for (const bad of ['', '16,', 'x', '0', '2.5', '16;50', '1001']) assert.throws(() => parseConnections(bad), /--connections must be/, bad);
  assert.deepEqual(parseTargets('floor,full,stock'), ['full', 'stock', 'floor']);
  assert.deepEqual(parseTargets('full,stock,hive-rust,hive-rust-dedup,floor'), ['full', 'stock', 'hive-rust', 'hive-rust-dedup', 'floor']);
  assert.throws(() => parseTargets('stock,hive-rust'), /must include full/);
  assert.throws(() => parseTargets('full,hive'), /unknown target "hive"/);
});

test('the audit check: one record set per patient access, no duplicates, in-flight requests bounded', () => {
  const good: Parameters<typeof checkAudit>[0] = {
    askedLastPhase: ['a', 'b', 'b'],
    patientsOfRequestsLastPhase: { r1: ['Patient/b'], r2: ['Patient/a'], r3: ['Patient/b'] },
    rows: 30,
    disclosures: 30,
    requestsAudited: 12,
    requestsAnswered: 10,
    inFlightAtStopMax: 2,
  };
  const ok = checkAudit(good);
  assert.equal(ok.ok, true, ok.lines.join('\n'));
  assert.match(ok.lines.join('\n'), /3 requests answered, 3 audited/);

  const failures: [Partial<typeof good>, RegExp][] = [
    [{ patientsOfRequestsLastPhase: { r1: ['Patient/b'], r2: ['Patient/a'] } }, /3 requests answered, 2 requests in the audit trail/],
    [{ patientsOfRequestsLastPhase: { r1: ['Patient/a'], r2: ['Patient/a'], r3: ['Patient/b'] } }, /do not name exactly the patients/],
    // One request's rows naming a second patient is not that request's access.
    [{ patientsOfRequestsLastPhase: { r1: ['Patient/b'], r2: ['Patient/a', 'Patient/c'], r3: ['Patient/b'] } }, /do not name exactly/],
    [{ rows: 31 }, /1 audit rows repeat a disclosure/],
    [{ requestsAudited: 9 }, /10 full requests answered \(\+ at most 2 left in flight\), 9 requests audited/],
    [{ requestsAudited: 13 }, /13 requests audited/],
  ];
  for (const [change, message] of failures) {
    const r = checkAudit({ ...good, ...change });
    assert.equal(r.ok, false, JSON.stringify(change));
    assert.match(r.lines.join('\n'), message);
  }
});

test('the floor: one call per vendor subgraph with records, answers put back in the records order', () => {
  const records = [
    { __typename: 'EpicRecord', source: 'epic-main', mrn: 'E1', id: 'epic-main:1' },
    { __typename: 'CernerRecord', source: 'cerner-main', mrn: 'C1', id: 'cerner-main:9' },
    { __typename: 'EpicRecord', source: 'epic-2', mrn: 'E2', id: 'epic-2:5' },
    { __typename: 'UnknownRecord', source: 'x', mrn: null, id: 'x:1' },
  ];
  const calls = entityCalls(records, { EpicRecord: 'epic', CernerRecord: 'cerner' });
  assert.deepEqual(calls, [
    { subgraph: 'epic', recordType: 'EpicRecord', indexes: [0, 2] },
    { subgraph: 'cerner', recordType: 'CernerRecord', indexes: [1] },
  ]);
  const patient = { id: 'p', name: [], birthDate: '1970-01-01', gender: 'female', identifiers: [], sourceRecords: records };
  const answer = assemble(
    patient,
    new Map([
      [0, ['e1']],
      [1, []],
      [2, ['e2']],
    ]),
  ) as { data: { patient: { sourceRecords: unknown[] } } };
  assert.deepEqual(answer.data.patient.sourceRecords, [
    { source: 'epic-main', mrn: 'E1', observations: ['e1'] },
    { source: 'cerner-main', mrn: 'C1', observations: [] },
    { source: 'epic-2', mrn: 'E2', observations: ['e2'] },
    { source: 'x', mrn: null, observations: null },
  ]);
  assert.deepEqual(Object.keys(answer.data.patient), ['id', 'name', 'birthDate', 'gender', 'identifiers', 'sourceRecords']);
  assert.deepEqual(assemble(null, new Map()), { data: { patient: null } });
});
