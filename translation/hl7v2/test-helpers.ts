// Shared by the HL7 v2 translation tests: a feed's context, and the existing FHIR path (the MPI's
// sourceDemographics with the hl7v2 profile, the clinical store's toCanonicalItem) its output must pass.
import { loadVendorProfile } from '../../platform/config.ts';
import { sourceDemographics } from '../fhir-r4/patient.ts';
import { toCanonicalItem } from '../fhir-r4/clinical-item.ts';
import { loadTerminology } from '../terminology/translate.ts';
import type { FhirResource, Hl7TranslationContext } from './contract.ts';

/** A feed whose own MRNs and internal ids are under the given systems. */
export const feedContext = (source: string, timeZone: string, systems: { MR: string; PI: string }): Hl7TranslationContext => ({
  source,
  timeZone,
  identifierSystems: systems,
});

export function fhirPath(context: Hl7TranslationContext) {
  const profile = loadVendorProfile('hl7v2');
  const terminology = loadTerminology();
  const systems = { MR: context.identifierSystems.MR ?? '', PI: context.identifierSystems.PI ?? '' };
  return {
    demographics: (patient: FhirResource) =>
      sourceDemographics(patient as never, { source: context.source, systems }, profile, terminology),
    item: (resource: FhirResource) =>
      toCanonicalItem(resource, {
        source: context.source,
        timeZone: context.timeZone,
        retrievedAt: '2026-12-05T00:00:00Z',
        softwareVersion: 'test',
        terminology,
      }),
  };
}
