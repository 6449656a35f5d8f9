// Shapes both vendors share (the standard status and category concepts).
import type { CodeableConcept } from '../fhir-types.ts';
import { STANDARD } from './constants.ts';

const STATUS_DISPLAY: Readonly<Record<string, string>> = {
  active: 'Active',
  resolved: 'Resolved',
  inactive: 'Inactive',
  confirmed: 'Confirmed',
  provisional: 'Provisional',
  unconfirmed: 'Unconfirmed',
};

export const statusConcept = (system: string, code: string): CodeableConcept => ({
  coding: [{ system, code, display: STATUS_DISPLAY[code] ?? code }],
  text: STATUS_DISPLAY[code] ?? code,
});

export const categoryConcept = (problem: boolean): CodeableConcept =>
  problem
    ? {
        coding: [{ system: STANDARD.conditionCategory, code: 'problem-list-item', display: 'Problem List Item' }],
        text: 'Problem List Item',
      }
    : {
        coding: [{ system: STANDARD.conditionCategory, code: 'encounter-diagnosis', display: 'Encounter Diagnosis' }],
        text: 'Encounter Diagnosis',
      };
