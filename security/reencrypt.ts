// Re-encryption after a key rotation: every ciphertext in the columns that hold protected data is
// decrypted with its (old) key and encrypted with the current one, row by row in small
// transactions, so the rotation can run while the product serves requests and can be resumed.
import type { Database } from '../platform/db.ts';
import type { FieldCipher } from './field-encryption.ts';

/** jsonb columns that may contain ciphertexts anywhere inside them. */
export const PROTECTED_COLUMNS = [
  { table: 'golden_patient', column: 'identifiers' },
  { table: 'source_record', column: 'demographics' },
  { table: 'source_record', column: 'features' },
  { table: 'quarantine', column: 'payload' },
  // Protected identifiers inside stored clinical resources are sealed (orchestration/clinical-store/write.ts).
  { table: 'clinical_item', column: 'resource' },
  { table: 'clinical_item_history', column: 'resource' },
] as const;

/** Rewrites every ciphertext inside a JSON value that is not under the current key. */
export function reencryptJson(value: unknown, cipher: FieldCipher): { value: unknown; changed: number } {
  let changed = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (cipher.isEncrypted(v) && cipher.keyIdOf(v) !== cipher.currentKeyId) {
        changed++;
        return cipher.encrypt(cipher.decrypt(v));
      }
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return { value: walk(value), changed };
}

export type ReencryptReport = { readonly table: string; readonly rows: number; readonly ciphertexts: number };

export async function reencryptAll(db: Database, cipher: FieldCipher, batchSize = 500): Promise<ReencryptReport[]> {
  const reports: ReencryptReport[] = [];
  for (const { table, column } of PROTECTED_COLUMNS) {
    let rows = 0;
    let ciphertexts = 0;
    // Rows holding a ciphertext under another key than the current one; each batch commits on its own.
    for (;;) {
      const done = await db.transaction(async (tx) => {
        const { rows: batch } = await tx.query<{ ctid: string; value: unknown }>(
          `SELECT ctid::text AS ctid, ${column} AS value FROM ${table} WHERE ${column}::text ~ ('enc:v1:(?!' || $1 || ':)') LIMIT $2 FOR UPDATE`,
          [cipher.currentKeyId, batchSize],
        );
        let touched = 0;
        for (const row of batch) {
          const { value, changed } = reencryptJson(row.value, cipher);
          if (changed === 0) continue;
          await tx.query(`UPDATE ${table} SET ${column} = $1 WHERE ctid = $2::tid`, [JSON.stringify(value), row.ctid]);
          touched++;
          ciphertexts += changed;
        }
        rows += touched;
        return touched === 0;
      });
      if (done) break;
    }
    reports.push({ table, rows, ciphertexts });
  }
  return reports;
}
