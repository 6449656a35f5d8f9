// One site's resources, indexed once at start so every search costs what it returns: by id, by
// patient (for `patient=a,b,c`), by identifier, with each resource's JSON serialised on first use.
// upsert() adds or replaces one resource while the server runs (a chart changed at the EHR), so
// incremental sync (`_lastUpdated`) has something to find.
import type { FhirPatient, FhirResource } from '../fhir-types.ts';
import { CLINICAL_TYPES, type ClinicalType, type SiteData } from '../site-data.ts';

export const RESOURCE_TYPES = ['Patient', ...CLINICAL_TYPES] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const isResourceType = (t: string): t is ResourceType => (RESOURCE_TYPES as readonly string[]).includes(t);
export const isClinicalType = (t: string): t is ClinicalType => (CLINICAL_TYPES as readonly string[]).includes(t);

export type Store = {
  all(type: ResourceType): readonly FhirResource[];
  byId(type: ResourceType, id: string): FhirResource | undefined;
  /** Clinical resources of one patient, in store order. */
  ofPatient(type: ClinicalType, patientId: string): readonly FhirResource[];
  /** Patients with an identifier matching the token parts (system undefined = any system; '' = no system). */
  byIdentifier(system: string | undefined, value: string | undefined): readonly FhirPatient[];
  /** Position in the type's list: results are returned in this order, so paging is stable. */
  position(resource: FhirResource): number;
  lastUpdated(resource: FhirResource): number;
  /** The resource as UTF-8 JSON, encoded once: bundles are assembled from these bytes. */
  json(resource: FhirResource): Buffer;
  /** Adds a resource, or replaces the one of the same type and id (keeping its place in the list). */
  upsert(resource: FhirResource): void;
  /** Deletes a resource (FHIR DELETE): it leaves every search, and a read answers 410 Gone. False when there was none. */
  remove(type: ResourceType, id: string): boolean;
  /** Whether this id was deleted (and not created again since). */
  isDeleted(type: ResourceType, id: string): boolean;
};

const push = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
};

const subjectId = (r: FhirResource): string | undefined => {
  const ref = 'subject' in r ? r.subject.reference : undefined;
  return ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : undefined;
};

export function createStore(data: SiteData): Store {
  // Copies: upsert appends to them, the generated population stays as it was.
  const lists = new Map<ResourceType, FhirResource[]>([
    ['Patient', [...data.patients]],
    ...CLINICAL_TYPES.map((t): [ResourceType, FhirResource[]] => [t, [...data.resources[t]]]),
  ]);
  const ids = new Map<ResourceType, Map<string, FhirResource>>();
  const positions = new Map<FhirResource, number>();
  const updated = new Map<FhirResource, number>();
  for (const [type, list] of lists) {
    const byId = new Map<string, FhirResource>();
    list.forEach((r, i) => {
      byId.set(r.id, r);
      positions.set(r, i);
      updated.set(r, Date.parse(r.meta.lastUpdated ?? '') || 0);
    });
    ids.set(type, byId);
  }
  const byPatient = new Map<ClinicalType, Map<string, FhirResource[]>>();
  for (const type of CLINICAL_TYPES) {
    const index = new Map<string, FhirResource[]>();
    for (const r of data.resources[type]) {
      const pid = subjectId(r);
      if (pid !== undefined) push(index, pid, r);
    }
    byPatient.set(type, index);
  }
  const bySystemValue = new Map<string, FhirPatient[]>();
  const byValue = new Map<string, FhirPatient[]>();
  const bySystem = new Map<string, FhirPatient[]>();
  const indexIdentifiers = (): void => {
    for (const m of [bySystemValue, byValue, bySystem]) m.clear();
    for (const p of lists.get('Patient') as FhirPatient[]) {
      for (const i of p.identifier) {
        if (i.value === undefined) continue;
        push(bySystemValue, `${i.system ?? ''}|${i.value}`, p);
        push(byValue, i.value, p);
        if (i.system !== undefined) push(bySystem, i.system, p);
      }
    }
  };
  indexIdentifiers();
  const json = new WeakMap<FhirResource, Buffer>();
  const none: readonly never[] = [];
  const deleted = new Set<string>();
  const unindex = (type: ResourceType, old: FhirResource): void => {
    if (type === 'Patient') return;
    const index = byPatient.get(type as ClinicalType)!;
    const before = subjectId(old);
    if (before !== undefined)
      index.set(
        before,
        (index.get(before) ?? []).filter((x) => x !== old),
      );
  };

  return {
    all: (type) => lists.get(type) ?? none,
    byId: (type, id) => ids.get(type)?.get(id),
    ofPatient: (type, patientId) => byPatient.get(type)?.get(patientId) ?? none,
    byIdentifier: (system, value) => {
      if (system === undefined) return value === undefined ? none : (byValue.get(value) ?? none);
      if (value === undefined) return bySystem.get(system) ?? none;
      return bySystemValue.get(`${system}|${value}`) ?? none;
    },
    position: (r) => positions.get(r) ?? 0,
    lastUpdated: (r) => updated.get(r) ?? 0,
    json: (r) => {
      let bytes = json.get(r);
      if (bytes === undefined) {
        bytes = Buffer.from(JSON.stringify(r), 'utf8');
        json.set(r, bytes);
      }
      return bytes;
    },
    upsert: (r) => {
      const type = r.resourceType as ResourceType;
      const list = lists.get(type);
      if (!list) throw new Error(`resource type ${r.resourceType} is not served`);
      const old = ids.get(type)!.get(r.id);
      const at = old ? positions.get(old)! : list.length;
      list[at] = r;
      ids.get(type)!.set(r.id, r);
      positions.set(r, at);
      updated.set(r, Date.parse(r.meta.lastUpdated ?? '') || 0);
      deleted.delete(`${type}/${r.id}`);
      if (type === 'Patient') return indexIdentifiers();
      const index = byPatient.get(type as ClinicalType)!;
      if (old) unindex(type, old);
      const pid = subjectId(r);
      if (pid !== undefined) {
        push(index, pid, r);
        index.get(pid)!.sort((a, b) => positions.get(a)! - positions.get(b)!);
      }
    },
    remove: (type, id) => {
      const list = lists.get(type);
      const old = ids.get(type)?.get(id);
      if (!list || !old) return false;
      // Later resources move up one place: positions stay the list's order (stable paging for new searches).
      const at = positions.get(old)!;
      list.splice(at, 1);
      for (let i = at; i < list.length; i++) positions.set(list[i]!, i);
      ids.get(type)!.delete(id);
      deleted.add(`${type}/${id}`);
      if (type === 'Patient') indexIdentifiers();
      else unindex(type, old);
      return true;
    },
    isDeleted: (type, id) => deleted.has(`${type}/${id}`),
  };
}
