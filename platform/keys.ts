// Key material as JWK files in one directory (mode 0600). In the embedded default the keys are
// generated on first use, so a fresh clone runs with no setup; in production the directory is
// provisioned by the operator (a secret mount) and nothing is generated.
import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type JWK, type CryptoKey } from 'jose';
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const KEY_ALGORITHMS = {
  /** Development issuer of end-user bearer tokens (npm run token). */
  devIssuer: 'ES256',
  /** Gateway-signed identity forwarded to subgraphs. */
  gatewayIdentity: 'EdDSA',
  /** SMART Backend Services client assertion (RS384 is what Epic and Cerner accept). */
  smartClient: 'RS384',
  /** Signed checkpoints of the audit log. */
  auditCheckpoint: 'EdDSA',
} as const;

export type KeyPair = {
  readonly kid: string;
  readonly alg: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  readonly privateKey: CryptoKey;
};

export type KeyStoreOptions = { readonly dir: string; readonly generateMissing: boolean };

/** Loads `<dir>/<name>.json`, generating it when allowed and absent. */
export function loadKeyPair(options: KeyStoreOptions, name: string, alg: string): Promise<KeyPair> {
  return loadKeyFile(join(options.dir, `${name}.json`), alg, options.generateMissing);
}

/** Loads a private JWK file, generating it first when allowed and absent. */
export async function loadKeyFile(file: string, alg: string, generateMissing = false): Promise<KeyPair> {
  if (!existsSync(file)) {
    if (!generateMissing) throw new Error(`key file ${file} is missing`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith('RS') ? { modulusLength: 2048 } : {}) });
    const jwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(jwk);
    // wx: never overwrite a key another process wrote a moment ago.
    try {
      writeFileSync(file, JSON.stringify({ ...jwk, kid, alg }, null, 2), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { kid: string; alg: string };
  return {
    kid: privateJwk.kid,
    alg: privateJwk.alg,
    privateJwk,
    publicJwk: publicPart(privateJwk),
    privateKey: (await importJWK(privateJwk, privateJwk.alg)) as CryptoKey,
  };
}

/** The public members of a JWK (drops d, p, q, dp, dq, qi). */
export function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

export const keyNames = {
  devIssuer: 'dev-issuer',
  gatewayIdentity: 'gateway-identity',
  auditCheckpoint: 'audit-checkpoint',
  /** HMAC key of cohort page cursors (orchestration/cohort/cursor.ts). */
  cohortCursor: 'cohort-cursor',
  smartClient: (connectionId: string) => `smart-client-${connectionId}`,
} as const;

/**
 * A 256-bit secret key (an `oct` JWK, HS256) from `<dir>/<name>.json`, generated when allowed and
 * absent. Every process of a deployment reads the same file, so what one signs another accepts.
 */
export function loadSecretKey(options: KeyStoreOptions, name: string): KeyObject {
  const file = join(options.dir, `${name}.json`);
  if (!existsSync(file)) {
    if (!options.generateMissing) throw new Error(`key file ${file} is missing`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, JSON.stringify({ kty: 'oct', alg: 'HS256', k: randomBytes(32).toString('base64url') }, null, 2), {
        mode: 0o600,
        flag: 'wx',
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  const key = Buffer.from(jwk.k ?? '', 'base64url');
  if (jwk.kty !== 'oct' || key.length < 32) throw new Error(`key file ${file} is not a 256-bit secret key`);
  return createSecretKey(key);
}
