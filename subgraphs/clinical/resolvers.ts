// Clinical subgraph resolvers: a golden patient's clinical data merged across its source records,
// read from the canonical clinical store. Statements per request are bounded whatever the number
// of patients: one to follow merge redirects for every patient asked for, then one per list and
// arguments (DataLoader: each list of each patient of the request in one statement).
import DataLoader from 'dataloader';
import type { Queryable } from '../../platform/db.ts';
import { badUserInput } from '../../platform/errors.ts';
import { activeGoldenIds } from '../../orchestration/mpi/store.ts';
import { isMergedCursor, mergedItemsFor, type MergedFilter, type MergedPage } from '../../orchestration/clinical-store/store.ts';
import type { ClinicalResourceType } from '../../translation/fhir-r4/clinical-fields.ts';
import { mayAccessPatient, mayAccessPatients } from '../../policies/object-access.ts';
import { instant, text } from '../shared/arguments.ts';
import { perRequest, type SubgraphContext } from '../shared/context.ts';
import { launchPatient } from '../shared/launch-context.ts';
import type { PatientObservationsArgs, Resolvers } from './__generated__/resolvers.ts';
import type { ClinicalPatient, Coding, MergedItem } from './model.ts';

export type ClinicalDependencies = { readonly db: Queryable };

/** The resource types behind each list of `Patient`. */
export const CLINICAL_LISTS = {
  observations: ['Observation'],
  conditions: ['Condition'],
  medications: ['MedicationRequest', 'MedicationAdministration', 'MedicationStatement'],
  carePlans: ['CarePlan'],
  goals: ['Goal'],
  procedures: ['Procedure'],
  diagnosticReports: ['DiagnosticReport'],
  encounters: ['Encounter'],
  orders: ['ServiceRequest'],
  immunizations: ['Immunization'],
} as const satisfies Record<string, readonly ClinicalResourceType[]>;

export const DEFAULT_PAGE = 50;
/** The public contract's page bound (`first` ≤ 100), as the gateway's operation limits enforce it. */
export const MAX_CLINICAL_PAGE = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `system|code`, as the store indexes codings. */
const CODE_TOKEN = /^[^|]*\|[^|]+$/;

/** Checks a list's arguments (BAD_USER_INPUT naming the argument) and turns them into the store's filter. */
function filterOf(types: readonly ClinicalResourceType[], args: PatientObservationsArgs): MergedFilter {
  const code = text(args.code, 'code');
  if (code !== null && !CODE_TOKEN.test(code)) throw badUserInput('`code` must be `system|code`, e.g. `http://loinc.org|2339-0`', 'code');
  const from = instant(args.from, 'from');
  const to = instant(args.to, 'to');
  const first = args.first ?? DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_CLINICAL_PAGE)
    throw badUserInput(`\`first\` must be between 1 and ${MAX_CLINICAL_PAGE}`, 'first');
  if (args.after != null && !isMergedCursor(args.after)) throw badUserInput('`after` is not a cursor of this list', 'after');
  return {
    types,
    first,
    ...(code !== null ? { code } : {}),
    ...(from !== null ? { from } : {}),
    ...(to !== null ? { to } : {}),
    ...(args.after != null ? { after: args.after } : {}),
  };
}

const codingOf = (c: Coding): Coding | undefined => (typeof c.code === 'string' && c.code !== '' ? c : undefined);

export function clinicalResolvers({ db }: ClinicalDependencies): Resolvers {
  // Merge redirects for every patient of the request, in one statement.
  const active = (ctx: SubgraphContext) =>
    perRequest(
      ctx,
      'clinical:active',
      () =>
        new DataLoader<string, string | undefined>(async (ids) => {
          const found = await activeGoldenIds(db, ids);
          return ids.map((id) => found.get(id));
        }),
    );
  // One loader per list and arguments: every patient of the request asking the same list, one statement.
  const pages = (ctx: SubgraphContext, list: string, filter: MergedFilter) =>
    perRequest(
      ctx,
      `clinical:${list}:${JSON.stringify(filter)}`,
      () =>
        new DataLoader<string, MergedPage>(async (ids) => {
          const found = await mergedItemsFor(db, ids, filter);
          return ids.map((id) => found.get(id)!);
        }),
    );
  const list =
    (name: keyof typeof CLINICAL_LISTS) =>
    (patient: ClinicalPatient, args: PatientObservationsArgs, ctx: SubgraphContext): Promise<MergedPage> => {
      const filter = filterOf(CLINICAL_LISTS[name], args);
      return pages(ctx, name, filter).load(patient.id);
    };

  return {
    Patient: {
      // The gateway's entity lookups (and any other): null for an id that is not a golden patient the
      // caller may see, so `__typename` alone never confirms a patient. A merged id answers as its survivor.
      async __resolveReference(ref, ctx): Promise<ClinicalPatient | null> {
        if (typeof ref.id !== 'string' || !UUID.test(ref.id) || !mayAccessPatients(ctx.principal)) return null;
        const launch = await launchPatient(ctx, db);
        if (launch === null) return null;
        const id = await active(ctx).load(ref.id.toLowerCase());
        return id !== undefined && mayAccessPatient(ctx.principal, launch, id) ? { id } : null;
      },
      observations: list('observations'),
      conditions: list('conditions'),
      medications: list('medications'),
      carePlans: list('carePlans'),
      goals: list('goals'),
      procedures: list('procedures'),
      diagnosticReports: list('diagnosticReports'),
      encounters: list('encounters'),
      orders: list('orders'),
      immunizations: list('immunizations'),
    },
    ClinicalItemConnection: {
      edges: (page) => page.items.map((node) => ({ cursor: node.cursor, node })),
      nodes: (page) => [...page.items],
      pageInfo: (page) => ({ hasNextPage: page.hasNextPage, endCursor: page.endCursor }),
    },
    ClinicalItem: {
      id: (item) => item.factKey,
      status: (item) => (typeof item.resource.status === 'string' ? item.resource.status : null),
      // The standard coding, with its display from the resource when it has one.
      code: (item: MergedItem) =>
        item.code === null
          ? null
          : (item.codings.find((c) => c.code === item.code!.code && (c.system ?? null) === item.code!.system) ?? {
              code: item.code.code,
              ...(item.code.system !== null ? { system: item.code.system } : {}),
            }),
      codings: (item) => item.codings.flatMap((c) => codingOf(c) ?? []),
      originalCodings: (item) => item.originalCodings.flatMap((c) => codingOf(c) ?? []),
      fhir: (item) => JSON.stringify(item.resource),
    },
    ClinicalCode: {
      code: (c) => c.code ?? '',
    },
  };
}
