// A Bundle's entries as standalone resources: a reference to another entry by its fullUrl (the
// `urn:uuid:` references of a transaction bundle, such as Synthea's, or an absolute URL) becomes
// `Type/id` of that entry, so each resource can go through the one translation path on its own.
// References that name no entry, or an entry without an id, are left as they are.
import type { FhirJson } from './clinical-fields.ts';

type Entry = { readonly fullUrl?: unknown; readonly resource?: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Replaces every `reference` that is some entry's fullUrl; copies only what changes. */
function rewrite(value: unknown, targets: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = rewrite(v, targets);
      if (r !== v) changed = true;
      return r;
    });
    return changed ? out : value;
  }
  if (!isObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const r = k === 'reference' && typeof v === 'string' && targets.has(v) ? targets.get(v) : k === 'contained' ? v : rewrite(v, targets);
    if (r !== v) (copy ??= { ...value })[k] = r;
  }
  return copy ?? value;
}

/** The resources of a Bundle's entries, references between entries resolved to `Type/id`. */
export function bundleResources(bundle: FhirJson): FhirJson[] {
  const entries = (Array.isArray(bundle.entry) ? bundle.entry : []) as Entry[];
  const targets = new Map<string, string>();
  for (const e of entries) {
    const r = e.resource as FhirJson | undefined;
    if (typeof e.fullUrl === 'string' && isObject(r) && typeof r.resourceType === 'string' && typeof r.id === 'string') {
      targets.set(e.fullUrl, `${r.resourceType}/${r.id}`);
    }
  }
  return entries.flatMap((e) => (isObject(e.resource) ? [rewrite(e.resource, targets) as FhirJson] : []));
}
