// Vendor adapter resolvers, the same for every vendor: the record type name and the vendor
// profile come from configuration. A record is resolved only for a connection of this adapter,
// and only when the MPI links it to a golden patient the caller may see.
import DataLoader from 'dataloader';
import { linksBySourceRecords, type SourceLink } from '../../orchestration/mpi/store.ts';
import { mayAccessSourceRecord, mayAccessSourceRecords } from '../../policies/object-access.ts';
import type { GraphQLResolveInfo } from 'graphql';
import { perRequest, type SubgraphContext } from '../shared/context.ts';
import { launchPatient } from '../shared/launch-context.ts';
import { warn } from '../shared/warnings.ts';
import {
  clinicalLoader,
  staleWarning,
  truncationWarning,
  type ClinicalSourceDeps,
  type ClinicalType,
  type SourceConnection,
} from '../../orchestration/clinical/read-through.ts';
import { parseRecordId, type RecordRef } from './record-ref.ts';

export type VendorAdapterDeps = ClinicalSourceDeps & { readonly connections: ReadonlyMap<string, SourceConnection> };

export function vendorAdapterResolvers(recordType: string, deps: VendorAdapterDeps) {
  const load = (type: ClinicalType) => async (ref: RecordRef, _args: unknown, ctx: SubgraphContext, info: GraphQLResolveInfo) => {
    const connection = deps.connections.get(ref.source)!;
    const list = await perRequest(ctx, `${ref.source}/${type}`, () => clinicalLoader(deps, connection, type)).load(ref.patientId);
    // A long history the source returned in part: what was read, and a warning at this list's path.
    if (list.truncated) warn(ctx, info, truncationWarning(ref.source, type, list.truncated));
    // The EHR could not be asked again: the stored list, and how old it is.
    if (list.stale) warn(ctx, info, staleWarning(ref.source, type, list.stale));
    return list.values;
  };
  // The MPI's link table (in the database the subgraphs share), one query per page of lookups.
  const links = (ctx: SubgraphContext) =>
    perRequest(
      ctx,
      'source-record-links',
      () =>
        new DataLoader<RecordRef, SourceLink | undefined, string>(
          (refs) =>
            linksBySourceRecords(
              deps.db,
              refs.map((r) => ({ source: r.source, sourcePatientId: r.patientId })),
            ),
          { cacheKeyFn: (r) => r.id },
        ),
    );
  return {
    [recordType]: {
      async __resolveReference(ref: { id: string }, ctx: SubgraphContext): Promise<RecordRef | null> {
        const parsed = parseRecordId(ref.id);
        // Unknown connection, malformed id or a caller who may not see source records: null, no detail.
        if (!parsed || !deps.connections.has(parsed.source) || !mayAccessSourceRecords(ctx.principal)) return null;
        // Clinical data only for records the MPI links: a well-formed id of a record no golden patient
        // holds is null, like one that does not exist. A token bound to one patient reaches only the
        // records linked to that golden patient.
        const link = await links(ctx).load(parsed);
        return link && mayAccessSourceRecord(ctx.principal, await launchPatient(ctx, deps.db), link.goldenId) ? parsed : null;
      },
      observations: load('Observation'),
      conditions: load('Condition'),
      medications: load('MedicationRequest'),
    },
  };
}
