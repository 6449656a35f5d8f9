// Applying a claimed inbox message: the message's channel is the connection it came in on, and
// that connection's kind decides who applies it (an HL7 v2 feed's messages, a FHIR connection's
// sync events). The workers (workers.ts) call the dispatcher; what it throws decides retry or dead letter.
import type { AnyConnectionConfig, ConnectionConfig, Hl7FeedConfig } from '../../platform/config.ts';
import { isHl7Feed } from '../../platform/config.ts';
import type { ClaimedMessage } from './inbox.ts';
import { PermanentFailure } from './state.ts';

export type Applier<C> = (connection: C, message: ClaimedMessage) => Promise<void>;

/** One applier per connection kind; a kind without one dead-letters its messages (replayable once it is there). */
export type Appliers = { readonly hl7v2?: Applier<Hl7FeedConfig>; readonly fhir?: Applier<ConnectionConfig> };

export function inboxDispatcher(
  connections: readonly AnyConnectionConfig[],
  appliers: Appliers,
): (message: ClaimedMessage) => Promise<void> {
  const byId = new Map(connections.map((c) => [c.id, c]));
  return async (message) => {
    const connection = byId.get(message.key.channel);
    // A channel no longer configured: nothing can apply it until configuration names it again.
    if (!connection) throw new PermanentFailure(`no connection ${message.key.channel} is configured`);
    if (isHl7Feed(connection)) {
      if (!appliers.hl7v2) throw new PermanentFailure('no applier for hl7v2 connections');
      return appliers.hl7v2(connection, message);
    }
    if (!appliers.fhir) throw new PermanentFailure('no applier for fhir connections');
    return appliers.fhir(connection, message);
  };
}
