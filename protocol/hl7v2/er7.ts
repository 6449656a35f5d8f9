// HL7 v2 ER7 ("pipe and hat") reading and writing. A segment keeps each field's raw text as
// read, so writing back is the same bytes; values are unescaped only when read through
// message.ts accessors. Line ends (CR, LF, CRLF, blank lines) are kept per segment for the same
// reason; segments built here end with CR, as the standard says.
import { Hl7Error } from './errors.ts';

export interface Delimiters {
  readonly field: string;
  readonly component: string;
  readonly repetition: string;
  readonly escape: string;
  readonly subcomponent: string;
  /** v2.7+ truncation character, when MSH-2 declares one. */
  readonly truncation?: string;
}

export const DEFAULT_DELIMITERS: Delimiters = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
} as const;

/** Segments that declare delimiters in their fields 1 and 2 (MSH-1 is the field separator itself). */
export const HEADER_SEGMENTS = ['MSH', 'FHS', 'BHS'] as const;
const isHeaderId = (id: string): boolean => (HEADER_SEGMENTS as readonly string[]).includes(id);

export interface Segment {
  readonly id: string;
  /** Raw ER7 text of each field split on the field separator; index 0 is the id, for MSH index 1 is MSH-2. */
  readonly fields: readonly string[];
  /** What followed the segment as read: its line end, any blank lines, '' at the end of the text. */
  readonly end: string;
}

export interface Hl7Message {
  readonly delimiters: Delimiters;
  readonly segments: readonly Segment[];
}

export type FilePart =
  | { readonly kind: 'envelope'; readonly segment: Segment; readonly delimiters: Delimiters }
  | { readonly kind: 'message'; readonly message: Hl7Message };

/** A whole text: one message, or a batch (FHS/BHS ... BTS/FTS, or simply several MSH). */
export interface Hl7File {
  readonly bom: boolean;
  /** Line ends before the first segment. */
  readonly leading: string;
  readonly parts: readonly FilePart[];
  readonly messages: readonly Hl7Message[];
}

export interface ParseOptions {
  /** Accepted MSH-12 versions (first component); any version when absent. */
  readonly versions?: readonly string[];
  /** Reject segments ending with an empty field (HL7 says omit trailing separators; most feeds do not). */
  readonly strict?: boolean;
}

/** HL7 v2 versions, for callers that restrict MSH-12. */
export const HL7_V2_VERSIONS = [
  '2.1',
  '2.2',
  '2.3',
  '2.3.1',
  '2.4',
  '2.5',
  '2.5.1',
  '2.6',
  '2.7',
  '2.7.1',
  '2.8',
  '2.8.1',
  '2.8.2',
  '2.9',
] as const;

const SEGMENT_ID = /^[A-Z][A-Z0-9]{2}$/;

/** Reads the delimiters a header segment (MSH, FHS, BHS) declares; throws when they are unusable. */
export function readDelimiters(text: string, segment: number): Delimiters {
  const field = text[3];
  if (field === undefined) throw new Hl7Error('INVALID_ENCODING_CHARACTERS', { segment, field: 1 });
  const close = text.indexOf(field, 4);
  const encoding = text.slice(4, close === -1 ? undefined : close);
  if (encoding.length !== 4 && encoding.length !== 5) throw new Hl7Error('UNSUPPORTED_ENCODING_CHARACTERS', { segment, field: 2 });
  const all = [field, ...encoding];
  const unusable = all.some((c) => /[A-Za-z0-9\s]/.test(c)) || new Set(all).size !== all.length;
  if (unusable) throw new Hl7Error('INVALID_ENCODING_CHARACTERS', { segment, field: /[A-Za-z0-9\s]/.test(field) ? 1 : 2 });
  const [component, repetition, escape, subcomponent, truncation] = [...encoding];
  return {
    field,
    component: component!,
    repetition: repetition!,
    escape: escape!,
    subcomponent: subcomponent!,
    ...(truncation === undefined ? {} : { truncation }),
  };
}

interface Line {
  readonly text: string;
  readonly end: string;
}

/** Splits into non-blank lines, each with the line ends (and blank lines) that follow it. */
function splitLines(text: string): { leading: string; lines: Line[] } {
  const lines: Line[] = [];
  let leading = '';
  const pattern = /([^\r\n]*)((?:\r\n|\r|\n)*)/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const m = pattern.exec(text)!;
    const [all, body = '', end = ''] = m;
    at += all.length;
    const last = lines.at(-1);
    // A line of spaces only is a blank line: kept with the line ends so it is written back.
    if (body.trim() === '') {
      if (last) lines[lines.length - 1] = { text: last.text, end: last.end + body + end };
      else leading += body + end;
    } else lines.push({ text: body, end });
  }
  return { leading, lines };
}

/** Parses a text holding one message or a batch. Throws Hl7Error naming the first problem. */
export function parseHl7(input: string, options: ParseOptions = {}): Hl7File {
  const bom = input.startsWith('\uFEFF');
  const { leading, lines } = splitLines(bom ? input.slice(1) : input);
  if (lines.length === 0) throw new Hl7Error('EMPTY', { segment: 1 });
  const parts: FilePart[] = [];
  const messages: Hl7Message[] = [];
  let delimiters: Delimiters | undefined;
  let current: { delimiters: Delimiters; segments: Segment[] } | undefined;
  const open = { FHS: false, BHS: false };
  const close = () => {
    if (current) {
      const message: Hl7Message = current;
      parts.push({ kind: 'message', message });
      messages.push(message);
    }
    current = undefined;
  };
  lines.forEach((line, i) => {
    const n = i + 1;
    const head = line.text.slice(0, 3);
    if (isHeaderId(head)) delimiters = readDelimiters(line.text, n);
    if (!delimiters) throw new Hl7Error('MISSING_MSH', { segment: n });
    const fields = line.text.split(delimiters.field);
    const id = fields[0]!;
    if (!SEGMENT_ID.test(id)) throw new Hl7Error('BAD_SEGMENT_ID', { segment: n, field: 0 });
    if (options.strict && fields.length > 1 && fields.at(-1) === '')
      throw new Hl7Error('TRAILING_EMPTY_FIELD', { segment: n, field: isHeaderId(id) ? fields.length : fields.length - 1 });
    const segment: Segment = { id, fields, end: line.end };
    if (id === 'MSH') {
      close();
      current = { delimiters, segments: [segment] };
      checkVersion(fields[11], delimiters, n, options.versions);
      return;
    }
    if (id === 'FHS' || id === 'BHS') {
      if (current || (id === 'FHS' && (open.FHS || open.BHS)) || (id === 'BHS' && open.BHS))
        throw new Hl7Error('BAD_BATCH', { segment: n });
      open[id] = true;
    } else if (id === 'BTS' || id === 'FTS') {
      close();
      const header = id === 'BTS' ? 'BHS' : 'FHS';
      if (!open[header] || (id === 'FTS' && open.BHS)) throw new Hl7Error('BAD_BATCH', { segment: n });
      open[header] = false;
    } else if (current) {
      current.segments.push(segment);
      return;
    } else throw new Hl7Error('MISSING_MSH', { segment: n });
    parts.push({ kind: 'envelope', segment, delimiters });
  });
  close();
  if (messages.length === 0) throw new Hl7Error('MISSING_MSH', { segment: lines.length });
  return { bom, leading, parts, messages };
}

function checkVersion(raw: string | undefined, d: Delimiters, segment: number, versions?: readonly string[]): void {
  if (!versions) return;
  const version = unescapeValue((raw ?? '').split(d.repetition)[0]!.split(d.component)[0]!, d);
  if (!versions.includes(version)) throw new Hl7Error('UNSUPPORTED_VERSION', { segment, field: 12 });
}

/** Parses a text that must hold exactly one message (no batch envelope). */
export function parseMessage(input: string, options: ParseOptions = {}): Hl7Message {
  const file = parseHl7(input, options);
  const [message, second] = file.messages;
  if (second || file.parts.length !== 1) {
    const position = (second ? indexOfSegment(file, second.segments[0]!) : indexOfSegment(file, envelopeOf(file)!)) + 1;
    throw new Hl7Error('MULTIPLE_MESSAGES', { segment: position });
  }
  return message!;
}

const envelopeOf = (file: Hl7File): Segment | undefined => file.parts.find((p) => p.kind === 'envelope')?.segment;

function indexOfSegment(file: Hl7File, target: Segment): number {
  let i = 0;
  for (const part of file.parts) {
    for (const s of part.kind === 'envelope' ? [part.segment] : part.message.segments) {
      if (s === target) return i;
      i += 1;
    }
  }
  return -1;
}

/** One segment as ER7 text with its line end (CR when the segment was built, not read). */
export const writeSegment = (segment: Segment, d: Delimiters): string => segment.fields.join(d.field) + segment.end;

/** A message as ER7 text: the same bytes as read for a parsed message. */
export const writeMessage = (message: Hl7Message): string => message.segments.map((s) => writeSegment(s, message.delimiters)).join('');

/** A whole file (BOM, batch envelope, every message) as ER7 text: the same bytes as read. */
export const writeFile = (file: Hl7File): string =>
  (file.bom ? '\uFEFF' : '') +
  file.leading +
  file.parts.map((p) => (p.kind === 'envelope' ? writeSegment(p.segment, p.delimiters) : writeMessage(p.message))).join('');

// \F\ \S\ \T\ \R\ \E\ name the delimiters (\P\ the v2.7 truncation character).
const ESCAPE_NAMES = { F: 'field', S: 'component', T: 'subcomponent', R: 'repetition', E: 'escape' } as const;

/** Undoes ER7 escapes in one leaf value; unknown sequences (\H\, \.br\, ...) are kept as written. */
export function unescapeValue(raw: string, d: Delimiters): string {
  const e = d.escape;
  if (!raw.includes(e)) return raw;
  let out = '';
  let at = 0;
  while (at < raw.length) {
    const start = raw.indexOf(e, at);
    const stop = start === -1 ? -1 : raw.indexOf(e, start + 1);
    if (start === -1 || stop === -1) {
      out += raw.slice(at);
      break;
    }
    out += raw.slice(at, start);
    const body = raw.slice(start + 1, stop);
    out += decodeEscape(body, d) ?? raw.slice(start, stop + 1);
    at = stop + 1;
  }
  return out;
}

function decodeEscape(body: string, d: Delimiters): string | undefined {
  if (body.length === 1 && body in ESCAPE_NAMES) return d[ESCAPE_NAMES[body as keyof typeof ESCAPE_NAMES]];
  if (body === 'P' && d.truncation) return d.truncation;
  if (/^X(?:[0-9A-Fa-f]{2})+$/.test(body)) {
    const bytes = Buffer.from(body.slice(1), 'hex');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return bytes.toString('latin1');
    }
  }
  return undefined;
}

/** Escapes a text value so it can be placed in one leaf (line ends become \X0D\ and \X0A\). */
export function escapeValue(text: string, d: Delimiters): string {
  const names: Record<string, string> = {
    [d.escape]: 'E',
    [d.field]: 'F',
    [d.component]: 'S',
    [d.subcomponent]: 'T',
    [d.repetition]: 'R',
    '\r': 'X0D',
    '\n': 'X0A',
    ...(d.truncation ? { [d.truncation]: 'P' } : {}),
  };
  return [...text].map((c) => (c in names ? `${d.escape}${names[c]}${d.escape}` : c)).join('');
}

/** A field to build: a text, or components each a text or its subcomponents; an array of those for repetitions. */
export type ComponentValue = string | readonly string[];
export type FieldValue = string | readonly ComponentValue[];

/** Encodes one field (one repetition) from plain values, escaping each. */
export const encodeField = (value: FieldValue, d: Delimiters): string =>
  typeof value === 'string'
    ? escapeValue(value, d)
    : value
        .map((c) => (typeof c === 'string' ? escapeValue(c, d) : c.map((s) => escapeValue(s, d)).join(d.subcomponent)))
        .join(d.component);

/** Builds a non-header segment from plain values (fields 1..n), ending with CR. */
export function buildSegment(id: string, values: readonly (FieldValue | { readonly raw: string })[], d: Delimiters): Segment {
  if (!SEGMENT_ID.test(id) || isHeaderId(id)) throw new Hl7Error('BAD_SEGMENT_ID', { segment: 1, field: 0 });
  const fields = values.map((v) => (typeof v === 'object' && 'raw' in v ? v.raw : encodeField(v, d)));
  return { id, fields: [id, ...trimTrailing(fields)], end: '\r' };
}

/** Builds an MSH segment: fields from MSH-3 on, MSH-1/MSH-2 from the delimiters. */
export function buildHeader(values: readonly (FieldValue | { readonly raw: string })[], d: Delimiters): Segment {
  const encoding = d.component + d.repetition + d.escape + d.subcomponent + (d.truncation ?? '');
  const fields = values.map((v) => (typeof v === 'object' && 'raw' in v ? v.raw : encodeField(v, d)));
  return { id: 'MSH', fields: ['MSH', encoding, ...trimTrailing(fields)], end: '\r' };
}

// New segments omit trailing empty fields, as the standard asks.
function trimTrailing(fields: string[]): string[] {
  let n = fields.length;
  while (n > 0 && fields[n - 1] === '') n -= 1;
  return fields.slice(0, n);
}
