// Data-quality flags of a source record: what a steward sees, and what keeps a record from auto-linking.
import type { SourceDemographics } from '../../../translation/fhir-r4/patient.ts';
import { isCalendarDate } from '../../../translation/fhir-r4/patient.ts';
import { parseName } from './features.ts';
import { cleanText } from './normalize.ts';

export const QUALITY_FLAGS = {
  NO_NAME: 'NO_NAME',
  PARTIAL_NAME: 'PARTIAL_NAME',
  NO_BIRTH_DATE: 'NO_BIRTH_DATE',
  INVALID_BIRTH_DATE: 'INVALID_BIRTH_DATE',
  FUTURE_BIRTH_DATE: 'FUTURE_BIRTH_DATE',
  IMPLAUSIBLE_BIRTH_DATE: 'IMPLAUSIBLE_BIRTH_DATE',
} as const;

const EARLIEST_PLAUSIBLE = '1900';

/** Flags for one record (today: the reference date for FUTURE_BIRTH_DATE). Never throws. */
export function dataQualityFlags(d: SourceDemographics, today: Date = new Date()): string[] {
  const flags: string[] = [];
  const n = parseName(d?.name);
  if (n.family.length === 0 && n.given.length === 0) flags.push(QUALITY_FLAGS.NO_NAME);
  else if (n.family.length === 0 || n.given.length === 0) flags.push(QUALITY_FLAGS.PARTIAL_NAME);
  const raw = d?.birthDate;
  const valid = isCalendarDate(raw) ? raw : null;
  const recorded = cleanText(d?.birthDateAsRecorded) || (raw && !valid ? cleanText(raw) : '');
  if (recorded) flags.push(QUALITY_FLAGS.INVALID_BIRTH_DATE);
  else if (!valid) flags.push(QUALITY_FLAGS.NO_BIRTH_DATE);
  if (valid) {
    const todayIso = Number.isNaN(today.getTime()) ? '9999' : today.toISOString().slice(0, 10);
    if (valid.slice(0, 10) > todayIso.slice(0, valid.length)) flags.push(QUALITY_FLAGS.FUTURE_BIRTH_DATE);
    else if (valid.slice(0, 4) < EARLIEST_PLAUSIBLE) flags.push(QUALITY_FLAGS.IMPLAUSIBLE_BIRTH_DATE);
  }
  return flags;
}
