// The named building blocks of every policy. Each rule reads only who is asking (the verified
// principal), never the object being returned, so caching a decision for the whole request
// ('contextual') is safe. Object-level checks (which patient) live in the resolvers.
import { allow, and, or, rule } from './shield.ts';
import type { SubgraphContext } from '../subgraphs/shared/context.ts';
import { hasRole } from '../security/principal.ts';
import { allowsRead, parseScopes } from '../security/smart-scopes.ts';

const byCaller = (name: string, decide: (ctx: SubgraphContext) => boolean) =>
  rule(name, { cache: 'contextual' })((_parent, _args, ctx: SubgraphContext) => decide(ctx));

/** A clinician acting for treatment (purpose of use TREAT, or ETREAT break-glass). */
export const clinicianForTreatment = byCaller(
  'clinicianForTreatment',
  (ctx) => hasRole(ctx.principal, 'clinician') && (ctx.principal.purposeOfUse === 'TREAT' || ctx.principal.purposeOfUse === 'ETREAT'),
);

/** A data steward: works identity (demographics, identifiers, links), not clinical data. */
export const steward = byCaller('steward', (ctx) => hasRole(ctx.principal, 'steward'));

/** An analyst: de-identified data and counts only. */
export const analyst = byCaller('analyst', (ctx) => hasRole(ctx.principal, 'analyst'));

/** A security or compliance officer: the audit log. */
export const securityOfficer = byCaller('securityOfficer', (ctx) => hasRole(ctx.principal, 'security'));

/** An integration engineer: what translation refused and why, lineage, re-processing. */
export const integrationEngineer = byCaller('integrationEngineer', (ctx) => hasRole(ctx.principal, 'integration'));

/**
 * Federation plumbing (_service, _entities). Reaching a subgraph at all already required the
 * gateway's signed identity; object-level checks run in each __resolveReference.
 */
export const gatewayFederation = allow;

/**
 * Fields of value types (a name's parts, a code's system) are reachable only through a field
 * that was itself authorized above them, so they add no exposure of their own.
 */
export const reachedThroughAuthorizedField = allow;

export const anyOf = or;
export const allOf = and;

/**
 * The caller's SMART scopes grant reading (and searching) this FHIR resource type, in any
 * context (patient/, user/ or system/; patient/ scopes are further held to the launch patient
 * by the object-level checks). v1 `read` and v2 `rs` are equivalent; `*` covers every type.
 */
const scopeRules = new Map<string, ReturnType<typeof byCaller>>();
export function scopeToRead(resourceType: string): ReturnType<typeof byCaller> {
  let r = scopeRules.get(resourceType);
  if (!r)
    scopeRules.set(
      resourceType,
      (r = byCaller(`scopeToRead:${resourceType}`, (ctx) => allowsRead(parseScopes(ctx.principal.scopes), resourceType))),
    );
  return r;
}

/** Identity work: knowing who a patient is (names, identifiers, source record keys). */
export const identityWork = anyOf(clinicianForTreatment, steward);

/** De-identified access: identity work, plus analysts (whose view is limited field by field). */
export const deidentifiedAccess = anyOf(clinicianForTreatment, steward, analyst);
