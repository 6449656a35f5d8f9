// Errors that travel beside data: a resolver returns what it has and records a warning for its
// path (a list an EHR returned in part), and this plugin adds the warnings to the response's
// errors. graphql-js lets a resolver return a value or throw, not both.
import type { ApolloServerPlugin } from '@apollo/server';
import { responsePathAsArray, type GraphQLFormattedError, type GraphQLResolveInfo } from 'graphql';
import { formatProductError, type ProductError } from '../../platform/errors.ts';
import { perRequest, type SubgraphContext } from './context.ts';

const WARNINGS = 'warnings';

const warningsOf = (ctx: SubgraphContext): GraphQLFormattedError[] => perRequest<GraphQLFormattedError[]>(ctx, WARNINGS, () => []);

/** Records a warning at the field being resolved; the field's value is still returned. */
export function warn(ctx: SubgraphContext, info: Pick<GraphQLResolveInfo, 'path'>, warning: ProductError): void {
  warningsOf(ctx).push({ ...formatProductError(warning), path: responsePathAsArray(info.path) });
}

export function warningsPlugin(): ApolloServerPlugin<SubgraphContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const warnings = contextValue.perRequest.get(WARNINGS) as GraphQLFormattedError[] | undefined;
          if (!warnings?.length || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          // No data (the audit write failed, a refusal): nothing to warn about.
          if (result.data === undefined || result.data === null) return;
          result.errors = [...(result.errors ?? []), ...warnings];
        },
      };
    },
  };
}
