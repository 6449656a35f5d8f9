// Survivorship: which linked source record supplies each field of the golden record. Rules come
// from configuration (config/survivorship.json) per field, as an ordered list of criteria; a
// steward's manual value always wins. Every golden field records its provenance.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../platform/config.ts';
import type { Address, ContactPoint, HumanName, Identifier } from '../../schema/__generated__/canonical.ts';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';

export const GOLDEN_FIELDS = ['name', 'birthDate', 'gender', 'addresses', 'telecom', 'identifiers'] as const;
export type GoldenField = (typeof GOLDEN_FIELDS)[number];

/** Criteria to rank candidate values, applied in order; UNION keeps every distinct value instead. */
export const CRITERIA = ['SOURCE_PRIORITY', 'MOST_COMPLETE', 'MOST_RECENT', 'UNION'] as const;
export type Criterion = (typeof CRITERIA)[number];

export type SurvivorshipConfig = {
  /** Connection ids, most trusted first; unlisted sources rank after listed ones. */
  readonly sourcePriority: readonly string[];
  readonly fields: Readonly<Record<GoldenField, readonly Criterion[]>>;
};

export type GoldenValues = {
  readonly name: HumanName | null;
  readonly birthDate: string | null;
  readonly gender: string | null;
  readonly addresses: readonly Address[];
  readonly telecom: readonly ContactPoint[];
  readonly identifiers: readonly Identifier[];
};

export type FieldProvenance = {
  readonly field: GoldenField;
  /** The rule that chose the value: a criterion, or MANUAL for a steward's value. */
  readonly rule: Criterion | 'MANUAL';
  /** `source:sourcePatientId` of every record the value came from (empty for MANUAL). */
  readonly records: readonly string[];
  /** Who set a MANUAL value, and when. */
  readonly actor?: string;
  readonly at?: string;
};

/** A steward's value for one field, with who set it and when. */
export type ManualValue = { readonly value: unknown; readonly actor: string; readonly at: string };

export function loadSurvivorshipConfig(file = resolve(PROJECT_ROOT, 'config/survivorship.json')): SurvivorshipConfig {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<SurvivorshipConfig>;
  if (!Array.isArray(raw.sourcePriority)) throw new Error(`${file}: "sourcePriority" must be an array of connection ids`);
  for (const field of GOLDEN_FIELDS) {
    const criteria = raw.fields?.[field];
    if (!Array.isArray(criteria) || criteria.length === 0 || criteria.some((c) => !(CRITERIA as readonly string[]).includes(c)))
      throw new Error(`${file}: "fields.${field}" must be a non-empty list of ${CRITERIA.join(', ')}`);
  }
  return raw as SurvivorshipConfig;
}

const LIST_FIELDS: ReadonlySet<GoldenField> = new Set(['addresses', 'telecom', 'identifiers']);

const recordRef = (d: SourceDemographics): string => `${d.source}:${d.sourcePatientId}`;

const present = (field: GoldenField, d: SourceDemographics): boolean => {
  const v = d[field];
  if (Array.isArray(v)) return v.length > 0;
  if (field === 'name') return Boolean(d.name && (d.name.family || d.name.given.length > 0));
  return v !== null && v !== undefined && v !== '';
};

/** How many parts of the value are filled: a full date beats a year, a name with given names beats a family name alone. */
function completeness(field: GoldenField, d: SourceDemographics): number {
  switch (field) {
    case 'name':
      return (d.name?.family ? 2 : 0) + (d.name?.given.length ?? 0) + (d.name?.prefix.length ?? 0) + (d.name?.suffix.length ?? 0);
    case 'birthDate':
      return d.birthDate?.length ?? 0;
    case 'addresses':
      return d.addresses.reduce(
        (n, a) => n + a.line.length + (a.city ? 1 : 0) + (a.state ? 1 : 0) + (a.postalCode ? 1 : 0) + (a.country ? 1 : 0),
        0,
      );
    default:
      return Array.isArray(d[field]) ? (d[field] as unknown[]).length : 1;
  }
}

function compareBy(criterion: Criterion, field: GoldenField, priority: readonly string[]) {
  const rank = (source: string): number => (priority.includes(source) ? priority.indexOf(source) : priority.length);
  return (a: SourceDemographics, b: SourceDemographics): number => {
    switch (criterion) {
      case 'SOURCE_PRIORITY':
        return rank(a.source) - rank(b.source);
      case 'MOST_COMPLETE':
        return completeness(field, b) - completeness(field, a);
      case 'MOST_RECENT':
        return (b.lastUpdated ?? '').localeCompare(a.lastUpdated ?? '');
      case 'UNION':
        return 0;
    }
  };
}

const unionKey: Partial<Record<GoldenField, (v: never) => string>> = {
  identifiers: (i: Identifier) => `${i.system}|${i.value}|${i.source ?? ''}`,
  telecom: (t: ContactPoint) => `${t.system ?? ''}|${(t.value ?? '').toLowerCase()}`,
  addresses: (a: Address) => JSON.stringify([a.line, a.city, a.state, a.postalCode]).toLowerCase(),
};

/** One field's surviving value and provenance. Records are ordered deterministically before ranking. */
function surviveField(
  field: GoldenField,
  records: readonly SourceDemographics[],
  criteria: readonly Criterion[],
  priority: readonly string[],
): { value: unknown; provenance: FieldProvenance | null } {
  const candidates = records.filter((r) => present(field, r)).sort((a, b) => recordRef(a).localeCompare(recordRef(b)));
  if (candidates.length === 0) return { value: LIST_FIELDS.has(field) ? [] : null, provenance: null };
  const ranking = criteria.filter((c) => c !== 'UNION');
  const ranked = [...candidates].sort((a, b) => {
    for (const c of ranking) {
      const order = compareBy(c, field, priority)(a, b);
      if (order !== 0) return order;
    }
    return 0;
  });
  if (criteria.includes('UNION')) {
    const key = unionKey[field] ?? ((v: unknown) => JSON.stringify(v));
    const seen = new Map<string, { value: unknown; from: Set<string> }>();
    for (const r of ranked)
      for (const v of r[field] as unknown[]) {
        const k = key(v as never);
        const entry = seen.get(k) ?? { value: v, from: new Set<string>() };
        entry.from.add(recordRef(r));
        seen.set(k, entry);
      }
    const from = new Set([...seen.values()].flatMap((e) => [...e.from]));
    return { value: [...seen.values()].map((e) => e.value), provenance: { field, rule: 'UNION', records: [...from].sort() } };
  }
  const winner = ranked[0]!;
  // The criterion that separated the winner from the runner-up (or the first one when alone or tied).
  const runnerUp = ranked[1];
  const decisive = (runnerUp && ranking.find((c) => compareBy(c, field, priority)(winner, runnerUp) !== 0)) ?? ranking[0] ?? 'MOST_RECENT';
  return { value: winner[field], provenance: { field, rule: decisive, records: [recordRef(winner)] } };
}

/**
 * The golden record's values from its linked source records, field by field, with provenance.
 * Manual values (set by a steward) win over every rule.
 */
export function survive(
  records: readonly SourceDemographics[],
  config: SurvivorshipConfig,
  manual: Readonly<Partial<Record<GoldenField, ManualValue>>> = {},
): { values: GoldenValues; provenance: FieldProvenance[] } {
  const values: Record<string, unknown> = {};
  const provenance: FieldProvenance[] = [];
  for (const field of GOLDEN_FIELDS) {
    const m = manual[field];
    if (m) {
      values[field] = m.value;
      provenance.push({ field, rule: 'MANUAL', records: [], actor: m.actor, at: m.at });
      continue;
    }
    const r = surviveField(field, records, config.fields[field], config.sourcePriority);
    values[field] = r.value;
    if (r.provenance) provenance.push(r.provenance);
  }
  return { values: values as GoldenValues, provenance };
}
