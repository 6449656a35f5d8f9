// Rules on each resource as a whole: its id, and its contained resources (dom-3, ref-1), which
// @medplum/core skips.
import type { TranslationIssue } from '../../issues.ts';
import type { Rule } from './context.ts';
import { isObject, resourceNodes, type Json } from './walk.ts';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Resource ids are 1 to 64 of A-Z a-z 0-9 - and . (R4 datatype id). */
export const resourceIds: Rule = ({ nodes }) =>
  resourceNodes(nodes).flatMap((n) => {
    const id = (n.value as Json).id;
    if (id === undefined) return [];
    if (typeof id !== 'string' || !ID.test(id)) {
      const why = typeof id === 'string' && id.length > 64 ? 'longer than 64 characters' : 'characters other than A-Z a-z 0-9 - .';
      return [{ severity: 'error', path: `${n.path}.id`, message: `invalid resource id: ${why}` }];
    }
    return [];
  });

type Ref = { path: string; reference: string };

/** Every `reference` string of a resource, with its path; nested and contained resources are their own. */
export function references(resource: Json, path: string): Ref[] {
  const out: Ref[] = [];
  const visit = (v: unknown, p: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${p}[${i}]`));
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'contained' || (isObject(x) && typeof x.resourceType === 'string')) continue;
        if (k === 'reference' && typeof x === 'string') out.push({ path: p, reference: x });
        else visit(x, `${p}.${k}`);
      }
    }
  };
  visit(resource, path);
  return out;
}

/** Every '#id' under a resource, nested resources' own contained sections excepted. */
function localReferences(resource: Json): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown, top: boolean): void => {
    if (Array.isArray(v)) v.forEach((x) => visit(x, false));
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'reference' && typeof x === 'string' && x.startsWith('#')) found.add(x.slice(1));
        // Narrative links (<a href="#id">) and canonical '#id' also count as references to a contained resource.
        else if (typeof x === 'string' && x.startsWith('#') && /^#[A-Za-z0-9\-.]{1,64}$/.test(x)) found.add(x.slice(1));
        else if (k === 'div' && typeof x === 'string') for (const m of x.matchAll(/href\s*=\s*"#([^"]+)"/g)) found.add(m[1] ?? '');
        else if (!(top && k === 'contained')) visit(x, false);
      }
    }
  };
  visit(resource, true);
  for (const c of (resource.contained as Json[] | undefined) ?? []) visit(c, false);
  return found;
}

/**
 * ref-1: a local reference ('#id') names a contained resource; dom-3: a contained resource is
 * referenced from its container (or from another contained resource, or refers to the container).
 */
export const containedResources: Rule = ({ nodes }) => {
  const out: TranslationIssue[] = [];
  const byPath = new Map(resourceNodes(nodes).map((n) => [n.path, n.value as Json]));
  const containedOf = (r: Json | undefined): Json[] => (Array.isArray(r?.contained) ? (r.contained as unknown[]).filter(isObject) : []);
  for (const n of resourceNodes(nodes)) {
    const r = n.value as Json;
    const contained = containedOf(r);
    // A contained resource's local references name its siblings: the container's contained resources.
    const container = /\.contained\[\d+\]$/.test(n.path) ? byPath.get(n.path.replace(/\.contained\[\d+\]$/, '')) : undefined;
    const ids = new Set([...contained, ...containedOf(container)].map((c) => c.id).filter((id): id is string => typeof id === 'string'));
    for (const ref of references(r, n.path)) {
      if (ref.reference.startsWith('#') && ref.reference.length > 1 && !ids.has(ref.reference.slice(1))) {
        out.push({ severity: 'error', path: ref.path, message: 'local reference does not name a contained resource (ref-1)' });
      }
    }
    if (contained.length === 0) continue;
    const referenced = localReferences(r);
    contained.forEach((c, i) => {
      const refersBack = references(c, '').some((x) => x.reference === '#');
      if (typeof c.id === 'string' && !referenced.has(c.id) && !refersBack) {
        out.push({
          severity: 'error',
          path: `${n.path}.contained[${i}]`,
          message: 'contained resource is not referenced from its container (dom-3)',
        });
      }
    });
  }
  return out;
};

const CORE_SD = 'http://hl7.org/fhir/StructureDefinition/';
/** The resource type a literal reference names: `Type/id`, `[base]/Type/id` or either with `/_history/v`. */
export function referencedType(reference: string, resourceTypes: ReadonlySet<string>): string | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(reference);
  return m && resourceTypes.has(m[1] ?? '') ? m[1] : undefined;
}

/** A literal reference must name a resource type the element allows (Reference(Patient | Group) ...). */
export const referenceTargets: Rule = ({ nodes, defs }) =>
  nodes.flatMap((n) => {
    if (n.type !== 'Reference' || !isObject(n.value) || typeof n.value.reference !== 'string') return [];
    const targets = n.element?.type.find((t) => t.code === 'Reference')?.targetProfile ?? [];
    if (targets.length === 0 || !targets.every((t) => t.startsWith(CORE_SD))) return [];
    const allowed = targets.map((t) => t.slice(CORE_SD.length));
    if (allowed.includes('Resource') || allowed.includes('DomainResource')) return [];
    const type = referencedType(n.value.reference, defs.resourceTypes);
    if (type === undefined || allowed.includes(type)) return [];
    return [
      {
        severity: 'error' as const,
        path: `${n.path}.reference`,
        message: `reference to type ${type}, where the element allows ${allowed.join(' | ')}`,
      },
    ];
  });
