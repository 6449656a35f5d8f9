// Clinical data and Redis (issue 12, finding 14). Clinical lists were cached in Redis, encrypted;
// since the clinical store (issue 14) they are read through PostgreSQL (orchestration/clinical/
// read-through.ts) and Redis holds none: after a query, no clinical key is under the product's
// prefix and whatever is there is a ciphertext (no FHIR JSON, no patient name); a field-key
// rotation with `npm run keys:rotate-field` leaves the product answering as before.
// Needs a real Redis (REDIS_URL); skipped otherwise.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { Stack } from '../../../runtime/stack.ts';
import { FIELD_KEY_FILE, retireFieldKeys, rotateFieldKey } from '../../../security/field-encryption.ts';
import { databaseUrl, redisUrl } from '../../support/env.ts';
import { gql, startTestStack, tokenFor } from '../../support/stack.ts';

const SKIP = !redisUrl() && 'REDIS_URL is not set: the Redis cache is not in use, these tests are skipped';
const ROOT = new URL('../../../', import.meta.url).pathname;

let stack: Stack;
let token: string;
let raw: Redis;
before(async () => {
  if (SKIP) return;
  stack = await startTestStack();
  token = (await tokenFor(stack, ['clinician'])).token;
  raw = new Redis(redisUrl()!);
});
after(async () => {
  raw?.disconnect();
  await stack?.close();
});

type Record_ = { id: string; source: string; observations: { id: string }[] | null; conditions: { id: string }[] | null };
type Page = { patients: { edges: { node: { id: string; sourceRecords: Record_[] } }[] } };
const PAGE =
  '{ patients(first: 30) { edges { node { id sourceRecords { id source observations { id } conditions { id } medications { id } } } } } }';

/** Every key and value this stack wrote to Redis. */
async function stored(): Promise<Map<string, string>> {
  const prefix = `pgw:${stack.db.schema}:`;
  const found = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    const values = keys.length > 0 ? await raw.mget(...keys) : [];
    keys.forEach((k, i) => values[i] !== null && found.set(k.slice(prefix.length), values[i]!));
  } while (cursor !== '0');
  return found;
}

test('after a query, no clinical list is in Redis, and anything there is a ciphertext: no FHIR JSON, no name', { skip: SKIP }, async () => {
  const res = await gql<Page>(stack, token, PAGE);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.ok(
    res.body.data!.patients.edges.some((e) => e.node.sourceRecords.some((r) => (r.observations?.length ?? 0) > 0)),
    'clinical lists were answered',
  );
  const values = await stored();
  assert.equal([...values.keys()].filter((k) => k.startsWith('clinical:')).length, 0, 'no clinical list cached in Redis');
  const names = Object.values(stack.population!.sites)
    .flatMap((s) => s.patients.flatMap((p) => [p.name?.[0]?.family, ...(p.name?.[0]?.given ?? [])]))
    // Long enough not to turn up by chance in base64 (a 4-letter name does, in kilobytes of ciphertext).
    .filter((n): n is string => typeof n === 'string' && n.length >= 8);
  assert.ok(names.length > 20);
  for (const [key, value] of values) {
    assert.match(value, /^enc:v1:[^:]+:[^:]+:[^:]+:[^:]+$/, `${key} holds a ciphertext`);
    for (const clear of ['{', 'resourceType', 'Observation', 'http://loinc.org', 'epic-main', 'cerner-main'])
      assert.ok(!value.includes(clear), `${key} shows ${clear}`);
    for (const name of names) assert.ok(!value.includes(name), `${key} shows a name`);
  }
});

test('`npm run keys:rotate-field`: the product answers as before', { skip: SKIP }, async () => {
  const before = (await gql<Page>(stack, token, PAGE)).body;
  assert.equal(before.errors, undefined);
  const keysDir = stack.keys.dir;
  const oldKey = (JSON.parse(readFileSync(join(keysDir, FIELD_KEY_FILE), 'utf8')) as { current: string }).current;
  if (databaseUrl()) {
    // The command itself, on this stack's database and keys: it re-encrypts the database and retires the old key.
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'runtime/rotate-field-key.ts')], {
      cwd: ROOT,
      env: { ...process.env, KEYS_DIR: keysDir, DATABASE_URL: databaseUrl(), DB_SCHEMA: stack.db.schema, LOG_LEVEL: 'warn' },
    });
    assert.match(stdout, /current key /);
  } else {
    // The embedded database is in this process: the command's key steps, without its database pass.
    rotateFieldKey(keysDir);
    retireFieldKeys(keysDir, []);
  }
  const keys = JSON.parse(readFileSync(join(keysDir, FIELD_KEY_FILE), 'utf8')) as { current: string; keys: Record<string, string> };
  assert.notEqual(keys.current, oldKey);
  assert.equal(keys.keys[oldKey], undefined, 'the old key is retired');
  const after = (await gql<Page>(stack, token, PAGE)).body;
  assert.equal(after.errors, undefined, JSON.stringify(after.errors));
  assert.deepEqual(after.data, before.data, 'the same answer');
});
