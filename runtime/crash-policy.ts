// What a serving process does with an error nobody handled. Failures we expect (a lost database
// connection, an EHR down) are handled where they happen and never get here, so what does is a
// bug: it is logged without PHI (the error's name, code and where it was thrown, never its
// message, which may quote data) and the process exits with code 1, after a bounded attempt to
// close cleanly, since its state is no longer known. A supervisor (compose's restart policy, a
// user at the terminal) starts it again; nothing is swallowed.
import { logger } from '../platform/log.ts';

const log = logger('process');

/** How long a clean close may take before the process exits anyway. */
const CLOSE_WITHIN_MS = 5000;

/** The first frames of a stack (function and file:line), without its first line, which is the message. */
export function framesOf(error: unknown, depth = 5): string {
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
  return stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, depth)
    .map((line) => line.trim().slice(3))
    .join(' < ');
}

/** What may be logged about an error anybody threw: never its message. */
export function describeError(error: unknown): { name: string; code?: string; at: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    name: error instanceof Error ? error.name : typeof error,
    ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
    at: framesOf(error),
  };
}

export function exitOnUnhandledErrors(close: () => Promise<unknown> = async () => undefined): void {
  let exiting = false;
  const fatal = (event: string) => (error: unknown) => {
    log.error(event, describeError(error));
    if (exiting) return;
    exiting = true;
    process.exitCode = 1;
    const deadline = setTimeout(() => process.exit(1), CLOSE_WITHIN_MS);
    deadline.unref();
    void close()
      .catch(() => undefined)
      .finally(() => process.exit(1));
  };
  process.on('uncaughtException', fatal('uncaught_exception'));
  process.on('unhandledRejection', fatal('unhandled_rejection'));
}
