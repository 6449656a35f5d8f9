// The public HL7 v2 corpus through translateHl7: every message of FHIR-Converter's 139 samples and
// of rethinkhealth's QA files either translates or is refused with specific issues; none throws.
// Files that do not parse are the parser's business (protocol/hl7v2/corpus.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_DATA, SHARED_DATA_MISSING, sharedDataPresent } from '../../test/support/env.ts';
import { parseHl7 } from '../../protocol/hl7v2/er7.ts';
import { translateHl7 } from './translate.ts';
import type { Hl7TranslationContext } from './contract.ts';

const skip = !sharedDataPresent() && SHARED_DATA_MISSING;
const ROOT = join(SHARED_DATA, 'hl7v2');
export const CORPUS_CONTEXT: Hl7TranslationContext = {
  source: 'hl7-corpus',
  timeZone: 'America/New_York',
  identifierSystems: { MR: 'urn:patient-gateway:connection:hl7-corpus:mr', PI: 'urn:patient-gateway:connection:hl7-corpus:pi' },
};

const hl7Files = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.hl7'))
    .sort()
    .map((f) => join(dir, f));

/** A path names a segment (PID, OBX[2]) and a field, or a whole segment; messages are about the datum, never quote it. */
const SPECIFIC_PATH = /^[A-Z][A-Z0-9]{2}(\[\d+\])?(-\d+)?$/;

test('every corpus message translates or is refused with specific issues, and none throws', { skip }, () => {
  const samples = hl7Files(join(ROOT, 'fhir-converter', 'samples'));
  const qa = hl7Files(join(ROOT, 'rethinkhealth-qa'));
  assert.equal(samples.length, 139);
  const tally = { messages: 0, translated: 0, refused: 0, unparsed: 0 };
  const refusals: string[] = [];
  for (const file of [...samples, ...qa]) {
    let messages;
    try {
      messages = parseHl7(readFileSync(file, 'utf8')).messages;
    } catch {
      tally.unparsed += 1;
      continue;
    }
    for (const message of messages) {
      tally.messages += 1;
      const r = translateHl7(message, CORPUS_CONTEXT);
      for (const i of r.issues) assert.match(i.path, SPECIFIC_PATH, `${file}: issue path ${i.path}`);
      if (r.ok) {
        tally.translated += 1;
        if (r.value.patient) assert.equal(r.value.patient.id, r.value.sourcePatientId);
        for (const res of r.value.resources) assert.match(String(res.id), /^[a-f0-9]{40}$/);
      } else {
        tally.refused += 1;
        assert.ok(
          r.issues.some((i) => i.severity === 'error'),
          `${file}: refused without an error`,
        );
        refusals.push(`${file.split('/').pop()}: ${r.issues.filter((i) => i.severity === 'error').map((i) => `${i.path} ${i.message}`).join('; ')}`);
      }
    }
  }
  // The two unparsed files are rethinkhealth's invalid-on-purpose fixtures; the one refusal is a PID without any identifier.
  assert.deepEqual(tally, { messages: 155, translated: 154, refused: 1, unparsed: 2 });
  assert.deepEqual(refusals, ['edge-empty-segments.hl7: PID-3 no patient identifier']);
});
