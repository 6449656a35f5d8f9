// `npm run token -- --role clinician`: prints a development bearer token signed by the local
// development issuer (the key under .data/keys, created on first use). Clinicians get purpose of
// use TREAT unless `--purpose` names others: `--purpose TREAT,ETREAT` (or the option repeated)
// grants several, and each request then picks one with x-purpose-of-use. Only a gateway that
// trusts the development issuer (outside production mode) accepts it.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { dataDir } from '../platform/config.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../platform/keys.ts';
import { isPurposeOfUse, isRole, PURPOSES_OF_USE, ROLES } from '../security/principal.ts';
import { mintDevToken } from '../security/user-token.ts';

const { values } = parseArgs({
  options: {
    role: { type: 'string', multiple: true },
    sub: { type: 'string' },
    purpose: { type: 'string', multiple: true },
    ttl: { type: 'string', default: '3600' },
  },
});
const roles = values.role ?? [];
if (roles.length === 0 || !roles.every(isRole)) {
  process.stderr.write(`usage: npm run token -- --role <${ROLES.join('|')}> [--purpose TREAT[,ETREAT...]] [--sub id] [--ttl seconds]\n`);
  process.exit(2);
}
const purposes = (values.purpose ?? (roles.includes('clinician') ? ['TREAT'] : [])).flatMap((p) =>
  p
    .split(',')
    .map((code) => code.trim())
    .filter(Boolean),
);
const unknown = purposes.find((p) => !isPurposeOfUse(p));
if (unknown !== undefined) {
  process.stderr.write(`unknown purpose of use ${unknown}; known: ${PURPOSES_OF_USE.join(', ')}\n`);
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
  purposeOfUse: purposes.filter(isPurposeOfUse),
  ttlSeconds: Number(values.ttl),
});
process.stdout.write(`${token}\n`);
