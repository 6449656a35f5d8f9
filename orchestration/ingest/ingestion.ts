// The ingester: one MLLP listener for every HL7 v2 feed, routing each message to its feed by MSH-4
// (and MSH-3 when the feed names its application) into the durable inbox (createHl7Intake: commit,
// then ACK), and the workers that apply what the inbox holds (runWorkers with the dispatcher by
// connection kind). A message of no configured feed is refused (AR, ERR 204) and not stored.
// Logs carry ids, counts and codes, never message content.
import type { AdapterConfig, AnyConnectionConfig, Hl7FeedConfig } from '../../platform/config.ts';
import { hl7Feeds, loadVendorProfile } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import type { Hl7Header } from '../../protocol/hl7v2/message.ts';
import { createMllpServer } from '../../protocol/mllp/server.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { TranslateHl7 } from '../../translation/hl7v2/contract.ts';
import { connectionIngest } from '../clinical-store/connection-ingest.ts';
import type { LinkOptions } from '../mpi/store.ts';
import { inboxDispatcher, type Appliers } from './apply.ts';
import { hl7Applier, type Hl7Feed } from './apply-hl7.ts';
import { createHl7Intake } from './hl7-intake.ts';
import { runWorkers, type WakeUp } from './workers.ts';

const log = logger('ingestion');

export type IngestionOptions = {
  readonly db: Database;
  readonly protection: IdentifierProtection;
  /** Every configured connection: the listener serves the HL7 feeds, the workers apply every kind's messages. */
  readonly connections: readonly AnyConnectionConfig[];
  /** The adapters naming each feed's vendor profile. */
  readonly adapters: readonly AdapterConfig[];
  /** Layer 2's HL7 v2 translation. */
  readonly translate: TranslateHl7;
  /** MLLP port (0: any free one); no listener when null (a workers-only process). */
  readonly port: number | null;
  readonly host?: string;
  /** Wakes idle workers after a receive (Redis pub/sub across processes); polling finds everything without it. */
  readonly wakeUp?: WakeUp & { notify(): void };
  /** Appliers of other kinds (fhir: the incremental FHIR sync's). */
  readonly appliers?: Omit<Appliers, 'hl7v2'>;
  /** Workers applying messages; 0 for a listener-only process. */
  readonly concurrency?: number;
  readonly pollMs?: number;
  readonly link?: LinkOptions;
};

export type Ingestion = {
  /** The listener's port (null without one). */
  readonly port: number | null;
  readonly address: string | null;
  /** Stops accepting, lets ACKs in flight go out, then stops the workers after the messages in hand. */
  close(): Promise<void>;
};

/** The feed a header belongs to: MSH-4 names the facility, MSH-3 the application when the feed names one. */
export function feedRouter(feeds: readonly Hl7FeedConfig[]): (h: Hl7Header) => string | undefined {
  return (h) => {
    const facility = h.sendingFacility.namespaceId;
    const app = h.sendingApplication.namespaceId;
    const exact = feeds.find((f) => f.facility.sendingFacility === facility && f.facility.sendingApplication === app);
    return (exact ?? feeds.find((f) => f.facility.sendingFacility === facility && f.facility.sendingApplication === undefined))?.id;
  };
}

/** A feed with what applying its messages needs: its adapter's vendor profile and ingest context. */
export function hl7Feed(config: Hl7FeedConfig, adapters: readonly AdapterConfig[]): Hl7Feed {
  const adapter = adapters.find((a) => a.name === config.adapter);
  if (!adapter) throw new Error(`HL7 feed ${config.id}: adapter ${config.adapter} is not in config/adapters.json`);
  const profile = loadVendorProfile(adapter.profile);
  return { config, profile, ingest: connectionIngest(config, profile) };
}

export async function startIngestion(options: IngestionOptions): Promise<Ingestion> {
  const feeds = hl7Feeds(options.connections);
  const applyDeps = { db: options.db, protection: options.protection, translate: options.translate, link: options.link };
  const handler = inboxDispatcher(options.connections, {
    ...options.appliers,
    hl7v2: hl7Applier(
      applyDeps,
      feeds.map((f) => hl7Feed(f, options.adapters)),
    ),
  });
  const concurrency = options.concurrency ?? 2;
  const workers =
    concurrency > 0
      ? runWorkers({
          db: options.db,
          protection: options.protection,
          handler,
          concurrency,
          pollMs: options.pollMs ?? 1000,
          ...(options.wakeUp ? { wakeUp: options.wakeUp } : {}),
        })
      : undefined;
  let server: Awaited<ReturnType<typeof createMllpServer>> | undefined;
  try {
    if (options.port !== null && feeds.length > 0) {
      const intake = createHl7Intake({ db: options.db, protection: options.protection, channel: feedRouter(feeds) });
      server = await createMllpServer({
        port: options.port,
        ...(options.host ? { host: options.host } : {}),
        handler: async (bytes) => {
          const result = await intake(bytes);
          if (result.outcome === 'accepted') options.wakeUp?.notify();
          return result.ack;
        },
      });
      log.info('mllp_listening', { port: server.port, feeds: feeds.length });
    }
  } catch (error) {
    await workers?.stop();
    throw error;
  }
  return {
    port: server?.port ?? null,
    address: server?.address ?? null,
    async close() {
      await server?.close();
      await workers?.stop();
    },
  };
}
