// An operator starting a vendor adapter in production mode with a Redis URL that has no TLS or no
// credentials: the service refuses to start, with one line saying what is missing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SERVICE = new URL('./service.ts', import.meta.url).pathname;
const keysDir = mkdtempSync(join(tmpdir(), 'pgw-service-keys-'));
before(async () => {
  await run(process.execPath, [SERVICE, 'keys'], { env: { ...process.env, KEYS_DIR: keysDir, LOG_LEVEL: 'warn' } });
});
after(() => rmSync(keysDir, { recursive: true, force: true }));

const start = async (redisUrl: string) => {
  const env = { ...process.env, NODE_ENV: 'production', KEYS_DIR: keysDir, REDIS_URL: redisUrl, PORT: '0', LOG_LEVEL: 'info' };
  try {
    await run(process.execPath, [SERVICE, 'adapter', 'epic'], { env, timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
};

for (const [url, missing] of [
  ['redis://127.0.0.1:6379', /TLS \(rediss:\/\/\) and credentials/],
  ['rediss://127.0.0.1:6379', /credentials \(user:password@\)/],
  ['redis://gateway:hunter2@127.0.0.1:6379', /TLS \(rediss:\/\/\)/],
] as const) {
  test(`production refuses REDIS_URL ${url.replace(/:[^:@/]+@/, ':***@')}`, async () => {
    const { code, stderr } = await start(url);
    assert.equal(code, 1);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${stderr}`);
    assert.match(lines[0]!, /in production mode REDIS_URL needs /);
    assert.match(lines[0]!, missing);
    assert.ok(!stderr.includes('hunter2'), 'the password is not printed');
  });
}
