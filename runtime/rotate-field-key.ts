// `npm run keys:rotate-field`: adds a new field-encryption key, re-encrypts every protected value
// under it, then retires the old keys. Safe to re-run after an interruption: re-encryption resumes
// where it stopped, and old keys are retired only once nothing uses them.
import { join } from 'node:path';
import { dataDir } from '../platform/config.ts';
import { openDatabase } from '../platform/db.ts';
import { databaseOptionsFromEnv } from './components.ts';
import { fieldCipher, loadFieldKeys, retireFieldKeys, rotateFieldKey } from '../security/field-encryption.ts';
import { reencryptAll } from '../security/reencrypt.ts';
import { runCommand } from './cli.ts';

const ROTATE_FIELD_KEY_COMMAND = {
  name: 'keys:rotate-field',
  usage: 'npm run keys:rotate-field [-- --resume]',
  description:
    'Adds a new field-encryption key (KEYS_DIR/field-encryption.json), re-encrypts every protected value under it, then\n' +
    'retires the old keys. Running services pick the new key up without a restart.',
  options: {
    resume: { type: 'boolean', description: 'finish an interrupted rotation with the current key instead of adding another' },
  },
  example: 'npm run keys:rotate-field',
  notes:
    'Storage as the product: DATABASE_URL (runs beside the product), else the embedded database in DATA_DIR/pg (stop\n' +
    '`npm start` first: one process at a time opens it); schema DB_SCHEMA; keys in KEYS_DIR (default DATA_DIR/keys).',
} as const;

runCommand(ROTATE_FIELD_KEY_COMMAND, async ({ values }) => {
  const keysDir = process.env.KEYS_DIR ?? join(dataDir(), 'keys');
  // The database first: a key is added only when its values can be re-encrypted now.
  const db = await openDatabase(databaseOptionsFromEnv());
  try {
    const keys = values.resume ? loadFieldKeys(keysDir, false) : rotateFieldKey(keysDir);
    const reports = await reencryptAll(db, fieldCipher(keys));
    for (const r of reports) process.stdout.write(`${r.table}: ${r.rows} rows, ${r.ciphertexts} values re-encrypted\n`);
    const retired = Object.keys(retireFieldKeys(keysDir, []).keys);
    process.stdout.write(`current key ${keys.current}; keys kept: ${retired.join(', ')}\n`);
  } finally {
    await db.close();
  }
});
