// Graded translation results. A warning means the datum was repaired (and says how); an error
// means it cannot be loaded and must be quarantined with its reason, never silently dropped.
export const SEVERITY = { warning: 'warning', error: 'error' } as const;
export type Severity = (typeof SEVERITY)[keyof typeof SEVERITY];

/** `path` is a FHIRPath-like location; `message` never quotes patient values. */
export type TranslationIssue = { readonly severity: Severity; readonly path: string; readonly message: string };

export type Translated<T> =
  | { readonly ok: true; readonly value: T; readonly issues: readonly TranslationIssue[] }
  | { readonly ok: false; readonly issues: readonly TranslationIssue[] };

export const warning = (path: string, message: string): TranslationIssue => ({ severity: SEVERITY.warning, path, message });
export const error = (path: string, message: string): TranslationIssue => ({ severity: SEVERITY.error, path, message });

/** Fails when any issue is an error; otherwise carries the value and its warnings. */
export function result<T>(value: T, issues: readonly TranslationIssue[]): Translated<T> {
  return issues.some((i) => i.severity === SEVERITY.error) ? { ok: false, issues } : { ok: true, value, issues };
}
