// Rules for terminology and other canonical resources carried in data (a feed may carry a ValueSet
// or a CodeSystem; a Bundle may carry a Measure): canonical URLs, UUID form, CodeSystem properties
// and supplements, ValueSet include systems and filters.
import type { TranslationIssue } from '../../issues.ts';
import { isAbsoluteUri, type Rule } from './context.ts';
import { sctidShape } from './sctid.ts';
import { SNOMED } from './terminology.ts';
import { isObject, resourceNodes, type Json } from './walk.ts';

const UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OID = /^urn:oid:[0-2](\.(0|[1-9]\d*))+$/;
/** http://hl7.org/fhir/concept-properties: the meaning and type each standard property URI carries. */
const CONCEPT_PROPERTIES: Readonly<Record<string, string>> = {
  status: 'code',
  inactive: 'boolean',
  effectiveDate: 'dateTime',
  deprecationDate: 'dateTime',
  retirementDate: 'dateTime',
  notSelectable: 'boolean',
  parent: 'code',
  child: 'code',
  partOf: 'code',
  synonym: 'code',
  comment: 'string',
  itemWeight: 'decimal',
};
const CONCEPT_PROPERTY_URI = 'http://hl7.org/fhir/concept-properties#';

/** Canonical URLs and URN forms, wherever a uri, url or canonical element holds them. */
export const uris: Rule = ({ nodes }) => {
  const out: TranslationIssue[] = [];
  for (const n of nodes) {
    if (typeof n.value !== 'string' || !['uri', 'url', 'canonical', 'oid', 'uuid'].includes(n.type)) continue;
    const v = n.value;
    if (v.startsWith('urn:uuid:') && !UUID.test(v))
      out.push({ severity: 'error', path: n.path, message: 'a UUID URN must be a valid lowercase UUID' });
    else if (v.startsWith('urn:oid:') && !OID.test(v)) out.push({ severity: 'error', path: n.path, message: 'not a valid OID URN' });
    else if (n.type === 'canonical' && !v.startsWith('#') && !isAbsoluteUri(v)) {
      out.push({ severity: 'error', path: n.path, message: 'a canonical URL must be absolute unless it is a fragment reference' });
    } else if (
      n.element?.path?.endsWith('.url') &&
      n.element.path.split('.').length === 2 &&
      isCanonicalResource(n.element.path) &&
      !isAbsoluteUri(v)
    ) {
      out.push({ severity: 'error', path: n.path, message: 'the canonical URL of a resource must be absolute' });
    }
  }
  return out;
};

const CANONICAL_RESOURCES = new Set(
  (
    'ActivityDefinition CapabilityStatement ChargeItemDefinition CodeSystem CompartmentDefinition ConceptMap EffectEvidenceSynthesis ' +
    'EventDefinition Evidence EvidenceVariable ExampleScenario GraphDefinition ImplementationGuide Library Measure MessageDefinition ' +
    'OperationDefinition PlanDefinition Questionnaire ResearchDefinition ResearchElementDefinition RiskEvidenceSynthesis SearchParameter ' +
    'StructureDefinition StructureMap TerminologyCapabilities TestScript ValueSet'
  ).split(' '),
);
const isCanonicalResource = (elementPath: string): boolean => CANONICAL_RESOURCES.has(elementPath.split('.')[0] ?? '');

const valueKeyType = (p: Json): string | undefined => {
  const k = Object.keys(p).find((x) => x.startsWith('value'));
  return k ? k.charAt(5).toLowerCase() + k.slice(6) : undefined;
};

function codeSystem(path: string, cs: Json): TranslationIssue[] {
  const out: TranslationIssue[] = [];
  if (cs.supplements !== undefined && cs.content !== 'supplement') {
    out.push({ severity: 'error', path: `${path}.content`, message: "a CodeSystem supplement must have content 'supplement'" });
  }
  const types = new Map<string, string>();
  const uris = new Set<string>();
  ((Array.isArray(cs.property) ? cs.property : []) as unknown[]).forEach((p, i) => {
    if (!isObject(p) || typeof p.code !== 'string') return;
    const at = `${path}.property[${i}]`;
    if (types.has(p.code)) out.push({ severity: 'error', path: at, message: 'property code is defined twice' });
    if (typeof p.uri === 'string') {
      if (uris.has(p.uri)) out.push({ severity: 'error', path: at, message: 'property URI is defined twice' });
      uris.add(p.uri);
      const standard = p.uri.startsWith(CONCEPT_PROPERTY_URI) ? CONCEPT_PROPERTIES[p.uri.slice(CONCEPT_PROPERTY_URI.length)] : undefined;
      if (standard && p.type !== standard)
        out.push({ severity: 'error', path: at, message: `the property URI defines type ${standard}, not ${String(p.type)}` });
    }
    if (!types.has(p.code) && typeof p.type === 'string') types.set(p.code, p.type);
  });
  const visit = (concepts: unknown, at: string): void => {
    ((Array.isArray(concepts) ? concepts : []) as unknown[]).forEach((c, i) => {
      if (!isObject(c)) return;
      ((Array.isArray(c.property) ? c.property : []) as unknown[]).forEach((p, j) => {
        if (!isObject(p) || typeof p.code !== 'string') return;
        const declared = types.get(p.code);
        const given = valueKeyType(p);
        if (declared && given && declared !== given) {
          out.push({
            severity: 'error',
            path: `${at}[${i}].property[${j}]`,
            message: `property value has type ${given}; the property is defined with type ${declared}`,
          });
        }
      });
      visit(c.concept, `${at}[${i}].concept`);
    });
  };
  visit(cs.concept, `${path}.concept`);
  return out;
}

/** A SNOMED CT filter value that must name concepts: an SCTID, or an ECL expression whose concept ids are valid. */
function snomedFilter(filter: Json, at: string): TranslationIssue[] {
  const value = typeof filter.value === 'string' ? filter.value : '';
  if (filter.property === 'concept') {
    const s = sctidShape(value);
    return s.valid && s.kind === '0' ? [] : [{ severity: 'error', path: at, message: 'the filter value must be a SNOMED CT concept id' }];
  }
  if (filter.property === 'constraint' || filter.property === 'expression') {
    for (const m of value.matchAll(/(?<![#\d.])\d{6,18}(?![\d.])/g)) {
      const s = sctidShape(m[0]);
      if (!s.valid || s.kind !== '0')
        return [{ severity: 'error', path: at, message: 'the ECL expression names an invalid SNOMED CT concept id' }];
    }
  }
  return [];
}

function valueSet(path: string, vs: Json): TranslationIssue[] {
  const out: TranslationIssue[] = [];
  const compose = isObject(vs.compose) ? vs.compose : {};
  for (const part of ['include', 'exclude'] as const) {
    ((Array.isArray(compose[part]) ? compose[part] : []) as unknown[]).forEach((inc, i) => {
      if (!isObject(inc)) return;
      const at = `${path}.compose.${part}[${i}]`;
      if (typeof inc.system === 'string' && !isAbsoluteUri(inc.system)) {
        out.push({ severity: 'error', path: `${at}.system`, message: 'compose system must be an absolute URI' });
      }
      if (inc.system === SNOMED) {
        ((Array.isArray(inc.concept) ? inc.concept : []) as unknown[]).forEach((c, j) => {
          const s = isObject(c) && typeof c.code === 'string' ? sctidShape(c.code) : undefined;
          if (s && (!s.valid || s.kind !== '0'))
            out.push({ severity: 'error', path: `${at}.concept[${j}]`, message: 'not a valid SNOMED CT concept id' });
        });
      }
      ((Array.isArray(inc.filter) ? inc.filter : []) as unknown[]).forEach((f, j) => {
        if (!isObject(f)) return;
        const fat = `${at}.filter[${j}]`;
        if (inc.system === SNOMED) out.push(...snomedFilter(f, fat));
        if (
          typeof f.property === 'string' &&
          CONCEPT_PROPERTIES[f.property] === 'boolean' &&
          f.op === '=' &&
          f.value !== 'true' &&
          f.value !== 'false'
        ) {
          out.push({ severity: 'error', path: fat, message: 'a filter on a boolean property must have the value true or false' });
        }
      });
    });
  }
  return out;
}

export const conformance: Rule = ({ nodes }) =>
  resourceNodes(nodes).flatMap((n) => {
    const r = n.value as Json;
    if (r.resourceType === 'CodeSystem') return codeSystem(n.path, r);
    if (r.resourceType === 'ValueSet') return valueSet(n.path, r);
    return [];
  });
