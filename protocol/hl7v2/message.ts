// Reading values out of a parsed message, counted as HL7 counts: fields, repetitions,
// components and subcomponents from 1, MSH-1 being the field separator and MSH-2 the encoding
// characters (both returned as written, never split or unescaped).
import { HEADER_SEGMENTS, unescapeValue, type Delimiters, type Hl7Message, type Segment } from './er7.ts';

/** Which segment: its id (the first one) or a segment object of the message. */
export type SegmentRef = string | Segment;

const segmentOf = (message: Hl7Message, ref: SegmentRef): Segment | undefined =>
  typeof ref === 'string' ? message.segments.find((s) => s.id === ref) : ref;

/** Every segment with this id, in order (Z-segments included). */
export const segmentsOf = (message: Hl7Message, id: string): readonly Segment[] => message.segments.filter((s) => s.id === id);

/** The raw ER7 text of field n of a segment (MSH-1 is the field separator). */
export function rawField(segment: Segment, field: number, d: Delimiters): string | undefined {
  if (!(HEADER_SEGMENTS as readonly string[]).includes(segment.id)) return field < 1 ? undefined : segment.fields[field];
  if (field === 1) return d.field;
  return field < 1 ? undefined : segment.fields[field - 1];
}

/**
 * The raw ER7 text at the deepest level given (field, repetition, component, subcomponent);
 * undefined when the segment or the position is absent.
 */
export function raw(
  message: Hl7Message,
  ref: SegmentRef,
  field: number,
  repetition?: number,
  component?: number,
  subcomponent?: number,
): string | undefined {
  const segment = segmentOf(message, ref);
  if (!segment) return undefined;
  const d = message.delimiters;
  const text = rawField(segment, field, d);
  if (text === undefined || repetition === undefined || isEncodingField(segment, field)) return text;
  const rep = text.split(d.repetition)[repetition - 1];
  if (rep === undefined || component === undefined) return rep;
  const comp = rep.split(d.component)[component - 1];
  if (comp === undefined || subcomponent === undefined) return comp;
  return comp.split(d.subcomponent)[subcomponent - 1];
}

const isEncodingField = (segment: Segment, field: number): boolean =>
  (HEADER_SEGMENTS as readonly string[]).includes(segment.id) && (field === 1 || field === 2);

/**
 * One value, unescaped: get(message, 'PID', 5, 1, 2) is the given name of the first PID-5.
 * Repetition, component and subcomponent default to 1; undefined when absent, '' when empty.
 */
export function get(
  message: Hl7Message,
  ref: SegmentRef,
  field: number,
  repetition = 1,
  component = 1,
  subcomponent = 1,
): string | undefined {
  const segment = segmentOf(message, ref);
  if (segment && isEncodingField(segment, field)) return rawField(segment, field, message.delimiters);
  const value = raw(message, ref, field, repetition, component, subcomponent);
  return value === undefined ? undefined : unescapeValue(value, message.delimiters);
}

/** How many repetitions field n holds (0 when empty or absent). */
export function repetitionCount(message: Hl7Message, ref: SegmentRef, field: number): number {
  const text = raw(message, ref, field);
  return text ? text.split(message.delimiters.repetition).length : 0;
}

/** HD: a namespace id, or a universal id and its type. */
export interface HierarchicDesignator {
  readonly namespaceId: string;
  readonly universalId: string;
  readonly universalIdType: string;
}

export interface Hl7Header {
  readonly sendingApplication: HierarchicDesignator;
  readonly sendingFacility: HierarchicDesignator;
  readonly receivingApplication: HierarchicDesignator;
  readonly receivingFacility: HierarchicDesignator;
  /** MSH-7, as written (a DTM; time zone, if any, inside). */
  readonly dateTime: string;
  /** MSH-9: code (ADT), trigger event (A01), structure (ADT_A01, may be empty). */
  readonly messageType: { readonly code: string; readonly triggerEvent: string; readonly structure: string };
  readonly controlId: string;
  /** MSH-11.1: P, D or T. */
  readonly processingId: string;
  /** MSH-12.1, e.g. 2.5.1. */
  readonly version: string;
  /** MSH-15 and MSH-16 (AL, NE, ER, SU); '' when absent (original acknowledgment mode). */
  readonly acceptAckType: string;
  readonly applicationAckType: string;
  /** MSH-18.1, '' when absent (ASCII by default). */
  readonly characterSet: string;
}

/** The typed MSH of a message. */
export function header(message: Hl7Message): Hl7Header {
  const at = (field: number, component = 1) => get(message, 'MSH', field, 1, component) ?? '';
  const hd = (field: number): HierarchicDesignator => ({
    namespaceId: at(field, 1),
    universalId: at(field, 2),
    universalIdType: at(field, 3),
  });
  return {
    sendingApplication: hd(3),
    sendingFacility: hd(4),
    receivingApplication: hd(5),
    receivingFacility: hd(6),
    dateTime: at(7),
    messageType: { code: at(9, 1), triggerEvent: at(9, 2), structure: at(9, 3) },
    controlId: at(10),
    processingId: at(11),
    version: at(12),
    acceptAckType: at(15),
    applicationAckType: at(16),
    characterSet: at(18),
  };
}
