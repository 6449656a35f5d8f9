// The impact query as the API asks it (layer 3): one selector (an inbound message, a source
// resource, or a concept map by id or url and version), a page of derived items, and the golden
// patients everything derived touched. A concept map is named as people know it (its id); lineage
// records `url|version`, resolved here with the maps configured now.
import type { Queryable } from '../../platform/db.ts';
import { badUserInput } from '../../platform/errors.ts';
import { loadConceptMaps, type LoadedConceptMap } from '../../translation/terminology/concept-maps.ts';
import { conceptMapLineageId, derivedFrom, goldenPatientsTouched, type ImpactRow, type ImpactSelector } from '../clinical-store/impact.ts';

export type ImpactInput = {
  readonly sourceMessage?: string | null;
  readonly resource?: { readonly source: string; readonly type: string; readonly id: string } | null;
  readonly conceptMap?: { readonly id: string; readonly version: string } | null;
};

export type ImpactResult = {
  readonly items: readonly ImpactRow[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
  readonly goldenPatientIds: readonly string[];
  readonly goldenPatientIdsComplete: boolean;
};

export const MAX_IMPACT_PAGE = 1000;
export const MAX_GOLDEN_TOUCHED = 1000;

/** The selector of an input naming exactly one of message, resource, concept map; else BAD_USER_INPUT. */
export function impactSelector(input: ImpactInput, maps: () => readonly LoadedConceptMap[] = loadConceptMaps): ImpactSelector {
  const given = [input.sourceMessage, input.resource, input.conceptMap].filter((x) => x !== null && x !== undefined);
  if (given.length !== 1) throw badUserInput('give exactly one of `sourceMessage`, `resource`, `conceptMap`', 'impact');
  if (input.sourceMessage) return { messageId: input.sourceMessage };
  if (input.resource) return { source: input.resource.source, resourceType: input.resource.type, resourceId: input.resource.id };
  const mapId = conceptMapLineageId(input.conceptMap!, maps());
  if (!mapId) throw badUserInput('`conceptMap.id` is neither the id of a configured concept map nor a canonical url', 'conceptMap');
  return { mapId };
}

export async function impact(db: Queryable, selector: ImpactSelector, first: number, after?: string | null): Promise<ImpactResult> {
  const [page, touched] = await Promise.all([
    first > 0 ? derivedFrom(db, selector, Math.min(first, MAX_IMPACT_PAGE), after ?? undefined) : null,
    goldenPatientsTouched(db, selector, MAX_GOLDEN_TOUCHED),
  ]);
  return {
    items: page?.items ?? [],
    endCursor: page?.endCursor ?? null,
    hasNextPage: page?.hasNextPage ?? false,
    goldenPatientIds: touched.ids,
    goldenPatientIdsComplete: touched.complete,
  };
}
