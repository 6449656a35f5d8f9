// Shared by the validation and corpus tests: issues as "path: message" lines, by severity; the
// example files with real faults, reviewed by hand.
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

/** Files with errors, and what every one of their errors must say (reviewed by hand). */
export const REVIEWED: Readonly<Record<string, { readonly reason: RegExp; readonly why: string }>> = {
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
