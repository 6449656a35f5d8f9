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

/** What a rule tree decided: allowed, denied (fallback error), or a rule's own error. */
type Decision = true | false | Error;

type ShieldLeaf = { name: string; cache: unknown; func: (...a: unknown[]) => unknown };
type ShieldTree = { getRules?: () => ShieldRule[]; constructor: { name: string } };

/**
 * Whether a rule's decision is the same for every object of a request: every leaf is cached per
 * request ('contextual': it reads only the caller, see rules.ts) or is allow/deny. Any other leaf
 * ('strict', 'no_cache', a cache function: it may read the row) keeps shield's per-call evaluation.
 */
export function decidedPerRequest(rule: ShieldRule): boolean {
  const r = rule as unknown as ShieldTree & Partial<ShieldLeaf>;
  if (typeof r.getRules === 'function') return r.getRules().every(decidedPerRequest);
  return typeof r.func === 'function' && r.cache === 'contextual';
}

/** shield's Rule.resolve on one result: an Error or message denies with it, only `true` allows. */
const normalized = (res: unknown): Decision => (res instanceof Error ? res : typeof res === 'string' ? new Error(res) : res === true);

/**
 * Evaluates a per-request rule tree synchronously with shield's own semantics (rules.js: and, or,
 * chain, race, not, allow, deny; a leaf's value shared through shield's request cache
 * `ctx._shield.cache[name]`, as shield itself caches 'contextual' rules), or undefined when a leaf
 * answers with a promise: the caller then lets shield decide, awaiting that same cached promise.
 */
function decideNow(rule: ShieldRule, parent: unknown, args: unknown, ctx: ShieldContext, info: unknown): Decision | undefined {
  const r = rule as unknown as ShieldTree & Partial<ShieldLeaf> & { error?: Error };
  if (typeof r.getRules !== 'function') {
    const leaf = r as ShieldLeaf;
    const cache = ctx._shield.cache;
    let res: unknown;
    if (leaf.name in cache) res = cache[leaf.name];
    else {
      try {
        res = cache[leaf.name] = leaf.func(parent, args, ctx, info);
      } catch {
        return false; // shield (debug off): a throwing rule denies
      }
    }
    if (typeof (res as { then?: unknown } | null)?.then === 'function') return undefined;
    return normalized(res);
  }
  const kind = r.constructor.name;
  if (kind === 'RuleTrue') return true;
  if (kind === 'RuleFalse') return false;
  const rules = r.getRules();
  const results: Decision[] = [];
  for (const child of rules) {
    const d = decideNow(child, parent, args, ctx, info);
    if (d === undefined) return undefined;
    results.push(d);
    // chain stops at the first refusal, race at the first grant (shield evaluates no further).
    if ((kind === 'RuleChain' && d !== true) || (kind === 'RuleRace' && d === true)) break;
  }
  const firstError = (): Decision => results.find((d) => d instanceof Error) ?? false;
  switch (kind) {
    case 'RuleAnd':
    case 'RuleChain':
      return results.every((d) => d === true) ? true : firstError();
    case 'RuleOr':
    case 'RuleRace':
      return results.some((d) => d === true) ? true : firstError();
    case 'RuleNot':
      return results[0] !== true ? true : (r.error ?? false);
    default:
      return undefined; // an unknown combinator: shield decides
  }
}

type ShieldContext = { _shield: { cache: Record<string, unknown> } };
type FieldMiddleware = (resolve: (...a: unknown[]) => unknown, parent: unknown, args: unknown, ctx: unknown, info: unknown) => unknown;

/** Each request's decisions per rule object (only rules decided per request), dropped with the request's context. */
const decisions = new WeakMap<object, Map<ShieldRule, Decision>>();

/**
 * A field whose rule is decided per request: decided once (synchronously when its rules are),
 * then every object's field resolves directly, without a promise per field. The outcome is the
 * one shield's middleware gives: the resolver's value when allowed; when refused, the same
 * fallback error (and audit denial) for every object, or the rule's own error.
 */
function perRequestMiddleware(rule: ShieldRule, shielded: FieldMiddleware, refuse: FallbackError): FieldMiddleware {
  return (resolve, parent, args, ctx, info) => {
    const context = ((ctx as ShieldContext | undefined) ?? {}) as ShieldContext;
    let known = decisions.get(context);
    let decision = known?.get(rule);
    if (decision === undefined) {
      context._shield ??= { cache: {} };
      decision = decideNow(rule, parent, args, context, info);
      if (decision === undefined) return shielded(resolve, parent, args, context, info);
      if (!known) decisions.set(context, (known = new Map()));
      known.set(rule, decision);
    }
    if (decision === true) return resolve(parent, args, context, info);
    return decision === false ? refuse(null, parent, args, context, info) : decision;
  };
}

type FallbackError = (thrown: unknown, parent: unknown, args: unknown, ctx: unknown, info: unknown) => Error;

/**
 * The shield middleware of one subgraph, per field. Fields whose rule is exactly `allow` (value
 * types reached only through authorized fields, federation plumbing) are left unwrapped: their
 * decision cannot depend on anything, and wrapping every scalar of every code in an async rule
 * check would make large answers several times slower. A field whose rule reads only the caller
 * is decided once per request (perRequestMiddleware); every other field, and every field with no
 * rule at all, goes through shield (which denies the latter).
 */
export function policyMiddleware(schema: GraphQLSchema, sets: readonly PolicySet[]): Record<string, Record<string, unknown>> {
  const tree = ruleTreeFor(schema, sets);
  const fallbackError: FallbackError = (thrown, parent, _args, ctx, info) => {
    const { parentType, fieldName } = info as { parentType: { name: string }; fieldName: string };
    if (thrown === null)
      (ctx as SubgraphContext).audit.denied(parentType.name, fieldName, parent, describeRule(tree[parentType.name]?.[fieldName]));
    return forbidden();
  };
  const perField = shield(tree, {
    fallbackRule: deny,
    // Resolver errors (a source EHR down) pass through untouched; only denials become FORBIDDEN.
    allowExternalErrors: true,
    debug: false,
    fallbackError: fallbackError as never,
  }).generate(schema) as Record<string, Record<string, unknown>>;
  for (const [type, fields] of Object.entries(tree)) {
    for (const [field, rule] of Object.entries(fields)) {
      // shield hands a combined rule's middleware over as { fragments, resolve }; we use no fragments.
      const generated = perField[type]?.[field] as FieldMiddleware | { resolve: FieldMiddleware } | undefined;
      const shielded = typeof generated === 'function' ? generated : generated?.resolve;
      if (rule === allow) delete perField[type]?.[field];
      else if (shielded && decidedPerRequest(rule)) perField[type]![field] = perRequestMiddleware(rule, shielded, fallbackError);
    }
  }
  return perField;
}
