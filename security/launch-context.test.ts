// The launch context a token's `patient` claim gives a principal, and how the subgraphs read it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchContextOf, parseLaunchContext } from './launch-context.ts';

const GOLDEN = '0b7c5a52-3d0e-4c53-9a7e-6a1f2b3c4d5e';

test("an EHR's issuer names its own FHIR Patient ids: qualified with its connection", () => {
  assert.equal(launchContextOf('eX.123-4', 'epic-north'), 'epic-north:eX.123-4');
  // Even a golden-looking or qualified claim is that EHR's id: an EHR cannot name another connection's patient.
  assert.equal(launchContextOf(GOLDEN, 'epic-north'), `epic-north:${GOLDEN}`);
  for (const claim of ['cerner-main:123', 'a/b', 'x'.repeat(65), 42])
    assert.throws(() => launchContextOf(claim, 'epic-north'), { code: 'UNAUTHENTICATED' }, String(claim));
});

test('other issuers name a golden id or <connection>:<FHIR id>; no claim is no launch context', () => {
  assert.equal(launchContextOf(GOLDEN.toUpperCase(), undefined), GOLDEN);
  assert.equal(launchContextOf('epic-main:E1', undefined), 'epic-main:E1');
  for (const claim of [undefined, null, '']) assert.equal(launchContextOf(claim, undefined), null);
  // Kept as claimed; it binds to nobody since it names no patient the MPI can look up.
  assert.equal(launchContextOf('p-1', undefined), 'p-1');
  assert.equal(parseLaunchContext('p-1'), undefined);
});

test('the subgraphs read both forms', () => {
  assert.deepEqual(parseLaunchContext(GOLDEN), { goldenId: GOLDEN });
  assert.deepEqual(parseLaunchContext('epic-main:E.1-2'), { source: 'epic-main', sourcePatientId: 'E.1-2' });
  for (const value of ['epic-main:', ':E1', 'Epic:E1', 'epic-main:a/b', 'epic-main:a:b'])
    assert.equal(parseLaunchContext(value), undefined, value);
});
