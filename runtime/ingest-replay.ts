// `npm run ingest:replay -- --id 42 --id 43` or `-- --channel lab-feed --reason max-attempts [--since T] [--until T]`
// Returns dead-lettered inbox messages to the processing pipeline (orchestration/ingest/inbox.ts
// replay()); `--dry-run` lists what would be replayed and changes nothing. Idempotent: a message
// that is not dead (already replayed, done, still in work) is left as it is. Safe beside the
// running product: the rows go back to pending and its workers pick them up. Every replay is
// recorded in the audit log in the same transaction (operator, each message's inbox id).
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase, type Database } from '../platform/db.ts';
import { ProductError } from '../platform/errors.ts';
import { deadLetters, type Replayed, type ReplayFilter, type ReplaySelection } from '../orchestration/ingest/inbox.ts';
import { countByReason, MAX_REPLAY, replayAndAudit } from '../orchestration/ingest/replay.ts';
import { DEAD_REASONS, type DeadReason } from '../orchestration/ingest/state.ts';
import { databaseOptionsFromEnv } from './components.ts';
import { runCommand, usageError, type OptionValues } from './cli.ts';

export const INGEST_REPLAY_COMMAND = {
  name: 'ingest:replay',
  usage: 'npm run ingest:replay -- (--id N ... | --channel ID | --reason R | --since T | --until T | --all) [--dry-run]',
  description: `Returns dead-lettered inbox messages (HL7 v2 feeds, FHIR sync) to processing. Select them by inbox id,
or by filter (every filter given must match). A message that is not a dead letter is left as it is.`,
  options: {
    id: { type: 'string', multiple: true, value: 'N', description: 'inbox id of a dead letter' },
    channel: { type: 'string', value: 'ID', description: 'only dead letters of this connection (feed) id' },
    reason: { type: 'string', value: 'R', description: `only dead letters of this reason: ${Object.values(DEAD_REASONS).join(', ')}` },
    since: { type: 'string', value: 'T', description: 'only dead-lettered at or after this ISO 8601 instant' },
    until: { type: 'string', value: 'T', description: 'only dead-lettered before this ISO 8601 instant' },
    all: { type: 'boolean', description: 'every dead letter (required when no id and no filter is given)' },
    'dry-run': { type: 'boolean', description: 'list what would be replayed; change nothing' },
    operator: { type: 'string', value: 'NAME', description: 'who replays, as recorded in the audit log (default os:<user name>)' },
  },
  example: 'npm run ingest:replay -- --channel hl7-sim --reason max-attempts --dry-run',
  notes: `Prints one line per message in a dry run (id, channel, MSH-3, MSH-4, MSH-10, reason, attempts, last
error: no message content), then the counts. Exit 0 when done (nothing to replay included), 1 when the
database failed, 2 on bad options.

Storage as the product: DATABASE_URL (PostgreSQL), else the embedded database in DATA_DIR/pg, which
\`npm start\` holds while it runs (use the replayInboxMessages mutation then); schema DB_SCHEMA.`,
} as const;

type Values = OptionValues<typeof INGEST_REPLAY_COMMAND.options>;

const instant = (name: string, value: string | undefined): Date | undefined => {
  if (value === undefined) return undefined;
  if (Number.isNaN(Date.parse(value)))
    throw usageError(`--${name} must be an ISO 8601 instant such as 2026-12-01T00:00:00Z (got ${JSON.stringify(value)})`, name);
  return new Date(value);
};

const isReason = (value: string): value is DeadReason => (Object.values(DEAD_REASONS) as string[]).includes(value);

/** The options as a selection; throws usage errors (exit 2). */
export function selectionOf(values: Values): ReplaySelection {
  const filterGiven = [values.channel, values.reason, values.since, values.until].some((v) => v !== undefined);
  if (values.id.length > 0) {
    if (filterGiven || values.all) throw usageError('give either --id or filters (--channel, --reason, --since, --until, --all)', 'id');
    const bad = values.id.find((id) => !/^\d{1,19}$/.test(id));
    if (bad !== undefined) throw usageError(`--id must be an inbox id (digits), got ${JSON.stringify(bad)}`, 'id');
    return { ids: [...new Set(values.id)] };
  }
  if (!filterGiven && !values.all) throw usageError('name the messages: --id N, a filter (--channel, --reason, --since, --until) or --all');
  if (values.reason !== undefined && !isReason(values.reason))
    throw usageError(`--reason must be one of ${Object.values(DEAD_REASONS).join(', ')} (got ${JSON.stringify(values.reason)})`, 'reason');
  const filter: ReplayFilter = {
    channel: values.channel,
    reason: values.reason as DeadReason | undefined,
    since: instant('since', values.since),
    until: instant('until', values.until),
  };
  return { filter };
}

/** One message of a dry run: ids and counts only. */
export const messageLine = (m: Replayed): string =>
  [m.id, m.key.channel, m.key.sendingApplication, m.key.sendingFacility, m.key.controlId, m.reason, `attempts=${m.attempts}`]
    .concat(m.lastError ? [`last_error=${JSON.stringify(m.lastError)}`] : [])
    .join(' ');

export function summaryLine(verb: string, messages: readonly Replayed[], selection: ReplaySelection): string {
  const counts = Object.entries(countByReason(messages))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const notDead = 'ids' in selection ? selection.ids.length - messages.length : 0;
  const skipped = notDead > 0 ? `; ${notDead} of the ids given ${notDead === 1 ? 'is' : 'are'} not a dead letter (left as they are)` : '';
  return `ingest:replay: ${verb} ${messages.length} dead letter${messages.length === 1 ? '' : 's'} (${counts})${skipped}`;
}

async function open(): Promise<Database> {
  try {
    return await openDatabase({ ...databaseOptionsFromEnv(), maxConnections: 2 });
  } catch (error) {
    if (error instanceof ProductError && error.details.reason === 'in_use')
      throw usageError('the embedded database is in use by the running product: replay with the replayInboxMessages mutation, or stop it');
    throw error;
  }
}

/** Selections of at most MAX_REPLAY ids each (one transaction each). */
const chunks = (ids: readonly string[]): string[][] =>
  Array.from({ length: Math.ceil(ids.length / MAX_REPLAY) }, (_, i) => ids.slice(i * MAX_REPLAY, (i + 1) * MAX_REPLAY));

async function replayAll(db: Database, selection: ReplaySelection, requestId: string, sub: string): Promise<Replayed[]> {
  const done: Replayed[] = [];
  if ('ids' in selection) {
    for (const ids of chunks(selection.ids)) done.push(...(await replayAndAudit(db, { ids }, { sub, requestId })));
    return done;
  }
  // A filter: batch after batch until one comes back short (replayed rows no longer match: not dead).
  for (;;) {
    const batch = await replayAndAudit(db, selection, { sub, requestId });
    done.push(...batch);
    if (batch.length < MAX_REPLAY) return done;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  runCommand(INGEST_REPLAY_COMMAND, async ({ values }) => {
    const selection = selectionOf(values);
    const db = await open();
    try {
      const table = (await db.query<{ t: string | null }>("SELECT to_regclass('inbox_message')::text AS t")).rows[0];
      if (!table?.t) throw usageError(`no inbox in schema ${db.schema} (the product creates it when it starts)`);
      if (values['dry-run']) {
        const listed = await deadLetters(db, selection);
        for (const m of listed) process.stdout.write(`${messageLine(m)}\n`);
        process.stdout.write(`${summaryLine('dry run: would replay', listed, selection)}\n`);
        return;
      }
      const requestId = `ingest-replay-${randomUUID()}`;
      const replayed = await replayAll(db, selection, requestId, values.operator ?? `os:${userInfo().username}`);
      const audit = replayed.length > 0 ? `; recorded in the audit log as ${requestId}` : '';
      process.stdout.write(`${summaryLine('replayed', replayed, selection)}${audit}\n`);
    } finally {
      await db.close();
    }
  });
