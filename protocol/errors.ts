// Errors of layer 1 name the source (connection id) and the failure kind, never patient data,
// so they can travel into GraphQL errors and logs as they are.
import { ProductError } from '../platform/errors.ts';
export const SOURCE_FAILURE = {
  timeout: 'TIMEOUT',
  unreachable: 'UNREACHABLE',
  auth: 'AUTH_FAILED',
  http: 'HTTP_ERROR',
  invalidResponse: 'INVALID_RESPONSE',
  /** Not asked: its circuit breaker is open after repeated failures (protocol/fhir/resilience.ts). */
  circuitOpen: 'CIRCUIT_OPEN',
} as const;
export type SourceFailure = (typeof SOURCE_FAILURE)[keyof typeof SOURCE_FAILURE];

const FAILURE_TEXT: Readonly<Record<SourceFailure, string>> = {
  TIMEOUT: 'it did not answer in time',
  UNREACHABLE: 'it cannot be reached',
  AUTH_FAILED: 'it refused our credentials',
  HTTP_ERROR: 'it answered with an error',
  INVALID_RESPONSE: 'its answer could not be read',
  CIRCUIT_OPEN: 'it has been failing and is given time to recover',
};

/** An EHR that failed us. Its message is what a client sees; `detail` (status, OAuth error) is for logs. */
export class SourceError extends ProductError {
  readonly source: string;
  readonly failure: SourceFailure;
  readonly httpStatus: number | undefined;
  readonly detail: string;
  constructor(source: string, failure: SourceFailure, detail: string, httpStatus?: number) {
    super('SOURCE_UNAVAILABLE', `Source ${source} is unavailable: ${FAILURE_TEXT[failure]}`, { source, failure });
    this.name = 'SourceError';
    this.source = source;
    this.failure = failure;
    this.detail = detail;
    this.httpStatus = httpStatus;
  }
}

/** Classifies anything fetch or fhir-kit-client throws into a SourceError. */
export function toSourceError(source: string, error: unknown, timeoutMs: number): SourceError {
  if (error instanceof SourceError) return error;
  const e = error as { name?: string; response?: { status?: number }; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError')
    return new SourceError(source, SOURCE_FAILURE.timeout, `no answer within ${timeoutMs} ms`);
  if (typeof e?.response?.status === 'number')
    return new SourceError(source, SOURCE_FAILURE.http, `HTTP ${e.response.status}`, e.response.status);
  if (e?.cause?.code) return new SourceError(source, SOURCE_FAILURE.unreachable, e.cause.code);
  return new SourceError(source, SOURCE_FAILURE.unreachable, e?.name ?? 'unknown error');
}
