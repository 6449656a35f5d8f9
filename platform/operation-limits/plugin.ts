// The limits that depend on the variables: cost and page sizes, refused after validation and
// before execution (at the gateway, before planning). An error thrown by didResolveOperation is
// Apollo Server's documented way to refuse an operation: it is the response, with no data.
// (The document's length is checked by the HTTP front door, see characters.ts: an error thrown
// by an earlier hook, such as didResolveSource, becomes a 500.)
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { logger } from '../log.ts';
import { costLimitError, operationCost } from './cost.ts';
import type { OperationLimits } from './limits.ts';

const log = logger('operation-limits');

/** Apollo Server reads the response status from `extensions.http` and removes it from the error. */
const withStatus400 = (error: GraphQLError): GraphQLError =>
  new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, http: { status: 400 } } });

export function operationLimitsPlugin<C extends BaseContext>(limits: OperationLimits): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return; // no operation to run: Apollo Server refuses the request itself
          const error = costLimitError(operationCost(schema, document, operation, request.variables, limits), limits);
          if (!error) return;
          // Bounds only: the document and its variables are never logged.
          const { limit, max, actual } = error.extensions as { limit?: string; max?: number; actual?: number | null };
          log.info('operation_refused', { limit, max, actual: actual ?? undefined });
          throw withStatus400(error);
        },
      };
    },
  };
}
