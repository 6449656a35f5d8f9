// `npm run token -- --role clinician`: prints a development bearer token signed by the local
// development issuer (the key under .data/keys, created on first use). Clinicians get purpose of
// use TREAT. Only a gateway that trusts the development issuer (the embedded default) accepts it.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { dataDir } from '../platform/config.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../platform/keys.ts';
import { isPurposeOfUse, isRole, ROLES } from '../security/principal.ts';
import { mintDevToken } from '../security/user-token.ts';

const { values } = parseArgs({
  options: {
    role: { type: 'string', multiple: true },
    sub: { type: 'string' },
    purpose: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
  },
});
const roles = values.role ?? [];
if (roles.length === 0 || !roles.every(isRole)) {
  process.stderr.write(`usage: npm run token -- --role <${ROLES.join('|')}> [--purpose TREAT] [--sub id] [--ttl seconds]\n`);
  process.exit(2);
}
const purpose = values.purpose ?? (roles.includes('clinician') ? 'TREAT' : undefined);
if (purpose !== undefined && !isPurposeOfUse(purpose)) {
  process.stderr.write(`unknown purpose of use ${purpose}\n`);
  process.exit(2);
}
const key = await loadKeyPair(
  { dir: process.env.KEYS_DIR ?? join(dataDir(), 'keys'), generateMissing: true },
  keyNames.devIssuer,
  KEY_ALGORITHMS.devIssuer,
);
const token = await mintDevToken(key, {
  sub: values.sub ?? `dev-${roles[0]}`,
  roles,
  purposeOfUse: purpose,
  ttlSeconds: Number(values.ttl),
});
process.stdout.write(`${token}\n`);
