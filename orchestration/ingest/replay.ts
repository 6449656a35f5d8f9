// Replaying dead letters as an operator does it from the command line (npm run ingest:replay):
// the messages go back to work and the audit row naming who replayed which messages is written in
// the same transaction, so a replay is never left unrecorded. The GraphQL mutation
// (replayInboxMessages) calls replay() directly and is audited by its subgraph instead.
import { writeAuditEvents } from '../audit/audit-log.ts';
import type { Database } from '../../platform/db.ts';
import { replay, type Replayed, type ReplaySelection } from './inbox.ts';
import { DEAD_REASONS, type DeadReason } from './state.ts';

/** Messages returned to work per call (a GraphQL call) or per transaction (the command, in batches). */
export const MAX_REPLAY = 500;

/** What an inbox message is called in the audit log (its payload may name a patient only in sealed form). */
export const inboxMessageRef = (id: string): string => `InboxMessage/${id}`;

export type ReplayOperator = {
  /** Who replays, as recorded (the command's --operator, default os:<user name>). */
  readonly sub: string;
  readonly requestId: string;
};

/** Returns up to `limit` selected dead letters to work and records it in the audit log, atomically. */
export async function replayAndAudit(
  db: Database,
  selection: ReplaySelection,
  operator: ReplayOperator,
  limit: number = MAX_REPLAY,
): Promise<Replayed[]> {
  return db.transaction(async (tx) => {
    const replayed = await replay(tx, selection, limit);
    if (replayed.length === 0) return replayed;
    await writeAuditEvents(
      tx,
      {
        principal: {
          sub: operator.sub,
          roles: ['integration'],
          purposeOfUse: 'HOPERAT',
          clientId: 'ingest-replay',
          scopes: [],
          patientContext: null,
          breakGlassReason: null,
          clientIp: null,
          requestId: operator.requestId,
        },
        subgraph: 'ingest-replay',
        operationName: 'ingest:replay',
        outcome: 'success',
      },
      replayed.map((m) => ({ patientRef: inboxMessageRef(m.id), fields: ['InboxMessage.replay'] })),
      [],
    );
    return replayed;
  });
}

/** How many of each dead-letter reason, every reason named (0 included), for the command's summary. */
export function countByReason(messages: readonly Pick<Replayed, 'reason'>[]): Record<DeadReason, number> {
  const counts = Object.fromEntries(Object.values(DEAD_REASONS).map((r) => [r, 0])) as Record<DeadReason, number>;
  for (const m of messages) counts[m.reason] += 1;
  return counts;
}
