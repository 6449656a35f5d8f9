// The official FHIR R4 examples and the US Core examples through the validator: nothing crashes,
// and every error it reports is one reviewed here (the examples have a few real faults).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../../../test/support/env.ts';
import { REVIEWED } from './test-helpers.ts';
import { validateJson } from './validate.ts';

for (const dir of ['r4-core', 'us-core']) {
  test(`${dir} examples: each is accepted or refused for a reviewed reason`, { skip: !sharedDataPresent() && SHARED_DATA_MISSING }, () => {
    const base = join(SHARED_DATA, 'fhir', dir);
    const files = readdirSync(base).filter((f) => f.endsWith('.json'));
    let accepted = 0;
    const unexpected: string[] = [];
    for (const f of files) {
      const key = `${dir}/${f}`;
      const errs = validateJson(readFileSync(join(base, f), 'utf8')).filter((i) => i.severity === 'error');
      const reviewed = REVIEWED[key];
      if (errs.length === 0) {
        accepted++;
        if (reviewed) unexpected.push(`${key}: accepted, but reviewed as refused (${reviewed.why})`);
      } else if (!reviewed) unexpected.push(`${key}: ${errs.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
      else for (const e of errs) if (!reviewed.reason.test(`${e.path}: ${e.message}`)) unexpected.push(`${key}: ${e.path}: ${e.message}`);
    }
    assert.deepEqual(unexpected, []);
    const refused = Object.keys(REVIEWED).filter((k) => k.startsWith(`${dir}/`)).length;
    assert.equal(accepted, files.length - refused);
    assert.ok(files.length > 200, `${files.length} files`);
  });
}
