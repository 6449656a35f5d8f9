// Ingestion health per configured connection (FHIR and HL7 v2 feeds), for integration engineers
// (ingestionStatus): what waits in the inbox, what died there, how far behind ingestion is, and
// what the EHR's last answers and announced version were (connection_health). No PHI: counts,
// instants, error codes, software names.
import type { Queryable } from '../../platform/db.ts';
import { connectionHealth, type ConnectionHealth } from './state.ts';

export type StatusConnection = { readonly id: string; readonly kind?: string };

export type IngestionStatus = {
  readonly connectionId: string;
  readonly kind: string;
  /**
   * Seconds since the oldest change not yet applied could have happened: the oldest open inbox
   * message's age; with none open, for a FHIR connection the time since its last successful poll
   * (changes after it are not read yet), for a feed 0. Null for a FHIR connection never polled.
   */
  readonly lagSeconds: number | null;
  /** Inbox messages pending or processing. */
  readonly inboxDepth: number;
  readonly deadLetters: number;
  readonly lastMessageAt: Date | null;
  readonly lastAppliedAt: Date | null;
  /** Newest sync watermark (FHIR): the source lastUpdated up to which changes are in the inbox. */
  readonly watermark: Date | null;
  readonly health: ConnectionHealth | null;
};

type InboxRow = {
  channel: string;
  depth: number;
  dead: number;
  last_message: Date | null;
  oldest_open: Date | null;
  last_applied: Date | null;
};

export async function ingestionStatus(
  db: Queryable,
  connections: readonly StatusConnection[],
  now: Date = new Date(),
): Promise<IngestionStatus[]> {
  const ids = connections.map((c) => c.id);
  const inbox = await db.query<InboxRow>(
    `SELECT channel,
       count(*) FILTER (WHERE state IN ('pending', 'processing'))::int AS depth,
       count(*) FILTER (WHERE state = 'dead')::int AS dead,
       max(received_at) AS last_message,
       min(received_at) FILTER (WHERE state IN ('pending', 'processing')) AS oldest_open,
       max(completed_at) AS last_applied
     FROM inbox_message WHERE channel = ANY($1::text[]) GROUP BY channel`,
    [ids],
  );
  const marks = await db.query<{ connection_id: string; watermark: Date }>(
    'SELECT connection_id, max(watermark) AS watermark FROM sync_watermark WHERE connection_id = ANY($1::text[]) GROUP BY connection_id',
    [ids],
  );
  const health = await connectionHealth(db, ids);
  const byChannel = new Map(inbox.rows.map((r) => [r.channel, r]));
  const markOf = new Map(marks.rows.map((r) => [r.connection_id, new Date(r.watermark)]));
  const seconds = (since: Date): number => Math.max(0, (now.getTime() - since.getTime()) / 1000);
  return connections.map((c) => {
    const kind = c.kind ?? 'fhir';
    const i = byChannel.get(c.id);
    const h = health.get(c.id) ?? null;
    const oldest = i?.oldest_open ? new Date(i.oldest_open) : null;
    const lagSeconds = oldest ? seconds(oldest) : kind === 'fhir' ? (h?.lastSuccessAt ? seconds(h.lastSuccessAt) : null) : 0;
    return {
      connectionId: c.id,
      kind,
      lagSeconds,
      inboxDepth: i?.depth ?? 0,
      deadLetters: i?.dead ?? 0,
      lastMessageAt: i?.last_message ? new Date(i.last_message) : null,
      lastAppliedAt: i?.last_applied ? new Date(i.last_applied) : null,
      watermark: markOf.get(c.id) ?? null,
      health: h,
    };
  });
}
