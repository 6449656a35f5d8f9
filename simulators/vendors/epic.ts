// Epic's FHIR R4 quirks: opaque ids, identifiers under Epic OIDs, the legal-sex extension, an
// invalid capitalized gender in some records, Epic-local codings beside the standard ones,
// date-times with the hospital's offset.
import type { Random } from '../population/random.ts';
import { EPIC, STANDARD } from './constants.ts';
import type { VendorStyle } from './shape.ts';

const OPAQUE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const opaque = (rng: Random, n: number): string => Array.from({ length: n }, () => rng.pick([...OPAQUE])).join('');

/** Epic sandbox hospitals report local time with an offset; the simulator uses US Central standard time. */
function centralTime(iso: string): string {
  const local = new Date(Date.parse(iso) - 6 * 3_600_000).toISOString().slice(0, 19);
  return `${local}-06:00`;
}

export const epicStyle: VendorStyle = {
  patientId: (rng) => `e${opaque(rng, 20)}.${opaque(rng, 22)}`,
  resourceId: (rng) => `e${opaque(rng, 16)}${rng.digits(3)}`,
  mrn: (rng) => `E${rng.digits(7)}`,
  identifiers: (rng, a, mrn) => [
    { use: 'usual', type: { text: 'MRN' }, system: EPIC.mrnSystem, value: mrn },
    { use: 'usual', type: { text: 'EPI' }, system: EPIC.epiSystem, value: `Z${rng.digits(7)}` },
    ...(a.demographics.ssn ? [{ use: 'usual', system: STANDARD.ssn, value: a.demographics.ssn }] : []),
  ],
  sex: (rng, a) => {
    const sex = a.demographics.sex;
    const display = sex === 'female' ? 'Female' : 'Male';
    return {
      gender: rng.chance(EPIC.invalidGenderShare) ? display : sex,
      extension: [{ url: EPIC.legalSexExtension, valueCodeableConcept: { coding: [{ system: EPIC.legalSexSystem, code: sex, display }] } }],
    };
  },
  codings: (rng, kind, standard) => {
    if (kind === 'observation') return [...standard, { system: EPIC.observationCodeSystem, code: rng.digits(7) }];
    if (kind === 'category') return [...standard, { system: EPIC.observationCategorySystem, code: standard[0]?.code === 'laboratory' ? 'lab' : 'vitals' }];
    return standard;
  },
  dateTime: centralTime,
  quantity: (_rng, value, unit) => ({ value, unit, system: STANDARD.ucum, code: unit }),
};
