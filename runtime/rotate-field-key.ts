// `npm run keys:rotate-field`: adds a new field-encryption key, re-encrypts every protected value
// under it, then retires the old keys. Safe to re-run after an interruption: re-encryption resumes
// where it stopped, and old keys are retired only once nothing uses them.
import { join } from 'node:path';
import { dataDir } from '../platform/config.ts';
import { openDatabase } from '../platform/db.ts';
import { databaseOptionsFromEnv } from './components.ts';
import { fieldCipher, loadFieldKeys, retireFieldKeys, rotateFieldKey } from '../security/field-encryption.ts';
import { reencryptAll } from '../security/reencrypt.ts';

const keysDir = process.env.KEYS_DIR ?? join(dataDir(), 'keys');
const db = await openDatabase(databaseOptionsFromEnv());
try {
  const resume = process.argv.includes('--resume');
  const keys = resume ? loadFieldKeys(keysDir, false) : rotateFieldKey(keysDir);
  const reports = await reencryptAll(db, fieldCipher(keys));
  for (const r of reports) process.stdout.write(`${r.table}: ${r.rows} rows, ${r.ciphertexts} values re-encrypted\n`);
  const retired = Object.keys(retireFieldKeys(keysDir, []).keys);
  process.stdout.write(`current key ${keys.current}; keys kept: ${retired.join(', ')}\n`);
} finally {
  await db.close();
}
