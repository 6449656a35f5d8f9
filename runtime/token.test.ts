// `npm run token` as the README's quick start uses it: the printed token is accepted by the
// gateway's verifier with the purposes of use it was asked for (clinicians: TREAT by default).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../platform/keys.ts';
import { DEFAULT_AUDIENCE, DEV_ISSUER, userTokenVerifier } from '../security/user-token.ts';

const CLI = fileURLToPath(new URL('./token.ts', import.meta.url));
const keysDir = mkdtempSync(join(tmpdir(), 'pgw-token-'));
after(() => rmSync(keysDir, { recursive: true, force: true }));

const mint = (...args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, KEYS_DIR: keysDir } }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr)) : resolve(stdout.trim()),
    ),
  );

test('the minted token is accepted with the purposes asked for; a clinician defaults to TREAT', async () => {
  const clinician = await mint('--role', 'clinician');
  const key = await loadKeyPair({ dir: keysDir, generateMissing: false }, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
  const verify = userTokenVerifier([{ issuer: DEV_ISSUER, audience: DEFAULT_AUDIENCE, jwks: [key.publicJwk] }]);
  const principal = (token: string, header?: string) =>
    verify(`Bearer ${token}`, { requestId: 'r', purposeOfUseHeader: header, breakGlassReasonHeader: 'test' });

  assert.equal((await principal(clinician)).purposeOfUse, 'TREAT');
  assert.deepEqual((await principal(clinician)).roles, ['clinician']);
  const both = await mint('--role', 'clinician', '--purpose', 'TREAT,ETREAT');
  assert.equal((await principal(both)).purposeOfUse, null, 'several purposes: none until the request picks one');
  assert.equal((await principal(both, 'ETREAT')).purposeOfUse, 'ETREAT');
  assert.equal((await principal(await mint('--role', 'analyst'))).purposeOfUse, null);
  assert.equal((await principal(await mint('--role', 'analyst', '--purpose', 'HRESCH'))).purposeOfUse, 'HRESCH');
});
