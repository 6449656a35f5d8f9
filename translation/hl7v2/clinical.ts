// OBR/OBX/PV1 -> FHIR R4 DiagnosticReport, Observation and Encounter (IG OBR[DiagnosticReport],
// OBX[Observation], PV1[Encounter]); an ORM's ORC/OBR -> ServiceRequest (IG ORC[ServiceRequest],
// OBR[ServiceRequest]); a VXU's RXA -> Immunization (IG RXA[Immunization]). Only the types the clinical store keeps are produced
// (translation/fhir-r4/clinical-fields.ts). Ids are digests of what names the fact in the feed
// (order number, observation code and sub-id; visit number), never of the message: a resend, a
// re-processing or a correction (OBX-11 C) gives the same id, so the store updates in place.
import { createHash } from 'node:crypto';
import { rawField } from '../../protocol/hl7v2/message.ts';
import type { Delimiters, Hl7Message, Segment } from '../../protocol/hl7v2/er7.ts';
import { error, warning, type TranslationIssue } from '../issues.ts';
import { isClinicalType } from '../fhir-r4/clinical-fields.ts';
import type { FhirResource } from './contract.ts';
import {
  at,
  codeableConcept,
  codingSystem,
  compact,
  composite,
  cx,
  dateTime,
  fhirDateTime,
  hd,
  hdUri,
  nm,
  repetitions,
  sn,
  type Composite,
} from './datatypes.ts';
import {
  COMPLETION_STATUS,
  INTERPRETATION_SYSTEM,
  OBSERVATION_STATUS,
  ORDER_CONTROL_STATUS,
  ORDER_STATUS,
  PATIENT_CLASS,
  REPORT_STATUS,
  UNKNOWN_AMOUNT,
  V2_TABLE,
} from './vocabulary.ts';

type Json = Record<string, unknown>;

export type ClinicalScope = {
  readonly source: string;
  readonly timeZone: string;
  readonly sourcePatientId: string;
  /** MSH-9.1 and MSH-9.2: which resources a message yields (a report from an ORU, not from an ORM). */
  readonly messageCode: string;
  readonly trigger: string;
};

/** A FHIR id (64 characters at most) from what names the fact in the feed, scoped by the connection. */
export function stableId(source: string, type: string, ...parts: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([source, type, ...parts]))
    .digest('hex')
    .slice(0, 40);
}

const field1 = (s: Segment, n: number, d: Delimiters): Composite => composite(rawField(s, n, d)?.split(d.repetition)[0], d);
const value1 = (s: Segment, n: number, d: Delimiters): string => at(field1(s, n, d), 1);

/** EI (entity id + namespace/universal id) as one key: an order number is unique only with its assigner. */
const eiKey = (c: Composite): string => {
  const id = at(c, 1);
  return id ? `${id}|${hdUri(hd(c.slice(1))) ?? ''}` : '';
};

/** The order an OBR (and its ORC) names: filler number, else placer number; else what the OBR says. */
/** The key of an order named by its placer or filler number (other keys are made of its contents). */
const ORDER_NUMBER_KEY = 'order:';

function orderKey(obr: Segment | undefined, orc: Segment | undefined, d: Delimiters, fallback: string): string {
  const keys = [
    obr && eiKey(field1(obr, 3, d)),
    obr && eiKey(field1(obr, 2, d)),
    orc && eiKey(field1(orc, 3, d)),
    orc && eiKey(field1(orc, 2, d)),
  ];
  const found = keys.find((k) => k);
  if (found) return `${ORDER_NUMBER_KEY}${found}`;
  if (obr) return `obr:${value1(obr, 1, d)}|${codeKey(field1(obr, 4, d))}|${value1(obr, 7, d)}`;
  return fallback;
}

const codeKey = (c: Composite): string => `${codingSystem(at(c, 3)) ?? ''}|${at(c, 1)}|${at(c, 4)}`;

const ATTACHMENT_TYPES: ReadonlySet<string> = new Set(['ED', 'RP']);

type Order = { readonly key: string; readonly obr?: Segment; readonly path?: string; readonly effective?: string; results: string[] };

/** Every clinical resource the message states, in message order. Errors go to `issues` (the caller refuses the message). */
export function translateClinical(message: Hl7Message, scope: ClinicalScope, issues: TranslationIssue[]): FhirResource[] {
  const d = message.delimiters;
  const subject = { reference: `Patient/${scope.sourcePatientId}` };
  const counts = new Map<string, number>();
  const seen = new Map<string, number>();
  const out: FhirResource[] = [];
  const reports: { order: Order; resource: () => FhirResource }[] = [];
  let orc: Segment | undefined;
  let order: Order | undefined;
  let last: Record<string, unknown> | undefined;
  const msh7 = message.segments[0] ? value1(message.segments[0], 7, d) : '';

  for (const s of message.segments) {
    const n = (counts.get(s.id) ?? 0) + 1;
    counts.set(s.id, n);
    const path = (field: number) => `${s.id}${n > 1 ? `[${n}]` : ''}-${field}`;
    if (s.id === 'ORC') {
      orc = s;
      order = undefined;
      last = undefined;
    } else if (s.id === 'OBR') {
      const t = dateTime(value1(s, 7, d), scope.timeZone, path(7), issues);
      order = { key: orderKey(s, orc, d, ''), obr: s, path: path(4), results: [], ...(t ? { effective: fhirDateTime(t) } : {}) };
      const current = order;
      if (scope.messageCode === 'ORU' || scope.messageCode === 'OUL')
        reports.push({ order: current, resource: () => report(s, current, subject, scope, d, issues, path) });
      if (scope.messageCode === 'ORM' && isClinicalType('ServiceRequest'))
        out.push(serviceRequest(s, orc, current.key, subject, scope, d, issues, path));
      last = undefined;
    } else if (s.id === 'RXA' && scope.messageCode === 'VXU' && isClinicalType('Immunization')) {
      const i = immunization(s, orc, subject, scope, d, issues, path, seen);
      if (i) out.push(i);
      last = undefined;
    } else if (s.id === 'OBX' && ATTACHMENT_TYPES.has(value1(s, 2, d).toUpperCase())) {
      // An encapsulated document or a pointer to one: the IG makes it a DocumentReference, which the store does not keep.
      issues.push(warning(path(2), 'attached document (ED/RP) is not kept by the clinical store'));
      last = undefined;
    } else if (s.id === 'OBX') {
      // OBX outside an order (ADT, VXU): its own patient and time name it.
      const fallback = `patient:${scope.sourcePatientId}|${value1(s, 14, d) || msh7}`;
      const key = order?.key ?? (orc ? orderKey(undefined, orc, d, fallback) : fallback);
      const obs: FhirResource | undefined = observation(s, { key, effective: order?.effective }, subject, scope, d, issues, path, seen);
      if (obs) {
        out.push(obs);
        order?.results.push(`Observation/${obs.id}`);
      }
      last = obs;
    } else if (s.id === 'NTE' && last) {
      const text = value1(s, 3, d);
      if (text) last.note = [...((last.note as Json[] | undefined) ?? []), { text }];
    } else if (s.id === 'PV1' && isClinicalType('Encounter')) {
      const e = encounter(s, subject, scope, d, issues, path);
      if (e) out.push(e);
    } else if (s.id !== 'NTE') last = undefined;
  }
  return [...out, ...reports.map((r) => r.resource())];
}

function report(
  s: Segment,
  order: Order,
  subject: Json,
  scope: ClinicalScope,
  d: Delimiters,
  issues: TranslationIssue[],
  path: (field: number) => string,
): FhirResource {
  const code = codeableConcept(field1(s, 4, d));
  if (!code) issues.push(error(path(4), 'universal service identifier (the report code) is missing'));
  const statusCode = value1(s, 25, d);
  const status = REPORT_STATUS[statusCode];
  if (!status) issues.push(warning(path(25), statusCode ? 'result status not in table 0123; status unknown' : 'no result status; unknown'));
  const issuedAt = value1(s, 22, d);
  const issued = issuedAt ? dateTime(issuedAt, scope.timeZone, path(22), issues) : undefined;
  return compact({
    resourceType: 'DiagnosticReport',
    id: stableId(scope.source, 'DiagnosticReport', order.key),
    identifier: orderIdentifiers(s, d),
    status: status ?? 'unknown',
    category: value1(s, 24, d) ? [{ coding: [{ system: V2_TABLE('0074'), code: value1(s, 24, d) }] }] : undefined,
    code,
    subject,
    effectiveDateTime: order.effective,
    // issued is an instant: a date alone cannot be one.
    issued: issued && issued.value.includes('T') ? issued.instant : undefined,
    // The order the results answer (IG: OBR[ServiceRequest]): the id an ORM of the same order numbers gets.
    basedOn: order.key.startsWith(ORDER_NUMBER_KEY)
      ? [{ reference: `ServiceRequest/${stableId(scope.source, 'ServiceRequest', order.key)}` }]
      : undefined,
    result: order.results.map((reference) => ({ reference })),
  }) as FhirResource;
}

/** Placer (field 2) and filler (field 3) numbers as typed identifiers (v2-0203 PLAC, FILL): the first segment stating each. */
function orderIdentifiers(segments: Segment | readonly (Segment | undefined)[], d: Delimiters): Json[] {
  const from = (Array.isArray(segments) ? segments : [segments]).filter((x): x is Segment => x !== undefined);
  return [
    [2, 'PLAC'],
    [3, 'FILL'],
  ].flatMap(([field, type]) => {
    const c = from.map((x) => field1(x, field as number, d)).find((x) => at(x, 1)) ?? [];
    const value = at(c, 1);
    if (!value) return [];
    return [compact({ system: hdUri(hd(c.slice(1))), value, type: { coding: [{ system: V2_TABLE('0203'), code: type }] } })];
  });
}

/** OBX-6 (CWE) -> the unit of a Quantity: UCUM when the sender says so, else the unit as sent. */
function unitOf(c: Composite): Json {
  const code = at(c, 1);
  const text = at(c, 2);
  if (!code && !text) return {};
  const system = codingSystem(at(c, 3));
  // A unit code needs its system (FHIR qty-3): only UCUM's is kept as a code; any other unit is its text.
  return system === 'http://unitsofmeasure.org' && code ? { unit: text || code, system, code } : { unit: code || text };
}

const COMPARATORS: ReadonlySet<string> = new Set(['<', '<=', '>=', '>']);

/** OBX-5 by OBX-2: the Observation's value[x], or undefined (with a warning) when it cannot be read. */
function observationValue(
  type: string,
  raw: string | undefined,
  unit: Json,
  d: Delimiters,
  timeZone: string,
  path: string,
  issues: TranslationIssue[],
): Json | undefined {
  const reps = repetitions(raw, d);
  const first = reps[0];
  if (!first) return undefined;
  switch (type) {
    case 'NM': {
      const v = nm(at(first, 1));
      if (v !== undefined) return { valueQuantity: { value: v, ...unit } };
      issues.push(warning(path, 'numeric result is not a number; kept as text'));
      return { valueString: at(first, 1) };
    }
    case 'SN': {
      const v = sn(first);
      if (v.num1 !== undefined && v.num2 === undefined && (v.comparator === '' || v.comparator === '=' || COMPARATORS.has(v.comparator)))
        return { valueQuantity: compact({ value: v.num1, comparator: COMPARATORS.has(v.comparator) ? v.comparator : undefined, ...unit }) };
      if (v.num1 !== undefined && v.num2 !== undefined && v.separator === '-')
        return { valueRange: { low: { value: v.num1, ...unit }, high: { value: v.num2, ...unit } } };
      if (v.num1 !== undefined && v.num2 !== undefined && (v.separator === ':' || v.separator === '/'))
        return { valueRatio: { numerator: { value: v.num1 }, denominator: { value: v.num2 } } };
      issues.push(warning(path, 'structured numeric result not readable; kept as text'));
      return {
        valueString: first
          .map((c) => c.join(d.subcomponent))
          .join(' ')
          .trim(),
      };
    }
    case 'ST':
    case 'TX':
    case 'FT':
      // Repetitions of a text result are its lines.
      return { valueString: reps.map((r) => at(r, 1)).join('\n') };
    case 'CWE':
    case 'CE':
    case 'CNE':
    case 'CF': {
      const cc = codeableConcept(first);
      return cc ? { valueCodeableConcept: cc } : undefined;
    }
    case 'DT':
    case 'TS':
    case 'DTM': {
      const t = dateTime(at(first, 1), timeZone, path, issues);
      return t ? { valueDateTime: fhirDateTime(t) } : undefined;
    }
    default:
      issues.push(warning(path, `value type ${type || '(none)'} is not translated; the observation has no value`));
      return undefined;
  }
}

/** OBX-7 "low-high" (or "<x", ">x") -> referenceRange with the result's unit; any other text as text. */
function referenceRange(text: string, unit: Json): Json[] | undefined {
  if (!text) return undefined;
  const m = /^\s*([+-]?\d*\.?\d+)\s*-\s*([+-]?\d*\.?\d+)\s*$/.exec(text);
  if (m) return [{ low: { value: Number(m[1]), ...unit }, high: { value: Number(m[2]), ...unit }, text }];
  return [{ text }];
}

/** The CWE a resource is named by (OBX-3, RXA-5), or undefined with an error when it has no code. */
function requiredCode(
  s: Segment,
  field: number,
  d: Delimiters,
  issues: TranslationIssue[],
  path: (field: number) => string,
  missing: string,
): { readonly codeField: Composite; readonly code: Json } | undefined {
  const codeField = field1(s, field, d);
  const code = codeableConcept(codeField);
  if (code && at(codeField, 1)) return { codeField, code };
  issues.push(error(path(field), missing));
  return undefined;
}

/** The stable id of the n-th resource of a message named by `base` (the first keeps the plain id). */
function occurrenceId(source: string, type: string, base: string, seen: Map<string, number>): string {
  const occurrence = (seen.get(base) ?? 0) + 1;
  seen.set(base, occurrence);
  return stableId(source, type, base, ...(occurrence > 1 ? [String(occurrence)] : []));
}

function observation(
  s: Segment,
  order: { readonly key: string; readonly effective?: string | undefined },
  subject: Json,
  scope: ClinicalScope,
  d: Delimiters,
  issues: TranslationIssue[],
  path: (field: number) => string,
  seen: Map<string, number>,
): FhirResource | undefined {
  const named = requiredCode(s, 3, d, issues, path, 'observation identifier (the code) is missing');
  if (!named) return undefined;
  const { codeField, code } = named;
  const subId = value1(s, 4, d);
  // The same code and sub-id twice in one order (a repeated panel line): told apart by occurrence, in message order.
  const id = occurrenceId(scope.source, 'Observation', `${order.key}|${codeKey(codeField)}|${subId}`, seen);

  const statusCode = value1(s, 11, d).toUpperCase();
  const status = OBSERVATION_STATUS[statusCode];
  if (!status)
    issues.push(warning(path(11), statusCode ? 'result status has no FHIR equivalent; status unknown' : 'no result status; unknown'));

  const type = value1(s, 2, d).toUpperCase();
  const unit = unitOf(field1(s, 6, d));
  // A cancelled result (X) has no value by definition: the IG sets a data-absent reason instead.
  const value =
    status === 'cancelled'
      ? { dataAbsentReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'not-performed' }] } }
      : observationValue(type, rawField(s, 5, d), unit, d, scope.timeZone, path(5), issues);
  const extraValues = type === 'NM' || type === 'SN' ? repetitions(rawField(s, 5, d), d).length - 1 : 0;
  if (extraValues > 0) issues.push(warning(path(5), 'repeated numeric result: only the first value is kept'));

  const effectiveAt = value1(s, 14, d);
  const t = effectiveAt ? dateTime(effectiveAt, scope.timeZone, path(14), issues) : undefined;
  const effective = t ? fhirDateTime(t) : order.effective;

  const interpretation = repetitions(rawField(s, 8, d), d).flatMap((c) => {
    const cc = codeableConcept(c);
    if (!cc) return [];
    // Table 0078's codes are v3 ObservationInterpretation's (the IG's map is the identity).
    const coding = (cc.coding as Json[] | undefined)?.map((x) =>
      !x.system || x.system === V2_TABLE('0078') ? { ...x, system: INTERPRETATION_SYSTEM } : x,
    );
    return [{ ...cc, ...(coding ? { coding } : {}) }];
  });

  return compact({
    resourceType: 'Observation',
    id,
    status: status ?? 'unknown',
    code,
    subject,
    effectiveDateTime: effective,
    ...(value ?? {}),
    interpretation,
    referenceRange: referenceRange(value1(s, 7, d), unit),
    method: codeableConcept(field1(s, 17, d)),
  }) as FhirResource;
}

/** PV1 -> Encounter, when the visit is named (PV1-19, else its admit time) and its class is known. */
function encounter(
  s: Segment,
  subject: Json,
  scope: ClinicalScope,
  d: Delimiters,
  issues: TranslationIssue[],
  path: (field: number) => string,
): FhirResource | undefined {
  const visit = cx(field1(s, 19, d));
  const admitAt = value1(s, 44, d);
  const patientClass = value1(s, 2, d).toUpperCase();
  if (!visit.value && !admitAt) {
    issues.push(warning(path(19), 'visit has no number and no admit time: no encounter recorded'));
    return undefined;
  }
  if (!patientClass) {
    issues.push(warning(path(2), 'no patient class: no encounter recorded'));
    return undefined;
  }
  const klass = PATIENT_CLASS[patientClass] ?? { system: V2_TABLE('0004'), code: patientClass };
  const start = admitAt ? dateTime(admitAt, scope.timeZone, path(44), issues) : undefined;
  const endAt = value1(s, 45, d);
  const end = endAt ? dateTime(endAt, scope.timeZone, path(45), issues) : undefined;
  const key = visit.value ? `visit:${visit.value}|${hdUri(visit.authority) ?? ''}` : `admit:${admitAt}`;
  const status =
    scope.trigger === 'A03' || end
      ? 'finished'
      : scope.trigger === 'A11'
        ? 'cancelled'
        : scope.trigger === 'A05' || scope.trigger === 'A14'
          ? 'planned'
          : 'in-progress';
  const type = codeableConcept(field1(s, 4, d));
  return compact({
    resourceType: 'Encounter',
    id: stableId(scope.source, 'Encounter', key),
    identifier: visit.value
      ? [compact({ system: hdUri(visit.authority), value: visit.value, type: { coding: [{ system: V2_TABLE('0203'), code: 'VN' }] } })]
      : undefined,
    status,
    class: klass,
    type: type ? [withTable(type, '0007')] : undefined,
    subject,
    period: compact({ start: start && fhirDateTime(start), end: end && fhirDateTime(end) }),
  }) as FhirResource;
}

const withTable = (cc: Json, table: string): Json => ({
  ...cc,
  coding: (cc.coding as Json[] | undefined)?.map((c) => (c.system ? c : { system: V2_TABLE(table), ...c })),
});

/** ORC-5 order status when sent (the IG lets it win), else ORC-1 order control; unknown with a warning otherwise. */
function requestStatus(orc: Segment | undefined, d: Delimiters, issues: TranslationIssue[], path: string): string {
  const orderStatus = orc ? value1(orc, 5, d).toUpperCase() : '';
  const control = orc ? value1(orc, 1, d).toUpperCase() : '';
  const status = ORDER_STATUS[orderStatus] ?? ORDER_CONTROL_STATUS[control];
  if (!status)
    issues.push(warning(path, control ? 'order control has no FHIR request status; status unknown' : 'no order control; unknown'));
  return status ?? 'unknown';
}

/** ORM ORC/OBR -> ServiceRequest: placer and filler numbers, status, OBR-4 code, authored at ORC-9 (else OBR-6). */
function serviceRequest(
  obr: Segment,
  orc: Segment | undefined,
  key: string,
  subject: Json,
  scope: ClinicalScope,
  d: Delimiters,
  issues: TranslationIssue[],
  path: (field: number) => string,
): FhirResource {
  const code = codeableConcept(field1(obr, 4, d));
  if (!code) issues.push(error(path(4), 'universal service identifier (the order code) is missing'));
  const orcAt = orc ? value1(orc, 9, d) : '';
  const authoredAt = orcAt || value1(obr, 6, d);
  const authored = authoredAt ? dateTime(authoredAt, scope.timeZone, orcAt ? 'ORC-9' : path(6), issues) : undefined;
  return compact({
    resourceType: 'ServiceRequest',
    id: stableId(scope.source, 'ServiceRequest', key),
    identifier: orderIdentifiers([obr, orc], d),
    status: requestStatus(orc, d, issues, 'ORC-1'),
    intent: 'order',
    code,
    subject,
    authoredOn: authored && fhirDateTime(authored),
  }) as FhirResource;
}

/** RXA-6 amount with the RXA-7 unit; none when the amount is absent or the IIS guide's "unknown" (999). */
function doseQuantity(rxa: Segment, d: Delimiters, issues: TranslationIssue[], path: (field: number) => string): Json | undefined {
  const amount = value1(rxa, 6, d);
  if (!amount || amount === UNKNOWN_AMOUNT) return undefined;
  const value = nm(amount);
  if (value === undefined) {
    issues.push(warning(path(6), 'administered amount is not a number; no dose recorded'));
    return undefined;
  }
  return { value, ...unitOf(field1(rxa, 7, d)) };
}

/**
 * VXU RXA -> Immunization: RXA-5 vaccine (CVX), RXA-3 occurrence, RXA-6/7 dose, RXA-15 lot,
 * RXA-16 expiry, RXA-20 completion status; RXA-21 D (delete) makes it entered-in-error, so a
 * deletion updates the same id. Named by its ORC's order number, else by its time and vaccine.
 */
function immunization(
  rxa: Segment,
  orc: Segment | undefined,
  subject: Json,
  scope: ClinicalScope,
  d: Delimiters,
  issues: TranslationIssue[],
  path: (field: number) => string,
  seen: Map<string, number>,
): FhirResource | undefined {
  const named = requiredCode(rxa, 5, d, issues, path, 'administered code (the vaccine) is missing');
  if (!named) return undefined;
  const { codeField, code: vaccineCode } = named;
  const occurredAt = value1(rxa, 3, d);
  const occurred = occurredAt ? dateTime(occurredAt, scope.timeZone, path(3), issues) : undefined;
  if (!occurred) issues.push(error(path(3), 'administration time is missing or unreadable'));
  const ordered = orc ? orderKey(undefined, orc, d, '') : '';
  // Several RXA under one order (a combination given as two shots): told apart by occurrence, in message order.
  const id = occurrenceId(scope.source, 'Immunization', ordered || `rxa:${occurredAt}|${codeKey(codeField)}`, seen);
  const completion = value1(rxa, 20, d).toUpperCase();
  const action = value1(rxa, 21, d).toUpperCase();
  if (completion && !COMPLETION_STATUS[completion]) issues.push(warning(path(20), 'completion status not in NIP001; completed assumed'));
  const status = action === 'D' ? 'entered-in-error' : (COMPLETION_STATUS[completion] ?? 'completed');
  const origin = value1(rxa, 9, d);
  const expiresAt = value1(rxa, 16, d);
  const expires = expiresAt ? dateTime(expiresAt, scope.timeZone, path(16), issues) : undefined;
  return compact({
    resourceType: 'Immunization',
    id,
    identifier: orc ? orderIdentifiers(orc, d) : undefined,
    status,
    vaccineCode,
    patient: subject,
    occurrenceDateTime: occurred && fhirDateTime(occurred),
    // NIP001 00 is a new record (the sender gave it); 01-08 are historical reports.
    primarySource: origin ? origin === '00' : undefined,
    lotNumber: value1(rxa, 15, d),
    expirationDate: expires && fhirDateTime(expires).slice(0, 10),
    doseQuantity: doseQuantity(rxa, d, issues, path),
  }) as FhirResource;
}
