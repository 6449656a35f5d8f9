// Operation limits for an Apollo Server (the gateway and every subgraph): the document's length
// (checked by the HTTP front door), the parser's token bound, validation rules for the shape, a
// plugin for cost and page sizes, no HTTP batching, and the parser's token error rewritten as a
// limit error. See limits.ts for the limits and their defaults.
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { documentLimitsRule } from './document-limits.ts';
import { LIMIT_NAMES, VALIDATION_FAILED, type OperationLimits } from './limits.ts';
import { operationLimitsPlugin } from './plugin.ts';

export { DEFAULT_OPERATION_LIMITS, LIMIT_NAMES, operationLimits, type OperationLimits } from './limits.ts';
export { documentLimitErrors, documentLimitsRule, measureDocument } from './document-limits.ts';
export { costLimitError, operationCost, subgraphCostLimitError } from './cost.ts';
export { operationLimitsPlugin } from './plugin.ts';
export { characterLimitError } from './characters.ts';

export type LimitServerOptions = Pick<ApolloServerOptions<BaseContext>, 'validationRules' | 'parseOptions' | 'allowBatchedHttpRequests'>;

export function operationLimitServerOptions(limits: OperationLimits): LimitServerOptions {
  return {
    validationRules: [documentLimitsRule(limits)],
    // graphql-js stops lexing at this many tokens: a long document costs no more than this.
    parseOptions: { maxTokens: limits.maxTokens },
    // One operation per HTTP request (Apollo Server's default, stated): a JSON array is refused
    // with 400 "Operation batching disabled." before any operation is looked at.
    allowBatchedHttpRequests: false,
  };
}

export function operationLimitPlugins<C extends BaseContext>(limits: OperationLimits): ApolloServerPlugin<C>[] {
  return [operationLimitsPlugin<C>(limits)];
}

// graphql 16 writes "more that N tokens" (sic); accept the spelling a later release may fix.
const TOO_MANY_TOKENS = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

/** The parser's "too many tokens" error reads like the other limits: a validation failure naming the limit. */
export function formatLimitError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const tokens = TOO_MANY_TOKENS.exec(formatted.message);
  if (!tokens || formatted.extensions?.code !== 'GRAPHQL_PARSE_FAILED') return formatted;
  const max = Number(tokens[1]);
  return {
    message: `The document has more than ${max} tokens; the limit is ${max}.`,
    extensions: { code: VALIDATION_FAILED, limit: LIMIT_NAMES.tokens, max },
  };
}
