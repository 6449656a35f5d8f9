// A long clinical history for paging tests: the first patient of a site gets `count` more
// Observations, copies of its own with new ids (deterministic: the same data gives the same ids).
// A real EHR holds decades of vitals and labs for some patients; the generated population does not.
import type { FhirObservation } from '../fhir-types.ts';
import type { SiteData } from '../site-data.ts';

export type LargeHistory = {
  /** Observations added to the first patient of every site. */
  readonly observations: number;
};

export function withLargeHistory(data: SiteData, history: LargeHistory): SiteData {
  const patient = data.patients[0];
  if (!patient || history.observations <= 0) return data;
  const reference = `Patient/${patient.id}`;
  const own = data.resources.Observation.filter((o) => o.subject.reference === reference);
  if (own.length === 0) return data;
  const extra = Array.from({ length: history.observations }, (_, k): FhirObservation => {
    const template = own[k % own.length]!;
    // `.` and digits are valid in every vendor's ids and in FHIR's (at most 64 characters).
    return { ...template, id: `${template.id.slice(0, 50)}.${k}` };
  });
  return { ...data, resources: { ...data.resources, Observation: [...data.resources.Observation, ...extra] } };
}
