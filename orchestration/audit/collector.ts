// Collects, during one request, which patient data each resolver returned and which fields were
// denied, so the request writes one audit row per patient touched (and one per denial) before
// its response is released.

/** How to name the patient behind an object of a given type, e.g. Patient -> `Patient/<id>`. */
export type AuditSubjects = Readonly<Record<string, (parent: unknown) => string | undefined>>;

export type AuditAccess = {
  readonly patientRef: string;
  readonly fields: readonly string[];
  /** Names of the policy rules that decided, when the caller named them (sorted, distinct). */
  readonly rules?: readonly string[];
};

export type AuditCollector = {
  /**
   * Records that `typeName.fieldName` of `parent` was returned, when parent is patient data; `rule` names the permitting policy rule when
   * known.
   */
  returned(typeName: string, fieldName: string, parent: unknown, rule?: string): void;
  /**
   * Records a policy denial (patientRef empty when the object is not patient data, e.g. a Query field); `rule` names the denying rule when
   * known.
   */
  denied(typeName: string, fieldName: string, parent: unknown, rule?: string): void;
  /** Whether objects of this type are patient data (and so must be audited). */
  covers(typeName: string): boolean;
  accesses(): AuditAccess[];
  denials(): AuditAccess[];
};

type Entry = { fields: Set<string>; rules: Set<string> };

export function auditCollector(subjects: AuditSubjects): AuditCollector {
  const touched = new Map<string, Entry>();
  const refused = new Map<string, Entry>();
  const add = (map: Map<string, Entry>, ref: string, coordinate: string, rule: string | undefined): void => {
    let entry = map.get(ref);
    if (!entry) map.set(ref, (entry = { fields: new Set(), rules: new Set() }));
    entry.fields.add(coordinate);
    if (rule) entry.rules.add(rule);
  };
  const list = (map: Map<string, Entry>): AuditAccess[] =>
    [...map].map(([patientRef, e]) =>
      e.rules.size > 0
        ? { patientRef, fields: [...e.fields].sort(), rules: [...e.rules].sort() }
        : { patientRef, fields: [...e.fields].sort() },
    );
  return {
    returned(typeName, fieldName, parent, rule) {
      const ref = subjects[typeName]?.(parent);
      if (ref) add(touched, ref, `${typeName}.${fieldName}`, rule);
    },
    denied(typeName, fieldName, parent, rule) {
      add(refused, subjects[typeName]?.(parent) ?? '', `${typeName}.${fieldName}`, rule);
    },
    covers: (typeName) => typeName in subjects,
    accesses: () => list(touched),
    denials: () => list(refused),
  };
}
