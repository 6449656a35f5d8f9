// What an export shows of each member, by the job's view: the identified view writes the golden
// record and the canonical clinical resources (about the golden patient); the de-identified view
// writes what the de-identified GraphQL view shows, through the same Safe Harbor functions
// (policies/safe-harbor.ts), and allow-listed clinical resources dated to the year.
import { createHash } from 'node:crypto';
import type { ExportRendering } from '../../orchestration/cohort/export.ts';
import type { GoldenPatient } from '../../orchestration/mpi/store.ts';
import { deidentifiedClinicalResource, deidentifiedPatientResource, type SafeHarborConfig } from '../../policies/safe-harbor.ts';
import type { FhirJson } from '../../translation/fhir-r4/clinical-fields.ts';

type Json = Record<string, unknown>;

/** Drops nulls, empty strings and empty lists (FHIR allows no empty elements). */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) {
    const list = value.map(compact).filter((v) => v !== undefined);
    return list.length > 0 ? list : undefined;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, compact(v)] as const)
      .filter(([, v]) => v !== undefined);
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  }
  return value === null || value === '' ? undefined : value;
}

/** The golden record as a FHIR Patient (identifiers without the gateway's own `source` member). */
export function goldenPatientResource(p: GoldenPatient): FhirJson {
  return {
    resourceType: 'Patient',
    id: p.id,
    ...(compact({
      identifier: p.identifiers.map((i) => ({
        system: i.system,
        value: i.value,
        ...(i.type ? { type: { coding: [{ code: i.type }] } } : {}),
      })),
      name: p.name ? [p.name] : [],
      telecom: p.telecom,
      gender: p.gender,
      birthDate: p.birthDate,
      address: p.addresses,
    }) as Json),
  };
}

/** A FHIR id for an exported item: its fact key (hex) in the identified view; in the de-identified view, one that differs per job. */
const itemId = (factKey: string, jobId: string | null): string =>
  jobId === null ? factKey.slice(0, 64) : createHash('sha256').update(`${jobId}\u0000${factKey}`).digest('hex');

/** The canonical resource about the golden patient: the subject (or Immunization's patient) points at Patient/<golden id>. */
function identifiedClinical(resource: FhirJson, id: string, patientId: string): FhirJson {
  const element = resource.resourceType === 'Immunization' ? 'patient' : 'subject';
  return { ...resource, id, [element]: { reference: `Patient/${patientId}` } };
}

export function exportRendering(safeHarbor: SafeHarborConfig, currentYear: () => number): ExportRendering {
  return {
    patient: (p, view) =>
      view === 'identified'
        ? goldenPatientResource(p)
        : deidentifiedPatientResource(
            { id: p.id, gender: p.gender, birthDate: p.birthDate, postalCode: p.addresses[0]?.postalCode ?? null },
            currentYear(),
            safeHarbor.restrictedZip3,
          ),
    clinical: (item, patientId, view, jobId) =>
      view === 'identified'
        ? identifiedClinical(item.resource, itemId(item.factKey, null), patientId)
        : deidentifiedClinicalResource(item.resource, itemId(item.factKey, jobId), patientId),
  };
}
