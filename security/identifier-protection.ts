// Which identifier values are stored encrypted (configuration: config/protected-fields.json),
// and the three operations the stores need: seal before writing, reveal after reading, and the
// value to look up by (the blind index for protected systems).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../platform/config.ts';
import type { FieldCipher } from './field-encryption.ts';

type WithIdentifier = { readonly system: string; readonly value: string };

export type IdentifierProtection = {
  readonly cipher: FieldCipher;
  isProtected(system: string): boolean;
  seal<T extends WithIdentifier>(identifiers: readonly T[]): T[];
  reveal<T extends WithIdentifier>(identifiers: readonly T[]): T[];
  /** What patient_identifier.value holds for this identifier. */
  lookupValue(system: string, value: string): string;
  /**
   * Any JSON payload as one ciphertext (quarantined resources), with a keyed digest of its content:
   * the same for the same content (key order aside), so it can name a resource that has no id.
   */
  sealPayload(payload: unknown): { encrypted: string; digest: string };
  revealPayload(stored: unknown): unknown;
};

export function loadProtectedSystems(file = resolve(PROJECT_ROOT, 'config/protected-fields.json')): string[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { identifierSystems: string[] }).identifierSystems;
}

export function identifierProtection(cipher: FieldCipher, systems: readonly string[] = loadProtectedSystems()): IdentifierProtection {
  const protectedSystems = new Set(systems);
  const isProtected = (system: string): boolean => protectedSystems.has(system);
  return {
    cipher,
    isProtected,
    seal: (ids) => ids.map((i) => (isProtected(i.system) && !cipher.isEncrypted(i.value) ? { ...i, value: cipher.encrypt(i.value) } : i)),
    reveal: (ids) => ids.map((i) => (cipher.isEncrypted(i.value) ? { ...i, value: cipher.decrypt(i.value) } : i)),
    lookupValue: (system, value) => (isProtected(system) ? cipher.blindIndex(system, value) : value),
    sealPayload: (payload) => ({
      encrypted: cipher.encrypt(JSON.stringify(payload)),
      // The blind index's HMAC over a SHA-256 of the content: a plain hash of PHI could be
      // confirmed by guessing it; hex keeps the index's normalization from merging two contents.
      digest: cipher.blindIndex('quarantine-payload', createHash('sha256').update(canonicalJson(payload)).digest('hex')),
    }),
    revealPayload: (stored) => {
      const enc = (stored as { encrypted?: unknown } | null)?.encrypted;
      return typeof enc === 'string' ? JSON.parse(cipher.decrypt(enc)) : stored;
    },
  };
}

/** JSON with object keys sorted at every level, so equal content gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
