// npm run bench:validation: our FHIR R4 validator against the HL7 (Java) validator's verdicts on
// the official R4 test cases (../shared/data/fhir/validator-test-cases-r4). The verdict compared is
// "error or not": any issue of severity error or fatal in the expected OperationOutcome. Prints each
// disagreement (name, expected, got, first reason) and ends with `agreement N/104`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateJson, type ValidationOptions } from '../../translation/fhir-r4/validation/validate.ts';

const DIR = new URL('../../../shared/data/fhir/validator-test-cases-r4/', import.meta.url).pathname;

/** The HL7 validator's default: an extension it cannot find a definition for is an error. */
export const HL7_VALIDATOR_SETTINGS: ValidationOptions = { unknownExtensions: 'error' };

type Case = { name: string; file: string; java: string | { errorCount: number } };
type Outcome = { issue?: { severity: string }[] };

export type Verdict = { name: string; expected: boolean; got: boolean; reason: string };

/** The cases with an expected Java OperationOutcome (the manifest also has one entry with only an error count). */
export function cases(dir = DIR): { withOutcome: Case[]; countOnly: Case[] } {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.r4.json'), 'utf8')) as { 'test-cases': Case[] };
  const all = manifest['test-cases'];
  return { withOutcome: all.filter((c) => typeof c.java === 'string'), countOnly: all.filter((c) => typeof c.java !== 'string') };
}

export function expectedError(c: Case, dir = DIR): boolean {
  if (typeof c.java !== 'string') return c.java.errorCount > 0;
  const o = JSON.parse(readFileSync(join(dir, 'expected-java-outcomes', c.java.replace(/^java\//, '')), 'utf8')) as Outcome;
  return (o.issue ?? []).some((i) => i.severity === 'error' || i.severity === 'fatal');
}

export function judge(c: Case, options: ValidationOptions, dir = DIR): Verdict {
  const issues = validateJson(readFileSync(join(dir, 'inputs', c.file), 'utf8'), options);
  const first = issues.find((i) => i.severity === 'error');
  return {
    name: c.name,
    expected: expectedError(c, dir),
    got: first !== undefined,
    reason: first ? `${first.path}: ${first.message}` : '',
  };
}

function main(): void {
  if (!existsSync(DIR)) {
    console.log(`skipped: ${DIR} is absent (the shared test data)`);
    return;
  }
  const { withOutcome, countOnly } = cases();
  const verdict = (v: boolean): string => (v ? 'error' : 'no error');
  const run = (options: ValidationOptions): Verdict[] => withOutcome.map((c) => judge(c, options));
  const product = run({}).filter((v) => v.got === v.expected).length;
  const started = performance.now();
  const verdicts = run(HL7_VALIDATOR_SETTINGS);
  const ms = performance.now() - started;
  for (const v of verdicts.filter((x) => x.got !== x.expected)) {
    console.log(`disagree  ${v.name}  expected ${verdict(v.expected)}, got ${verdict(v.got)}${v.reason ? `  (${v.reason})` : ''}`);
  }
  const extra = countOnly.map((c) => judge(c, HL7_VALIDATOR_SETTINGS)).filter((v) => v.got === v.expected).length;
  console.log(`manifest entries without an expected OperationOutcome: ${countOnly.length}, agreeing ${extra}/${countOnly.length}`);
  console.log(`with the product defaults (unknown extensions are warnings): ${product}/${withOutcome.length}`);
  console.log(`time: ${ms.toFixed(0)} ms for ${withOutcome.length} cases`);
  console.log(`agreement ${verdicts.filter((v) => v.got === v.expected).length}/${withOutcome.length}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
