// Test builders: synthetic demographics (common first/last names only, no real-looking PHI).
import type { SourceDemographics } from '../../../translation/fhir-r4/patient.ts';
import { loadMatchingConfig, type MatchingConfig } from './config.ts';

export const SSN_SYSTEM = 'http://hl7.org/fhir/sid/us-ssn';
export const config: MatchingConfig = loadMatchingConfig();

type Overrides = Partial<Omit<SourceDemographics, 'name'>> & {
  family?: string | null;
  given?: string[];
  suffix?: string[];
  ssn?: string | null;
  line?: string[];
  city?: string | null;
  postalCode?: string | null;
  phone?: string | null;
  email?: string | null;
};

/** A complete, synthetic record; override any part. */
export function person(o: Overrides = {}): SourceDemographics {
  const ssn = o.ssn === undefined ? '900112233' : o.ssn;
  const line = o.line ?? ['12 Main Street'];
  return {
    source: o.source ?? 'test',
    sourcePatientId: o.sourcePatientId ?? 'p1',
    mrn: o.mrn ?? null,
    name: {
      use: null,
      family: o.family === undefined ? 'Smith' : o.family,
      given: o.given ?? ['John'],
      prefix: [],
      suffix: o.suffix ?? [],
      text: null,
    },
    birthDate: o.birthDate === undefined ? '1980-02-01' : o.birthDate,
    birthDateAsRecorded: o.birthDateAsRecorded ?? null,
    gender: o.gender === undefined ? 'male' : o.gender,
    identifiers: o.identifiers ?? (ssn ? [{ system: SSN_SYSTEM, value: ssn, type: 'SS', source: null }] : []),
    addresses:
      o.addresses ??
      (line.length > 0
        ? [
            {
              use: null,
              line,
              city: o.city === undefined ? 'Springfield' : o.city,
              state: 'IL',
              postalCode: o.postalCode === undefined ? '62701' : o.postalCode,
              country: null,
            },
          ]
        : []),
    telecom: o.telecom ?? [
      ...(o.phone === null ? [] : [{ system: 'phone', value: o.phone ?? '(217) 555-0142', use: null }]),
      ...(o.email ? [{ system: 'email', value: o.email, use: null }] : []),
    ],
    lastUpdated: null,
  };
}

/** A record with nothing but what is given (everything else missing). */
export function bare(o: Overrides = {}): SourceDemographics {
  return person({ family: null, given: [], birthDate: null, gender: null, ssn: null, line: [], phone: null, ...o });
}
