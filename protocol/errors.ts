// Errors of layer 1 name the source (connection id) and the failure kind, never patient data,
// so they can travel into GraphQL errors and logs as they are.
export const SOURCE_FAILURE = {
  timeout: 'TIMEOUT',
  unreachable: 'UNREACHABLE',
  auth: 'AUTH_FAILED',
  http: 'HTTP_ERROR',
  invalidResponse: 'INVALID_RESPONSE',
} as const;
export type SourceFailure = (typeof SOURCE_FAILURE)[keyof typeof SOURCE_FAILURE];

export class SourceError extends Error {
  readonly source: string;
  readonly failure: SourceFailure;
  readonly status: number | undefined;
  constructor(source: string, failure: SourceFailure, detail: string, status?: number) {
    super(`source ${source}: ${failure.toLowerCase().replace('_', ' ')} (${detail})`);
    this.name = 'SourceError';
    this.source = source;
    this.failure = failure;
    this.status = status;
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
