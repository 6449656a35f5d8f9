// PID (with NK1) -> FHIR R4 Patient, per the IG's PID[Patient] and NK1[Patient] maps. The feed's
// own patient numbers (MR, PI sent without an authority, or under the feed's own) are stamped with
// the connection's identifier systems, so they index like a FHIR hospital's MRNs.
import { createHash } from 'node:crypto';
import { rawField } from '../../protocol/hl7v2/message.ts';
import type { Delimiters, Segment } from '../../protocol/hl7v2/er7.ts';
import { error, warning, type TranslationIssue } from '../issues.ts';
import { parseHl7Timestamp } from '../time.ts';
import type { FhirResource, Hl7TranslationContext } from './contract.ts';
import {
  address,
  at,
  codeableConcept,
  compact,
  composite,
  contactPoint,
  cx,
  dateTime,
  fhirDateTime,
  hdUri,
  hl7Date,
  humanName,
  identifier,
  repetitions,
  type Cx,
  type Hd,
} from './datatypes.ts';
import { ADMINISTRATIVE_SEX, MARITAL_STATUS, V2_TABLE, WELL_KNOWN_IDENTIFIER_SYSTEMS } from './vocabulary.ts';

/** What decides whether an assigning authority is the feed's own: MSH-3/MSH-4 and the connection's systems. */
export type Authorities = { readonly sender: readonly Hd[]; readonly context: Hl7TranslationContext };

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const isEmpty = (h: Hd): boolean => !h.namespace && !h.universalId;

/** The authority is the sending application or facility, or names one of the connection's own systems. */
function isOwn(h: Hd, a: Authorities): boolean {
  if (isEmpty(h)) return true;
  const own = new Set(Object.values(a.context.identifierSystems).filter((s): s is string => typeof s === 'string'));
  const uri = hdUri(h);
  if (uri && own.has(uri)) return true;
  if (h.universalId && own.has(`urn:oid:${h.universalId}`)) return true;
  return a.sender.some(
    (s) => (h.namespace !== '' && h.namespace === s.namespace) || (h.universalId !== '' && h.universalId === s.universalId),
  );
}

/** A CX of the feed's own numbering, typed (an untyped own number is read as MR, the usual patient number). */
const ownType = (x: Cx): string => x.typeCode || 'MR';

/** CX -> Identifier with the connection's system for the feed's own MR/PI. */
export function patientIdentifier(x: Cx, a: Authorities): Record<string, unknown> {
  const own = isOwn(x.authority, a) ? a.context.identifierSystems[ownType(x)] : undefined;
  return identifier(own && !x.typeCode ? { ...x, typeCode: 'MR' } : x, own);
}

/**
 * The source patient id a list of CX (PID-3, MRG-1) names: the feed's own MR, else its own PI,
 * else its first own number, else the first number sent. A number that cannot be a FHIR id (a
 * space, an underscore) is replaced by its digest, the same for PID-3 and MRG-1.
 */
export function sourcePatientIdOf(list: readonly Cx[], a: Authorities, path: string, issues: TranslationIssue[]): string | null {
  const withValue = list.filter((x) => x.value !== '');
  const own = withValue.filter((x) => isOwn(x.authority, a));
  const chosen =
    own.find((x) => ownType(x) === 'MR') ?? own.find((x) => ownType(x) === 'PI') ?? own[0] ?? withValue[0] ?? undefined;
  if (!chosen) {
    issues.push(error(path, 'no patient identifier'));
    return null;
  }
  if (own.length === 0) issues.push(warning(path, "no identifier under the feed's own authority; the first one sent keys the record"));
  if (!FHIR_ID.test(chosen.value)) {
    // The record id must be a FHIR id; the number itself stays in Patient.identifier, where lookups go.
    issues.push(warning(path, 'patient number is not a valid record id (letters, digits, - and .); the record id is its digest'));
    return `h-${createHash('sha256').update(chosen.value).digest('hex').slice(0, 40)}`;
  }
  return chosen.value;
}

const fieldReps = (s: Segment, n: number, d: Delimiters) => repetitions(rawField(s, n, d), d);
const field1 = (s: Segment, n: number, d: Delimiters) => composite(rawField(s, n, d)?.split(d.repetition)[0], d);

export type PatientResult = { readonly sourcePatientId: string | null; readonly patient: FhirResource | null };

/** PID (+ following NK1) -> Patient; `pidIndex` is the segment's position, for paths. */
export function translatePatient(
  pid: Segment,
  nk1: readonly Segment[],
  d: Delimiters,
  a: Authorities,
  issues: TranslationIssue[],
): PatientResult {
  const pid3 = fieldReps(pid, 3, d).map(cx);
  const pid2 = fieldReps(pid, 2, d).map(cx);
  // PID-2 (external id, withdrawn in 2.7) keys the record only when PID-3 is empty: older feeds send it there.
  const sourcePatientId = sourcePatientIdOf(pid3.length > 0 ? pid3 : pid2, a, 'PID-3', issues);
  if (sourcePatientId === null) return { sourcePatientId, patient: null };

  const identifiers = [...pid3, ...pid2, ...fieldReps(pid, 4, d).map(cx)]
    .filter((x) => x.value)
    .map((x) => patientIdentifier(x, a));
  const ssn = at(field1(pid, 19, d), 1);
  if (ssn) identifiers.push(identifier({ value: ssn, authority: { namespace: '', universalId: '', universalIdType: '' }, typeCode: 'SS', start: '', end: '' }, WELL_KNOWN_IDENTIFIER_SYSTEMS.SS));

  const names = fieldReps(pid, 5, d).flatMap((c) => humanName(c) ?? []);
  if (names.length === 0) issues.push(warning('PID-5', 'no patient name'));

  const birth = at(field1(pid, 7, d), 1);
  let birthDate: string | undefined;
  if (birth) {
    const t = parseHl7Timestamp(birth, a.context.timeZone, 'PID-7');
    birthDate = t.ok ? hl7Date(birth) : undefined;
    if (!t.ok) issues.push(error('PID-7', 'birth date is not a valid HL7 v2 date'));
  }

  const sex = at(field1(pid, 8, d), 1).toUpperCase();
  const gender = sex ? ADMINISTRATIVE_SEX[sex] : undefined;
  if (sex && !gender) issues.push(warning('PID-8', 'administrative sex code is not in table 0001; left out'));

  const telecom = [
    ...fieldReps(pid, 13, d).flatMap((c) => contactPoint(c) ?? []),
    // PID-14 is the business number: `work` unless the sender typed its use.
    ...fieldReps(pid, 14, d).flatMap((c) => {
      const t = contactPoint(c);
      return t ? [{ use: 'work', ...t }] : [];
    }),
  ];

  const marital = at(field1(pid, 16, d), 1);
  const maritalMapped = MARITAL_STATUS[marital];
  const maritalStatus = marital
    ? maritalMapped
      ? { coding: [{ system: maritalMapped.system, code: maritalMapped.code }] }
      : codeableConcept(field1(pid, 16, d))
    : undefined;

  const deceasedAt = at(field1(pid, 29, d), 1);
  const deceasedFlag = at(field1(pid, 30, d), 1).toUpperCase();
  let deceased: Record<string, unknown> = {};
  if (deceasedAt) {
    const t = dateTime(deceasedAt, a.context.timeZone, 'PID-29', issues);
    if (t) deceased = { deceasedDateTime: fhirDateTime(t) };
  } else if (deceasedFlag === 'Y' || deceasedFlag === 'N') deceased = { deceasedBoolean: deceasedFlag === 'Y' };

  const multiple = at(field1(pid, 24, d), 1).toUpperCase();
  const order = Number(at(field1(pid, 25, d), 1));
  const multipleBirth =
    Number.isInteger(order) && order > 0 ? { multipleBirthInteger: order } : multiple === 'Y' || multiple === 'N' ? { multipleBirthBoolean: multiple === 'Y' } : {};

  const patient = compact({
    resourceType: 'Patient',
    id: sourcePatientId,
    identifier: identifiers,
    name: names,
    telecom,
    gender,
    birthDate,
    ...deceased,
    address: fieldReps(pid, 11, d).flatMap((c) => address(c) ?? []),
    maritalStatus,
    ...multipleBirth,
    contact: nk1.flatMap((s) => contact(s, d) ?? []),
  });
  return { sourcePatientId, patient };
}

/** NK1 -> Patient.contact (IG NK1[Patient]): relationship, name, telecom, address. */
function contact(s: Segment, d: Delimiters): Record<string, unknown> | undefined {
  const relationship = codeableConcept(field1(s, 3, d));
  const c = compact({
    relationship: relationship ? [withSystem(relationship, V2_TABLE('0063'))] : undefined,
    name: fieldReps(s, 2, d).flatMap((c) => humanName(c) ?? [])[0],
    telecom: [...fieldReps(s, 5, d), ...fieldReps(s, 6, d)].flatMap((c) => contactPoint(c) ?? []),
    address: fieldReps(s, 4, d).flatMap((c) => address(c) ?? [])[0],
  });
  return Object.keys(c).length > 0 ? c : undefined;
}

/** A coding sent without a system is in the field's HL7 table. */
function withSystem(cc: Record<string, unknown>, system: string): Record<string, unknown> {
  const coding = (cc.coding as Record<string, unknown>[] | undefined)?.map((c) => (c.system ? c : { system, ...c }));
  return coding ? { ...cc, coding } : cc;
}
