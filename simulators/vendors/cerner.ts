// Oracle Health (Cerner Millennium) FHIR R4 quirks: numeric ids, an MRN typed MR under a Cerner
// OID, Millennium code-set codings beside every standard coding (userSelected), numbers written
// as JSON strings in some observations, date-times in UTC with milliseconds.
import type { Random } from '../population/random.ts';
import { CERNER, STANDARD } from './constants.ts';
import type { VendorStyle } from './shape.ts';

const CODE_SET = { observation: 72, category: 72, condition: 400, medication: 4 } as const;

export const cernerStyle: VendorStyle = {
  patientId: (rng) => String(rng.int(10_000_000, 99_999_999)),
  resourceId: (rng, type, category) => (type === 'Observation' ? `${category === 'laboratory' ? 'L' : 'VS'}-${rng.digits(9)}` : String(rng.int(100_000_000, 999_999_999))),
  mrn: (rng) => rng.digits(7),
  identifiers: (rng, a, mrn) => [
    { use: 'usual', type: { coding: [{ system: STANDARD.v20203, code: 'MR' }], text: 'MRN' }, system: CERNER.mrnSystem, value: mrn },
    { use: 'usual', type: { text: 'Federated Person Principal' }, system: CERNER.federatedPersonSystem, value: `${rng.digits(8)}-${rng.digits(4)}-${rng.digits(4)}` },
    ...(a.demographics.ssn ? [{ use: 'usual', type: { coding: [{ system: STANDARD.v20203, code: 'SS' }] }, system: STANDARD.ssn, value: a.demographics.ssn }] : []),
  ],
  sex: (_rng, a) => ({ gender: a.demographics.sex }),
  codings: (rng, kind, standard) => [
    { system: CERNER.codeSet(CODE_SET[kind]), code: String(rng.int(100_000, 99_999_999)), display: standard[0]?.display, userSelected: true },
    ...standard.map((c) => ({ ...c, userSelected: false })),
  ],
  dateTime: (iso) => new Date(iso).toISOString(),
  quantity: (rng, value, unit) => ({ value: rng.chance(CERNER.numbersAsStringsShare) ? String(value) : value, unit, system: STANDARD.ucum, code: unit }),
};
