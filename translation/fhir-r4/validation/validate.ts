// FHIR R4 validation, graded: an error means the resource must be quarantined with its reasons,
// a warning lets it through flagged. Structure, cardinality, types and the resources' invariants
// come from @medplum/core over the R4 StructureDefinitions; the modules beside this one add what
// it leaves out (measured on the HL7 validator's test cases: BENCHMARKS.md).
import type { TranslationIssue } from '../../issues.ts';
import { bundles } from './bundle.ts';
import { conformance, uris } from './conformance.ts';
import { resolveOptions, type Rule, type ValidationOptions } from './context.ts';
import { attachments, datatypeInvariants, periodOrder } from './datatypes.ts';
import { definitions } from './definitions.ts';
import { extensions } from './extensions.ts';
import { narratives } from './narrative.ts';
import { containedResources, referenceTargets, resourceIds } from './resources.ts';
import { emptyJson, medplumStructure } from './structure.ts';
import { terminology } from './terminology.ts';
import { usCore } from './us-core.ts';
import { isObject, walk } from './walk.ts';

export type { ValidationOptions } from './context.ts';

const RULES: readonly Rule[] = [
  medplumStructure,
  emptyJson,
  resourceIds,
  containedResources,
  referenceTargets,
  datatypeInvariants,
  periodOrder,
  attachments,
  extensions,
  terminology,
  uris,
  conformance,
  narratives,
  bundles,
  usCore,
];

/** A rule that fails on a shape nobody foresaw refuses the resource (it could not be validated) rather than the whole load. */
function guarded(rule: Rule, ctx: Parameters<Rule>[0]): TranslationIssue[] {
  try {
    return rule(ctx);
  } catch {
    return [
      {
        severity: 'error',
        path: String(ctx.resource.resourceType),
        message: `the resource could not be validated (rule ${rule.name || 'unnamed'} failed)`,
      },
    ];
  }
}

const dedupe = (issues: readonly TranslationIssue[]): TranslationIssue[] => {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.severity}\u0000${i.path}\u0000${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
};

/**
 * Validates one FHIR R4 resource (a Bundle's or Parameters' resources included) and returns its
 * graded issues; none means valid. Never throws on bad input: what cannot be read is an error.
 */
export function validateResource(resource: unknown, options?: ValidationOptions): TranslationIssue[] {
  if (!isObject(resource) || typeof resource.resourceType !== 'string') {
    return [{ severity: 'error', path: '', message: 'not a FHIR resource: a JSON object with a resourceType is expected' }];
  }
  const defs = definitions();
  if (!defs.resourceTypes.has(resource.resourceType)) {
    return [{ severity: 'error', path: 'resourceType', message: `unknown resource type ${resource.resourceType}` }];
  }
  const structure = medplumStructure({ resource, nodes: [], defs, options: resolveOptions(options) });
  let nodes;
  try {
    nodes = walk(resource);
  } catch {
    // The crawler gives up on shapes it cannot type (an object where an array belongs, ...): the structure issues say why.
    return dedupe(
      structure.length > 0
        ? structure
        : [{ severity: 'error', path: resource.resourceType, message: 'the resource structure could not be read' }],
    );
  }
  const ctx = { resource, nodes, defs, options: resolveOptions(options) };
  return dedupe([...structure, ...RULES.filter((r) => r !== medplumStructure).flatMap((rule) => guarded(rule, ctx))]);
}

/** True when the issues let the resource through (warnings only). */
export const isAccepted = (issues: readonly TranslationIssue[]): boolean => !issues.some((i) => i.severity === 'error');

/** Validates a resource given as JSON text: text that is not JSON is an error, not an exception. */
export function validateJson(text: string, options?: ValidationOptions): TranslationIssue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return [{ severity: 'error', path: '', message: 'not valid JSON' }];
  }
  return validateResource(parsed, options);
}
