// Acknowledgments: the ACK a receiver sends back for a message, in the original's delimiters,
// with the sender and receiver swapped, MSA naming the original control id and, when the outcome
// is not plain acceptance, an ERR segment with a table 0357 code (ERR-3, and ERR-1 for v2.1-2.4).
import { buildHeader, buildSegment, type Hl7Message } from './er7.ts';
import { HL7_ERROR, type Hl7Error } from './errors.ts';
import { get, raw } from './message.ts';

/** Table 0008: original mode (AA/AE/AR) and enhanced-mode accept acknowledgments (CA/CE/CR). */
export const ACK_CODE = {
  applicationAccept: 'AA',
  applicationError: 'AE',
  applicationReject: 'AR',
  commitAccept: 'CA',
  commitError: 'CE',
  commitReject: 'CR',
} as const;
export type AckCode = (typeof ACK_CODE)[keyof typeof ACK_CODE];

/** Table 0357, message error condition codes. */
export const HL7_ERROR_CONDITION = {
  '0': 'Message accepted',
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing id',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '206': 'Application record locked',
  '207': 'Application internal error',
} as const;
export type Hl7ErrorCondition = keyof typeof HL7_ERROR_CONDITION;

/** Table 0516: error severity. */
export const ERROR_SEVERITY = { error: 'E', warning: 'W', information: 'I', fatal: 'F' } as const;
export type ErrorSeverity = (typeof ERROR_SEVERITY)[keyof typeof ERROR_SEVERITY];

export interface AckError {
  readonly condition: Hl7ErrorCondition;
  readonly severity: ErrorSeverity;
  /** Diagnostic text (no patient data): ERR-8. */
  readonly text?: string;
  /** ERR-2 error location: segment id, its sequence (1-based) and field. */
  readonly location?: { readonly segmentId: string; readonly sequence?: number; readonly field?: number };
}

export interface AckOptions {
  readonly code: AckCode;
  /** MSH-10 of the ACK itself. */
  readonly controlId: string;
  /** MSH-7 of the ACK (DTM, e.g. 20260101120000+0000). */
  readonly dateTime: string;
  readonly error?: AckError;
}

/** Builds the ACK for a parsed message; segments end with CR. */
export function buildAck(original: Hl7Message, options: AckOptions): Hl7Message {
  const d = original.delimiters;
  const orig = (field: number) => ({ raw: raw(original, 'MSH', field) ?? '' });
  const trigger = raw(original, 'MSH', 9, 1, 2) ?? '';
  const msh = buildHeader(
    [
      orig(5),
      orig(6),
      orig(3),
      orig(4),
      options.dateTime,
      '',
      { raw: ['ACK', trigger, 'ACK'].join(d.component) },
      options.controlId,
      orig(11),
      orig(12),
    ],
    d,
  );
  const msa = buildSegment('MSA', [options.code, orig(10)], d);
  const error = options.error ?? defaultError(options.code);
  if (!error) return { delimiters: d, segments: [msh, msa] };
  const location = error.location;
  const cwe = [error.condition, HL7_ERROR_CONDITION[error.condition], 'HL70357'];
  // Before v2.5 ERR-1 (ELD) was the only place for the error; receivers of 2.1-2.4 read it there.
  const before25 = /^2\.[1-4](\.|$)/.test(get(original, 'MSH', 12) ?? '');
  const eld = [location?.segmentId ?? '', location ? String(location.sequence ?? 1) : '', String(location?.field ?? ''), cwe];
  const err = buildSegment(
    'ERR',
    [
      before25 ? eld : '',
      location ? [location.segmentId, String(location.sequence ?? 1), location.field === undefined ? '' : String(location.field)] : '',
      cwe,
      error.severity,
      '',
      '',
      '',
      error.text ?? '',
    ],
    d,
  );
  return { delimiters: d, segments: [msh, msa, err] };
}

// A negative ACK always carries an ERR; without a named problem it is an internal error.
const defaultError = (code: AckCode): AckError | undefined =>
  code === 'AA' || code === 'CA' ? undefined : { condition: '207', severity: 'E' };

/** The ERR content for a message the parser refused (its code, no value from the message). */
export const ackErrorOf = (error: Hl7Error): AckError => ({
  condition: HL7_ERROR[error.hl7Code].hl7,
  severity: ERROR_SEVERITY.error,
  text: error.message,
});
