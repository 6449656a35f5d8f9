// Collects, during one request, which patients each resolver disclosed and which of their data it
// returned, and which fields were denied, so the request writes one audit row per patient touched
// (and one per denial) before its response is released.

/**
 * How to name the patient(s) behind an object of a given type, e.g. Patient -> `Patient/<id>`.
 * An object about several patients (a link change moves a record from one patient to another, a
 * review item compares two) names each of them.
 */
export type AuditSubjects = Readonly<Record<string, (parent: unknown) => string | readonly string[] | undefined>>;

export type AuditAccess = {
  readonly patientRef: string;
  readonly fields: readonly string[];
  /** Names of the policy rules that decided, when the caller named them (sorted, distinct). */
  readonly rules?: readonly string[];
};

export type AuditCollector = {
  /**
   * Records that `typeName.fieldName` of `parent` was returned, when parent is patient data; `rule` names the permitting policy rule when
   * known; `coordinate` is `typeName.fieldName`, when the caller has it at hand.
   */
  returned(typeName: string, fieldName: string, parent: unknown, rule?: string, coordinate?: string): void;
  /**
   * Records that the resolver at `coordinate` (`Query.patient`, `Query.patients`) returned the patient data object `value` of type
   * `typeName`: it told the caller that this patient exists, whatever fields are then selected.
   */
  disclosed(typeName: string, value: unknown, coordinate: string, rule?: string): void;
  /**
   * Records a federated entity lookup (`Query._entities`) that found `value`. The gateway sends one only to fetch fields of it, which
   * name the patient on their own; the lookup's coordinate is written only when nothing else of that patient was recorded (a
   * representation asked for `__typename` alone, or every field failed), so that an existence check is never silent.
   */
  lookedUp(typeName: string, value: unknown, coordinate: string): void;
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

type Entry = { fields: Set<string>; rules: Set<string>; lookups: Set<string> };

const refsOf = (subjects: AuditSubjects, typeName: string, value: unknown): readonly string[] => {
  const refs = value === null || value === undefined ? undefined : subjects[typeName]?.(value);
  return refs === undefined ? [] : typeof refs === 'string' ? [refs] : refs;
};

export function auditCollector(subjects: AuditSubjects): AuditCollector {
  const touched = new Map<string, Entry>();
  const refused = new Map<string, Entry>();
  const entry = (map: Map<string, Entry>, ref: string): Entry => {
    let e = map.get(ref);
    if (!e) map.set(ref, (e = { fields: new Set(), rules: new Set(), lookups: new Set() }));
    return e;
  };
  const add = (map: Map<string, Entry>, ref: string, coordinate: string, rule: string | undefined): void => {
    const e = entry(map, ref);
    e.fields.add(coordinate);
    if (rule) e.rules.add(rule);
  };
  // The rows of a page name the same fields and rules: each distinct set is sorted once, and shared.
  const sortedOnce = new Map<string, readonly string[]>();
  const sorted = (values: Set<string>): readonly string[] => {
    const key = [...values].join('\u0000');
    let done = sortedOnce.get(key);
    if (!done) sortedOnce.set(key, (done = Object.freeze([...values].sort())));
    return done;
  };
  const list = (map: Map<string, Entry>): AuditAccess[] =>
    [...map].map(([patientRef, e]) => {
      const fields = sorted(e.fields.size > 0 ? e.fields : e.lookups);
      return e.rules.size > 0 ? { patientRef, fields, rules: sorted(e.rules) } : { patientRef, fields };
    });
  // graphql-js completes an object's fields one after the other: the entries of the last object
  // returned are kept, so its patient is named once, not once per field.
  let lastParent: unknown;
  let lastType = '';
  let lastEntries: readonly Entry[] = [];
  return {
    returned(typeName, fieldName, parent, rule, coordinate = `${typeName}.${fieldName}`) {
      if (parent !== lastParent || typeName !== lastType || parent == null) {
        lastEntries = refsOf(subjects, typeName, parent).map((ref) => entry(touched, ref));
        lastParent = parent;
        lastType = typeName;
      }
      for (const e of lastEntries) {
        e.fields.add(coordinate);
        if (rule) e.rules.add(rule);
      }
    },
    disclosed(typeName, value, coordinate, rule) {
      for (const ref of refsOf(subjects, typeName, value)) add(touched, ref, coordinate, rule);
    },
    lookedUp(typeName, value, coordinate) {
      for (const ref of refsOf(subjects, typeName, value)) entry(touched, ref).lookups.add(coordinate);
    },
    denied(typeName, fieldName, parent, rule) {
      const refs = refsOf(subjects, typeName, parent);
      for (const ref of refs.length > 0 ? refs : ['']) add(refused, ref, `${typeName}.${fieldName}`, rule);
    },
    covers: (typeName) => typeName in subjects,
    accesses: () => list(touched),
    denials: () => list(refused),
  };
}
