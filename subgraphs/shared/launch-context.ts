// The golden patient a SMART launch binds the caller to, resolved once per request from the
// principal's launch context (a golden id, or the launching EHR's `<connection>:<FHIR id>`)
// through the MPI's link table, which every subgraph can read. Not cached across requests: a
// steward's unlink or merge must bind the next request to the right person (one indexed lookup).
import type { Queryable } from '../../platform/db.ts';
import { activeGoldenId } from '../../orchestration/mpi/store.ts';
import type { LaunchPatient } from '../../policies/object-access.ts';
import { parseLaunchContext } from '../../security/launch-context.ts';
import { perRequest, type SubgraphContext } from './context.ts';

/** undefined: no launch context (any patient); null: a launch patient the MPI does not know (nobody); else its golden id. */
export function launchPatient(ctx: SubgraphContext, db: Queryable): Promise<LaunchPatient> {
  const claim = ctx.principal.patientContext;
  if (claim === null) return Promise.resolve(undefined);
  return perRequest(ctx, 'launchPatient', async () => {
    const ref = parseLaunchContext(claim);
    return ref ? ((await activeGoldenId(db, ref)) ?? null) : null;
  });
}
