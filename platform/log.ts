// Structured JSON logs on stderr. Callers pass event names and non-PHI fields only (ids of
// connections, counts, durations, error codes); values from patient data never reach a log.
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof LEVELS;

const threshold = (): number =>
  LEVELS[(process.env.LOG_LEVEL as Level | undefined) ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info')] ?? 20;

function write(level: Exclude<Level, 'silent'>, component: string, event: string, fields?: LogFields): void {
  if (LEVELS[level] < threshold()) return;
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, component, event, ...fields })}\n`);
}

export type Logger = {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
};

export const logger = (component: string): Logger => ({
  debug: (e, f) => write('debug', component, e, f),
  info: (e, f) => write('info', component, e, f),
  warn: (e, f) => write('warn', component, e, f),
  error: (e, f) => write('error', component, e, f),
});
