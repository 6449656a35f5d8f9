// Saved cohorts and their exports on the MPI subgraph. Only resolving here: arguments checked,
// the caller's view decided (policies/object-access.ts), the work done by orchestration/cohort.
// Members are paged by the very function patients() uses (cohortConnection), so what a caller
// sees of a cohort's member, the small-cell rule and the audit of a page are patients()' own.
//
// Who: every caller who may page through patients (clinicians for treatment, stewards, analysts),
// never a token bound to one patient (SMART launch). A cohort keeps the view it was defined in;
// one defined in the identified view is invisible to de-identified callers (it could select on
// what they may not see). An export is its requester's alone.
import type { GraphQLResolveInfo } from 'graphql';
import DataLoader from 'dataloader';
import { writeAuditEvents } from '../../orchestration/audit/audit-log.ts';
import {
  cohortCriteria,
  cursorScope,
  type CohortCoarsening,
  type CohortOrder,
  type CriteriaContext,
  type Criterion,
  type PatientFilterInput,
} from '../../orchestration/cohort/cohort.ts';
import { canonicalJson } from '../../orchestration/cohort/cursor.ts';
import { exportJobById, requestExport, type ExportJob } from '../../orchestration/cohort/export.ts';
import {
  COHORT_VIEW,
  cohortName,
  cohortsByIds,
  cohortSnapshots,
  cohortVersions,
  createCohort,
  snapshotAt,
  snapshotById,
  takeSnapshot,
  updateCohort,
  type CohortSnapshot,
  type CohortView,
  type SavedCohort,
} from '../../orchestration/cohort/saved.ts';
import type { Queryable } from '../../platform/db.ts';
import { badUserInput, forbidden, notFound } from '../../platform/errors.ts';
import { mayAccessPatients, mayIdentifyPatients } from '../../policies/object-access.ts';
import { deidentifiedCount, type SafeHarborConfig } from '../../policies/safe-harbor.ts';
import { hasRole, type Principal } from '../../security/principal.ts';
import { allowsRead, parseScopes } from '../../security/smart-scopes.ts';
import { CLINICAL_FIELDS } from '../../translation/fhir-r4/clinical-fields.ts';
import { pageSize, text } from '../shared/arguments.ts';
import { perRequest, requestAuditContext, type SubgraphContext } from '../shared/context.ts';
import type {
  CohortResolvers,
  CohortSnapshotResolvers,
  CohortVersionResolvers,
  ExportJobResolvers,
  Resolvers,
  ResolversTypes,
} from './__generated__/resolvers.ts';
import type { MpiDependencies } from './resolvers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
/**
 * Cohort pages (patients(filter), Cohort.members): analytics tools stream cohorts, so fewer, larger
 * round trips (platform/operation-limits caps them too, and its cost bound limits what they select).
 */
export const COHORT_PAGE_SIZE = 1000;

/** A page of a cohort as patients() pages it (resolvers.ts): its criteria, or the snapshot to page instead. */
export type CohortConnectionRequest = {
  readonly criteria: Criterion;
  readonly order: CohortOrder;
  readonly deidentified: boolean;
  /** What the page's cursors are bound to (cursorScope). */
  readonly scope: string;
  readonly first: number;
  readonly after: string | null | undefined;
  readonly snapshot?: CohortSnapshot;
};

/** What the cohort resolvers share with patients() (resolvers.ts). */
export type CohortShared = {
  readonly criteriaContext: (deidentified: boolean) => CriteriaContext;
  readonly coarsening: () => CohortCoarsening;
  readonly cohortConnection: (
    ctx: SubgraphContext,
    info: GraphQLResolveInfo,
    r: CohortConnectionRequest,
  ) => Promise<ResolversTypes['PatientConnection']>;
};

const viewOf = (p: Principal): CohortView => (mayIdentifyPatients(p) ? COHORT_VIEW.identified : COHORT_VIEW.deidentified);
/** Cohorts are population work: not for a token bound to one patient. */
const mayUseCohorts = (p: Principal): boolean => mayAccessPatients(p) && p.patientContext === null;
const mayRead = (p: Principal, c: SavedCohort): boolean =>
  mayUseCohorts(p) && (c.view === COHORT_VIEW.deidentified || viewOf(p) === COHORT_VIEW.identified);

function uuidArg(id: string, argument: string): string {
  if (!UUID.test(id)) throw badUserInput(`\`${argument}\` must be an id returned by this API (a UUID)`, argument);
  return id.toLowerCase();
}

/** The clinical resource types an export may hold for this caller: what the merged clinical view lets them read, by SMART scope. */
function exportTypes(p: Principal, view: CohortView): string[] {
  const scopes = parseScopes(p.scopes);
  // Analysts get clinical data de-identified; in the identified view, clinicians for treatment only (policies/clinical-view.ts).
  const clinical =
    view === COHORT_VIEW.deidentified
      ? hasRole(p, 'analyst')
      : hasRole(p, 'clinician') && (p.purposeOfUse === 'TREAT' || p.purposeOfUse === 'ETREAT');
  return ['Patient', ...(clinical ? Object.keys(CLINICAL_FIELDS) : [])].filter((t) => allowsRead(scopes, t));
}

const STATUS = { queued: 'QUEUED', running: 'RUNNING', completed: 'COMPLETED', failed: 'FAILED', expired: 'EXPIRED' } as const;

export function cohortResolvers(
  deps: MpiDependencies & { readonly safeHarbor: SafeHarborConfig },
  shared: CohortShared,
): {
  Query: Resolvers['Query'];
  Mutation: Resolvers['Mutation'];
  types: Pick<Resolvers, 'Cohort' | 'CohortVersion' | 'CohortSnapshot' | 'ExportJob'>;
} {
  const { db } = deps;
  const cohortLoader = (ctx: SubgraphContext) =>
    perRequest(
      ctx,
      'cohort',
      () =>
        new DataLoader<string, SavedCohort | undefined>(async (ids) => {
          const found = await cohortsByIds(db, ids);
          return ids.map((id) => found.get(id));
        }),
    );
  /** The cohort if the caller may read it; NOT_FOUND otherwise (whether it exists or not). */
  const readable = async (id: string, ctx: SubgraphContext, argument = 'id'): Promise<SavedCohort> => {
    const c = await cohortLoader(ctx).load(uuidArg(id, argument));
    if (!c || !mayRead(ctx.principal, c)) throw notFound(`no cohort ${id}`);
    return c;
  };
  /** The filter checked as patients() checks it, in the cohort's view; BAD_USER_INPUT names the argument. */
  const criteriaOf = (filter: PatientFilterInput, view: CohortView): Criterion => {
    text(filter.gender, 'filter.gender');
    text(filter.source, 'filter.source');
    return cohortCriteria(filter, shared.criteriaContext(view === COHORT_VIEW.deidentified));
  };
  const audit = (ctx: SubgraphContext, field: string) => (tx: Queryable, cohortId: string, version: number) =>
    writeAuditEvents(
      tx,
      requestAuditContext(ctx),
      [{ patientRef: `Cohort/${cohortId}`, fields: [`Mutation.${field}`, `Cohort.version=${version}`], rules: ['cohortAuthor'] }],
      [],
    ).then(() => undefined);
  const snapshotOf = async (c: SavedCohort, id: string, argument: string): Promise<CohortSnapshot> => {
    const s = await snapshotById(db, uuidArg(id, argument));
    if (!s || s.cohortId !== c.id) throw badUserInput(`\`${argument}\` is not a snapshot of this cohort`, argument);
    return s;
  };
  const snapshotNow = (c: SavedCohort, ctx: SubgraphContext): Promise<CohortSnapshot> =>
    takeSnapshot(db, {
      cohortId: c.id,
      version: c.version,
      criteria: criteriaOf(c.filter, c.view),
      coarsening: shared.coarsening(),
      actor: ctx.principal.sub,
    });
  const shownCount = (n: number, ctx: SubgraphContext): number | null =>
    viewOf(ctx.principal) === COHORT_VIEW.deidentified ? deidentifiedCount(n, deps.safeHarbor.minimumCount) : n;

  const Cohort: CohortResolvers = {
    view: (c) => (c.view === COHORT_VIEW.identified ? 'IDENTIFIED' : 'DEIDENTIFIED'),
    filter: (c) => canonicalJson(c.filter),
    versions: (c) => cohortVersions(db, c.id),
    snapshots: (c) => cohortSnapshots(db, c.id),
    async members(c, { first, after, snapshot, asOf }, ctx, info) {
      if (snapshot != null && asOf != null) throw badUserInput('give `snapshot` or `asOf`, not both', 'asOf');
      const size = pageSize(first, 20, COHORT_PAGE_SIZE);
      let taken: CohortSnapshot | undefined;
      if (snapshot != null) taken = await snapshotOf(c, snapshot, 'snapshot');
      if (asOf != null) {
        if (!INSTANT.test(asOf) || Number.isNaN(Date.parse(asOf)))
          throw badUserInput('`asOf` must be an instant (ISO 8601 with a time zone)', 'asOf');
        taken = (await snapshotAt(db, c.id, new Date(asOf).toISOString())) ?? undefined;
        if (!taken) throw badUserInput('`asOf` is before the first snapshot of this cohort (snapshotCohort takes one)', 'asOf');
      }
      const deidentified = viewOf(ctx.principal) === COHORT_VIEW.deidentified;
      // Live pages are bound to the version they were issued for; snapshot pages to the snapshot.
      const scope = cursorScope(
        taken ? { cohort: c.id, snapshot: taken.id } : { cohort: c.id, version: c.version },
        'ID',
        deidentified ? 'deidentified' : 'identified',
      );
      return shared.cohortConnection(ctx, info, {
        criteria: taken ? { kind: 'all', of: [] } : criteriaOf(c.filter, c.view),
        order: 'ID',
        deidentified,
        scope,
        first: size,
        after,
        ...(taken ? { snapshot: taken } : {}),
      });
    },
  };
  const CohortVersion: CohortVersionResolvers = { filter: (v) => canonicalJson(v.filter) };
  const CohortSnapshot: CohortSnapshotResolvers = {
    memberCount: (s, _a, ctx) => shownCount(s.memberCount, ctx),
    countSuppressed: (s, _a, ctx) => shownCount(s.memberCount, ctx) === null,
  };
  const ExportJob: ExportJobResolvers = {
    status: (j) => STATUS[j.status],
    manifestUrl: (j) =>
      j.status === 'completed' && deps.exports ? `${deps.exports.baseUrl().replace(/\/+$/, '')}/exports/${j.id}/manifest.json` : null,
    types: (j) => [...j.types],
  };

  return {
    Query: {
      async cohort(_p, { id }, ctx) {
        const c = await cohortLoader(ctx).load(uuidArg(id, 'id'));
        return c && mayRead(ctx.principal, c) ? c : null;
      },
      async exportJob(_p, { id }, ctx) {
        const job = await exportJobById(db, uuidArg(id, 'id'));
        // Another's job is indistinguishable from none.
        return job && job.requester === ctx.principal.sub && mayUseCohorts(ctx.principal) ? job : null;
      },
    },
    Mutation: {
      async createCohort(_p, { name, filter }, ctx) {
        if (!mayUseCohorts(ctx.principal)) throw forbidden();
        const checked = cohortName(name);
        if (checked === null) throw badUserInput('`name` must be 1 to 200 printable characters', 'name');
        const view = viewOf(ctx.principal);
        criteriaOf(filter, view);
        return createCohort(db, { name: checked, filter, view, actor: ctx.principal.sub }, audit(ctx, 'createCohort'));
      },
      async updateCohort(_p, { id, filter, expectedVersion }, ctx) {
        const c = await readable(id, ctx);
        if (expectedVersion < 1) throw badUserInput('`expectedVersion` must be a version of the cohort (1 or more)', 'expectedVersion');
        criteriaOf(filter, c.view);
        const updated = await updateCohort(db, { id: c.id, filter, expectedVersion, actor: ctx.principal.sub }, audit(ctx, 'updateCohort'));
        cohortLoader(ctx).clear(c.id).prime(c.id, updated);
        return updated;
      },
      snapshotCohort: async (_p, { id }, ctx) => snapshotNow(await readable(id, ctx), ctx),
      async exportCohort(_p, { id, snapshot }, ctx) {
        const c = await readable(id, ctx);
        if (!deps.exports) throw forbidden();
        const taken = snapshot != null ? await snapshotOf(c, snapshot, 'snapshot') : await snapshotNow(c, ctx);
        const view = viewOf(ctx.principal);
        // The small-cell rule holds for exports too: a de-identified export of a tiny cohort is refused.
        if (shownCount(taken.memberCount, ctx) === null)
          throw badUserInput(`the cohort has fewer than ${deps.safeHarbor.minimumCount} members: too few to export de-identified`, 'id');
        const job: ExportJob = await requestExport(db, {
          snapshot: taken,
          principal: ctx.principal,
          view,
          types: exportTypes(ctx.principal, view),
        });
        deps.exports.wake();
        return job;
      },
    },
    types: { Cohort, CohortVersion, CohortSnapshot, ExportJob },
  };
}
