// Vendor and local codes to standard terminologies through the loaded concept maps. The original
// coding is always kept beside what a map gives (it is lineage, and the detail a wider standard
// concept loses); a code no map covers is kept and flagged `unmapped`, never dropped.
import { warning, type TranslationIssue } from '../issues.ts';
import { TRANSFORMATION_KIND, type Transformation } from '../lineage.ts';
import { SYSTEMS } from './code-syntax.ts';
import {
  ConceptMapError,
  USABLE_EQUIVALENCES,
  loadConceptMaps,
  type Equivalence,
  type LoadedConceptMap,
  type MapTarget,
} from './concept-maps.ts';

export type Coding = { readonly system?: string; readonly version?: string; readonly code?: string; readonly display?: string };
export type CodeableConcept = { readonly coding?: readonly Coding[]; readonly text?: string };

type Entry = { readonly map: LoadedConceptMap; readonly targetSystem: string; readonly targets: readonly MapTarget[] };

export type Terminology = {
  readonly maps: readonly LoadedConceptMap[];
  /** source system → source code → map entries (one per map group that lists the code). */
  readonly index: ReadonlyMap<string, ReadonlyMap<string, readonly Entry[]>>;
  /** Systems whose codes need no map: the well-known standards and every map's target system. */
  readonly standardSystems: ReadonlySet<string>;
};

/** OMB minimum categories within the CDC race and ethnicity code set (US Core ombCategory). */
export const OMB_RACE_CATEGORIES: ReadonlySet<string> = new Set(['1002-5', '2028-9', '2054-5', '2076-8', '2106-3']);
export const OMB_ETHNICITY_CATEGORIES: ReadonlySet<string> = new Set(['2135-2', '2186-5']);

/**
 * Indexes maps for translation. Two maps that both translate one source code into one target
 * system would make the result depend on load order: refused, naming both files. Retired maps
 * are loaded (their ids stay resolvable) but not applied.
 */
export function buildTerminology(maps: readonly LoadedConceptMap[]): Terminology {
  const index = new Map<string, Map<string, Entry[]>>();
  const owner = new Map<string, LoadedConceptMap>();
  const standardSystems = new Set<string>(Object.values(SYSTEMS));
  for (const m of maps) {
    if (m.map.status === 'retired') continue;
    m.map.group.forEach((g, gi) => {
      standardSystems.add(g.target);
      const codes = index.get(g.source) ?? new Map<string, Entry[]>();
      index.set(g.source, codes);
      g.element.forEach((e, ei) => {
        const key = `${g.source}\u0000${e.code}\u0000${g.target}`;
        const other = owner.get(key);
        if (other && other !== m) {
          throw new ConceptMapError(
            m.file,
            `group[${gi}].element[${ei}].code`,
            `is already mapped to the same target system by ${other.file}`,
          );
        }
        owner.set(key, m);
        codes.set(e.code, [...(codes.get(e.code) ?? []), { map: m, targetSystem: g.target, targets: e.target }]);
      });
    });
  }
  return { maps, index, standardSystems };
}

/** Loads, checks and indexes the concept maps of CONCEPT_MAP_DIRS (default config/concept-maps); throws ConceptMapError. */
export const loadTerminology = (dirs?: readonly string[]): Terminology => buildTerminology(loadConceptMaps(dirs));

let shared: Terminology | undefined;
/** The terminology of CONCEPT_MAP_DIRS, loaded once per process (for callers that are not handed one). */
export const defaultTerminology = (): Terminology => (shared ??= loadTerminology());

/**
 * The terminology a connection translates with: every loaded map, the deployment's own
 * (CONCEPT_MAP_DIRS) included. A map applies by its source system, whichever connection sends the
 * code (an Epic code in an outside result filed at a Cerner hospital is still Epic's code), and two
 * maps of one source code into one target system are refused at load, so no vendor's map can
 * change another's codes. The profile's `conceptMaps` are the maps its codes need: a url that names
 * no loaded map stops the start (its codes would silently stay unmapped).
 */
export function profileTerminology(terminology: Terminology, urls: readonly string[]): Terminology {
  const missing = urls.filter((u) => !terminology.maps.some((m) => m.map.url === u));
  if (missing.length > 0) throw new Error(`vendor profile names concept maps that are not loaded: ${missing.join(', ')}`);
  return terminology;
}

export type TranslateContext = {
  readonly terminology: Terminology;
  /** Where the coding is (FHIRPath-like), for issues. */
  readonly path?: string;
  /** Only map into these systems (e.g. LOINC for Observation.code); default: every target the maps have. */
  readonly targetSystems?: readonly string[];
};

export type MapUsed = { readonly id: string; readonly url: string; readonly version: string };

export type CodingTranslation = {
  readonly original: Coding;
  /** Standard codings the maps gave for it (never the original itself). */
  readonly mapped: readonly Coding[];
  /** What to keep: the mapped codings, then the original. */
  readonly codings: readonly Coding[];
  /** The original is already in a standard system: nothing to map. */
  readonly standard: boolean;
  /** No usable map entry for a non-standard coding: the original is kept as it is, flagged. */
  readonly unmapped: boolean;
  readonly maps: readonly MapUsed[];
  readonly transformations: readonly Transformation[];
  readonly issues: readonly TranslationIssue[];
};

const token = (system: string | undefined, code: string | undefined): string => `${system ?? ''}|${code ?? ''}`;

function unmappedResult(original: Coding, issue: TranslationIssue): CodingTranslation {
  return { original, mapped: [], codings: [original], standard: false, unmapped: true, maps: [], transformations: [], issues: [issue] };
}

/** Translates one coding; see CodingTranslation. Pure: the terminology comes in the context. */
export function translate(coding: Coding, context: TranslateContext): CodingTranslation {
  const { terminology, path = '', targetSystems } = context;
  const { system, code } = coding;
  if (code === undefined || code === '') return unmappedResult(coding, warning(path, 'coding has no code; kept as sent'));
  const all = system === undefined ? undefined : terminology.index.get(system)?.get(code);
  const entries = all?.filter((e) => !targetSystems || targetSystems.includes(e.targetSystem));
  if (!entries || entries.length === 0) {
    if (system !== undefined && terminology.standardSystems.has(system)) {
      return {
        original: coding,
        mapped: [],
        codings: [coding],
        standard: true,
        unmapped: false,
        maps: [],
        transformations: [],
        issues: [],
      };
    }
    const why =
      system === undefined
        ? 'coding has no system'
        : all && all.length > 0
          ? `code of ${system} is mapped, but not into ${targetSystems?.join(', ') ?? ''}`
          : `code of ${system} is in no concept map`;
    return unmappedResult(coding, warning(path, `${why}; kept unmapped`));
  }
  const mapped: Coding[] = [];
  const transformations: Transformation[] = [];
  const maps = new Map<string, MapUsed>();
  const unusable = new Set<Equivalence>();
  for (const e of entries) {
    for (const t of e.targets) {
      if (!USABLE_EQUIVALENCES.has(t.equivalence) || t.code === undefined) {
        unusable.add(t.equivalence);
        continue;
      }
      if (mapped.some((c) => c.system === e.targetSystem && c.code === t.code)) continue;
      mapped.push({ system: e.targetSystem, code: t.code, ...(t.display !== undefined ? { display: t.display } : {}) });
      transformations.push({
        kind: TRANSFORMATION_KIND.conceptMap,
        mapId: e.map.canonical,
        from: token(system, code),
        to: token(e.targetSystem, t.code),
      });
      maps.set(e.map.canonical, { id: e.map.map.id, url: e.map.map.url, version: e.map.map.version });
    }
  }
  if (mapped.length === 0) {
    return unmappedResult(coding, warning(path, `concept map gives only ${[...unusable].sort().join(', ')} for this code; kept unmapped`));
  }
  return {
    original: coding,
    mapped,
    codings: [...mapped, coding],
    standard: false,
    unmapped: false,
    maps: [...maps.values()],
    transformations,
    issues: [],
  };
}

export type ConceptTranslation = {
  /** The standard codings (those the source sent first, then those the maps added), then every other original coding. */
  readonly coding: readonly Coding[];
  readonly text?: string;
  /** True when at least one standard coding results. */
  readonly hasStandard: boolean;
  /** Original codings that stayed unmapped (for the unmapped-codes report). */
  readonly unmapped: readonly Coding[];
  readonly maps: readonly MapUsed[];
  /** Only for codings a map added: a target the source already sent is not derived from the map. */
  readonly transformations: readonly Transformation[];
  readonly issues: readonly TranslationIssue[];
};

/**
 * Translates every coding of a CodeableConcept. When the source sent a standard coding of a system
 * and the map gives a different code of that system, both are kept and the disagreement is flagged:
 * one of them is wrong, and a person has to say which.
 */
export function translateConcept(cc: CodeableConcept | undefined, context: TranslateContext): ConceptTranslation {
  const path = context.path ?? '';
  const results = (cc?.coding ?? []).map((c, i) => translate(c, { ...context, path: `${path}.coding[${i}]` }));
  const sent = results.filter((r) => r.standard).map((r) => r.original);
  const has = (list: readonly Coding[], c: Coding): boolean => list.some((x) => x.system === c.system && x.code === c.code);
  const added: Coding[] = [];
  const transformations: Transformation[] = [];
  const maps = new Map<string, MapUsed>();
  const issues: TranslationIssue[] = results.flatMap((r) => r.issues);
  const disagreeing = new Set<string>();
  for (const r of results) {
    // A disagreement: the source sent codes of a system, and none of the map's codes of that system is among them.
    for (const system of new Set(r.mapped.map((c) => c.system ?? ''))) {
      const sentHere = sent.filter((s) => s.system === system);
      if (sentHere.length > 0 && !r.mapped.some((c) => c.system === system && has(sentHere, c))) disagreeing.add(system);
    }
    r.mapped.forEach((c, i) => {
      if (has(sent, c) || has(added, c)) return;
      added.push(c);
      const t = r.transformations[i];
      if (t) transformations.push(t);
    });
    for (const m of r.maps) maps.set(`${m.url}|${m.version}`, m);
  }
  for (const system of [...disagreeing].sort()) {
    issues.push(warning(path, `the source's own ${system} coding and the concept map disagree; both kept`));
  }
  const others = results.filter((r) => !r.standard).map((r) => r.original);
  const coding = [...sent, ...added, ...others];
  return {
    coding,
    ...(cc?.text !== undefined ? { text: cc.text } : {}),
    hasStandard: sent.length + added.length > 0,
    unmapped: results.filter((r) => r.unmapped).map((r) => r.original),
    maps: [...maps.values()],
    transformations,
    issues,
  };
}
