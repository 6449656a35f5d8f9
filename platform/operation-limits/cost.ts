// The cost of an operation, computed once its variables are known (a page size is often a
// variable): every field costs 1, and the selections of a field are multiplied by the field's page
// size (`first`/`last`: the value sent, else the schema's default, else defaultPageSize) or, for
// a list without a page size argument, by assumedListSize. A page size above its cap is refused
// here, before execution. Named fragments are costed once and multiplied wherever spread;
// cycles are not followed (validation has refused them already).
import {
  getNamedType,
  GraphQLInt,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from 'graphql';
import { LIMIT_NAMES, limitError, pageSizeCap, type OperationLimits } from './limits.ts';

export type CostReport = {
  readonly cost: number;
  /** Page sizes above their cap, one error per field and argument. */
  readonly pageSizeErrors: readonly GraphQLError[];
};

type Variables = Readonly<Record<string, unknown>>;

export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables | undefined,
  limits: OperationLimits,
): CostReport {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const variableDefinitions = new Map<string, VariableDefinitionNode>(
    (operation.variableDefinitions ?? []).map((v) => [v.variable.name.value, v]),
  );
  const fragmentCosts = new Map<string, number | 'visiting'>();
  const pageSizeErrors = new Map<string, GraphQLError>();

  /** The integer value of an argument as sent (literal or variable), undefined when absent, null or not an integer. */
  const argumentValue = (field: FieldNode, name: string): number | undefined => {
    const node = field.arguments?.find((a) => a.name.value === name)?.value;
    if (!node) return undefined;
    let value: unknown;
    if (node.kind === Kind.VARIABLE) {
      const variable = node.name.value;
      if (variables && Object.hasOwn(variables, variable)) value = variables[variable];
      else {
        const fallback = variableDefinitions.get(variable)?.defaultValue;
        value = fallback ? valueFromAST(fallback, GraphQLInt) : undefined;
      }
    } else if (node.kind === Kind.INT) {
      value = Number(node.value);
    }
    // Anything else is refused by validation or by variable coercion; cost it at the default.
    return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
  };

  const multiplier = (field: FieldNode, definition: GraphQLField<unknown, unknown>, parent: GraphQLNamedType): number => {
    const sizeArguments = definition.args.filter((a) => limits.pageSizeArguments.includes(a.name));
    if (sizeArguments.length === 0) return isListType(getNullableType(definition.type)) ? limits.assumedListSize : 1;
    const coordinate = `${parent.name}.${definition.name}`;
    const cap = pageSizeCap(limits, coordinate);
    let size: number | undefined;
    for (const argument of sizeArguments) {
      const sent = argumentValue(field, argument.name);
      const value = sent ?? (typeof argument.defaultValue === 'number' ? argument.defaultValue : undefined);
      if (sent !== undefined && sent > cap && !pageSizeErrors.has(`${coordinate}(${argument.name})`)) {
        pageSizeErrors.set(
          `${coordinate}(${argument.name})`,
          limitError(LIMIT_NAMES.pageSize, cap, `\`${argument.name}\` of ${coordinate} must be at most ${cap}.`, {
            nodes: [field],
            code: 'BAD_USER_INPUT',
            extra: { field: coordinate, argument: argument.name },
          }),
        );
      }
      if (value !== undefined) size = Math.max(size ?? 0, value);
    }
    return Math.max(1, Math.min(size ?? limits.defaultPageSize, cap));
  };

  const fieldDefinition = (parent: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined => {
    if (!parent) return undefined;
    if (parent === schema.getQueryType()) {
      if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
      if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    }
    return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  };

  const fragmentCost = (name: string): number => {
    const known = fragmentCosts.get(name);
    if (known === 'visiting') return 0;
    if (known !== undefined) return known;
    const definition = fragments.get(name);
    if (!definition) return 0;
    fragmentCosts.set(name, 'visiting');
    const cost = selectionSetCost(definition.selectionSet, schema.getType(definition.typeCondition.name.value));
    fragmentCosts.set(name, cost);
    return cost;
  };

  // Costs of an abstract type's inline fragments add up: an upper bound, as the limit wants.
  const selectionSetCost = (set: SelectionSetNode, parent: GraphQLNamedType | undefined): number => {
    let cost = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        cost += 1;
        const definition = fieldDefinition(parent, s.name.value);
        // Computed for leaves too: it checks the page size caps.
        const times = definition && parent ? multiplier(s, definition, parent) : 1;
        if (s.selectionSet) cost += times * selectionSetCost(s.selectionSet, definition ? getNamedType(definition.type) : undefined);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        cost += selectionSetCost(s.selectionSet, s.typeCondition ? schema.getType(s.typeCondition.name.value) : parent);
      } else {
        cost += fragmentCost(s.name.value);
      }
    }
    return cost;
  };

  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  return { cost: selectionSetCost(operation.selectionSet, root ?? undefined), pageSizeErrors: [...pageSizeErrors.values()] };
}

/** The first refusal for an operation: a page size over its cap, else a cost over the limit. */
export function costLimitError(report: CostReport, limits: OperationLimits): GraphQLError | undefined {
  if (report.pageSizeErrors.length > 0) return report.pageSizeErrors[0];
  if (report.cost > limits.maxCost) {
    return limitError(
      LIMIT_NAMES.cost,
      limits.maxCost,
      `The operation costs ${Number.isFinite(report.cost) ? report.cost : 'too much'}; the limit is ${limits.maxCost}.`,
      {
        extra: { actual: Number.isFinite(report.cost) ? report.cost : null },
      },
    );
  }
  return undefined;
}

/**
 * The refusal of an operation whose part for one subgraph (a fetch of the gateway's query plan)
 * costs more than the limit that subgraph applies: the same limit and extensions as above, plus
 * the subgraph's name. HTTP 400, as every refusal before execution.
 */
export function subgraphCostLimitError(subgraph: string, cost: number, limits: OperationLimits): GraphQLError {
  const actual = Number.isFinite(cost) ? cost : null;
  return limitError(
    LIMIT_NAMES.cost,
    limits.maxCost,
    `The part of the operation sent to subgraph ${subgraph} costs ${actual ?? 'too much'}; the limit is ${limits.maxCost}.`,
    { extra: { actual, subgraph, http: { status: 400 } } },
  );
}
