import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIELD_KEY_FILE, fieldCipher, loadFieldKeys, retireFieldKeys, rotateFieldKey } from './field-encryption.ts';
import { reencryptJson } from './reencrypt.ts';

const withDir = (fn: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), 'fk-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test('AES-256-GCM round trip; ciphertexts differ each time and name their key', () =>
  withDir((dir) => {
    const c = fieldCipher(loadFieldKeys(dir, true));
    assert.equal((statSync(join(dir, FIELD_KEY_FILE)).mode & 0o777).toString(8), '600');
    const a = c.encrypt('900-12-3456');
    assert.notEqual(a, c.encrypt('900-12-3456'));
    assert.ok(!a.includes('900-12-3456'));
    assert.equal(c.keyIdOf(a), c.currentKeyId);
    assert.equal(c.decrypt(a), '900-12-3456');
    assert.equal(c.decrypt('plain'), 'plain');
  }));

test('a tampered ciphertext or a relabeled key id is refused', () =>
  withDir((dir) => {
    const c = fieldCipher(loadFieldKeys(dir, true));
    const parts = c.encrypt('900-12-3456').split(':');
    const flipped = [...parts];
    flipped[4] = Buffer.from(Buffer.from(parts[4]!, 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url');
    assert.throws(() => c.decrypt(flipped.join(':')));
    rotateFieldKey(dir);
    const c2 = fieldCipher(loadFieldKeys(dir, false));
    const relabeled = [...parts];
    relabeled[2] = c2.currentKeyId;
    assert.throws(() => c2.decrypt(relabeled.join(':')));
  }));

test('rotation: old ciphertexts still decrypt, re-encryption moves them to the new key, old keys retire', () =>
  withDir((dir) => {
    const old = fieldCipher(loadFieldKeys(dir, true));
    const doc = {
      identifiers: [
        { system: 'ssn', value: old.encrypt('900-12-3456') },
        { system: 'mrn', value: 'E1' },
      ],
    };
    const next = fieldCipher(rotateFieldKey(dir));
    assert.notEqual(next.currentKeyId, old.currentKeyId);
    const { value, changed } = reencryptJson(doc, next);
    assert.equal(changed, 1);
    const moved = (value as typeof doc).identifiers[0]!.value;
    assert.equal(next.keyIdOf(moved), next.currentKeyId);
    assert.equal(next.decrypt(moved), '900-12-3456');
    assert.deepEqual(Object.keys(retireFieldKeys(dir, []).keys), [next.currentKeyId]);
    assert.equal(fieldCipher(loadFieldKeys(dir, false)).decrypt(moved), '900-12-3456');
  }));

test('the blind index is keyed, deterministic and ignores formatting', () =>
  withDir((dir) => {
    const c = fieldCipher(loadFieldKeys(dir, true));
    assert.equal(c.blindIndex('ssn', '900-12-3456'), c.blindIndex('ssn', '900123456'));
    assert.notEqual(c.blindIndex('ssn', '900-12-3456'), c.blindIndex('ssn', '900-12-3457'));
    assert.notEqual(c.blindIndex('ssn', '900-12-3456'), c.blindIndex('other', '900-12-3456'));
    withDir((other) =>
      assert.notEqual(fieldCipher(loadFieldKeys(other, true)).blindIndex('ssn', '900-12-3456'), c.blindIndex('ssn', '900-12-3456')),
    );
  }));

test('associated data binds a ciphertext to its context (a cache key): elsewhere it does not decrypt', () =>
  withDir((dir) => {
    const c = fieldCipher(loadFieldKeys(dir, true));
    const bound = c.encrypt('{"v":[]}', 'pgw:x:clinical:a');
    assert.equal(c.decrypt(bound, 'pgw:x:clinical:a'), '{"v":[]}');
    assert.throws(() => c.decrypt(bound, 'pgw:x:clinical:b'));
    assert.throws(() => c.decrypt(bound), 'nor without it');
    assert.throws(() => c.decrypt(c.encrypt('900-12-3456'), 'pgw:x:clinical:a'), 'and an unbound ciphertext does not pass as bound');
    assert.equal(c.decrypt(c.encrypt('900-12-3456')), '900-12-3456', 'without associated data, as before');
  }));
