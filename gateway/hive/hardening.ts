// The product's operation limits (platform/operation-limits) on Hive Gateway, with the same
// functions and limits as the Node gateway and every subgraph: the document's length before
// parsing, the parser's token bound, depth/aliases/fields as a validation rule, and cost and page
// sizes (which depend on the variables) before execution. No "Did you mean" hints in any mode.
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { getOperationAST, GraphQLError, parse, type GraphQLFormattedError } from 'graphql';
import {
  characterLimitError,
  costLimitError,
  DEFAULT_OPERATION_LIMITS,
  documentLimitsRule,
  operationCost,
  type OperationLimits,
} from '../../platform/operation-limits/index.ts';

const SUGGESTION = / Did you mean .*\?$/;

/** Refusals before execution are HTTP 400, as on the Node gateway (Yoga reads `extensions.http`). */
const refusal = (error: GraphQLError | GraphQLFormattedError): GraphQLError =>
  new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });

export function useOperationLimits(limits: OperationLimits = DEFAULT_OPERATION_LIMITS): GatewayPlugin {
  return {
    onParams({ params }) {
      // Before anything hashes, caches or parses the document.
      const tooLong = characterLimitError({ query: params.query }, new URLSearchParams(), limits);
      if (tooLong) throw refusal(tooLong);
    },
    onParse({ params, setParseFn }) {
      // graphql-js stops lexing at this many tokens: a long document costs no more than this.
      setParseFn((source) => parse(source, { ...params.options, maxTokens: limits.maxTokens }));
    },
    onValidate({ addValidationRule }) {
      addValidationRule(documentLimitsRule(limits));
      return ({ result, setResult }) => {
        if (result.length === 0) return;
        const withoutHints = (e: Error) => {
          const g = e instanceof GraphQLError ? e : undefined;
          // `spec: false`: 400 for application/json clients too, as the Node gateway answers (Yoga keeps 200 for them otherwise).
          const extensions = { ...g?.extensions, http: { status: 400, spec: false } };
          return new GraphQLError(e.message.replace(SUGGESTION, ''), {
            nodes: g?.nodes,
            source: g?.source,
            positions: g?.positions,
            extensions,
          });
        };
        setResult(result.map(withoutHints));
      };
    },
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const variables = args.variableValues ?? undefined;
      const error = costLimitError(operationCost(args.schema, args.document, operation, variables, limits), limits);
      if (error) setResultAndStopExecution({ errors: [refusal(error)] });
    },
  };
}
