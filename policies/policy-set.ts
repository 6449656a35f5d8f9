// Turns the policy files into the graphql-shield middleware of one subgraph: deny by default,
// a FORBIDDEN error without detail, interface policies applied to every implementing type, and
// each denial recorded for the audit log.
import { isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { allow, deny, type or, shield } from './shield.ts';
import { forbidden } from '../platform/errors.ts';
import type { SubgraphContext } from '../subgraphs/shared/context.ts';

/** Any shield rule: a named rule, allow/deny, or a combination. */
export type ShieldRule = Parameters<typeof or>[number];

/** Type name -> field name -> rule. An interface's entry applies to all of its implementations. */
export type PolicySet = Readonly<Record<string, Readonly<Record<string, ShieldRule>>>>;

/** A readable name of a rule for audit rows: `and(clinicianForTreatment, scopeToRead:Observation)`. */
export function describeRule(rule: ShieldRule | undefined): string {
  if (rule === undefined) return 'default-deny';
  const r = rule as unknown as { name?: string; getRules?: () => ShieldRule[]; constructor: { name: string } };
  if (typeof r.getRules === 'function')
    return `${r.constructor.name.replace(/^Rule/, '').toLowerCase()}(${r.getRules().map(describeRule).join(', ')})`;
  if (r.name) return r.name;
  return r.constructor.name.replace(/^Rule/, '').toLowerCase(); // RuleTrue -> true (allow), RuleFalse -> false (deny)
}

/** Merges policy sets and projects them onto the types and fields this schema actually has. */
export function ruleTreeFor(schema: GraphQLSchema, sets: readonly PolicySet[]): Record<string, Record<string, ShieldRule>> {
  const tree: Record<string, Record<string, ShieldRule>> = {};
  const add = (typeName: string, field: string, rule: ShieldRule): void => {
    const type = schema.getType(typeName);
    if (!isObjectType(type) || !(field in type.getFields())) return;
    const entry = (tree[typeName] ??= {});
    if (entry[field] && entry[field] !== rule) throw new Error(`two policies for ${typeName}.${field}`);
    entry[field] = rule;
  };
  for (const set of sets) {
    for (const [typeName, fields] of Object.entries(set)) {
      const type = schema.getType(typeName);
      const targets = isInterfaceType(type) ? schema.getPossibleTypes(type).map((t) => t.name) : [typeName];
      for (const target of targets) for (const [field, rule] of Object.entries(fields)) add(target, field, rule);
    }
  }
  return tree;
}

/**
 * The shield middleware of one subgraph, per field. Fields whose rule is exactly `allow` (value
 * types reached only through authorized fields, federation plumbing) are left unwrapped: their
 * decision cannot depend on anything, and wrapping every scalar of every code in an async rule
 * check would make large answers several times slower. Every other field, and every field with no
 * rule at all, goes through shield (which denies the latter).
 */
export function policyMiddleware(schema: GraphQLSchema, sets: readonly PolicySet[]): Record<string, Record<string, unknown>> {
  const tree = ruleTreeFor(schema, sets);
  const perField = shield(tree, {
    fallbackRule: deny,
    // Resolver errors (a source EHR down) pass through untouched; only denials become FORBIDDEN.
    allowExternalErrors: true,
    debug: false,
    fallbackError: (thrown, parent, _args, ctx, info) => {
      if (thrown === null)
        (ctx as unknown as SubgraphContext).audit.denied(
          info.parentType.name,
          info.fieldName,
          parent,
          describeRule(tree[info.parentType.name]?.[info.fieldName]),
        );
      return forbidden();
    },
  }).generate(schema) as Record<string, Record<string, unknown>>;
  for (const [type, fields] of Object.entries(tree)) {
    for (const [field, rule] of Object.entries(fields)) if (rule === allow) delete perField[type]?.[field];
  }
  return perField;
}
