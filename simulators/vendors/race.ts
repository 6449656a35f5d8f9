// Race and ethnicity as each vendor codes them inside the US Core extensions (ombCategory and
// text). Epic puts its own category-list codes where the standard CDC code is expected; Oracle
// Health puts its Millennium code value first and the standard code after it; athenahealth sends
// the standard codes. config/concept-maps/{epic,cerner}-race-ethnicity.json map the vendor codes.
import type { Ethnicity, Race } from '../population/model.ts';
import type { Coding, Extension } from '../fhir-types.ts';
import { CERNER_CODE_SETS, EPIC, STANDARD, cernerCodeSet } from './constants.ts';

const RACE_DISPLAY: Readonly<Record<Race, string>> = {
  white: 'White',
  black: 'Black or African American',
  aian: 'American Indian or Alaska Native',
  asian: 'Asian',
  nhpi: 'Native Hawaiian or Other Pacific Islander',
  other: 'Other',
  chinese: 'Chinese',
  'asian-indian': 'Asian Indian',
  multiple: 'Multiple Races',
  declined: 'Patient Declined',
  unknown: 'Unknown',
};
const ETHNICITY_DISPLAY: Readonly<Record<Ethnicity, string>> = {
  hispanic: 'Hispanic or Latino',
  'not-hispanic': 'Not Hispanic or Latino',
  mexican: 'Mexican, Mexican American, Chicano/a',
  declined: 'Patient Declined',
  unknown: 'Unknown',
};

/** CDC race and ethnicity codes (OMB categories and detailed), or v3 NullFlavor for declined and unknown. */
const CDC_RACE: Readonly<Record<Race, readonly Coding[]>> = {
  white: [{ system: STANDARD.cdcRace, code: '2106-3' }],
  black: [{ system: STANDARD.cdcRace, code: '2054-5' }],
  aian: [{ system: STANDARD.cdcRace, code: '1002-5' }],
  asian: [{ system: STANDARD.cdcRace, code: '2028-9' }],
  nhpi: [{ system: STANDARD.cdcRace, code: '2076-8' }],
  other: [],
  chinese: [{ system: STANDARD.cdcRace, code: '2028-9' }],
  'asian-indian': [{ system: STANDARD.cdcRace, code: '2028-9' }],
  multiple: [],
  declined: [{ system: STANDARD.nullFlavor, code: 'ASKU' }],
  unknown: [{ system: STANDARD.nullFlavor, code: 'UNK' }],
};
const CDC_ETHNICITY: Readonly<Record<Ethnicity, readonly Coding[]>> = {
  hispanic: [{ system: STANDARD.cdcRace, code: '2135-2' }],
  'not-hispanic': [{ system: STANDARD.cdcRace, code: '2186-5' }],
  mexican: [{ system: STANDARD.cdcRace, code: '2135-2' }],
  declined: [{ system: STANDARD.nullFlavor, code: 'ASKU' }],
  unknown: [{ system: STANDARD.nullFlavor, code: 'UNK' }],
};

const EPIC_RACE: Readonly<Record<Race, string>> = {
  white: '1',
  black: '2',
  aian: '3',
  asian: '4',
  nhpi: '5',
  other: '6',
  chinese: '10',
  'asian-indian': '11',
  multiple: '9',
  declined: '7',
  unknown: '8',
};
const EPIC_ETHNICITY: Readonly<Record<Ethnicity, string>> = {
  hispanic: '1',
  'not-hispanic': '2',
  mexican: '5',
  declined: '3',
  unknown: '4',
};

/** Millennium code values (code sets 282 and 27); Millennium has no detailed Asian values nor "multiple". */
const CERNER_RACE: Readonly<Record<Race, string>> = {
  white: '309316',
  black: '309317',
  aian: '309318',
  asian: '309319',
  chinese: '309319',
  'asian-indian': '309319',
  nhpi: '309320',
  other: '309321',
  multiple: '309321',
  declined: '309322',
  unknown: '309323',
};
const CERNER_ETHNICITY: Readonly<Record<Ethnicity, string>> = {
  hispanic: '309330',
  mexican: '309330',
  'not-hispanic': '309331',
  declined: '309332',
  unknown: '309333',
};

const extension = (url: string, codings: readonly Coding[], text: string): Extension => ({
  url,
  extension: [...codings.map((valueCoding): Extension => ({ url: 'ombCategory', valueCoding })), { url: 'text', valueString: text }],
});

export type RaceCoder = (race: Race, ethnicity: Ethnicity) => Extension[];

/** Epic: its category-list codes in ombCategory, where US Core expects the CDC code. */
export const epicRace: RaceCoder = (race, ethnicity) => [
  extension(STANDARD.usCoreRace, [{ system: EPIC.raceSystem, code: EPIC_RACE[race], display: RACE_DISPLAY[race] }], RACE_DISPLAY[race]),
  extension(
    STANDARD.usCoreEthnicity,
    [{ system: EPIC.ethnicitySystem, code: EPIC_ETHNICITY[ethnicity], display: ETHNICITY_DISPLAY[ethnicity] }],
    ETHNICITY_DISPLAY[ethnicity],
  ),
];

/** Oracle Health: the Millennium code value first, then the standard code when there is one. */
export const cernerRace: RaceCoder = (race, ethnicity) => [
  extension(
    STANDARD.usCoreRace,
    [
      { system: cernerCodeSet(CERNER_CODE_SETS.race), code: CERNER_RACE[race], display: RACE_DISPLAY[race], userSelected: true },
      ...CDC_RACE[race],
    ],
    RACE_DISPLAY[race],
  ),
  extension(
    STANDARD.usCoreEthnicity,
    [
      {
        system: cernerCodeSet(CERNER_CODE_SETS.ethnicity),
        code: CERNER_ETHNICITY[ethnicity],
        display: ETHNICITY_DISPLAY[ethnicity],
        userSelected: true,
      },
      ...CDC_ETHNICITY[ethnicity],
    ],
    ETHNICITY_DISPLAY[ethnicity],
  ),
];

/** The standard codes only (US Core as written). */
export const standardRace: RaceCoder = (race, ethnicity) => [
  extension(STANDARD.usCoreRace, CDC_RACE[race], RACE_DISPLAY[race]),
  extension(STANDARD.usCoreEthnicity, CDC_ETHNICITY[ethnicity], ETHNICITY_DISPLAY[ethnicity]),
];
