// The one mapping from the project's graded issues to a FHIR OperationOutcome (what quarantine
// stores and shows as a resource's reasons). Severity error and warning map one to one; the issue
// code is 'processing' for errors and 'informational' for warnings unless a more precise code is known.
import type { TranslationIssue } from './issues.ts';

export type OperationOutcomeIssue = {
  readonly severity: 'error' | 'warning' | 'information';
  readonly code: string;
  readonly diagnostics: string;
  readonly expression?: readonly string[];
};
export type OperationOutcome = { readonly resourceType: 'OperationOutcome'; readonly issue: readonly OperationOutcomeIssue[] };

/** OperationOutcome.issue.code for a graded issue, from the words of its message. */
function issueCode(i: TranslationIssue): string {
  const m = i.message.toLowerCase();
  if (/constraint|\(\w+-\d+\)/.test(m)) return 'invariant';
  if (/code|valueset|codesystem|snomed/.test(m)) return 'code-invalid';
  if (/extension/.test(m)) return 'extension';
  if (/missing|required|cardinality|number of values/.test(m)) return 'required';
  if (/reference|resolve/.test(m)) return 'not-found';
  return i.severity === 'error' ? 'invalid' : 'informational';
}

/** The OperationOutcome of a set of issues; an empty set is one informational "all OK" issue, as FHIR asks. */
export function toOperationOutcome(issues: readonly TranslationIssue[]): OperationOutcome {
  if (issues.length === 0) {
    return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'all OK' }] };
  }
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: i.severity,
      code: issueCode(i),
      diagnostics: i.message,
      ...(i.path ? { expression: [i.path] } : {}),
    })),
  };
}
