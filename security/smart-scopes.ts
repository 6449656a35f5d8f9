// SMART on FHIR scopes, v1 (`patient/*.read`, `user/Observation.write`) and v2
// (`patient/Observation.rs`, `system/*.cruds`, `user/Observation.rs?category=laboratory`),
// expanded into canonical permissions: which resource type, which actions, in which context.
// v1 `read` is v2 `rs`, v1 `write` is `cud`, v1 `*` is `cruds`. Search parameters on a v2 scope
// narrow it; this product does not evaluate them yet, so a narrowed scope grants nothing rather
// than more than it says (fail closed).

export const SCOPE_CONTEXTS = ['patient', 'user', 'system'] as const;
export type ScopeContext = (typeof SCOPE_CONTEXTS)[number];

export const ACTIONS = ['c', 'r', 'u', 'd', 's'] as const;
export type Action = (typeof ACTIONS)[number];

export type Permission = { readonly context: ScopeContext; readonly resourceType: string; readonly actions: ReadonlySet<Action> };

const V1_ACTIONS: Readonly<Record<string, readonly Action[]>> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};
const SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)(\?.*)?$/;

/** One scope string to a permission, or undefined when it is not a resource scope (openid, launch, ...). */
export function parseScope(scope: string): Permission | undefined {
  const m = SCOPE.exec(scope.trim());
  if (!m) return undefined;
  const [, context, resourceType, verb, query] = m as unknown as [string, ScopeContext, string, string, string | undefined];
  if (query) return undefined;
  const v1 = V1_ACTIONS[verb];
  if (v1) return { context, resourceType, actions: new Set(v1) };
  // v2: the letters must be a subsequence of "cruds", in that order, each at most once.
  if (!/^c?r?u?d?s?$/.test(verb) || verb === '') return undefined;
  return { context, resourceType, actions: new Set([...verb] as Action[]) };
}

export const parseScopes = (scopes: readonly string[]): Permission[] => scopes.flatMap((s) => parseScope(s) ?? []);

/** Whether any permission grants `action` on `resourceType` (a `*` resource type grants every type). */
export function allows(permissions: readonly Permission[], resourceType: string, action: Action): boolean {
  return permissions.some((p) => (p.resourceType === '*' || p.resourceType === resourceType) && p.actions.has(action));
}

/** Reading through this API needs both `r` (read) and `s` (search): lists and lookups are searches. */
export const allowsRead = (permissions: readonly Permission[], resourceType: string): boolean =>
  allows(permissions, resourceType, 'r') && allows(permissions, resourceType, 's');
