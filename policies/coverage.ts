// Policy coverage: every field of every subgraph must be covered by a rule in policies/ or be
// listed as deliberately denied. Shield would deny an unlisted field anyway (fallbackRule: deny);
// this check makes the omission visible to the security team instead of silently unreadable.
import { isObjectType, type GraphQLSchema } from 'graphql';
import { DELIBERATELY_DENIED } from './deliberately-denied.ts';
import { ruleTreeFor, type PolicySet } from './policy-set.ts';

/** Schema coordinates (`Type.field`) with neither a rule nor a deliberate denial. */
export function uncoveredFields(
  schema: GraphQLSchema,
  sets: readonly PolicySet[],
  denied: Readonly<Record<string, string>> = DELIBERATELY_DENIED,
): string[] {
  const tree = ruleTreeFor(schema, sets);
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.keys(type.getFields())) {
      const coordinate = `${type.name}.${field}`;
      if (!tree[type.name]?.[field] && !(coordinate in denied)) missing.push(coordinate);
    }
  }
  return missing.sort();
}
