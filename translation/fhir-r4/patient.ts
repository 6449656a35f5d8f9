// Vendor FHIR R4 Patient to canonical source demographics (what the MPI links on and the golden
// record is built from). Vendor quirks come from the profile: where the MRN lives, which extension
// carries administrative sex, which identifier systems are surfaced; gender spellings are repaired
// by the administrative-gender concept map, the same for every vendor. The connection scopes the hospital's
// own identifiers (MRN, internal id): they are stamped with its systems, never the vendor's.
import type { Address, ContactPoint, HumanName, Identifier } from '../../schema/__generated__/canonical.ts';
import {
  isLocalIdentifierType,
  localIdentifierSystems,
  type ConnectionConfig,
  type LocalIdentifierSystems,
  type VendorProfile,
} from '../../platform/config.ts';
import { error, result, warning, type TranslationIssue, type Translated } from '../issues.ts';
import { defaultTerminology, translate, type Terminology } from '../terminology/translate.ts';

export type SourceDemographics = {
  readonly source: string;
  readonly sourcePatientId: string;
  readonly mrn: string | null;
  readonly name: HumanName | null;
  readonly birthDate: string | null;
  /** The birth date as the source sent it when it was not a valid date (kept for matching on typos, flagged). */
  readonly birthDateAsRecorded?: string | null;
  readonly gender: string | null;
  readonly identifiers: readonly Identifier[];
  readonly addresses: readonly Address[];
  readonly telecom: readonly ContactPoint[];
  readonly lastUpdated: string | null;
};

type FhirIdentifier = { system?: string; value?: string; type?: { text?: string; coding?: { system?: string; code?: string }[] } };
type FhirName = { use?: string; family?: string; given?: string[]; prefix?: string[]; suffix?: string[]; text?: string };
type FhirPatient = {
  resourceType: string;
  id?: string;
  meta?: { lastUpdated?: string };
  identifier?: FhirIdentifier[];
  name?: FhirName[];
  birthDate?: string;
  gender?: string;
  extension?: { url: string; valueCodeableConcept?: { coding?: { system?: string; code?: string }[] } }[];
  address?: { use?: string; line?: string[]; city?: string; state?: string; postalCode?: string; country?: string }[];
  telecom?: { system?: string; value?: string; use?: string }[];
};

/** FHIR R4 AdministrativeGender (a required binding). */
export const ADMINISTRATIVE_GENDER: ReadonlySet<string> = new Set(['male', 'female', 'other', 'unknown']);
const BIRTH_DATE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
const NAME_USE_RANK: Readonly<Record<string, number>> = { official: 0, usual: 1 };

/** A FHIR date that exists on the calendar ("1990-02-30" does not). */
export function isCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string' || !BIRTH_DATE.test(value)) return false;
  if (value.length < 10) return true;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The official (else usual, else first) name. */
export function preferredName(names: readonly FhirName[] | undefined): FhirName | undefined {
  return [...(names ?? [])].sort((a, b) => (NAME_USE_RANK[a.use ?? ''] ?? 9) - (NAME_USE_RANK[b.use ?? ''] ?? 9))[0];
}

const GENDER_SYSTEM = 'http://hl7.org/fhir/administrative-gender';

/**
 * The administrative-gender code a coding means, through the concept maps (a valid code is itself).
 * A coding without a system is read as an administrative-gender spelling.
 */
function genderCode(system: string | undefined, code: string | undefined, terminology: Terminology): string | undefined {
  if (code === undefined) return undefined;
  const sys = system ?? GENDER_SYSTEM;
  if (sys === GENDER_SYSTEM && ADMINISTRATIVE_GENDER.has(code)) return code;
  const t = translate({ system: sys, code }, { terminology, targetSystems: [GENDER_SYSTEM] });
  return t.mapped.find((c) => c.code !== undefined && ADMINISTRATIVE_GENDER.has(c.code))?.code;
}

function gender(p: FhirPatient, profile: VendorProfile, terminology: Terminology, issues: TranslationIssue[]): string | null {
  if (p.gender !== undefined) {
    if (ADMINISTRATIVE_GENDER.has(p.gender)) return p.gender;
    const repaired = genderCode(GENDER_SYSTEM, p.gender, terminology);
    if (repaired) {
      issues.push(warning('Patient.gender', 'non-conformant code repaired by the administrative-gender concept map'));
      return repaired;
    }
    issues.push(warning('Patient.gender', 'unknown code; kept as null'));
  }
  const url = profile.extensions.administrativeGender;
  if (url) {
    const coding = p.extension?.find((e) => e.url === url)?.valueCodeableConcept?.coding?.[0];
    const code = genderCode(coding?.system, coding?.code, terminology);
    if (code) return code;
  }
  return null;
}

/** The connection a record comes from, as translation needs it: its id and its own identifier systems. */
export type SourceScope = { readonly source: string; readonly systems: LocalIdentifierSystems };

export const sourceScope = (c: Pick<ConnectionConfig, 'id' | 'identifierSystems'>): SourceScope => ({
  source: c.id,
  systems: localIdentifierSystems(c),
});

// The MRN is in the vendor's system, or already in the hospital's own (a real EHR sends its own OID).
const isMrn = (i: FhirIdentifier, profile: VendorProfile, scope: SourceScope): boolean =>
  (i.system === profile.mrnIdentifier.system || i.system === scope.systems.MR) &&
  (profile.mrnIdentifier.typeText === undefined || i.type?.text === profile.mrnIdentifier.typeText) &&
  (profile.mrnIdentifier.typeCode === undefined || i.type?.coding?.some((c) => c.code === profile.mrnIdentifier.typeCode) === true);

/** The identifiers surfaced on the golden record: a local one (MRN, internal id) under the connection's system for its type. */
function keptIdentifiers(p: FhirPatient, profile: VendorProfile, scope: SourceScope): Identifier[] {
  const ownType = new Map(Object.entries(scope.systems).map(([type, system]) => [system, type]));
  return (p.identifier ?? []).flatMap((i) => {
    const type = i.system ? (profile.keptIdentifierSystems[i.system] ?? ownType.get(i.system)) : undefined;
    if (!type || !i.system || !i.value) return [];
    const system = isLocalIdentifierType(type) ? scope.systems[type] : i.system;
    return [{ system, value: i.value, type, source: scope.source }];
  });
}

export function sourceDemographics(
  p: FhirPatient,
  scope: SourceScope,
  profile: VendorProfile,
  terminology: Terminology = defaultTerminology(),
): Translated<SourceDemographics> {
  const { source } = scope;
  const issues: TranslationIssue[] = [];
  if (p.resourceType !== 'Patient') issues.push(error('resourceType', 'expected Patient'));
  if (!p.id) issues.push(error('Patient.id', 'missing id'));
  const mrn = p.identifier?.find((i) => isMrn(i, profile, scope))?.value ?? null;
  if (!mrn) issues.push(warning('Patient.identifier', 'no MRN in the system the vendor profile names'));
  const n = preferredName(p.name);
  if (!n?.family && !n?.given?.length) issues.push(warning('Patient.name', 'no usable name; cannot be matched on name'));
  let birthDate: string | null = p.birthDate ?? null;
  let birthDateAsRecorded: string | null = null;
  if (birthDate !== null && !isCalendarDate(birthDate)) {
    issues.push(warning('Patient.birthDate', 'not a valid date; kept as null (the recorded value is kept for matching only)'));
    birthDateAsRecorded = String(birthDate).slice(0, 32);
    birthDate = null;
  }
  const identifiers = keptIdentifiers(p, profile, scope);
  return result(
    {
      source,
      sourcePatientId: p.id ?? '',
      mrn,
      name: n
        ? {
            use: n.use ?? null,
            family: n.family ?? null,
            given: n.given ?? [],
            prefix: n.prefix ?? [],
            suffix: n.suffix ?? [],
            text: n.text ?? null,
          }
        : null,
      birthDate,
      birthDateAsRecorded,
      gender: gender(p, profile, terminology, issues),
      identifiers,
      addresses: (p.address ?? []).map((a) => ({
        use: a.use ?? null,
        line: a.line ?? [],
        city: a.city ?? null,
        state: a.state ?? null,
        postalCode: a.postalCode ?? null,
        country: a.country ?? null,
      })),
      telecom: (p.telecom ?? []).map((t) => ({ system: t.system ?? null, value: t.value ?? null, use: t.use ?? null })),
      lastUpdated: p.meta?.lastUpdated ?? null,
    },
    issues,
  );
}
