// Structure, cardinality, primitive formats and the resources' own invariants: @medplum/core's
// validator over the R4 StructureDefinitions, plus the JSON rules it leaves out (empty arrays and
// objects). Its issues become the project's graded issues (its messages quote no values).
import { validateResource as medplumValidate } from '@medplum/core';
import type { TranslationIssue } from '../../issues.ts';
import type { Rule } from './context.ts';
import { isObject, type Json } from './walk.ts';

type OperationOutcomeIssue = { severity?: string; code?: string; details?: { text?: string }; expression?: string[] };

const severityOf = (s: string | undefined): 'error' | 'warning' | undefined =>
  s === 'error' || s === 'fatal' ? 'error' : s === 'warning' ? 'warning' : undefined;

export function fromMedplum(issues: readonly OperationOutcomeIssue[]): TranslationIssue[] {
  const out: TranslationIssue[] = [];
  for (const i of issues) {
    const severity = severityOf(i.severity);
    // Its reference-target check misreads absolute and urn:uuid references and quotes them:
    // referenceTargets (resources.ts) replaces it.
    if (!severity || (i.details?.text ?? '').startsWith('Invalid reference: got')) continue;
    out.push({ severity, path: i.expression?.[0] ?? '', message: i.details?.text ?? i.code ?? 'invalid' });
  }
  return out;
}

/** @medplum/core throws its issues as an OperationOutcome when one is an error. */
export const medplumStructure: Rule = ({ resource }) => {
  try {
    return fromMedplum(medplumValidate(resource as never));
  } catch (e) {
    const outcome = (e as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome;
    if (outcome?.issue) return fromMedplum(outcome.issue);
    return [{ severity: 'error', path: String(resource.resourceType), message: 'the resource structure could not be read' }];
  }
};

/** FHIR JSON has no empty arrays or objects: a property without values is left out. */
export const emptyJson: Rule = ({ resource }) => {
  const out: TranslationIssue[] = [];
  const visit = (v: unknown, path: string): void => {
    if (Array.isArray(v)) {
      if (v.length === 0) out.push({ severity: 'error', path, message: 'an array cannot be empty: leave the property out' });
      v.forEach((x, i) => visit(x, `${path}[${i}]`));
    } else if (isObject(v)) {
      if (Object.keys(v).length === 0) out.push({ severity: 'error', path, message: 'an object cannot be empty: leave the property out' });
      for (const [k, x] of Object.entries(v as Json)) visit(x, `${path}.${k}`);
    }
  };
  for (const [k, x] of Object.entries(resource)) visit(x, `${String(resource.resourceType)}.${k}`);
  return out;
};
