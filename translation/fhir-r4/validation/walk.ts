// Every element of a resource with its FHIR type and FHIRPath-like path, nested resources
// (contained, Bundle entries, Parameters) included. The types come from @medplum/core's crawler,
// which resolves choice types ([x]) and backbone elements from the R4 StructureDefinitions.
import { crawlTypedValue, toTypedValue, type InternalSchemaElement, type TypedValue } from '@medplum/core';

export type Json = Record<string, unknown>;

export type Node = {
  readonly path: string;
  /** The FHIR type name ('Coding', 'code', 'Patient', 'EncounterParticipant', ...). */
  readonly type: string;
  /** The JSON value; a primitive is unwrapped (its extensions are in `extensions`). */
  readonly value: unknown;
  /** The element definition it is an instance of (undefined for the root resource). */
  readonly element: InternalSchemaElement | undefined;
  /** The extensions of a primitive value (`_name` in JSON). */
  readonly extensions: readonly Json[];
  /** The path of the resource this element belongs to. */
  readonly resourcePath: string;
};

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function unwrap(v: TypedValue): { value: unknown; extensions: Json[] } {
  const raw = v.value as unknown;
  if (raw instanceof String || raw instanceof Number || raw instanceof Boolean) {
    const ext = (raw as unknown as { extension?: Json[] }).extension;
    return { value: raw.valueOf(), extensions: Array.isArray(ext) ? ext : [] };
  }
  return { value: raw, extensions: [] };
}

/** All present elements, parents before children; throws only on input the crawler cannot read. */
export function walk(resource: Json): Node[] {
  const root = String(resource.resourceType);
  const nodes: Node[] = [{ path: root, type: root, value: resource, element: undefined, extensions: [], resourcePath: root }];
  const stack: string[] = [root];
  crawlTypedValue(toTypedValue(resource), {
    onEnterResource: (_path, obj) => void stack.push((obj as { path: string }).path),
    onExitResource: () => void stack.pop(),
    visitProperty: (_parent, key, _path, values, schema) => {
      const element = schema.elements[key];
      for (const v of values.flat()) {
        if (v.value === undefined || v.value === null) continue;
        const { value, extensions } = unwrap(v);
        nodes.push({ path: v.path, type: v.type, value, element, extensions, resourcePath: stack.at(-1) ?? root });
      }
    },
  });
  return nodes;
}

/** The resources in a walk: the root and every nested one. */
export const resourceNodes = (nodes: readonly Node[]): Node[] =>
  nodes.filter((n) => isObject(n.value) && typeof n.value.resourceType === 'string' && n.type === n.value.resourceType);
