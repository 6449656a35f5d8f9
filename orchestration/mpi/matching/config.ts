// Matching configuration (config/matching.json): thresholds, the population-level prior, m/u
// probabilities per field level, term-frequency and blocking settings. Validated on load so a bad
// edit fails at start-up with the offending key named, not as NaN scores in production.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../../platform/config.ts';
import { FIELD_LEVELS, BLOCKING_KINDS } from './fields.ts';
import { FREQUENCY_FIELDS, type FrequencyField } from './features.ts';

export type LevelProbabilities = { m: number; u: number };
export type FieldConfig = {
  levels: Record<string, LevelProbabilities>;
  /** Upper bound on any level's weight (log2), e.g. so an SSN match alone can never auto-link. */
  maxWeight?: number;
  /** Lower bound on any level's weight (log2), e.g. so an SSN mismatch alone cannot block a link. */
  minWeight?: number;
  /** Hand-set evidence (guards): EM leaves it alone. */
  fixed?: boolean;
  /** Levels that hold a MATCH back for review whatever the score (Jr vs Sr, suspected twins). */
  reviewLevels?: string[];
};
export type MatchingConfig = {
  thresholds: { autoLink: number; review: number };
  /** Population-level probability that two random records are the same person (λ). */
  prior: number;
  fields: Record<string, FieldConfig>;
  /** minTotal: below this population size counts are too noisy and the level's u is used. */
  /**
   * Value-specific weights. Names: u of the exact level from the name's frequency (up or down).
   * city, postal_code, address (the street name): the agreement never weighs more than its level's
   * u says, and less when the shared value is common (a small town's one postal code).
   */
  termFrequency: { fields: readonly FrequencyField[]; minU: number; minTotal?: number };
  blocking: { keys: readonly string[]; capPerKey: number; capTotal: number };
  identifierSystems: { ssn: readonly string[] };
};

export const DEFAULT_MATCHING_CONFIG_FILE = resolve(PROJECT_ROOT, 'config', 'matching.json');
/** The deployment's matching configuration: MATCHING_CONFIG_FILE (for example one written by `npm run mpi:calibrate`), else the default. */
export const matchingConfigFile = (env: NodeJS.ProcessEnv = process.env): string =>
  env.MATCHING_CONFIG_FILE ? resolve(env.MATCHING_CONFIG_FILE) : DEFAULT_MATCHING_CONFIG_FILE;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (key: string, why: string): never => {
  throw new Error(`matching configuration: ${key} ${why}`);
};
const probability = (v: unknown, key: string, open = false): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1 || (open && v >= 1))
    fail(key, `must be a number in (0, 1${open ? ')' : ']'}`);
  return v as number;
};
const positiveInteger = (v: unknown, key: string): number =>
  Number.isInteger(v) && (v as number) > 0 ? (v as number) : fail(key, 'must be a positive integer');
const stringArray = (v: unknown, key: string): string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : fail(key, 'must be an array of strings');

function validateField(name: string, v: unknown): FieldConfig {
  const key = `fields.${name}`;
  const known = FIELD_LEVELS[name];
  if (!known) return fail(key, `is not a known field (known: ${Object.keys(FIELD_LEVELS).join(', ')})`);
  if (!isObject(v) || !isObject(v.levels)) return fail(`${key}.levels`, 'must be an object');
  const levels: Record<string, LevelProbabilities> = {};
  for (const [level, p] of Object.entries(v.levels)) {
    if (!known.includes(level)) fail(`${key}.levels.${level}`, `is not a level of ${name} (levels: ${known.join(', ')})`);
    if (!isObject(p)) fail(`${key}.levels.${level}`, 'must be { m, u }');
    levels[level] = {
      m: probability((p as Record<string, unknown>).m, `${key}.levels.${level}.m`),
      u: probability((p as Record<string, unknown>).u, `${key}.levels.${level}.u`),
    };
  }
  for (const level of known) if (!levels[level]) fail(`${key}.levels.${level}`, 'is missing');
  const out: FieldConfig = { levels };
  for (const bound of ['maxWeight', 'minWeight'] as const) {
    if (v[bound] === undefined) continue;
    if (typeof v[bound] !== 'number' || !Number.isFinite(v[bound])) fail(`${key}.${bound}`, 'must be a finite number');
    out[bound] = v[bound] as number;
  }
  if (out.maxWeight !== undefined && out.minWeight !== undefined && out.minWeight > out.maxWeight)
    fail(`${key}.minWeight`, 'must not exceed maxWeight');
  if (v.fixed !== undefined) out.fixed = v.fixed === true;
  if (v.reviewLevels !== undefined) {
    out.reviewLevels = stringArray(v.reviewLevels, `${key}.reviewLevels`);
    for (const l of out.reviewLevels) if (!known.includes(l)) fail(`${key}.reviewLevels`, `has '${l}', not a level of ${name}`);
  }
  return out;
}

/** Check the shape of a parsed configuration; throws an Error naming the first bad key. */
export function validateMatchingConfig(raw: unknown): MatchingConfig {
  if (!isObject(raw)) return fail('(root)', 'must be an object');
  const t = raw.thresholds;
  if (!isObject(t)) return fail('thresholds', 'must be an object');
  const autoLink = probability(t.autoLink, 'thresholds.autoLink', true);
  const review = probability(t.review, 'thresholds.review', true);
  if (review > autoLink) fail('thresholds.review', 'must not exceed thresholds.autoLink');
  const prior = probability(raw.prior, 'prior', true);
  if (!isObject(raw.fields)) return fail('fields', 'must be an object');
  const fields: Record<string, FieldConfig> = {};
  for (const [name, f] of Object.entries(raw.fields)) if (!name.startsWith('$')) fields[name] = validateField(name, f);
  const tf = raw.termFrequency;
  if (!isObject(tf)) return fail('termFrequency', 'must be an object');
  const tfFields = stringArray(tf.fields, 'termFrequency.fields');
  for (const f of tfFields)
    if (!(FREQUENCY_FIELDS as readonly string[]).includes(f))
      fail('termFrequency.fields', `has '${f}' (known: ${FREQUENCY_FIELDS.join(', ')})`);
  const termFrequency: MatchingConfig['termFrequency'] = {
    fields: tfFields as FrequencyField[],
    minU: probability(tf.minU, 'termFrequency.minU'),
  };
  if (tf.minTotal !== undefined)
    termFrequency.minTotal =
      Number.isInteger(tf.minTotal) && (tf.minTotal as number) >= 0
        ? (tf.minTotal as number)
        : fail('termFrequency.minTotal', 'must be a non-negative integer');
  const b = raw.blocking;
  if (!isObject(b)) return fail('blocking', 'must be an object');
  const keys = stringArray(b.keys, 'blocking.keys');
  for (const k of keys)
    if (!BLOCKING_KINDS.includes(k)) fail('blocking.keys', `has unknown kind '${k}' (known: ${BLOCKING_KINDS.join(', ')})`);
  const blocking = {
    keys,
    capPerKey: positiveInteger(b.capPerKey, 'blocking.capPerKey'),
    capTotal: positiveInteger(b.capTotal, 'blocking.capTotal'),
  };
  const ids = raw.identifierSystems;
  if (!isObject(ids)) return fail('identifierSystems', 'must be an object');
  return {
    thresholds: { autoLink, review },
    prior,
    fields,
    termFrequency,
    blocking,
    identifierSystems: { ssn: stringArray(ids.ssn, 'identifierSystems.ssn') },
  };
}

/** Read and validate the matching configuration (default: matchingConfigFile()). */
export function loadMatchingConfig(file: string = matchingConfigFile()): MatchingConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`matching configuration: cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return validateMatchingConfig(raw);
}
