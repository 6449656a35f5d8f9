// Synthetic HL7 v2.5 traffic for the ingest benchmark and fault tests: an ADT^A01 and an ORU^R01
// with invented content, unique per control id. MSH-3/MSH-4 name the simulator's feed.
import { createMllpClient } from '../../protocol/mllp/client.ts';

export const SENDER = { application: 'SIMADT', facility: 'SIMHOSP' } as const;

const ts = '20261205031500';

/** An invented surname per number (letters only, distinct for distinct n), so that patients do not match each other. */
const surname = (n: number): string => `TEST${n.toString(26).replace(/./g, (d) => String.fromCharCode(65 + parseInt(d, 26)))}`;

/** ADT^A01 (admit) of patient `mrn`: what a registration system sends. `n` varies the name and birth date (default 0). */
export const adtA01 = (controlId: string, mrn: string, n = 0): string =>
  [
    `MSH|^~\\&|${SENDER.application}|${SENDER.facility}|PGW|PGW|${ts}||ADT^A01^ADT_A01|${controlId}|P|2.5`,
    `EVN|A01|${ts}`,
    `PID|1||${mrn}^^^SIMHOSP^MR||${surname(n)}^ALPHA^Q||${1940 + (n % 60)}${String(1 + (n % 12)).padStart(2, '0')}${String(1 + (n % 28)).padStart(2, '0')}|F|||${n + 1} TEST STREET^^TESTVILLE^MA^01000^USA||555-${String(n % 10_000).padStart(4, '0')}`,
    `PV1|1|I|WARD1^101^1^SIMHOSP||||1234^TESTDOC^BETA`,
  ].join('\r') + '\r';

/** ORU^R01 (results) for patient `mrn`: three observations of one panel. */
export const oruR01 = (controlId: string, mrn: string): string =>
  [
    `MSH|^~\\&|${SENDER.application}|${SENDER.facility}|PGW|PGW|${ts}||ORU^R01^ORU_R01|${controlId}|P|2.5`,
    `PID|1||${mrn}^^^SIMHOSP^MR||TESTPERSON^ALPHA^Q||19700101|F`,
    `OBR|1|ORD${controlId}|FIL${controlId}|24323-8^Comprehensive metabolic panel^LN|||${ts}`,
    `OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|70-99|N|||F|||${ts}`,
    `OBX|2|NM|2160-0^Creatinine^LN||0.9|mg/dL|0.6-1.2|N|||F|||${ts}`,
    `OBX|3|NM|2951-2^Sodium^LN||140|mmol/L|135-145|N|||F|||${ts}`,
  ].join('\r') + '\r';

export const MESSAGE_KINDS = { adt: adtA01, oru: oruR01 } as const;
export type MessageKind = keyof typeof MESSAGE_KINDS;

/** MSA-1 and MSA-2 of an ACK, or undefined when it has no MSA. */
export function ackOf(ack: Buffer | string): { readonly code: string; readonly controlId: string } | undefined {
  const msa = ack
    .toString()
    .split(/\r\n?|\n/)
    .find((s) => s.startsWith('MSA|'));
  if (!msa) return undefined;
  const [, code = '', controlId = ''] = msa.split('|');
  return { code, controlId };
}

/** Sends one message over MLLP on loopback and returns the ACK as text (one connection per message). */
export async function sendOverMllp(port: number, text: string): Promise<string> {
  const client = createMllpClient({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  try {
    return (await client.send(Buffer.from(text, 'utf8'))).toString('utf8');
  } finally {
    await client.close();
  }
}
