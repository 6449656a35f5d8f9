// The shape limits of a document, as a graphql-js validation rule: depth, aliases, directives,
// root fields and repeated fields. Named fragments are measured once each and followed wherever
// they are spread, so a fragment spread many times counts many times (a "fragment bomb" is
// measured, not expanded); a fragment cycle is not followed (graphql-js's NoFragmentCyclesRule
// refuses the document), so a circular document never loops here.
import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { LIMIT_NAMES, limitError, type OperationLimits } from './limits.ts';

/** What one selection set (fragments followed) amounts to. */
export type Measure = {
  readonly depth: number;
  readonly aliases: number;
  readonly directives: number;
  /** The most repeated response name in any selection set below, and how often. */
  readonly repeats: number;
  readonly repeatedName: string | null;
};

export type OperationMeasure = Measure & { readonly rootFields: number };

const EMPTY: Measure = { depth: 0, aliases: 0, directives: 0, repeats: 0, repeatedName: null };

/** Measures every operation of a document. Linear in the document's size. */
export function measureDocument(document: DocumentNode): Map<OperationDefinitionNode, OperationMeasure> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const fragmentMeasures = new Map<string, Measure | 'visiting'>();

  const fragment = (name: string): Measure => {
    const known = fragmentMeasures.get(name);
    if (known === 'visiting') return EMPTY; // a cycle: refused by NoFragmentCyclesRule, not followed
    if (known) return known;
    const definition = fragments.get(name);
    if (!definition) return EMPTY; // unknown fragment: refused by KnownFragmentNamesRule
    fragmentMeasures.set(name, 'visiting');
    const inner = selectionSet(definition.selectionSet);
    const measured = { ...inner, directives: inner.directives + (definition.directives?.length ?? 0) };
    fragmentMeasures.set(name, measured);
    return measured;
  };

  /** Response names selected by this selection set, through inline fragments and each named fragment once (as execution collects them). */
  const collect = (set: SelectionSetNode, counts: Map<string, number>, seen: Set<string>): void => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const name = s.alias?.value ?? s.name.value;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        collect(s.selectionSet, counts, seen);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const definition = fragments.get(s.name.value);
        if (definition) collect(definition.selectionSet, counts, seen);
      }
    }
  };

  const responseNames = (set: SelectionSetNode): Map<string, number> => {
    const counts = new Map<string, number>();
    collect(set, counts, new Set());
    return counts;
  };

  const selectionSet = (set: SelectionSetNode, own = true): Measure => {
    let depth = 0;
    let aliases = 0;
    let directives = 0;
    let repeats = 0;
    let repeatedName: string | null = null;
    const take = (m: Measure, levels: number): void => {
      depth = Math.max(depth, m.depth + levels);
      aliases += m.aliases;
      directives += m.directives;
      if (m.repeats > repeats) ({ repeats, repeatedName } = m);
    };
    if (own) {
      // Repeats are counted where execution merges them: in this set with its fragments.
      for (const [name, n] of responseNames(set)) if (n > repeats) [repeats, repeatedName] = [n, name];
    }
    for (const s of set.selections) {
      directives += s.directives?.length ?? 0;
      if (s.kind === Kind.FIELD) {
        if (s.alias) aliases++;
        take(s.selectionSet ? selectionSet(s.selectionSet) : EMPTY, 1);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        take(selectionSet(s.selectionSet, false), 0);
      } else {
        take(fragment(s.name.value), 0);
      }
    }
    return { depth, aliases, directives, repeats, repeatedName };
  };

  const result = new Map<OperationDefinitionNode, OperationMeasure>();
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const m = selectionSet(d.selectionSet);
    const operationDirectives =
      (d.directives?.length ?? 0) + (d.variableDefinitions ?? []).reduce((n, v) => n + (v.directives?.length ?? 0), 0);
    result.set(d, { ...m, directives: m.directives + operationDirectives, rootFields: responseNames(d.selectionSet).size });
  }
  return result;
}

const shown = (n: number): number | null => (Number.isFinite(n) ? n : null);

/** The limits an operation exceeds, as GraphQL errors located at the operation. */
export function documentLimitErrors(document: DocumentNode, limits: OperationLimits): GraphQLError[] {
  const errors: GraphQLError[] = [];
  for (const [operation, m] of measureDocument(document)) {
    const nodes = [operation];
    const over = (
      limit: (typeof LIMIT_NAMES)[keyof typeof LIMIT_NAMES],
      actual: number,
      max: number,
      message: string,
      extra: Record<string, unknown> = {},
    ) => {
      if (actual > max) errors.push(limitError(limit, max, message, { nodes, extra: { actual: shown(actual), ...extra } }));
    };
    over(LIMIT_NAMES.depth, m.depth, limits.maxDepth, `The operation is nested ${m.depth} levels deep; the limit is ${limits.maxDepth}.`);
    over(LIMIT_NAMES.aliases, m.aliases, limits.maxAliases, `The operation has ${m.aliases} aliases; the limit is ${limits.maxAliases}.`);
    over(
      LIMIT_NAMES.directives,
      m.directives,
      limits.maxDirectives,
      `The operation has ${m.directives} directives; the limit is ${limits.maxDirectives}.`,
    );
    over(
      LIMIT_NAMES.rootFields,
      m.rootFields,
      limits.maxRootFields,
      `The operation selects ${m.rootFields} root fields; the limit is ${limits.maxRootFields}.`,
    );
    over(
      LIMIT_NAMES.fieldRepeats,
      m.repeats,
      limits.maxFieldRepeats,
      `A field is selected ${m.repeats} times in one selection set; the limit is ${limits.maxFieldRepeats}.`,
      { field: m.repeatedName },
    );
  }
  return errors;
}

/** The shape limits as a validation rule (Apollo Server's `validationRules`). */
export function documentLimitsRule(limits: OperationLimits): ValidationRule {
  return (context) => ({
    Document(document) {
      for (const error of documentLimitErrors(document, limits)) context.reportError(error);
      return false; // measured at once; this rule need not visit the nodes
    },
  });
}
