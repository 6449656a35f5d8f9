// `npm run token -- --role clinician`: prints a development bearer token signed by the local
// development issuer (the key under .data/keys, created on first use). Clinicians get purpose of
// use TREAT. Only a gateway that trusts the development issuer (the embedded default) accepts it.
import { join } from 'node:path';
import { dataDir } from '../platform/config.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../platform/keys.ts';
import { isPurposeOfUse, isRole, PURPOSES_OF_USE, ROLES } from '../security/principal.ts';
import { mintDevToken } from '../security/user-token.ts';
import { runCommand, usageError } from './cli.ts';

const TOKEN_COMMAND = {
  name: 'token',
  usage: 'npm run token -- --role ROLE [--role ROLE] [--purpose CODE] [--sub ID] [--ttl SECONDS]',
  description:
    'Prints a bearer token from the local development issuer (key in KEYS_DIR, default DATA_DIR/keys, created on first use).\n' +
    'Only a gateway that trusts the development issuer accepts it: the embedded default, never production.',
  options: {
    role: { type: 'string', multiple: true, required: true, value: 'ROLE', description: `a role: ${ROLES.join(', ')}` },
    purpose: {
      type: 'string',
      value: 'CODE',
      description: `purpose of use: ${PURPOSES_OF_USE.join(', ')} (clinicians default to TREAT)`,
    },
    sub: { type: 'string', value: 'ID', description: 'the subject (default dev-<first role>)' },
    ttl: { type: 'integer', min: 1, max: 86_400, default: 3600, value: 'SECONDS', description: 'lifetime in seconds' },
  },
  example: 'TOKEN=$(npm run --silent token -- --role clinician)',
} as const;

runCommand(TOKEN_COMMAND, async ({ values }) => {
  const roles = values.role;
  const unknown = roles.find((r) => !isRole(r));
  if (unknown !== undefined) throw usageError(`--role must be one of ${ROLES.join(', ')} (got ${JSON.stringify(unknown)})`, 'role');
  const purpose = values.purpose ?? (roles.includes('clinician') ? 'TREAT' : undefined);
  if (purpose !== undefined && !isPurposeOfUse(purpose))
    throw usageError(`--purpose must be one of ${PURPOSES_OF_USE.join(', ')} (got ${JSON.stringify(purpose)})`, 'purpose');
  const key = await loadKeyPair(
    { dir: process.env.KEYS_DIR ?? join(dataDir(), 'keys'), generateMissing: true },
    keyNames.devIssuer,
    KEY_ALGORITHMS.devIssuer,
  );
  const token = await mintDevToken(key, {
    sub: values.sub ?? `dev-${roles[0]}`,
    roles: roles.filter(isRole),
    purposeOfUse: purpose,
    ttlSeconds: values.ttl,
  });
  process.stdout.write(`${token}\n`);
});
