import assert from 'node:assert/strict';
import test from 'node:test';
import { error, warning } from './issues.ts';
import { toOperationOutcome } from './outcome.ts';

test('graded issues become one OperationOutcome; no issues is "all OK"', () => {
  assert.deepEqual(toOperationOutcome([]), {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', diagnostics: 'all OK' }],
  });
  const o = toOperationOutcome([
    error('Patient.id', 'invalid resource id: longer than 64 characters'),
    warning('Patient.extension[0]', 'unknown extension http://example.org/x'),
    error('Encounter.period', 'constraint per-1 failed: start SHALL have a lower value than end'),
    error('Observation.status', 'code is not in the required ValueSet http://hl7.org/fhir/ValueSet/observation-status'),
  ]);
  assert.deepEqual(
    o.issue.map((i) => [i.severity, i.code, i.expression?.[0]]),
    [
      ['error', 'invalid', 'Patient.id'],
      ['warning', 'extension', 'Patient.extension[0]'],
      ['error', 'invariant', 'Encounter.period'],
      ['error', 'code-invalid', 'Observation.status'],
    ],
  );
});
