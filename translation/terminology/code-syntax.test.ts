import assert from 'node:assert/strict';
import test from 'node:test';
import { SYSTEMS, codeSyntaxProblem, mod10CheckDigit } from './code-syntax.ts';

test('LOINC and CDC race codes carry a mod-10 check digit', () => {
  assert.equal(mod10CheckDigit('2345'), 7);
  assert.equal(mod10CheckDigit('4548'), 4);
  for (const c of ['2345-7', '2339-0', '4548-4', '8310-5', '29463-7', '718-7', '94500-6', 'LA29519-8']) {
    assert.equal(codeSyntaxProblem(SYSTEMS.loinc, c), undefined, c);
  }
  assert.equal(codeSyntaxProblem(SYSTEMS.loinc, '2345-8'), 'check digit does not match');
  assert.equal(codeSyntaxProblem(SYSTEMS.loinc, '23457'), 'not a LOINC code (digits, hyphen, check digit)');
  for (const c of ['2106-3', '2054-5', '2028-9', '1002-5', '2076-8', '2131-1', '2135-2', '2186-5', '2034-7']) {
    assert.equal(codeSyntaxProblem(SYSTEMS.cdcRace, c), undefined, c);
  }
  assert.equal(codeSyntaxProblem(SYSTEMS.cdcRace, '2106-4'), 'check digit does not match');
});

test('SNOMED CT, ICD-10-CM, RxNorm, gender and null flavors', () => {
  assert.equal(codeSyntaxProblem(SYSTEMS.snomed, '44054006'), undefined);
  assert.equal(codeSyntaxProblem(SYSTEMS.snomed, '44054007'), 'not a SNOMED CT identifier (check digit does not match)');
  assert.equal(codeSyntaxProblem(SYSTEMS.icd10cm, 'E11.9'), undefined);
  assert.equal(codeSyntaxProblem(SYSTEMS.icd10cm, 'J45.909'), undefined);
  assert.match(codeSyntaxProblem(SYSTEMS.icd10cm, 'E119') ?? '', /not an ICD-10-CM code/);
  assert.equal(codeSyntaxProblem(SYSTEMS.rxnorm, '860975'), undefined);
  assert.match(codeSyntaxProblem(SYSTEMS.rxnorm, 'RX860975') ?? '', /RXCUI/);
  assert.equal(codeSyntaxProblem(SYSTEMS.administrativeGender, 'Female'), 'not an administrative-gender code');
  assert.equal(codeSyntaxProblem(SYSTEMS.nullFlavor, 'ASKU'), undefined);
  assert.equal(codeSyntaxProblem('http://example.org/anything', '??'), undefined);
});
