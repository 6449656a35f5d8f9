// Project-owned concept maps: FHIR R4 ConceptMap resources as JSON files, loaded and checked once
// at start. A map that cannot be applied safely stops the start with the file and element at
// fault, rather than mis-coding data later. Directories come from CONCEPT_MAP_DIRS (default
// config/concept-maps), so a deployment adds maps without code (README, "Concept maps").
import { readFileSync, readdirSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../platform/config.ts';
import { codeSyntaxProblem } from './code-syntax.ts';

/** ConceptMap.group.element.target.equivalence (R4): how the target's meaning relates to the source's. */
export const EQUIVALENCE = {
  relatedto: 'relatedto',
  equivalent: 'equivalent',
  equal: 'equal',
  wider: 'wider',
  subsumes: 'subsumes',
  narrower: 'narrower',
  specializes: 'specializes',
  inexact: 'inexact',
  unmatched: 'unmatched',
  disjoint: 'disjoint',
} as const;
export type Equivalence = (typeof EQUIVALENCE)[keyof typeof EQUIVALENCE];

/**
 * The equivalences that make a standard coding. Equal and equivalent say the same thing; wider and
 * subsumes (R4: the target subsumes the source) give a broader concept that is still true of the
 * datum (a local "Chinese" is OMB "Asian"), and the original coding keeps the detail. Narrower and
 * specializes would claim more than the source said, inexact and relatedto only overlap, and
 * unmatched and disjoint say there is no match: those leave the code unmapped.
 */
export const USABLE_EQUIVALENCES: ReadonlySet<Equivalence> = new Set([
  EQUIVALENCE.equal,
  EQUIVALENCE.equivalent,
  EQUIVALENCE.wider,
  EQUIVALENCE.subsumes,
]);

const NO_TARGET_CODE: ReadonlySet<Equivalence> = new Set([EQUIVALENCE.unmatched, EQUIVALENCE.disjoint]);
const STATUSES = new Set(['draft', 'active', 'retired', 'unknown']);

export type MapTarget = { readonly code?: string; readonly display?: string; readonly equivalence: Equivalence; readonly comment?: string };
export type MapElement = { readonly code: string; readonly display?: string; readonly target: readonly MapTarget[] };
export type MapGroup = { readonly source: string; readonly target: string; readonly element: readonly MapElement[] };
export type ConceptMap = {
  readonly resourceType: 'ConceptMap';
  readonly id: string;
  readonly url: string;
  readonly version: string;
  readonly name?: string;
  readonly status: string;
  readonly group: readonly MapGroup[];
};

export type LoadedConceptMap = {
  /** Where it was read from (relative to the project when inside it), for start-up errors. */
  readonly file: string;
  readonly map: ConceptMap;
  /** `url|version`: the map id recorded in lineage. */
  readonly canonical: string;
};

/** A map that cannot be used: `file` and `path` (FHIRPath-like, e.g. `group[0].element[2].target[0].code`) say where. */
export class ConceptMapError extends Error {
  readonly file: string;
  readonly path: string;
  constructor(file: string, path: string, reason: string) {
    super(`concept map ${file}${path ? `: ${path}` : ''}: ${reason}`);
    this.name = 'ConceptMapError';
    this.file = file;
    this.path = path;
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAbsoluteUri = (v: unknown): v is string =>
  typeof v === 'string' && /^(urn:[a-z0-9][a-z0-9-]*:\S+|[a-z][a-z0-9+.-]*:\/\/\S+)$/i.test(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** Checks one parsed ConceptMap and returns it typed; throws ConceptMapError naming the element at fault. */
export function parseConceptMap(json: unknown, file: string): ConceptMap {
  const fail = (path: string, reason: string): never => {
    throw new ConceptMapError(file, path, reason);
  };
  if (!isObject(json)) return fail('', 'not a JSON object');
  if (json.resourceType !== 'ConceptMap') fail('resourceType', 'must be "ConceptMap"');
  if (typeof json.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(json.id)) fail('id', 'a FHIR id is required');
  if (!isAbsoluteUri(json.url)) fail('url', 'an absolute URI is required (lineage names the map by url and version)');
  if (!nonEmpty(json.version)) fail('version', 'is required (lineage names the map by url and version)');
  if (typeof json.status !== 'string' || !STATUSES.has(json.status)) fail('status', 'must be draft, active, retired or unknown');
  if (!Array.isArray(json.group) || json.group.length === 0) fail('group', 'at least one group is required');
  (json.group as unknown[]).forEach((g, gi) => {
    const gp = `group[${gi}]`;
    if (!isObject(g)) return fail(gp, 'must be an object');
    if (!isAbsoluteUri(g.source)) fail(`${gp}.source`, 'the source code system (an absolute URI) is required');
    if (!isAbsoluteUri(g.target)) fail(`${gp}.target`, 'the target code system (an absolute URI) is required');
    if (g.unmapped !== undefined) fail(`${gp}.unmapped`, 'is not supported: an unmapped code is kept and flagged, never replaced');
    if (!Array.isArray(g.element) || g.element.length === 0) fail(`${gp}.element`, 'at least one element is required');
    const seen = new Set<string>();
    (g.element as unknown[]).forEach((e, ei) => {
      const ep = `${gp}.element[${ei}]`;
      if (!isObject(e)) return fail(ep, 'must be an object');
      if (!nonEmpty(e.code)) fail(`${ep}.code`, 'the source code is required');
      if (seen.has(e.code as string)) fail(`${ep}.code`, 'the same source code appears twice in this group');
      seen.add(e.code as string);
      if (!Array.isArray(e.target) || e.target.length === 0) fail(`${ep}.target`, 'at least one target is required');
      (e.target as unknown[]).forEach((t, ti) => {
        const tp = `${ep}.target[${ti}]`;
        if (!isObject(t)) return fail(tp, 'must be an object');
        const eq = t.equivalence;
        if (typeof eq !== 'string' || !(eq in EQUIVALENCE))
          fail(`${tp}.equivalence`, 'is required: one of the R4 ConceptMapEquivalence codes');
        if (NO_TARGET_CODE.has(eq as Equivalence)) {
          if (t.code !== undefined) fail(`${tp}.code`, `must be absent when the equivalence is ${String(eq)}`);
          return;
        }
        if (!nonEmpty(t.code)) return fail(`${tp}.code`, 'the target code is required');
        const problem = codeSyntaxProblem(g.target as string, t.code);
        if (problem) fail(`${tp}.code`, problem);
        // R4 invariant cmd-1.
        if ((eq === EQUIVALENCE.narrower || eq === EQUIVALENCE.inexact) && !nonEmpty(t.comment)) {
          fail(`${tp}.comment`, `a comment is required when the equivalence is ${eq} (cmd-1)`);
        }
      });
    });
  });
  return json as unknown as ConceptMap;
}

const shown = (file: string): string => {
  const r = relative(PROJECT_ROOT, file);
  return r.startsWith('..') || isAbsolute(r) ? file : r;
};

/** Reads and checks one ConceptMap file. */
export function readConceptMapFile(file: string): LoadedConceptMap {
  const name = shown(file);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ConceptMapError(name, '', `cannot be read as JSON (${(e as Error).message})`);
  }
  const map = parseConceptMap(json, name);
  return { file: name, map, canonical: `${map.url}|${map.version}` };
}

/**
 * The directories maps are read from: CONCEPT_MAP_DIRS (a list separated by the platform's path
 * delimiter, `:` on Linux; relative entries are read from the project root), else config/concept-maps.
 */
export function conceptMapDirs(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const list = env.CONCEPT_MAP_DIRS?.split(delimiter).filter((d) => d.trim() !== '') ?? [];
  return (list.length > 0 ? list : ['config/concept-maps']).map((d) => resolve(PROJECT_ROOT, d.trim()));
}

/** Every `*.json` of the directories, in name order; a missing directory is a start-up error. */
export function loadConceptMaps(dirs: readonly string[] = conceptMapDirs()): readonly LoadedConceptMap[] {
  const maps: LoadedConceptMap[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.json'));
    } catch {
      throw new ConceptMapError(shown(dir), '', 'the concept map directory cannot be read');
    }
    for (const n of names.sort()) maps.push(readConceptMapFile(join(dir, n)));
  }
  const byUrl = new Map<string, LoadedConceptMap>();
  const byId = new Map<string, LoadedConceptMap>();
  for (const m of maps) {
    const sameUrl = byUrl.get(m.map.url);
    if (sameUrl) throw new ConceptMapError(m.file, 'url', `is also the url of ${sameUrl.file}: one map per url`);
    const sameId = byId.get(m.map.id);
    if (sameId) throw new ConceptMapError(m.file, 'id', `is also the id of ${sameId.file}`);
    byUrl.set(m.map.url, m);
    byId.set(m.map.id, m);
  }
  return maps;
}
