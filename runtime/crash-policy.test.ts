// A bug nobody caught ends the process with code 1 and a log line that carries no PHI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeError } from './crash-policy.ts';

const POLICY = fileURLToPath(new URL('./crash-policy.ts', import.meta.url));
// A message quoting patient data, as a careless throw might.
const PHI = 'Jane Q Synthetic born 1950-01-01 SSN 000-12-3456';

const run = (body: string) =>
  spawnSync(process.execPath, ['--input-type=module', '-e', `import { exitOnUnhandledErrors } from ${JSON.stringify(POLICY)};\n${body}`], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'error' },
    timeout: 20_000,
  });

for (const [kind, body, event] of [
  ['an exception', `setTimeout(() => { throw new TypeError(${JSON.stringify(PHI)}); }, 10);`, 'uncaught_exception'],
  ['a rejection', `void Promise.reject(Object.assign(new Error(${JSON.stringify(PHI)}), { code: 'E_SAMPLE' }));`, 'unhandled_rejection'],
] as const) {
  test(`${kind} nobody handled: the process closes what it can, exits with code 1, and logs where, never what`, () => {
    const res = run(`exitOnUnhandledErrors(async () => console.log('closed'));\n${body}\nsetInterval(() => undefined, 1000);`);
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stdout, /closed/);
    const line = JSON.parse(res.stderr.trim().split('\n').at(-1)!) as Record<string, string>;
    assert.equal(line.event, event);
    assert.match(line.name!, /Error/);
    assert.match(line.at!, /\S/);
    assert.doesNotMatch(res.stderr, /Jane|1950|000-12-3456/);
  });
}

test('describeError keeps the name, code and frames of an error, not its message', () => {
  const d = describeError(Object.assign(new RangeError(PHI), { code: 'E_X' }));
  assert.deepEqual([d.name, d.code], ['RangeError', 'E_X']);
  assert.doesNotMatch(JSON.stringify(d), /Jane|000-12/);
  assert.deepEqual(describeError('a string'), { name: 'string', at: '' });
});
