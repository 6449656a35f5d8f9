// MPI subgraph resolvers: golden patients by id, by identifier and by page, with their linked
// source records. Lookups are batched per request (DataLoader) and every one passes the
// object-level check, entity lookups from the gateway included.
import { randomBytes, createSecretKey, type KeyObject } from 'node:crypto';
import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import type { AdapterConfig, AnyConnectionConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import {
  goldenByIds,
  goldenIdsByIdentifier,
  linkBySourceRecord,
  linksForGolden,
  type GoldenPatient,
  type SourceLink,
} from '../../orchestration/mpi/store.ts';
import { mayAccessPatient, mayAccessPatients, mayAccessSourceRecord, mayIdentifyPatients } from '../../policies/object-access.ts';
import {
  ageOver89,
  deidentifiedBirthYear,
  deidentifiedCount,
  deidentifiedZip3,
  loadSafeHarbor,
  oldestCategoryBirthYear,
  type SafeHarborConfig,
} from '../../policies/safe-harbor.ts';
import { badUserInput, ProductError } from '../../platform/errors.ts';
import {
  COHORT_ORDER,
  cohortCriteria,
  cohortCursors,
  cohortPage,
  cursorScope,
  snomedDescendants,
  type CriteriaContext,
} from '../../orchestration/cohort/cohort.ts';
import { snapshotPage } from '../../orchestration/cohort/saved.ts';
import { defaultTerminology } from '../../translation/terminology/translate.ts';
import { loadUnitRules } from '../../translation/units.ts';
import { pageSize, selects, text } from '../shared/arguments.ts';
import { perRequest, type SubgraphContext } from '../shared/context.ts';
import { launchPatient } from '../shared/launch-context.ts';
import type { Resolvers } from './__generated__/resolvers.ts';
import { COHORT_PAGE_SIZE, cohortResolvers, type CohortConnectionRequest } from './cohort-resolvers.ts';
import { SOURCE_RECORD_ID, stewardResolvers } from './steward-resolvers.ts';

export const MAX_PAGE_SIZE = 100;
const COUNT_FIELDS: ReadonlySet<string> = new Set(['totalCount', 'totalCountIsEstimate', 'countSuppressed']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type MpiDependencies = {
  readonly db: Database;
  readonly protection: IdentifierProtection;
  readonly adapters: readonly AdapterConfig[];
  readonly connections: readonly AnyConnectionConfig[];
  /** The de-identified view's rules (config/safe-harbor.json when absent). */
  readonly safeHarbor?: SafeHarborConfig;
  /**
   * HMAC key of cohort cursors (key store: cohort-cursor). Without one, a key of this process's own:
   * its cursors are then refused by other processes and after a restart.
   */
  readonly cursorKey?: KeyObject;
  /** Cohort exports (orchestration/cohort/export.ts): without them, exportCohort is refused. */
  readonly exports?: {
    /** Files of completed jobs: `<dir>/<job id>/`. */
    readonly dir: string;
    /** The public base of download URLs (the gateway's origin). */
    baseUrl(): string;
    /** Tells the worker a job is queued. */
    wake(): void;
  };
};

const currentYear = (): number => new Date().getUTCFullYear();

export function mpiResolvers({ db, protection, adapters, connections, ...deps }: MpiDependencies): Resolvers {
  const safeHarbor = deps.safeHarbor ?? loadSafeHarbor();
  const restrictedZip3 = [...safeHarbor.restrictedZip3];
  const cursors = cohortCursors(deps.cursorKey ?? createSecretKey(randomBytes(32)));
  // Read once, on the first clinical filter: the concept maps and unit rules the store was written with.
  let clinicalRules: Pick<CriteriaContext, 'units' | 'descendants'> | undefined;
  const criteriaContext = (deidentified: boolean): CriteriaContext => ({
    ...(clinicalRules ??= { units: loadUnitRules(), descendants: snomedDescendants(defaultTerminology()) }),
    deidentified,
    sources: new Set(connections.map((c) => c.id)),
    today: new Date().toISOString().slice(0, 10),
  });
  const recordTypeBySource = new Map(connections.map((c) => [c.id, adapters.find((a) => a.name === c.adapter)?.recordType]));
  const goldenLoader = (ctx: SubgraphContext) =>
    perRequest(
      ctx,
      'golden',
      () =>
        new DataLoader<string, GoldenPatient | undefined>(async (ids) => {
          const found = await goldenByIds(db, ids, protection);
          return ids.map((id) => found.get(id));
        }),
    );
  const linksLoader = (ctx: SubgraphContext) =>
    perRequest(
      ctx,
      'links',
      () =>
        new DataLoader<string, SourceLink[]>(async (ids) => {
          const found = await linksForGolden(db, ids);
          return ids.map((id) => found.get(id) ?? []);
        }),
    );
  // Checked on the record found, after merge redirects: a launch bound to a survivor reaches it through a merged id too.
  const patientById = async (id: string, ctx: SubgraphContext): Promise<GoldenPatient | null> => {
    if (!UUID.test(id) || !mayAccessPatients(ctx.principal)) return null;
    const launch = await launchPatient(ctx, db);
    if (launch === null) return null;
    const patient = await goldenLoader(ctx).load(id.toLowerCase());
    return patient && mayAccessPatient(ctx.principal, launch, patient.id) ? patient : null;
  };
  // Every patient the identifier names that the caller may see: a launch-bound token sees its own patient at most.
  const patientsByIdentifier = async (system: string, value: string, ctx: SubgraphContext): Promise<GoldenPatient[]> => {
    if (!system.trim() || !value.trim()) throw badUserInput('`system` and `value` must not be empty', system.trim() ? 'value' : 'system');
    text(system, 'system');
    text(value, 'value');
    if (!mayAccessPatients(ctx.principal)) return [];
    const ids = await goldenIdsByIdentifier(db, system, value, protection, MAX_PAGE_SIZE);
    const found = await Promise.all(ids.map((id) => patientById(id, ctx)));
    return found.filter((p): p is GoldenPatient => p !== null);
  };
  const mayReadRecordsOf = async (goldenId: string | undefined, ctx: SubgraphContext): Promise<boolean> =>
    mayAccessSourceRecord(ctx.principal, await launchPatient(ctx, db), goldenId);

  const sourceRecordStub = {
    source: (link: SourceLink) => link.source,
    mrn: (link: SourceLink) => link.mrn,
    id: (link: SourceLink) => `${link.source}:${link.sourcePatientId}`,
    async __resolveReference(ref: { id: string }, ctx: SubgraphContext) {
      const m = SOURCE_RECORD_ID.exec(ref.id);
      if (!m) return null;
      const link = await linkBySourceRecord(db, m[1]!, m[2]!);
      return link && (await mayReadRecordsOf(link.goldenId, ctx)) ? link : null;
    },
  };

  const none = { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCountIsEstimate: false };
  const coarsening = () => ({ oldestCategoryBirthYear: oldestCategoryBirthYear(currentYear()), restrictedZip3 });
  /**
   * A page of a cohort as a PatientConnection, for patients() and saved cohorts alike: who may page
   * at all, a launch-bound token's one patient, small cells withheld from de-identified callers,
   * signed cursors bound to `scope`. `snapshot` pages materialized members instead of the criteria.
   */
  const cohortConnection = async (ctx: SubgraphContext, info: GraphQLResolveInfo, r: CohortConnectionRequest) => {
    const position = r.after ? cursors.decode(r.scope, r.after) : null;
    if (!mayAccessPatients(ctx.principal)) return { ...none, totalCount: 0, countSuppressed: false };
    // A token bound to one patient (SMART launch context) pages through that patient only, or nobody when the MPI does not know them.
    const launch = await launchPatient(ctx, db);
    if (launch === null) return { ...none, totalCount: 0, countSuppressed: false };
    // Counting costs more than a page; analysts are always counted (small cells are withheld by the count),
    // but when they do not ask for the count, only whether it reaches the minimum matters.
    const counted = selects(info, COUNT_FIELDS);
    const count = r.deidentified || counted;
    const snap = r.snapshot ? await snapshotPage(db, protection, { snapshot: r.snapshot, first: r.first, after: position, count }) : null;
    const page =
      snap ??
      (await cohortPage(db, protection, {
        criteria: r.criteria,
        order: r.order,
        deidentified: r.deidentified,
        coarsening: coarsening(),
        onlyId: launch ?? null,
        first: r.first,
        after: position,
        count,
        ...(r.deidentified && !counted ? { countBound: safeHarbor.minimumCount, countFloorOnly: true } : {}),
        // An estimated count still decides small cells exactly (cohortPage proves or counts the floor).
        ...(r.deidentified && counted ? { smallCellFloor: safeHarbor.minimumCount } : {}),
      }));
    // Small cells: a caller who sees de-identified data only gets neither the count nor the members of a tiny cohort.
    if (r.deidentified && deidentifiedCount(page.totalCount, safeHarbor.minimumCount) === null)
      return { ...none, totalCount: null, countSuppressed: true };
    for (const m of page.members) goldenLoader(ctx).prime(m.patient.id, m.patient);
    const edges = page.members.map((m) => ({ cursor: cursors.encode(r.scope, m.position), node: m.patient }));
    // A snapshot page may end on a row whose member left since: the cursor still moves past it.
    const end = snap?.end ? cursors.encode(r.scope, snap.end) : (edges.at(-1)?.cursor ?? null);
    return {
      edges,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: end },
      totalCount: page.totalCount,
      countSuppressed: false,
      totalCountIsEstimate: page.totalCountIsEstimate,
    };
  };

  const steward = stewardResolvers({ db, protection, adapters, connections }, patientById);

  const cohorts = cohortResolvers(
    { db, protection, adapters, connections, ...deps, safeHarbor },
    { criteriaContext, cohortConnection, coarsening },
  );

  return {
    ...steward,
    ...cohorts.types,
    Mutation: { ...steward.Mutation, ...cohorts.Mutation },
    Query: {
      ...steward.Query,
      ...cohorts.Query,
      async patient(_p, { id }, ctx) {
        if (!UUID.test(id)) throw badUserInput('`id` must be a golden patient id (a UUID)', 'id');
        return patientById(id, ctx);
      },
      async patientByIdentifier(_p, { system, value }, ctx) {
        const found = await patientsByIdentifier(system, value, ctx);
        // Never a pick among several people: the error names how many, not who.
        if (found.length > 1)
          throw new ProductError(
            'AMBIGUOUS_IDENTIFIER',
            `This identifier names ${found.length} golden patients; none is returned. patientsByIdentifier lists them.`,
            { count: found.length },
          );
        return found[0] ?? null;
      },
      patientsByIdentifier: (_p, { system, value }, ctx) => patientsByIdentifier(system, value, ctx),
      async patients(_p, { filter, first, after, orderBy }, ctx, info) {
        const size = pageSize(first, 20, COHORT_PAGE_SIZE);
        // Analysts filter and sort on what they see; their cursors are theirs (the view is part of what a cursor is bound to).
        const deidentified = !mayIdentifyPatients(ctx.principal);
        text(filter?.gender, 'filter.gender');
        text(filter?.source, 'filter.source');
        // Update times are dates the de-identified view does not show (and a cursor would carry them).
        if (deidentified && orderBy === COHORT_ORDER.updatedAt)
          throw badUserInput('`orderBy` UPDATED_AT is finer than the de-identified view', 'orderBy');
        const criteria = cohortCriteria(filter, criteriaContext(deidentified));
        const scope = cursorScope(filter, orderBy, deidentified ? 'deidentified' : 'identified');
        return cohortConnection(ctx, info, { criteria, order: orderBy, deidentified, scope, first: size, after });
      },
    },
    Patient: {
      ...steward.Patient,
      __resolveReference: (ref, ctx) => patientById(ref.id, ctx),
      links: async (patient, _a, ctx) => ((await mayReadRecordsOf(patient.id, ctx)) ? linksLoader(ctx).load(patient.id) : []),
      sourceRecords: async (patient, _a, ctx) => ((await mayReadRecordsOf(patient.id, ctx)) ? linksLoader(ctx).load(patient.id) : []),
      // HIPAA Safe Harbor (policies/safe-harbor.ts), for every role: these are the de-identified fields.
      birthYear: (patient) => deidentifiedBirthYear(patient.birthDate, currentYear()),
      ageOver89: (patient) => ageOver89(patient.birthDate, currentYear()),
      postalCodePrefix: (patient) => deidentifiedZip3(patient.addresses[0]?.postalCode, safeHarbor.restrictedZip3),
    },
    SourceRecord: {
      __resolveType: (link) => (recordTypeBySource.get(link.source) ?? null) as never,
    },
    // One stub resolver map per vendor record type (EpicRecord, CernerRecord, ...), from configuration.
    ...Object.fromEntries(adapters.map((a) => [a.recordType, sourceRecordStub])),
  } as Resolvers;
}
