import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../test/support/env.ts';
import {
  QUANTITY_STATUS,
  comparableValue,
  UnitRulesError,
  loadUnitRules,
  normalizeFhirQuantity,
  normalizeQuantity,
  parseUnitRules,
  readUnit,
} from './units.ts';

const rules = loadUnitRules();
const messages = (q: { issues: readonly { severity: string; message: string }[] }): string[] =>
  q.issues.map((i) => `${i.severity}: ${i.message}`);

test('glucose in mmol/L becomes mg/dL through its molecular weight; the original stays beside it', () => {
  const q = normalizeQuantity(5.5, 'mmol/L', '2345-7', { path: 'Observation.valueQuantity' });
  assert.deepEqual(
    { value: q.value, unit: q.unit, status: q.status, original: q.original },
    { value: 99.0858, unit: 'mg/dL', status: 'preferred', original: { value: 5.5, unit: 'mmol/L' } },
  );
  assert.deepEqual(q.issues, []);
  assert.deepEqual(q.transformations, [
    { kind: 'unit-conversion', mapId: 'urn:patient-gateway:units|1.1.0', from: 'mmol/L (molecular weight 180.156 g/mol)', to: 'mg/dL' },
  ]);
  // Blood glucose too, and creatinine in umol/L (88.4 umol/L is 1 mg/dL).
  assert.equal(normalizeQuantity(10, 'mmol/L', '2339-0').value, 180.156);
  assert.equal(normalizeQuantity(88.4, 'umol/L', '2160-0').value, 0.9999808);
  assert.equal(normalizeQuantity(88.4, 'µmol/L', '2160-0').value, 0.9999808);
});

test('ordinary conversions to the preferred unit', () => {
  assert.deepEqual([normalizeQuantity(98.6, '[degF]', '8310-5').value, normalizeQuantity(98.6, '[degF]', '8310-5').unit], [37, 'Cel']);
  assert.equal(normalizeQuantity(150, 'lb', '29463-7').value, 68.0388555);
  assert.equal(normalizeQuantity(70, 'in', '8302-2').value, 177.8);
  assert.equal(normalizeQuantity(1.2, 'g/L', '718-7').value, 0.12);
  const same = normalizeQuantity(120, 'mm[Hg]', '8480-6');
  assert.deepEqual([same.value, same.status, same.transformations.length], [120, 'preferred', 0]);
});

test('vendor spellings: non-UCUM strings are read, and a listed spelling wins over a UCUM reading that means something else', () => {
  // In UCUM, K/uL is kelvin per microlitre; on a lab report it is thousands per microlitre.
  assert.deepEqual(readUnit('K/uL', rules), { ucum: '10*3/uL', spelling: true });
  assert.deepEqual(readUnit('mmHg', rules), { ucum: 'mm[Hg]', spelling: true });
  assert.deepEqual(readUnit('MG/DL', rules), undefined);
  assert.deepEqual(readUnit('MMHG', rules), { ucum: 'mm[Hg]', spelling: true });
  // UCUM has both l and L for the litre: mg/dl is valid UCUM, no repair.
  assert.deepEqual(readUnit('mg/dl', rules), { ucum: 'mg/dl', spelling: false });
  assert.deepEqual(readUnit('10^3/uL', rules), { ucum: '10^3/uL', spelling: false });
  const bp = normalizeQuantity(120, 'mmHg', '8480-6');
  assert.deepEqual([bp.value, bp.unit, bp.status], [120, 'mm[Hg]', 'preferred']);
  assert.deepEqual(bp.transformations, [{ kind: 'unit-spelling', mapId: 'urn:patient-gateway:units|1.1.0', from: 'mmHg', to: 'mm[Hg]' }]);
  const glucose = normalizeQuantity(100, 'mg/dl', '2345-7');
  assert.deepEqual([glucose.value, glucose.unit, glucose.status], [100, 'mg/dL', 'preferred']);
  assert.equal(normalizeQuantity(7.1, 'x10E3/uL').unit, '10*3/uL');
});

test('numbers sent as strings are read (FHIR decimal only); other strings are not numbers', () => {
  const q = normalizeQuantity('98.6', '[degF]', '8310-5', { path: 'Observation.valueQuantity' });
  assert.deepEqual([q.value, q.original.value], [37, '98.6']);
  assert.deepEqual(messages(q), ['warning: number sent as a string; read as a number']);
  assert.equal(q.transformations[0]?.kind, 'number-from-string');
  for (const s of ['0x10', '+5', 'Infinity', '', '<5', '1,5']) {
    const r = normalizeQuantity(s, 'mg/dL', '2345-7');
    assert.equal(r.value, null, s);
    assert.equal(r.original.value, s);
  }
});

test('a missing unit is flagged and never guessed', () => {
  const q = normalizeQuantity(98.6, undefined, '8310-5', { path: 'Observation.valueQuantity' });
  assert.deepEqual([q.value, q.unit, q.status], [98.6, null, QUANTITY_STATUS.kept]);
  assert.deepEqual(q.issues, [
    { severity: 'warning', path: 'Observation.valueQuantity.unit', message: 'no unit; value kept unnormalized' },
  ]);
  assert.equal(normalizeQuantity(98.6, '  ', '8310-5').status, 'kept');
});

test('an unreadable unit, or one of another kind of quantity, is an error; the value is kept as sent', () => {
  const logged: unknown[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => logged.push(args);
  let bad;
  try {
    bad = normalizeQuantity(5, 'mgs per deciliter', '2345-7', { path: 'q' });
  } finally {
    console.log = log;
  }
  assert.deepEqual(logged, [], 'ucum-lhc prints nothing (it would print the unit string)');
  assert.deepEqual([bad.value, bad.unit, bad.status], [5, null, 'kept']);
  assert.deepEqual(messages(bad), ['error: unit is neither UCUM nor a known spelling (config/units.json)']);
  // Claimed to be UCUM, it must be; free text on a code without a preferred unit is allowed by FHIR: flagged only.
  const claimed = normalizeFhirQuantity({ value: 2, unit: 'score', system: 'http://unitsofmeasure.org', code: 'score' }, '72133-2');
  assert.deepEqual(messages(claimed), ['error: unit is neither UCUM nor a known spelling (config/units.json)']);
  const text = normalizeFhirQuantity({ value: 2, unit: 'score' }, '72133-2');
  assert.deepEqual([text.value, text.unit, text.original.unit, text.status], [2, null, 'score', 'kept']);
  assert.deepEqual(messages(text), ['warning: unit is not UCUM; value kept unnormalized']);
  const wrongKind = normalizeQuantity(5, 'kg', '2345-7');
  assert.deepEqual(messages(wrongKind), ['error: unit cannot be converted to the preferred unit for this code (another kind of quantity)']);
  assert.equal(wrongKind.value, 5);
});

test('conversions that cannot be made safely are not made', () => {
  // HbA1c in IFCC mmol/mol: UCUM arithmetic would say 48 mmol/mol = 4.8 %, but it is about 6.5 % (NGSP).
  const a1c = normalizeQuantity(48, 'mmol/mol', '4548-4');
  assert.deepEqual([a1c.value, a1c.unit, a1c.status], [48, 'mmol/mol', 'kept']);
  assert.match(messages(a1c)[0]!, /^warning: a ratio in another unit/);
  // Triglycerides have no configured molecular weight.
  const tg = normalizeQuantity(1.7, 'mmol/L', '2571-8');
  assert.deepEqual([tg.value, tg.unit, tg.status], [1.7, 'mmol/L', 'kept']);
  assert.match(messages(tg)[0]!, /need a molecular weight/);
});

test('without a preferred unit the unit is validated and kept', () => {
  const q = normalizeQuantity(7.1, '10*3/uL', '6690-2');
  assert.deepEqual([q.value, q.unit, q.status, q.issues.length], [7.1, '10*3/uL', 'ucum', 0]);
  assert.equal(normalizeQuantity(3, 'mg').status, 'ucum');
});

test('a FHIR Quantity is read by its UCUM code, as Cerner labels [degF] "degF"', () => {
  const q = normalizeFhirQuantity({ value: '100.4', unit: 'degF', system: 'http://unitsofmeasure.org', code: '[degF]' }, '8310-5');
  assert.deepEqual([q.value, q.unit, q.original.unit], [38, 'Cel', '[degF]']);
  assert.equal(normalizeFhirQuantity({ value: 120, unit: 'mmHg' }, '8480-6').unit, 'mm[Hg]');
  assert.equal(normalizeFhirQuantity(undefined, '8480-6').value, null);
});

test('unit rules are checked at load, naming the entry at fault', () => {
  const base = { url: 'urn:test:units', version: '1', spellings: {}, preferred: {} };
  const bad = (json: unknown): string => {
    try {
      parseUnitRules(json, 'units.json');
    } catch (e) {
      assert.ok(e instanceof UnitRulesError);
      return e.message;
    }
    return assert.fail('expected a UnitRulesError');
  };
  assert.equal(bad({ ...base, spellings: { mgdl: 'milligrams' } }), 'units units.json: spellings["mgdl"]: not a valid UCUM code');
  assert.equal(
    bad({ ...base, preferred: { '2345-8': { unit: 'mg/dL' } } }),
    'units units.json: preferred["2345-8"]: check digit does not match',
  );
  assert.equal(
    bad({ ...base, preferred: { '2345-7': { unit: 'mgdL' } } }),
    'units units.json: preferred["2345-7"].unit: not a valid UCUM code',
  );
  assert.equal(
    bad({ ...base, preferred: { '2345-7': { unit: 'mg/dL', molecularWeight: -1 } } }),
    'units units.json: preferred["2345-7"].molecularWeight: must be a positive number (g/mol)',
  );
  assert.match(bad({ ...base, spellings: { 'x/L': 'mg/L', 'X/L': 'g/L' } }), /differs from another spelling only in case/);
  assert.equal(rules.preferred.get('2345-7')?.molecularWeight, 180.156);
});

test(
  'every quantity of the Synthea bundles and the R4 and US Core examples is read without an error',
  { skip: !sharedDataPresent() && SHARED_DATA_MISSING },
  () => {
    const counts = new Map<string, number>();
    const loincOf = (o: Record<string, unknown>): string | undefined =>
      (o.code as { coding?: { system?: string; code?: string }[] } | undefined)?.coding?.find((c) => c.system === 'http://loinc.org')?.code;
    const walk = (x: unknown, loinc: string | undefined): void => {
      if (Array.isArray(x)) return x.forEach((v) => walk(v, loinc));
      if (typeof x !== 'object' || x === null) return;
      const o = x as Record<string, unknown>;
      const code = loincOf(o) ?? loinc;
      if (o.valueQuantity) {
        const q = normalizeFhirQuantity(o.valueQuantity as never, code);
        assert.deepEqual(
          q.issues.filter((i) => i.severity === 'error'),
          [],
          JSON.stringify(o.valueQuantity),
        );
        counts.set(q.status, (counts.get(q.status) ?? 0) + 1);
      }
      for (const v of Object.values(o)) walk(v, code);
    };
    for (const dir of ['synthea/bundles-r4', 'fhir/us-core', 'fhir/r4-core']) {
      for (const f of readdirSync(join(SHARED_DATA, dir)).filter((n) => n.endsWith('.json'))) {
        walk(JSON.parse(readFileSync(join(SHARED_DATA, dir, f), 'utf8')), undefined);
      }
    }
    // Most are in a valid UCUM unit or converted to their code's preferred one; the rest lack a unit or use free text.
    assert.ok((counts.get('preferred') ?? 0) > 300 && (counts.get('ucum') ?? 0) > 300, JSON.stringify([...counts]));
  },
);

test("a converted value compares at the preferred unit's reporting precision; other values as sent", () => {
  const compared = (value: number, unit: string) => comparableValue(normalizeQuantity(value, unit, '2339-0', { rules }), '2339-0', rules);
  assert.equal(compared(5.55, 'mmol/L'), 100, '99.99 mg/dL reported in whole mg/dL');
  assert.equal(compared(5.8, 'mmol/L'), 104);
  assert.equal(compared(100.4, 'mg/dL'), 100.4, 'no conversion: as sent');
  assert.throws(
    () => parseUnitRules({ url: 'u', version: '1', spellings: {}, preferred: { '2339-0': { unit: 'mg/dL', decimals: -1 } } }, 'f'),
    /decimals/,
  );
});
