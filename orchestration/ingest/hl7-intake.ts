// The HL7 v2 intake: what the MLLP listener does with each message before it answers. The message
// is read far enough to know who sent it and which it is (MSH), committed to the durable inbox
// with the ACK it will get, and only then acknowledged: AA (CA when the sender asks for enhanced
// acknowledgments, MSH-15). A message that cannot be read gets AR with an ERR naming the problem
// and is not stored (nothing in it can be trusted, not even its key). The same message again gets
// the stored ACK and changes nothing; the same key with another payload gets AR (table 0357 205)
// and an alert, never an overwrite. When the inbox cannot be written the handler rejects, so the
// listener sends no ACK at all and the sender retries.
import { randomBytes } from 'node:crypto';
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';
import { metrics } from '../../platform/metrics.ts';
import { ACK_CODE, ERROR_SEVERITY, ackErrorOf, buildAck, type AckCode, type AckError } from '../../protocol/hl7v2/ack.ts';
import { HL7_V2_VERSIONS, parseMessage, writeMessage, type Hl7Message } from '../../protocol/hl7v2/er7.ts';
import { Hl7Error } from '../../protocol/hl7v2/errors.ts';
import { get, header, type Hl7Header } from '../../protocol/hl7v2/message.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { groupReceive } from './group-receive.ts';

const log = logger('hl7-intake');

export type Hl7IntakeDeps = {
  readonly db: Database;
  readonly protection: Pick<IdentifierProtection, 'sealPayload' | 'cipher'>;
  /**
   * The connection (feed) a message belongs to: part of the deduplication key. A listener serving
   * several feeds routes by the header (MSH-4, MSH-3); undefined = no such feed, refused (AR, 204).
   */
  readonly channel: string | ((header: Hl7Header) => string | undefined);
  /** MSH-7 of the ACKs (tests fix it). */
  readonly now?: () => Date;
};

/** What a sender's message is answered with, and whether it was stored. */
export type IntakeResult = { readonly ack: Buffer; readonly outcome: 'accepted' | 'duplicate' | 'conflict' | 'refused' };

/** HL7 DTM with its offset, in UTC: 20261205031500+0000. */
const dtm = (d: Date): string => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;

/** MSH-10 of an ACK: unique, within v2.5's 20 characters. */
const ackControlId = (): string => `ACK${randomBytes(8).toString('hex')}`;

/** A header to answer a message that could not be read (its own MSH, if any, is not trusted). */
const UNREADABLE: Hl7Message = parseMessage('MSH|^~\\&|||||||ACK||P|2.5\r');

/** Enhanced mode when the sender names an accept-acknowledgment condition (MSH-15). */
const accepted = (msg: Hl7Message): AckCode => (header(msg).acceptAckType === '' ? ACK_CODE.applicationAccept : ACK_CODE.commitAccept);
const rejected = (msg: Hl7Message | null): AckCode =>
  msg && header(msg).acceptAckType !== '' ? ACK_CODE.commitReject : ACK_CODE.applicationReject;

/** The first patient identifier (PID-3: value and assigning authority), keyed: messages of one patient are processed in order. */
function patientKey(msg: Hl7Message, protection: Hl7IntakeDeps['protection']): string | null {
  const value = get(msg, 'PID', 3, 1, 1);
  if (!value) return null;
  const authority = get(msg, 'PID', 3, 1, 4) ?? '';
  return protection.cipher.blindIndex('inbox-patient', `${authority}|${value}`);
}

export function createHl7Intake(deps: Hl7IntakeDeps): (message: Buffer) => Promise<IntakeResult> {
  const now = deps.now ?? (() => new Date());
  const ack = (original: Hl7Message, code: AckCode, error?: AckError): Buffer =>
    Buffer.from(
      writeMessage(buildAck(original, { code, controlId: ackControlId(), dateTime: dtm(now()), ...(error ? { error } : {}) })),
      'utf8',
    );
  // Messages arriving on many connections at once are committed together (group commit).
  const receive = groupReceive(deps.db, deps.protection);
  // Where a message is in its intake, for /metrics: its feed once routed, the ACK code once decided.
  type Seen = { channel: string; code: AckCode | 'none' };
  const refuse = (seen: Seen, original: Hl7Message | null, error: AckError): IntakeResult => {
    seen.code = rejected(original);
    return { ack: ack(original ?? UNREADABLE, seen.code, error), outcome: 'refused' };
  };

  const intake = async (bytes: Buffer, seen: Seen): Promise<IntakeResult> => {
    let msg: Hl7Message;
    try {
      msg = parseMessage(bytes.toString('utf8'), { versions: HL7_V2_VERSIONS });
    } catch (error) {
      if (!(error instanceof Hl7Error)) throw error;
      log.warn('hl7_refused', { code: error.hl7Code, bytes: bytes.length });
      return refuse(seen, null, ackErrorOf(error));
    }
    const h = header(msg);
    if (h.controlId === '') {
      return refuse(seen, msg, {
        condition: '101',
        severity: ERROR_SEVERITY.error,
        text: 'MSH-10 (message control id) is required',
        location: { segmentId: 'MSH', sequence: 1, field: 10 },
      });
    }
    const channel = typeof deps.channel === 'string' ? deps.channel : deps.channel(h);
    if (channel === undefined) {
      log.warn('hl7_unknown_facility', { bytes: bytes.length });
      return refuse(seen, msg, {
        condition: '204',
        severity: ERROR_SEVERITY.error,
        text: 'no HL7 feed is configured for this sending facility/application',
        location: { segmentId: 'MSH', sequence: 1, field: 4 },
      });
    }
    seen.channel = channel;
    const key = {
      channel,
      sendingApplication: [h.sendingApplication.namespaceId, h.sendingApplication.universalId].join('^'),
      sendingFacility: [h.sendingFacility.namespaceId, h.sendingFacility.universalId].join('^'),
      controlId: h.controlId,
    };
    const stored = await receive({
      key,
      payload: bytes.toString('utf8'),
      ack: ack(msg, accepted(msg)),
      patientKey: patientKey(msg, deps.protection),
    });
    if (stored.status === 'conflict') {
      log.error('hl7_control_id_reused', {
        channel,
        inboxId: stored.id,
        messageType: `${h.messageType.code}^${h.messageType.triggerEvent}`,
      });
      return refuse(seen, msg, {
        condition: '205',
        severity: ERROR_SEVERITY.error,
        text: 'this control id was already received with different content',
        location: { segmentId: 'MSH', sequence: 1, field: 10 },
      });
    }
    // A duplicate's stored ACK was made from the same MSH, so it has the same code.
    seen.code = accepted(msg);
    return { ack: stored.ack, outcome: stored.status };
  };

  return async (bytes) => {
    const seen: Seen = { channel: 'unrouted', code: 'none' };
    try {
      const result = await intake(bytes, seen);
      metrics.hl7Message(seen.channel, seen.code, result.outcome);
      return result;
    } catch (error) {
      // Not stored (the inbox could not be written): no ACK goes out, the sender retries.
      metrics.hl7Message(seen.channel, 'none', 'not_stored');
      throw error;
    }
  };
}
