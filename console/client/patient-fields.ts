// A golden patient as the console reads it, and how each matcher field (MatchEvidence.field) shows on it.
export const PATIENT_FIELDS = `id name { family given } birthDate gender
  identifiers { system value } addresses { line city state postalCode } telecom { system value }
  mergedInto redirectedFrom provisional dataQuality`;

export type Patient = {
  id: string;
  name: { family: string | null; given: string[] | null } | null;
  birthDate: string | null;
  gender: string | null;
  identifiers: { system: string; value: string }[] | null;
  addresses: { line: string[] | null; city: string | null; state: string | null; postalCode: string | null }[] | null;
  telecom: { system: string | null; value: string | null }[] | null;
  mergedInto: string | null;
  redirectedFrom: string | null;
  provisional: boolean | null;
  dataQuality: string[] | null;
};

const SSN = 'http://hl7.org/fhir/sid/us-ssn';
const first = <T>(xs: readonly T[] | null | undefined): T | undefined => xs?.[0];
const contact = (p: Patient, system: string) => p.telecom?.find((t) => t.system === system)?.value ?? null;

/** Each matcher field's value on a golden patient; a field the console cannot show is null. */
export const FIELD_VALUE: Record<string, (p: Patient) => string | null> = {
  family: (p) => p.name?.family ?? null,
  given: (p) => p.name?.given?.join(' ') || null,
  birth_date: (p) => p.birthDate,
  gender: (p) => p.gender,
  address: (p) => first(p.addresses)?.line?.join(', ') || null,
  city: (p) => first(p.addresses)?.city ?? null,
  state: (p) => first(p.addresses)?.state ?? null,
  postal_code: (p) => first(p.addresses)?.postalCode ?? null,
  zip: (p) => first(p.addresses)?.postalCode ?? null,
  phone: (p) => contact(p, 'phone'),
  email: (p) => contact(p, 'email'),
  ssn: (p) => p.identifiers?.find((i) => i.system === SSN)?.value ?? null,
};

export const fieldValue = (field: string, p: Patient | null | undefined): string | null => (p ? (FIELD_VALUE[field]?.(p) ?? null) : null);

export const displayName = (p: Patient | null | undefined): string =>
  p?.name ? [p.name.given?.join(' '), p.name.family].filter(Boolean).join(' ') || '(no name)' : '(not shown)';
