// `npm run token -- --role clinician`: prints a development bearer token signed by the local
// development issuer (the key under .data/keys, created on first use). Clinicians get purpose of
// use TREAT unless `--purpose` names others: `--purpose TREAT,ETREAT` (or the option repeated)
// grants several, and each request then picks one with x-purpose-of-use. Only a gateway that
// trusts the development issuer (outside production mode) accepts it.
import { join } from 'node:path';
import { dataDir } from '../platform/config.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../platform/keys.ts';
import { isPurposeOfUse, isRole, PURPOSES_OF_USE, ROLES } from '../security/principal.ts';
import { mintDevToken } from '../security/user-token.ts';
import { runCommand, usageError } from './cli.ts';

const TOKEN_COMMAND = {
  name: 'token',
  usage: 'npm run token -- --role ROLE [--role ROLE] [--purpose CODE[,CODE...]] [--sub ID] [--ttl SECONDS]',
  description:
    'Prints a bearer token from the local development issuer (key in KEYS_DIR, default DATA_DIR/keys, created on first use).\n' +
    'Only a gateway that trusts the development issuer accepts it: the embedded default, never production.',
  options: {
    role: { type: 'string', multiple: true, required: true, value: 'ROLE', description: `a role: ${ROLES.join(', ')}` },
    purpose: {
      type: 'string',
      multiple: true,
      value: 'CODE',
      description:
        `purposes of use the token grants: ${PURPOSES_OF_USE.join(', ')}, comma-separated or repeated ` +
        '(clinicians default to TREAT); with several, each request picks one with x-purpose-of-use',
    },
    sub: { type: 'string', value: 'ID', description: 'the subject (default dev-<first role>)' },
    ttl: { type: 'integer', min: 1, max: 86_400, default: 3600, value: 'SECONDS', description: 'lifetime in seconds' },
  },
  example: 'TOKEN=$(npm run --silent token -- --role clinician --purpose TREAT,ETREAT)',
} as const;

runCommand(TOKEN_COMMAND, async ({ values }) => {
  const roles = values.role;
  const unknown = roles.find((r) => !isRole(r));
  if (unknown !== undefined) throw usageError(`--role must be one of ${ROLES.join(', ')} (got ${JSON.stringify(unknown)})`, 'role');
  const asked = values.purpose.length > 0 ? values.purpose : roles.includes('clinician') ? ['TREAT'] : [];
  const purposes = asked.flatMap((p) =>
    p
      .split(',')
      .map((code) => code.trim())
      .filter(Boolean),
  );
  const unknownPurpose = purposes.find((p) => !isPurposeOfUse(p));
  if (unknownPurpose !== undefined)
    throw usageError(`--purpose must be among ${PURPOSES_OF_USE.join(', ')} (got ${JSON.stringify(unknownPurpose)})`, 'purpose');
  const key = await loadKeyPair(
    { dir: process.env.KEYS_DIR ?? join(dataDir(), 'keys'), generateMissing: true },
    keyNames.devIssuer,
    KEY_ALGORITHMS.devIssuer,
  );
  const token = await mintDevToken(key, {
    sub: values.sub ?? `dev-${roles[0]}`,
    roles: roles.filter(isRole),
    purposeOfUse: purposes.filter(isPurposeOfUse),
    ttlSeconds: values.ttl,
  });
  process.stdout.write(`${token}\n`);
});
