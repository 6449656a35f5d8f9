// The document's length, checked by the HTTP front door (platform/graphql-http.ts) before Apollo
// Server hashes, parses or caches anything: a long document is refused for the price of reading
// a string's length. The HTTP body limit (1,000,000 bytes) bounds the request before that.
import type { GraphQLFormattedError } from 'graphql';
import { LIMIT_NAMES, VALIDATION_FAILED, type OperationLimits } from './limits.ts';

/** The GraphQL document a request carries: `query` of a JSON body, else of the URL (GET). */
function documentOf(body: unknown, search: URLSearchParams): string | undefined {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const query = (body as { query?: unknown }).query;
    if (typeof query === 'string') return query;
  }
  return search.get('query') ?? undefined;
}

/** The error for a document longer than the limit, as a formatted GraphQL error; undefined if within it. */
export function characterLimitError(body: unknown, search: URLSearchParams, limits: OperationLimits): GraphQLFormattedError | undefined {
  const document = documentOf(body, search);
  if (document === undefined || document.length <= limits.maxCharacters) return undefined;
  return {
    message: `The document has ${document.length} characters; the limit is ${limits.maxCharacters}.`,
    extensions: { code: VALIDATION_FAILED, limit: LIMIT_NAMES.characters, max: limits.maxCharacters, actual: document.length },
  };
}
