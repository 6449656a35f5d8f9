// Why an HL7 v2 text could not be read. Each error names a code, the segment (1-based line of
// the file, blank lines not counted) and the field where it was found, never a value: the
// message and details can go into logs, alerts and ACK ERR segments as they are.
import { ProductError } from '../../platform/errors.ts';

/** Each code with the HL7 table 0357 error code an ACK reports for it. */
export const HL7_ERROR = {
  /** Empty input, or only blank lines. */
  EMPTY: { text: 'the message is empty', hl7: '100' },
  /** The first segment (or one after a batch header) is not MSH, FHS or BHS. */
  MISSING_MSH: { text: 'the message does not start with an MSH segment', hl7: '100' },
  /** A segment id is not three characters (uppercase letter, then uppercase letters or digits). */
  BAD_SEGMENT_ID: { text: 'a segment id is not three uppercase letters or digits', hl7: '100' },
  /** MSH-1/MSH-2 declare delimiters that are duplicated, alphanumeric or line ends. */
  INVALID_ENCODING_CHARACTERS: { text: 'the encoding characters are invalid', hl7: '102' },
  /** MSH-2 is not 4 characters (5 with the v2.7 truncation character). */
  UNSUPPORTED_ENCODING_CHARACTERS: { text: 'the encoding characters are not supported', hl7: '102' },
  /** MSH-12 is not one of the versions the caller accepts. */
  UNSUPPORTED_VERSION: { text: 'the version is not supported', hl7: '203' },
  /** Strict mode: a segment ends with an empty field (a trailing field separator). */
  TRAILING_EMPTY_FIELD: { text: 'a segment ends with an empty field', hl7: '102' },
  /** One message was asked for and the text holds several (or a batch). */
  MULTIPLE_MESSAGES: { text: 'the text holds more than one message', hl7: '100' },
  /** A batch trailer (BTS/FTS) without its header, or a header segment in the wrong place. */
  BAD_BATCH: { text: 'the batch envelope is malformed', hl7: '100' },
} as const;
export type Hl7ErrorCode = keyof typeof HL7_ERROR;

export interface Hl7Location {
  /** 1-based segment position in the input (blank lines are not counted). */
  readonly segment: number;
  /** HL7 field number (MSH-1 is the field separator; 0 is the segment id), when the problem is in one field. */
  readonly field?: number;
}

export class Hl7Error extends ProductError {
  readonly hl7Code: Hl7ErrorCode;
  readonly location: Hl7Location;
  constructor(code: Hl7ErrorCode, location: Hl7Location) {
    const where = `segment ${location.segment}${location.field === undefined ? '' : `, field ${location.field}`}`;
    super('BAD_USER_INPUT', `HL7 v2 ${code}: ${HL7_ERROR[code].text} (${where})`, {
      argument: 'hl7v2',
      hl7Error: code,
      segment: location.segment,
      ...(location.field === undefined ? {} : { field: location.field }),
    });
    this.name = 'Hl7Error';
    this.hl7Code = code;
    this.location = location;
  }
}
