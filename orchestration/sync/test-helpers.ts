// Shared by the sync tests: the apply step of a FHIR source's inbox events, run in the test (as the
// workers do) so that a test knows when every event is applied.
import { loadVendorProfile } from '../../platform/config.ts';
import type { FhirSource } from '../../test/support/fhir-source.ts';
import { connectionIngest } from '../clinical-store/connection-ingest.ts';
import { applyFhirMessage, type FhirApplied, type FhirApplyDeps } from '../ingest/apply-fhir.ts';
import { claim, complete } from '../ingest/inbox.ts';

export function applyDeps(s: FhirSource): FhirApplyDeps {
  const profile = loadVendorProfile('epic');
  return {
    db: s.db,
    protection: s.protection,
    connections: new Map([[s.config.id, { connection: s.config, profile, ingest: connectionIngest(s.config, profile) }]]),
  };
}

/** Applies every ready inbox event; what each did, in order. */
export async function drain(deps: FhirApplyDeps): Promise<FhirApplied[]> {
  const done: FhirApplied[] = [];
  for (;;) {
    const batch = await claim(deps.db, { limit: 20, workerId: 'test' }, deps.protection);
    if (batch.length === 0) return done;
    for (const m of batch) {
      done.push(await applyFhirMessage(deps, m));
      if (!(await complete(deps.db, m))) throw new Error('claim lost');
    }
  }
}
