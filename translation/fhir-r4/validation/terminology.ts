// Terminology without a terminology server: required bindings to ValueSets the R4 definitions
// enumerate, codes of the specification's own CodeSystems, the form of Coding.system, and the
// syntax of SNOMED CT identifiers. Anything that needs external content (LOINC, SNOMED CT
// hierarchies, display names) is out of reach and left alone rather than guessed.
import { tryGetDataType } from '@medplum/core';
import type { TranslationIssue } from '../../issues.ts';
import { isAbsoluteUri, type Context, type Rule } from './context.ts';
import { hasConcept, valueSetContains } from './definitions.ts';
import { sctidShape } from './sctid.ts';
import { isObject, type Json, type Node } from './walk.ts';

export const SNOMED = 'http://snomed.info/sct';
/** The specification's own code systems are fixed with R4 (4.0.1); terminology.hl7.org ones evolve on their own. */
const FHIR_CORE_SYSTEM = /^http:\/\/hl7\.org\/fhir\/[a-z][A-Za-z0-9-]*$/;

type Coding = { system?: string; code?: string; version?: string };
const codingOf = (v: Json): Coding => ({
  system: typeof v.system === 'string' ? v.system : undefined,
  code: typeof v.code === 'string' ? v.code : undefined,
  version: typeof v.version === 'string' ? v.version : undefined,
});

/** A SNOMED CT code: an SCTID (checked) or a post-coordinated expression (not checked). */
function snomedCode(c: Coding, path: string): TranslationIssue[] {
  if (c.code === undefined) return [];
  if (/[:=|+{}()\s]/.test(c.code)) return [];
  const shape = sctidShape(c.code);
  if (!shape.valid) return [{ severity: 'error', path: `${path}.code`, message: `not a valid SNOMED CT identifier (${shape.reason})` }];
  if (shape.kind !== '0') return [{ severity: 'error', path: `${path}.code`, message: 'SNOMED CT identifier is not a concept id' }];
  return [];
}

function codingRules(ctx: Context, c: Coding, path: string): TranslationIssue[] {
  const out: TranslationIssue[] = [];
  if (c.system !== undefined) {
    if (!isAbsoluteUri(c.system)) out.push({ severity: 'error', path: `${path}.system`, message: 'Coding.system must be an absolute URI' });
    else if (ctx.defs.valueSets.has(c.system) && !ctx.defs.codeSystems.has(c.system)) {
      out.push({ severity: 'error', path: `${path}.system`, message: 'Coding.system names a ValueSet, not a CodeSystem' });
    }
  }
  if (c.system === SNOMED) out.push(...snomedCode(c, path));
  const cs = c.system ? ctx.defs.codeSystems.get(c.system) : undefined;
  if (cs && cs.content === 'complete' && c.code !== undefined && FHIR_CORE_SYSTEM.test(c.system ?? '')) {
    const found = hasConcept(cs, c.code) || (cs.caseSensitive === false && hasConcept(cs, c.code.toLowerCase()));
    if (!found) out.push({ severity: 'error', path: `${path}.code`, message: `code is not defined in the CodeSystem ${c.system}` });
  }
  return out;
}

function requiredBinding(ctx: Context, n: Node): TranslationIssue[] {
  const b = n.element?.binding;
  if (!b || b.strength !== 'required' || !b.valueSet) return [];
  const vs = b.valueSet;
  const miss = (path: string): TranslationIssue => ({
    severity: 'error',
    path,
    message: `code is not in the required ValueSet ${vs.split('|')[0]}`,
  });
  if (n.type === 'code' && typeof n.value === 'string') {
    return valueSetContains(ctx.defs, vs, { code: n.value }) === false ? [miss(n.path)] : [];
  }
  if (n.type === 'Coding' && isObject(n.value)) {
    const c = codingOf(n.value);
    return c.code !== undefined && valueSetContains(ctx.defs, vs, c) === false ? [miss(n.path)] : [];
  }
  if (n.type === 'CodeableConcept' && isObject(n.value)) {
    const codings = (Array.isArray(n.value.coding) ? n.value.coding : [])
      .filter(isObject)
      .map(codingOf)
      .filter((c) => c.code !== undefined);
    if (codings.length === 0) return [];
    const verdicts = codings.map((c) => valueSetContains(ctx.defs, vs, c));
    return verdicts.every((v) => v === false) ? [miss(n.path)] : [];
  }
  return [];
}

/**
 * A code element bound to a required ValueSet that carries only extensions (`_name` without
 * `name`, e.g. a data-absent-reason): the binding asks for a code, and there is none.
 */
function codeAbsent(n: Node): TranslationIssue[] {
  if (!isObject(n.value) || n.type === 'Extension') return [];
  const schema = tryGetDataType(n.type);
  if (!schema) return [];
  const out: TranslationIssue[] = [];
  for (const key of Object.keys(n.value)) {
    if (!key.startsWith('_') || key.slice(1) in n.value) continue;
    const element = schema.elements[key.slice(1)];
    if (element?.binding?.strength === 'required' && element.type.some((t) => t.code === 'code')) {
      out.push({ severity: 'error', path: `${n.path}.${key.slice(1)}`, message: 'no code given where one is required from a ValueSet' });
    }
  }
  return out;
}

export const terminology: Rule = (ctx) => {
  const out: TranslationIssue[] = [];
  for (const n of ctx.nodes) {
    if (n.type === 'Coding' && isObject(n.value)) out.push(...codingRules(ctx, codingOf(n.value), n.path));
    out.push(...requiredBinding(ctx, n), ...codeAbsent(n));
  }
  return out;
};
