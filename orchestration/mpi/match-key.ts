// The initial, deterministic linking rule: two source records are one person when their
// normalized family name, first given name and birth date are equal. Deliberately strict
// (precision first); probabilistic matching replaces it (see README, "Patient matching").
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';

/** Lower case, accents removed, only letters kept: "O'Brien-Núñez" -> "obriennunez". */
export function normalizeName(value: string | null | undefined): string {
  return (value ?? '')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}]/gu, '');
}

/** The blocking-and-linking key, or null when the record lacks what the rule needs. */
export function deterministicMatchKey(d: Pick<SourceDemographics, 'name' | 'birthDate'>): string | null {
  const family = normalizeName(d.name?.family);
  const given = normalizeName(d.name?.given[0]);
  const birthDate = d.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(d.birthDate) ? d.birthDate : null;
  return family && given && birthDate ? `${family}|${given}|${birthDate}` : null;
}
