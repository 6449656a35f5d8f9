// Shared by the validation tests: issues as "path: message" lines, by severity.
import type { ValidationOptions } from './context.ts';
import { validateResource } from './validate.ts';

export const errors = (resource: unknown, options?: ValidationOptions): string[] =>
  validateResource(resource, options)
    .filter((i) => i.severity === 'error')
    .map((i) => `${i.path}: ${i.message}`);

export const warnings = (resource: unknown, options?: ValidationOptions): string[] =>
  validateResource(resource, options)
    .filter((i) => i.severity === 'warning')
    .map((i) => `${i.path}: ${i.message}`);

/** A valid Patient to start from. */
export const patient = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'Patient',
  id: 'p1',
  name: [{ family: 'Testperson', given: ['Alex'] }],
  gender: 'female',
  birthDate: '1970-01-01',
  ...extra,
});
