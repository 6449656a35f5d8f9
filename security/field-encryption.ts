// Field-level encryption for the most sensitive values (SSN and any identifier system named in
// configuration): AES-256-GCM with a key id in every ciphertext so keys can rotate, and an
// HMAC-SHA256 blind index so exact-match lookups work without storing the plaintext. A database
// dump shows neither; only a process holding the key file can read them.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, randomFillSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PREFIX = 'enc:v1';

export type FieldKeyFile = {
  /** Key id used for new ciphertexts. */
  readonly current: string;
  /** Every key still able to decrypt (old ones stay until re-encryption finished). */
  readonly keys: Readonly<Record<string, string>>;
  /** HMAC key of the blind index; not rotated with the encryption keys (the index would change). */
  readonly indexKey: string;
};

export type FieldCipher = {
  readonly currentKeyId: string;
  /** Whether this key set can decrypt ciphertexts of key `kid`. */
  hasKey(kid: string): boolean;
  /**
   * A ciphertext under the current key. `associatedData` binds it to a context (a cache key): it
   * then decrypts only with the same associated data.
   */
  encrypt(plaintext: string, associatedData?: string): string;
  /**
   * Plaintext of a ciphertext; a value that is not a ciphertext is returned as it is. Throws when
   * the key or the associated data differ.
   */
  decrypt(value: string, associatedData?: string): string;
  isEncrypted(value: string): boolean;
  /** Key id of a ciphertext, or undefined. */
  keyIdOf(value: string): string | undefined;
  /** Deterministic, keyed digest for exact-match lookups (normalized: digits and letters only). */
  blindIndex(scope: string, value: string): string;
};

const b64 = (b: Buffer): string => b.toString('base64url');
const unb64 = (s: string): Buffer => Buffer.from(s, 'base64url');

const IV_BYTES = 12;

/** The key id is always bound; a context, when given, after it (a NUL cannot occur in a key id). */
const aad = (kid: string, associatedData: string | undefined): Buffer =>
  Buffer.from(associatedData === undefined ? kid : `${kid}\u0000${associatedData}`);
const IV_POOL_BYTES = IV_BYTES * 512;

/** Random GCM nonces drawn from a pool refilled in one call: one randomFillSync per nonce cost more than the encryption. */
function ivSource(): () => Buffer {
  const pool = Buffer.alloc(IV_POOL_BYTES);
  let at = IV_POOL_BYTES;
  return () => {
    if (at === IV_POOL_BYTES) {
      randomFillSync(pool);
      at = 0;
    }
    // A copy: the pool is overwritten on the next refill.
    return Buffer.from(pool.subarray(at, (at += IV_BYTES)));
  };
}

export function fieldCipher(file: FieldKeyFile): FieldCipher {
  const raw = new Map(Object.entries(file.keys).map(([kid, k]) => [kid, unb64(k)]));
  if (raw.get(file.current)?.length !== 32) throw new Error(`field encryption key ${file.current} is missing or not 256 bits`);
  // KeyObjects once: given raw bytes, every createCipheriv would import the key again.
  const keys = new Map<string, KeyObject>([...raw].map(([kid, k]) => [kid, createSecretKey(k)]));
  const current = keys.get(file.current)!;
  const indexKey = createSecretKey(unb64(file.indexKey));
  const nextIv = ivSource();
  const parse = (value: string) => {
    const parts = value.split(':');
    return parts.length === 6 && `${parts[0]}:${parts[1]}` === PREFIX
      ? { kid: parts[2]!, iv: parts[3]!, ct: parts[4]!, tag: parts[5]! }
      : undefined;
  };
  return {
    currentKeyId: file.current,
    hasKey: (kid: string) => keys.has(kid),
    encrypt(plaintext: string, associatedData?: string) {
      const iv = nextIv();
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      // The key id is bound as associated data: a ciphertext cannot be relabeled to another key.
      cipher.setAAD(aad(file.current, associatedData));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [PREFIX, file.current, b64(iv), b64(ct), b64(cipher.getAuthTag())].join(':');
    },
    decrypt(value: string, associatedData?: string) {
      const p = parse(value);
      if (!p) return value;
      const key = keys.get(p.kid);
      if (!key) throw new Error(`field encryption key ${p.kid} is not available`);
      const decipher = createDecipheriv('aes-256-gcm', key, unb64(p.iv));
      decipher.setAAD(aad(p.kid, associatedData));
      decipher.setAuthTag(unb64(p.tag));
      return Buffer.concat([decipher.update(unb64(p.ct)), decipher.final()]).toString('utf8');
    },
    isEncrypted: (value: string) => parse(value) !== undefined,
    keyIdOf: (value: string) => parse(value)?.kid,
    blindIndex: (scope: string, value: string) =>
      `bidx:${b64(
        createHmac('sha256', indexKey)
          .update(`${scope}\u0000${value.replace(/[^0-9A-Za-z]/g, '').toUpperCase()}`)
          .digest(),
      )}`,
  };
}

const RELOAD_CHECK_MS = 5000;

/**
 * A cipher over the key file that follows rotations without a restart: a ciphertext under a key
 * it does not know makes it re-read the file at once, and it checks the file for a new current
 * key every few seconds before encrypting.
 */
export function liveFieldCipher(keysDir: string, generateMissing: boolean): FieldCipher {
  const path = join(keysDir, FIELD_KEY_FILE);
  let cipher = fieldCipher(loadFieldKeys(keysDir, generateMissing));
  let mtime = statSync(path).mtimeMs;
  let checkedAt = Date.now();
  const refresh = (force: boolean): void => {
    if (!force && Date.now() - checkedAt < RELOAD_CHECK_MS) return;
    checkedAt = Date.now();
    const now = statSync(path).mtimeMs;
    if (now !== mtime) {
      cipher = fieldCipher(loadFieldKeys(keysDir, false));
      mtime = now;
    }
  };
  return {
    get currentKeyId() {
      refresh(false);
      return cipher.currentKeyId;
    },
    encrypt(plaintext, associatedData) {
      refresh(false);
      return cipher.encrypt(plaintext, associatedData);
    },
    decrypt(value, associatedData) {
      const kid = cipher.keyIdOf(value);
      if (kid !== undefined && !cipher.hasKey(kid)) refresh(true);
      return cipher.decrypt(value, associatedData);
    },
    hasKey: (kid) => cipher.hasKey(kid),
    isEncrypted: (value) => cipher.isEncrypted(value),
    keyIdOf: (value) => cipher.keyIdOf(value),
    blindIndex: (scope, value) => cipher.blindIndex(scope, value),
  };
}

const newKey = (): string => b64(randomBytes(32));
const newKeyId = (): string => `fk-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;

export const FIELD_KEY_FILE = 'field-encryption.json';

/** Loads the key file, generating it when allowed (embedded default) and absent. */
export function loadFieldKeys(keysDir: string, generateMissing: boolean): FieldKeyFile {
  const path = join(keysDir, FIELD_KEY_FILE);
  if (!existsSync(path)) {
    if (!generateMissing) throw new Error(`field encryption key file ${path} is missing`);
    const kid = newKeyId();
    writeKeyFile(path, { current: kid, keys: { [kid]: newKey() }, indexKey: newKey() });
  }
  return JSON.parse(readFileSync(path, 'utf8')) as FieldKeyFile;
}

/** Adds a new current key; old keys stay for decryption until re-encryption has finished. */
export function rotateFieldKey(keysDir: string): FieldKeyFile {
  const file = loadFieldKeys(keysDir, false);
  const kid = newKeyId();
  const next = { ...file, current: kid, keys: { ...file.keys, [kid]: newKey() } };
  writeKeyFile(join(keysDir, FIELD_KEY_FILE), next);
  return next;
}

/** Drops keys no ciphertext uses any more (after re-encryption). */
export function retireFieldKeys(keysDir: string, keep: readonly string[]): FieldKeyFile {
  const file = loadFieldKeys(keysDir, false);
  const next = {
    ...file,
    keys: Object.fromEntries(Object.entries(file.keys).filter(([kid]) => kid === file.current || keep.includes(kid))),
  };
  writeKeyFile(join(keysDir, FIELD_KEY_FILE), next);
  return next;
}

function writeKeyFile(path: string, file: FieldKeyFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Write then rename: a crash never leaves a half-written key file.
  writeFileSync(`${path}.tmp`, JSON.stringify(file, null, 2), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
