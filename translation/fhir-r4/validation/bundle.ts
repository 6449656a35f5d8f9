// Bundle-level rules (and Parameters, which also carries resources that refer to each other):
// fullUrl form, link relations, search result entries, and references resolved inside the Bundle.
import type { TranslationIssue } from '../../issues.ts';
import { isAbsoluteUri, type Rule } from './context.ts';
import { references } from './resources.ts';
import { isObject, resourceNodes, type Json, type Node } from './walk.ts';

type Entry = { readonly index: number; readonly fullUrl?: string; readonly resource?: Json };

const UNIQUE_LINKS = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);
const RESTFUL = /^(.*)\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

const entriesOf = (bundle: Json): Entry[] =>
  (Array.isArray(bundle.entry) ? bundle.entry : []).map((e: unknown, index) => {
    const entry = isObject(e) ? e : {};
    return {
      index,
      fullUrl: typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined,
      resource: isObject(entry.resource) ? entry.resource : undefined,
    };
  });

function fullUrlRules(path: string, entries: readonly Entry[], resourceTypes: ReadonlySet<string>): TranslationIssue[] {
  const out: TranslationIssue[] = [];
  for (const e of entries) {
    if (e.fullUrl === undefined) continue;
    const at = `${path}.entry[${e.index}].fullUrl`;
    if (!isAbsoluteUri(e.fullUrl)) {
      out.push({ severity: 'error', path: at, message: 'fullUrl must be an absolute URL' });
      continue;
    }
    const m = RESTFUL.exec(e.fullUrl);
    const type = e.resource?.resourceType;
    const id = e.resource?.id;
    if (m && resourceTypes.has(m[2] ?? '') && typeof type === 'string' && typeof id === 'string' && (m[2] !== type || m[3] !== id)) {
      out.push({ severity: 'error', path: at, message: 'a RESTful fullUrl must end with the resource type and id of its resource' });
    }
  }
  return out;
}

function linkRules(path: string, bundle: Json): TranslationIssue[] {
  const seen = new Set<string>();
  const out: TranslationIssue[] = [];
  (Array.isArray(bundle.link) ? bundle.link : []).forEach((l: unknown, i) => {
    const relation = isObject(l) && typeof l.relation === 'string' ? l.relation : undefined;
    if (!relation || !UNIQUE_LINKS.has(relation)) return;
    if (seen.has(relation))
      out.push({ severity: 'error', path: `${path}.link[${i}]`, message: `link relation '${relation}' can only occur once` });
    seen.add(relation);
  });
  return out;
}

/** The resource types a search asked for, from its self link ([base]/Type?... or _type=...), if it says. */
function searchedTypes(bundle: Json, resourceTypes: ReadonlySet<string>): Set<string> | undefined {
  const self = (Array.isArray(bundle.link) ? bundle.link : []).find((l: unknown) => isObject(l) && l.relation === 'self') as
    Json | undefined;
  if (typeof self?.url !== 'string') return undefined;
  const [pathPart, query = ''] = self.url.split('?');
  const typeParam = new URLSearchParams(query).get('_type');
  if (typeParam) return new Set(typeParam.split(',').filter((t) => resourceTypes.has(t)));
  const last = pathPart?.split('/').filter(Boolean).at(-1) ?? '';
  return resourceTypes.has(last) ? new Set([last]) : undefined;
}

function searchRules(path: string, bundle: Json, resourceTypes: ReadonlySet<string>): TranslationIssue[] {
  if (bundle.type !== 'searchset') return [];
  const out: TranslationIssue[] = [];
  const types = searchedTypes(bundle, resourceTypes);
  (Array.isArray(bundle.entry) ? bundle.entry : []).forEach((e: unknown, i) => {
    if (!isObject(e) || !isObject(e.resource) || !isObject(e.search)) return;
    const at = `${path}.entry[${i}].resource`;
    const type = String(e.resource.resourceType);
    if (e.search.mode === 'outcome' && type !== 'OperationOutcome') {
      out.push({ severity: 'error', path: at, message: "an entry with search mode 'outcome' must be an OperationOutcome" });
    }
    if (e.search.mode === 'match') {
      if (e.resource.id === undefined) out.push({ severity: 'error', path: at, message: 'search results must have ids' });
      if (types && types.size > 0 && !types.has(type)) {
        out.push({ severity: 'error', path: at, message: `a ${type} is not a result of the search for ${[...types].join(', ')}` });
      }
    }
  });
  return out;
}

/** The base of a RESTful absolute fullUrl (everything before /Type/id), for resolving relative references. */
const baseOf = (fullUrl: string | undefined): string | undefined => (fullUrl ? RESTFUL.exec(fullUrl)?.[1] : undefined);

/**
 * References inside a Bundle resolve against its entries' fullUrls (a relative one against the
 * referring entry's base). A reference that matches two entries is ambiguous; in a document every
 * reference to a resource of the Bundle (or to a urn:uuid, which has a meaning only inside the
 * Bundle) must find it.
 */
function bundleReferences(path: string, bundle: Json, entries: readonly Entry[], resourceTypes: ReadonlySet<string>): TranslationIssue[] {
  const out: TranslationIssue[] = [];
  const document = bundle.type === 'document';
  const byUrl = new Map<string, Entry[]>();
  for (const e of entries) if (e.fullUrl) byUrl.set(e.fullUrl, [...(byUrl.get(e.fullUrl) ?? []), e]);
  for (const e of entries) {
    if (!e.resource) continue;
    const base = baseOf(e.fullUrl);
    for (const ref of references(e.resource, `${path}.entry[${e.index}].resource`)) {
      const r = ref.reference;
      if (r.startsWith('#') || r.includes('?')) continue;
      const history = /^(.*)\/_history\/([^/]+)$/.exec(r);
      const target = history ? (history[1] ?? r) : r;
      const version = history?.[2];
      const relative = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(target) && resourceTypes.has(target.split('/')[0] ?? '');
      const url = relative ? (base ? `${base}/${target}` : undefined) : target;
      // From an entry without a RESTful base (a urn:uuid fullUrl), a relative reference can only be
      // matched on the type and id of the Bundle's resources.
      const byTypeAndId = (): Entry[] => entries.filter((x) => `${String(x.resource?.resourceType)}/${String(x.resource?.id)}` === target);
      const candidates = url ? (byUrl.get(url) ?? []) : relative ? byTypeAndId() : [];
      const matches = version ? candidates.filter((c) => (c.resource?.meta as Json | undefined)?.versionId === version) : candidates;
      if (matches.length > 1) {
        out.push({ severity: 'error', path: ref.path, message: 'reference matches more than one entry of the Bundle' });
      } else if (matches.length === 0) {
        const typeInBundle =
          relative && entries.some((x) => x.resource?.resourceType === target.split('/')[0] && x.resource?.id === target.split('/')[1]);
        if (document && (candidates.length > 0 || typeInBundle || /^urn:(uuid|oid):/.test(target))) {
          out.push({ severity: 'error', path: ref.path, message: 'reference does not resolve to an entry of the Bundle' });
        }
      }
    }
  }
  return out;
}

/** Resources carried in a Parameters refer to each other: a relative reference must find its target there. */
function parametersReferences(n: Node, nodes: readonly Node[]): TranslationIssue[] {
  const inside = resourceNodes(nodes).filter((r) => r.path.startsWith(`${n.path}.parameter`) && r.resourcePath === n.path);
  const have = new Set(inside.map((r) => `${String((r.value as Json).resourceType)}/${String((r.value as Json).id)}`));
  const out: TranslationIssue[] = [];
  for (const r of inside) {
    for (const ref of references(r.value as Json, r.path)) {
      const x = ref.reference;
      const relative = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(x);
      // Only a type the Parameters carries is expected there; other targets live on a server.
      const typeCarried = relative && inside.some((i) => (i.value as Json).resourceType === x.split('/')[0]);
      if (typeCarried && !have.has(x)) {
        out.push({ severity: 'error', path: ref.path, message: 'reference does not resolve to a resource of the Parameters' });
      }
    }
  }
  return out;
}

export const bundles: Rule = ({ nodes, defs }) => {
  const out: TranslationIssue[] = [];
  for (const n of resourceNodes(nodes)) {
    const r = n.value as Json;
    if (r.resourceType === 'Bundle') {
      const entries = entriesOf(r);
      out.push(...fullUrlRules(n.path, entries, defs.resourceTypes));
      out.push(...linkRules(n.path, r));
      out.push(...searchRules(n.path, r, defs.resourceTypes));
      out.push(...bundleReferences(n.path, r, entries, defs.resourceTypes));
    } else if (r.resourceType === 'Parameters') {
      out.push(...parametersReferences(n, nodes));
    }
  }
  return out;
};
