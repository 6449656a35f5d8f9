// A steward's manual values for golden fields, checked and normalized before they are stored:
// a manual value wins over every survivorship rule, so a typo here would show in every chart.
// Pure functions; refusals name the input path, never the value (it is PHI).
import { badUserInput, type ProductError } from '../../platform/errors.ts';
import type { Address, ContactPoint, HumanName } from '../../schema/__generated__/canonical.ts';
import { ADMINISTRATIVE_GENDER, isCalendarDate } from '../../translation/fhir-r4/patient.ts';
import type { GoldenField } from './survivorship.ts';

/**
 * Fields a steward may set. Identifiers are not among them: they are the evidence records are
 * matched and looked up on, and they belong to the source that assigned them (link or unlink the
 * record instead).
 */
export const MANUAL_FIELDS = ['name', 'birthDate', 'gender', 'addresses', 'telecom'] as const satisfies readonly GoldenField[];
export type ManualField = (typeof MANUAL_FIELDS)[number];

type Maybe<T> = T | null | undefined;
export type HumanNameInput = {
  use?: Maybe<string>;
  family?: Maybe<string>;
  given?: Maybe<readonly string[]>;
  prefix?: Maybe<readonly string[]>;
  suffix?: Maybe<readonly string[]>;
  text?: Maybe<string>;
};
export type AddressInput = {
  use?: Maybe<string>;
  line?: Maybe<readonly string[]>;
  city?: Maybe<string>;
  state?: Maybe<string>;
  postalCode?: Maybe<string>;
  country?: Maybe<string>;
};
export type ContactPointInput = { system: string; value: string; use?: Maybe<string> };
export type ManualFieldsInput = {
  name?: Maybe<HumanNameInput>;
  birthDate?: Maybe<string>;
  gender?: Maybe<string>;
  addresses?: Maybe<readonly AddressInput[]>;
  telecom?: Maybe<readonly ContactPointInput[]>;
  /** Fields whose manual value is removed: survivorship chooses from the source records again. */
  clear?: Maybe<readonly ManualField[]>;
};

/** What to store: normalized values per field, and the fields to clear. */
export type ManualChange = { readonly set: Readonly<Partial<Record<ManualField, unknown>>>; readonly clear: readonly ManualField[] };

/** A refused input names the path of the offending value (e.g. `fields.telecom[1].value`) and why, never the value. */
const refused = (path: string, message: string): ProductError => badUserInput(`\`${path}\` ${message}`, path);

// FHIR R4 value sets (required bindings) for the coded parts.
const NAME_USE = new Set(['usual', 'official', 'temp', 'nickname', 'anonymous', 'old', 'maiden']);
const ADDRESS_USE = new Set(['home', 'work', 'temp', 'old', 'billing']);
const CONTACT_SYSTEM = new Set(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']);
const CONTACT_USE = new Set(['home', 'work', 'temp', 'old', 'mobile']);
const MAX_TEXT = 200;
const MAX_PARTS = 10;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9 ().-]{4,30}$/;

/** Trimmed text with inner whitespace collapsed (NFC), or null when empty; refuses control characters and overlong text. */
function clean(value: Maybe<string>, path: string): string | null {
  if (value === null || value === undefined) return null;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) throw refused(path, 'must not contain control characters');
  const text = value.normalize('NFC').replace(/\s+/g, ' ').trim();
  if (text.length > MAX_TEXT) throw refused(path, `must be at most ${MAX_TEXT} characters`);
  return text || null;
}

function coded(value: Maybe<string>, allowed: ReadonlySet<string>, path: string): string | null {
  const code = clean(value, path);
  if (code !== null && !allowed.has(code)) throw refused(path, `must be one of ${[...allowed].join(', ')}`);
  return code;
}

function parts(values: Maybe<readonly string[]>, path: string): string[] {
  return list(values ?? [], path, clean).filter((v): v is string => v !== null);
}

function name(input: HumanNameInput, path: string): HumanName {
  const value: HumanName = {
    use: coded(input.use, NAME_USE, `${path}.use`),
    family: clean(input.family, `${path}.family`),
    given: parts(input.given, `${path}.given`),
    prefix: parts(input.prefix, `${path}.prefix`),
    suffix: parts(input.suffix, `${path}.suffix`),
    text: clean(input.text, `${path}.text`),
  };
  if (!value.family && value.given.length === 0) throw refused(path, 'must have a family name or a given name');
  return value;
}

function birthDate(input: string, path: string, today: string): string {
  const value = input.trim();
  if (!isCalendarDate(value)) throw refused(path, 'must be a calendar date: YYYY, YYYY-MM or YYYY-MM-DD');
  if (value > today.slice(0, value.length)) throw refused(path, 'must not be in the future');
  return value;
}

function address(input: AddressInput, path: string): Address {
  const value: Address = {
    use: coded(input.use, ADDRESS_USE, `${path}.use`),
    line: parts(input.line, `${path}.line`),
    city: clean(input.city, `${path}.city`),
    state: clean(input.state, `${path}.state`),
    postalCode: clean(input.postalCode, `${path}.postalCode`),
    country: clean(input.country, `${path}.country`),
  };
  if (value.line.length === 0 && !value.city && !value.postalCode) throw refused(path, 'must have a line, a city or a postal code');
  return value;
}

function contactPoint(input: ContactPointInput, path: string): ContactPoint {
  const system = coded(input.system, CONTACT_SYSTEM, `${path}.system`);
  const value = clean(input.value, `${path}.value`);
  if (!system) throw refused(`${path}.system`, 'is required');
  if (!value) throw refused(`${path}.value`, 'is required');
  if (system === 'email' && !EMAIL.test(value)) throw refused(`${path}.value`, 'must be an email address');
  if ((system === 'phone' || system === 'fax' || system === 'sms') && !PHONE.test(value))
    throw refused(`${path}.value`, 'must be a phone number (digits, spaces, +()-.)');
  return { system, value: system === 'email' ? value.toLowerCase() : value, use: coded(input.use, CONTACT_USE, `${path}.use`) };
}

function list<I, O>(values: readonly I[], path: string, one: (v: I, p: string) => O): O[] {
  if (values.length > MAX_PARTS) throw refused(path, `must have at most ${MAX_PARTS} entries`);
  return values.map((v, i) => one(v, `${path}[${i}]`));
}

/**
 * Checks and normalizes a steward's input. A field given explicitly as null counts as not given
 * (clearing is explicit, through `clear`); an empty list is a value (the person has no address on
 * record). At least one field must be set or cleared, and none both.
 */
export function parseManualFields(input: ManualFieldsInput, path = 'fields', now = new Date()): ManualChange {
  const today = now.toISOString().slice(0, 10);
  const set: Partial<Record<ManualField, unknown>> = {};
  if (input.name != null) set.name = name(input.name, `${path}.name`);
  if (input.birthDate != null) set.birthDate = birthDate(input.birthDate, `${path}.birthDate`, today);
  if (input.gender != null) {
    const gender = coded(input.gender, ADMINISTRATIVE_GENDER, `${path}.gender`);
    if (!gender) throw refused(`${path}.gender`, 'must not be empty');
    set.gender = gender;
  }
  if (input.addresses != null) set.addresses = list(input.addresses, `${path}.addresses`, address);
  if (input.telecom != null) set.telecom = list(input.telecom, `${path}.telecom`, contactPoint);
  const clear = [...new Set(input.clear ?? [])];
  for (const field of clear) {
    if (!(MANUAL_FIELDS as readonly string[]).includes(field)) throw refused(`${path}.clear`, `must list only ${MANUAL_FIELDS.join(', ')}`);
    if (field in set) throw refused(`${path}.clear`, `names ${field}, which is also being set`);
  }
  if (Object.keys(set).length === 0 && clear.length === 0) throw refused(path, 'must set or clear at least one field');
  return { set, clear };
}

/** Whether two stored values are the same (key order aside), so that repeating a change is a no-op. */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}
