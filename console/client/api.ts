// The console's one way to the product: POST /graphql with the session's bearer token, like any
// other client. Errors keep the API's code and argument path so each screen can say what happened.
import { session, signOut } from './session.ts';

export type ApiError = { readonly code: string; readonly message: string; readonly path?: string };

export class ApiFailure extends Error {
  readonly errors: readonly ApiError[];
  constructor(errors: readonly ApiError[]) {
    super(errors.map((e) => e.message).join('; '));
    this.errors = errors;
  }
  get code(): string {
    return this.errors[0]?.code ?? 'INTERNAL_SERVER_ERROR';
  }
}

type GraphQLErrorBody = { message?: string; path?: (string | number)[]; extensions?: { code?: string; argument?: string } };

const toApiError = (e: GraphQLErrorBody): ApiError => ({
  code: e.extensions?.code ?? 'INTERNAL_SERVER_ERROR',
  message: e.message ?? 'request failed',
  ...(e.extensions?.argument ? { path: e.extensions.argument } : e.path ? { path: e.path.join('.') } : {}),
});

/** Data and the field errors beside it (a field refused by policy is null with a FORBIDDEN error). */
export type Answer<T> = { readonly data: T; readonly errors: readonly ApiError[] };

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<Answer<T>> {
  const token = session.value?.token;
  if (!token) throw new ApiFailure([{ code: 'UNAUTHENTICATED', message: 'Signed out' }]);
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiFailure([{ code: 'NETWORK', message: 'The gateway did not answer' }]);
  }
  const body = (await res.json().catch(() => ({}))) as { data?: T | null; errors?: GraphQLErrorBody[] };
  const errors = (body.errors ?? []).map(toApiError);
  if (res.status === 401 || errors.some((e) => e.code === 'UNAUTHENTICATED')) {
    signOut('Your session ended: sign in again.');
    throw new ApiFailure(errors.length ? errors : [{ code: 'UNAUTHENTICATED', message: 'Signed out' }]);
  }
  if (!body.data) throw new ApiFailure(errors.length ? errors : [{ code: `HTTP_${res.status}`, message: 'request failed' }]);
  return { data: body.data, errors };
}

/** Runs a mutation: any error (even beside data) is the action's refusal; otherwise the message to show. */
export async function gqlAction(query: string, variables: Record<string, unknown>, message: string): Promise<string> {
  const { errors } = await gql(query, variables);
  if (errors.length) throw new ApiFailure(errors);
  return message;
}

/** What a steward reads for each error code: the API's words, and what to do about it. */
export function explain(e: ApiError): string {
  const advice: Record<string, string> = {
    FORBIDDEN: 'Your role may not do this.',
    CONFLICT: 'The records changed since this page loaded (another decision came first). Reload and look again.',
    STALE_DATA: 'A source answered with stale data; the view may be out of date.',
    NOT_FOUND: 'It no longer exists.',
    BAD_USER_INPUT: 'Check the value.',
    UNAUTHENTICATED: 'Sign in again.',
    NETWORK: 'Check that the gateway is running.',
  };
  return `${e.code}: ${e.message}${e.path ? ` (${e.path})` : ''}. ${advice[e.code] ?? ''}`.trim();
}
