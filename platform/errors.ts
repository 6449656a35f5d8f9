// The product's error vocabulary, defined once: every code a client or an operator can see, its
// HTTP status, and the one function that turns anything thrown into what a client is shown.
// Layers throw ProductError (or a subclass) with a code from this table; nothing else builds a
// client-facing error. A ProductError's message and details are shown as they are, so they name
// ids, arguments, limits and sources, never patient data.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

export const ERROR_CODES = {
  /** An argument or input value is malformed; `argument` names it (never its value). */
  BAD_USER_INPUT: { status: 400 },
  /** The HTTP request itself is malformed (body not JSON, a query string that cannot be read). */
  BAD_REQUEST: { status: 400 },
  /** The document does not parse (Apollo Server). */
  GRAPHQL_PARSE_FAILED: { status: 400 },
  /** The document does not validate against the schema, or exceeds an operation limit (`limit`, `max`). */
  GRAPHQL_VALIDATION_FAILED: { status: 400 },
  /** The operation named does not exist in the document (Apollo Server). */
  OPERATION_RESOLUTION_FAILURE: { status: 400 },
  /** No token, or an expired, forged or untrusted one. */
  UNAUTHENTICATED: { status: 401 },
  /** The caller may not see this field or call this operation. */
  FORBIDDEN: { status: 403 },
  /** An id a steward operation names does not exist. */
  NOT_FOUND: { status: 404 },
  /** The operation contradicts the current state (already resolved, merged concurrently). */
  CONFLICT: { status: 409 },
  /**
   * A lookup that answers one patient found an identifier that names several (`count`): none is
   * returned rather than a guess; the list field beside it (`patientsByIdentifier`) returns them all.
   */
  AMBIGUOUS_IDENTIFIER: { status: 409 },
  /** What was asked for existed and has expired (a cohort export's files after its expiry). */
  GONE: { status: 410 },
  /** The request body is over the size limit. */
  PAYLOAD_TOO_LARGE: { status: 413 },
  /** A downstream subgraph refused or failed the part of the plan it was sent (`subgraph`). */
  SUBGRAPH_UNAVAILABLE: { status: 502 },
  /** An EHR is down, too slow or refuses us (`source`, `failure`); only its part of the answer is missing. */
  SOURCE_UNAVAILABLE: { status: 502 },
  /**
   * A warning beside data, never a refusal: an EHR's list for one record is incomplete (more pages
   * than the connection's maxPages, or not all read within its timeoutMs); what was read is
   * returned at the same path (`source`, `returned`, `total` when the EHR reports it, `maxPages`).
   * The status, like SOURCE_UNAVAILABLE's, would only matter if it ever ended a request.
   */
  RESULT_TRUNCATED: { status: 502 },
  /**
   * A warning beside data, never a refusal: an EHR could not be asked for a fresher copy of one
   * record's list (down, too slow, refusing us), so the list is the clinical store's, as retrieved
   * at `retrievedAt` (`source`, `failure`).
   */
  STALE_DATA: { status: 502 },
  /** PostgreSQL did not answer in time or could not be reached (`reason`: `timeout` or `connection`); retry. Mapped in platform/db.ts. */
  DATABASE_UNAVAILABLE: { status: 503 },
  /** The audit row could not be written, so no data was returned (fail closed). */
  AUDIT_UNAVAILABLE: { status: 503 },
  /**
   * A configuration file read at the time of the operation (a concept map, unit rules, a vendor
   * profile, for re-processing quarantine) cannot be used; the message names the file and element.
   */
  CONFIGURATION_INVALID: { status: 500 },
  /** Anything unexpected; its message is never shown. */
  INTERNAL_SERVER_ERROR: { status: 500 },
} as const satisfies Record<string, { readonly status: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Safe, structured facts about an error (argument names, limits, source ids), shown to clients as extensions. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null>>;

export class ProductError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProductError';
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
  /** graphql-js copies an original error's `extensions` onto the GraphQLError wrapping it. */
  get extensions(): Readonly<Record<string, unknown>> {
    return { ...this.details, code: this.code };
  }
}

export const badUserInput = (message: string, argument: string): ProductError => new ProductError('BAD_USER_INPUT', message, { argument });
export const forbidden = (): ProductError => new ProductError('FORBIDDEN', 'Not authorized');
export const notFound = (message: string): ProductError => new ProductError('NOT_FOUND', message);
export const conflict = (message: string): ProductError => new ProductError('CONFLICT', message);
export const unauthenticated = (message: string): ProductError => new ProductError('UNAUTHENTICATED', message);

export const isErrorCode = (value: unknown): value is ErrorCode => typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);

/** The error a resolver threw, beneath graphql-js's wrapping. */
function originalOf(error: unknown): unknown {
  let e = error;
  while (e instanceof GraphQLError && e.originalError && e.originalError !== e) e = e.originalError;
  return e;
}

/** A ProductError as the GraphQL error a client receives. */
export const formatProductError = (e: ProductError): GraphQLFormattedError => ({
  message: e.message,
  extensions: { ...e.details, code: e.code },
});

const INTERNAL: Pick<GraphQLFormattedError, 'message' | 'extensions'> = {
  message: 'internal error',
  extensions: { code: 'INTERNAL_SERVER_ERROR' },
};

/**
 * The one mapping from anything thrown during a GraphQL request to what the client sees: a
 * ProductError shows its code, message and details; a GraphQL error that already carries one of
 * our codes (graphql-js and Apollo's own, or a subgraph's relayed by the gateway) keeps it; anything
 * else is an internal error whose message is never shown.
 */
export function toClientError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const where = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  const original = originalOf(error);
  if (original instanceof ProductError) {
    return { ...formatProductError(original), ...where };
  }
  const code = formatted.extensions?.code;
  // An Error other than ours is unexpected whatever code a library put on it; a GraphQL error, or a
  // subgraph's error relayed by the gateway (its original is the plain JSON object), keeps its code.
  const unexpected = original instanceof Error && !(original instanceof GraphQLError);
  if (isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR' && !unexpected) return formatted;
  return { ...INTERNAL, ...where };
}

/** A front-door (HTTP) refusal as a GraphQL-over-HTTP body and status. */
export function toHttpError(error: unknown): { status: number; body: { errors: GraphQLFormattedError[] } } {
  if (error instanceof ProductError) {
    return { status: error.status, body: { errors: [formatProductError(error)] } };
  }
  return { status: 500, body: { errors: [INTERNAL] } };
}
