// The official FHIR R4 examples and the US Core examples through the validator: nothing crashes,
// and every error it reports is one reviewed here (the examples have a few real faults).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../../../test/support/env.ts';
import { validateJson } from './validate.ts';

/** Files with errors, and what every one of their errors must say (reviewed by hand). */
const REVIEWED: Readonly<Record<string, { readonly reason: RegExp; readonly why: string }>> = {
  'r4-core/Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json': {
    reason: /RESTful fullUrl must end with the resource type and id/,
    why: 'an entry whose fullUrl ends Patient/pat12 holds Patient pat2',
  },
  'r4-core/Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json': {
    reason: /RESTful fullUrl must end with the resource type and id/,
    why: 'the same fullUrl/id mismatch (pat12 / pat2)',
  },
  'r4-core/Bundle-lri-example.json': {
    reason: /RESTful fullUrl must end with the resource type and id/,
    why: "16 fullUrls end with ids prefixed 'lri-' that their resources do not have",
  },
  'r4-core/MedicationRequest-medrx0301.json': {
    reason: /reference to type Practitioner, where the element allows Organization/,
    why: 'dispenseRequest.performer is Reference(Organization) in R4',
  },
  'r4-core/Observation-clinical-gender.json': {
    reason: /reference to type Encounter, where the element allows/,
    why: 'Observation.performer cannot be an Encounter',
  },
  'r4-core/Procedure-f201.json': {
    reason: /canonical URL must be absolute/,
    why: "instantiatesCanonical is a relative 'PlanDefinition/...' reference, not a canonical URL",
  },
  'us-core/diagnosticreport-cbc.json': {
    reason: /text\.div: Missing required property/,
    why: 'a Narrative without its required div',
  },
};

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
