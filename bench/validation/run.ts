// npm run bench:validation: our FHIR R4 validator against the HL7 (Java) validator's verdicts on
// the official R4 test cases (../shared/data/fhir/validator-test-cases-r4). The verdict compared is
// "error or not": any issue of severity error or fatal in the expected OperationOutcome. Prints each
// disagreement (name, expected, got, first reason) and ends with `agreement N/104`. With --corpora it
// also validates the R4, US Core, Epic-shaped and Synthea NDJSON corpora (a few seconds).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateResource as medplumValidate } from '@medplum/core';
import { commandLine } from '../../runtime/cli.ts';
import { definitions } from '../../translation/fhir-r4/validation/definitions.ts';
import { validateJson, type ValidationOptions } from '../../translation/fhir-r4/validation/validate.ts';

const DIR = new URL('../../../shared/data/fhir/validator-test-cases-r4/', import.meta.url).pathname;
const DATA = new URL('../../../shared/data/', import.meta.url).pathname;

/** The HL7 validator's default: an extension it cannot find a definition for is an error. */
export const HL7_VALIDATOR_SETTINGS: ValidationOptions = { unknownExtensions: 'error' };

type Case = { name: string; file: string; java: string | { errorCount: number } };
type Outcome = { issue?: { severity: string; details?: { text?: string } }[] };

export type Verdict = { name: string; expected: boolean; got: boolean; reason: string; expectedReason: string };

/** The cases with an expected Java OperationOutcome (the manifest also has one entry with only an error count). */
export function cases(dir = DIR): { withOutcome: Case[]; countOnly: Case[] } {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.r4.json'), 'utf8')) as { 'test-cases': Case[] };
  const all = manifest['test-cases'];
  return { withOutcome: all.filter((c) => typeof c.java === 'string'), countOnly: all.filter((c) => typeof c.java !== 'string') };
}

/** The first error of the Java validator's expected outcome, if any. */
export function expectedFirstError(c: Case, dir = DIR): { error: boolean; text: string } {
  if (typeof c.java !== 'string') return { error: c.java.errorCount > 0, text: '' };
  const o = JSON.parse(readFileSync(join(dir, 'expected-java-outcomes', c.java.replace(/^java\//, '')), 'utf8')) as Outcome;
  const first = (o.issue ?? []).find((i) => i.severity === 'error' || i.severity === 'fatal');
  return { error: first !== undefined, text: first?.details?.text ?? '' };
}

export const expectedError = (c: Case, dir = DIR): boolean => expectedFirstError(c, dir).error;

/** @medplum/core's validateResource alone (it throws its issues when one is an error), for comparison. */
function libraryOnly(text: string): { severity: string; path: string; message: string }[] {
  definitions();
  try {
    return medplumValidate(JSON.parse(text)).map((i) => ({
      severity: i.severity,
      path: i.expression?.[0] ?? '',
      message: i.details?.text ?? '',
    }));
  } catch (e) {
    const issues = (e as { outcome?: { issue?: { severity: string; expression?: string[]; details?: { text?: string } }[] } }).outcome
      ?.issue;
    return (issues ?? [{ severity: 'error', details: { text: String(e) } }]).map((i) => ({
      severity: i.severity,
      path: i.expression?.[0] ?? '',
      message: i.details?.text ?? '',
    }));
  }
}

export function judge(c: Case, options: ValidationOptions | 'library-only', dir = DIR): Verdict {
  const text = readFileSync(join(dir, 'inputs', c.file), 'utf8');
  const issues = options === 'library-only' ? libraryOnly(text) : validateJson(text, options);
  const first = issues.find((i) => i.severity === 'error');
  const expected = expectedFirstError(c, dir);
  return {
    name: c.name,
    expected: expected.error,
    got: first !== undefined,
    reason: first ? `${first.path}: ${first.message}` : '',
    expectedReason: expected.text,
  };
}

/** Example and vendor corpora under the product defaults: accepted, refused, flagged; resources per second. */
function corpora(): void {
  const tally = (label: string, texts: readonly string[]): void => {
    let accepted = 0;
    let flagged = 0;
    const started = performance.now();
    for (const t of texts) {
      const issues = validateJson(t);
      if (issues.every((i) => i.severity !== 'error')) accepted++;
      if (issues.some((i) => i.severity === 'warning')) flagged++;
    }
    const s = (performance.now() - started) / 1000;
    console.log(
      `corpus ${label}: ${texts.length} resources, accepted ${accepted}, refused ${texts.length - accepted}, with warnings ${flagged}; ${Math.round(texts.length / s)} resources/s`,
    );
  };
  const files = (dir: string): string[] =>
    existsSync(join(DATA, dir))
      ? readdirSync(join(DATA, dir))
          .filter((f) => f.endsWith('.json'))
          .map((f) => readFileSync(join(DATA, dir, f), 'utf8'))
      : [];
  tally('fhir/r4-core', files('fhir/r4-core'));
  tally('fhir/us-core', files('fhir/us-core'));
  tally('vendor/epic-derived-radiant', files('vendor/epic-derived-radiant'));
  const ndjson = join(DATA, 'synthea/bulk-ndjson-10-patients');
  const lines = existsSync(ndjson)
    ? readdirSync(ndjson)
        .filter((f) => f.endsWith('.ndjson') && f !== 'log.ndjson') // log.ndjson is the export's log, not FHIR
        .flatMap((f) =>
          readFileSync(join(ndjson, f), 'utf8')
            .split('\n')
            .filter((l) => l.trim() !== ''),
        )
    : [];
  tally('synthea/bulk-ndjson-10-patients', lines);
}

function main(): void {
  const { values } = commandLine({
    name: 'bench:validation',
    usage: 'npm run bench:validation [-- --corpora]',
    description:
      "Our FHIR R4 validator against the HL7 validator's verdicts on its 104 R4 test cases (../shared/data/fhir/validator-test-cases-r4); prints each disagreement and ends with `agreement N/104` (BENCHMARKS.md).",
    options: {
      corpora: { type: 'boolean', description: 'also validate the R4, US Core, Epic-shaped and Synthea NDJSON corpora (a few seconds)' },
    },
    example: 'npm run bench:validation -- --corpora',
  });
  if (!existsSync(DIR)) {
    console.log(`skipped: ${DIR} is absent (the shared test data)`);
    return;
  }
  const { withOutcome, countOnly } = cases();
  const verdict = (v: boolean): string => (v ? 'error' : 'no error');
  const run = (options: ValidationOptions | 'library-only'): Verdict[] => withOutcome.map((c) => judge(c, options));
  const product = run({}).filter((v) => v.got === v.expected).length;
  const library = run('library-only').filter((v) => v.got === v.expected).length;
  const started = performance.now();
  const verdicts = run(HL7_VALIDATOR_SETTINGS);
  const ms = performance.now() - started;
  for (const v of verdicts.filter((x) => x.got !== x.expected)) {
    const why = v.got ? `ours: ${v.reason}` : `HL7: ${v.expectedReason.slice(0, 120)}`;
    console.log(`disagree  ${v.name}  expected ${verdict(v.expected)}, got ${verdict(v.got)}  (${why})`);
  }
  const extra = countOnly.map((c) => judge(c, HL7_VALIDATOR_SETTINGS)).filter((v) => v.got === v.expected).length;
  console.log(`manifest entries without an expected OperationOutcome: ${countOnly.length}, agreeing ${extra}/${countOnly.length}`);
  console.log(`@medplum/core validateResource alone: ${library}/${withOutcome.length}`);
  console.log(`with the product defaults (unknown extensions are warnings): ${product}/${withOutcome.length}`);
  console.log(`time: ${ms.toFixed(0)} ms for ${withOutcome.length} cases`);
  if (values.corpora) corpora();
  console.log(`agreement ${verdicts.filter((v) => v.got === v.expected).length}/${withOutcome.length}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
