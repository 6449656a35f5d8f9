// Collects, during one request, which patient data each resolver returned and which fields were
// denied, so the request writes one audit row per patient touched (and one per denial) before
// its response is released.

/** How to name the patient behind an object of a given type, e.g. Patient -> `Patient/<id>`. */
export type AuditSubjects = Readonly<Record<string, (parent: unknown) => string | undefined>>;

export type AuditAccess = { readonly patientRef: string; readonly fields: readonly string[] };

export type AuditCollector = {
  /** Records that `typeName.fieldName` of `parent` was returned, when parent is patient data. */
  returned(typeName: string, fieldName: string, parent: unknown): void;
  /** Records a policy denial (patientRef empty when the object is not patient data, e.g. a Query field). */
  denied(typeName: string, fieldName: string, parent: unknown): void;
  /** Whether objects of this type are patient data (and so must be audited). */
  covers(typeName: string): boolean;
  accesses(): AuditAccess[];
  denials(): AuditAccess[];
};

export function auditCollector(subjects: AuditSubjects): AuditCollector {
  const touched = new Map<string, Set<string>>();
  const refused = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, ref: string, coordinate: string): void => {
    let fields = map.get(ref);
    if (!fields) map.set(ref, (fields = new Set()));
    fields.add(coordinate);
  };
  const list = (map: Map<string, Set<string>>): AuditAccess[] => [...map].map(([patientRef, fields]) => ({ patientRef, fields: [...fields].sort() }));
  return {
    returned(typeName, fieldName, parent) {
      const ref = subjects[typeName]?.(parent);
      if (ref) add(touched, ref, `${typeName}.${fieldName}`);
    },
    denied(typeName, fieldName, parent) {
      add(refused, subjects[typeName]?.(parent) ?? '', `${typeName}.${fieldName}`);
    },
    covers: (typeName) => typeName in subjects,
    accesses: () => list(touched),
    denials: () => list(refused),
  };
}
