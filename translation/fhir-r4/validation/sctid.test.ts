import assert from 'node:assert/strict';
import test from 'node:test';
import { sctidShape, verhoeffValid } from './sctid.ts';

test('SCTIDs: check digit, partition and namespace', () => {
  assert.equal(verhoeffValid('22298006'), true); // myocardial infarction
  assert.deepEqual(sctidShape('22298006'), { valid: true, kind: '0', namespace: null });
  assert.equal(sctidShape('22298007').valid, false); // wrong check digit
  assert.equal(sctidShape('1').valid, false); // too short
  assert.equal(sctidShape('276885007x').valid, false);
  assert.equal(sctidShape('234234').valid, false); // partition 23 does not exist
  // A US Edition concept (namespace 1000124) and a UK one (1000001).
  assert.deepEqual(sctidShape('446151000124109'), { valid: true, kind: '0', namespace: '1000124' });
  assert.deepEqual(sctidShape('35901911000001104'), { valid: true, kind: '0', namespace: '1000001' });
});
