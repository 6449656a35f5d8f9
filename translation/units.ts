// Quantities to UCUM, in the unit each LOINC code is stored in (config/units.json). The value and
// unit as sent are always kept beside the normalized ones. Nothing is guessed: a missing unit stays
// missing (flagged), an unreadable one refuses the datum (an integration engineer adds the spelling
// and re-processes), and a conversion UCUM cannot make safely is not made. UCUM parsing and
// conversion, mass-to-molar included, are @lhncbc/ucum-lhc's.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ucum from '@lhncbc/ucum-lhc';
import { PROJECT_ROOT } from '../platform/config.ts';
import { error, warning, type TranslationIssue } from './issues.ts';
import { TRANSFORMATION_KIND, type Transformation } from './lineage.ts';
import { SYSTEMS, codeSyntaxProblem } from './terminology/code-syntax.ts';

const lhc = ucum.UcumLhcUtils.getInstance();

/**
 * ucum-lhc console.logs the unit string when its parser throws (a space, a stray parenthesis):
 * vendor text on stdout, outside our JSON logs. Its calls are synchronous, so silencing
 * console.log for their duration affects nothing else.
 */
function quietly<T>(f: () => T): T {
  const log = console.log;
  console.log = () => undefined;
  try {
    return f();
  } finally {
    console.log = log;
  }
}
const utils = {
  validateUnitString: (unit: string) => quietly(() => lhc.validateUnitString(unit)),
  convertUnitTo: (from: string, value: number, to: string, options: { molecularWeight?: number }) =>
    quietly(() => lhc.convertUnitTo(from, value, to, options)),
  convertToBaseUnits: (unit: string, value: number) => quietly(() => lhc.convertToBaseUnits(unit, value)),
};

export type PreferredUnit = {
  readonly unit: string;
  readonly molecularWeight?: number;
  readonly display?: string;
  /** Decimals results are reported with in `unit`: a converted value is compared at that precision. */
  readonly decimals?: number;
};

export type UnitRules = {
  /** `url|version` of the rules, recorded in lineage. */
  readonly id: string;
  /** Vendor spellings (exact) → UCUM code. */
  readonly spellings: ReadonlyMap<string, string>;
  /** The same, keyed in lower case (the fallback match). */
  readonly spellingsIgnoringCase: ReadonlyMap<string, string>;
  /** LOINC code → the unit it is stored in. */
  readonly preferred: ReadonlyMap<string, PreferredUnit>;
};

/** A units file that cannot be used: `file` and `path` say where. */
export class UnitRulesError extends Error {
  constructor(file: string, path: string, reason: string) {
    super(`units ${file}: ${path}: ${reason}`);
    this.name = 'UnitRulesError';
  }
}

const isUcum = (code: string): boolean => utils.validateUnitString(code).status === 'valid';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks parsed unit rules: every spelling and preferred unit is UCUM, every key a LOINC code, every weight positive. */
export function parseUnitRules(json: unknown, file: string): UnitRules {
  const fail = (path: string, reason: string): never => {
    throw new UnitRulesError(file, path, reason);
  };
  if (!isObject(json)) return fail('', 'not a JSON object');
  if (typeof json.url !== 'string' || typeof json.version !== 'string')
    fail('url', 'url and version are required (lineage names the rules by them)');
  if (!isObject(json.spellings)) fail('spellings', 'an object of spelling → UCUM code is required');
  if (!isObject(json.preferred)) fail('preferred', 'an object of LOINC code → { unit, molecularWeight? } is required');
  const spellings = new Map<string, string>();
  const lower = new Map<string, string>();
  for (const [from, to] of Object.entries(json.spellings as Record<string, unknown>)) {
    if (typeof to !== 'string' || !isUcum(to)) fail(`spellings["${from}"]`, 'not a valid UCUM code');
    spellings.set(from, to as string);
    const other = lower.get(from.toLowerCase());
    if (other !== undefined && other !== to)
      fail(`spellings["${from}"]`, 'differs from another spelling only in case but means another unit');
    lower.set(from.toLowerCase(), to as string);
  }
  const preferred = new Map<string, PreferredUnit>();
  for (const [loinc, rule] of Object.entries(json.preferred as Record<string, unknown>)) {
    const path = `preferred["${loinc}"]`;
    const problem = codeSyntaxProblem(SYSTEMS.loinc, loinc);
    if (problem) fail(path, problem);
    if (!isObject(rule) || typeof rule.unit !== 'string' || !isUcum(rule.unit)) fail(`${path}.unit`, 'not a valid UCUM code');
    const r = rule as Record<string, unknown>;
    const mw = r.molecularWeight;
    if (mw !== undefined && (typeof mw !== 'number' || !(mw > 0))) fail(`${path}.molecularWeight`, 'must be a positive number (g/mol)');
    const decimals = r.decimals;
    if (decimals !== undefined && !(Number.isInteger(decimals) && (decimals as number) >= 0 && (decimals as number) <= 6))
      fail(`${path}.decimals`, 'must be an integer from 0 to 6');
    preferred.set(loinc, {
      ...(typeof decimals === 'number' ? { decimals } : {}),
      unit: r.unit as string,
      ...(typeof mw === 'number' ? { molecularWeight: mw } : {}),
      ...(typeof r.display === 'string' ? { display: r.display } : {}),
    });
  }
  return { id: `${String(json.url)}|${String(json.version)}`, spellings, spellingsIgnoringCase: lower, preferred };
}

/** The unit rules of UNITS_FILE (default config/units.json); throws UnitRulesError. */
export function loadUnitRules(file = process.env.UNITS_FILE ?? resolve(PROJECT_ROOT, 'config/units.json')): UnitRules {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UnitRulesError(file, '', `cannot be read as JSON (${(e as Error).message})`);
  }
  return parseUnitRules(json, file);
}

let defaultRules: UnitRules | undefined;
const rulesOrDefault = (rules?: UnitRules): UnitRules => rules ?? (defaultRules ??= loadUnitRules());

/** How a unit string was read. */
export type UnitReading = { readonly ucum: string; readonly spelling: boolean } | undefined;

/**
 * The UCUM code a unit string means, or undefined when it cannot be read. A listed vendor spelling
 * wins over a UCUM reading (K/uL), then the string as UCUM (micro signs read as `u`), then a
 * spelling ignoring case.
 */
export function readUnit(unit: string, rules?: UnitRules): UnitReading {
  const r = rulesOrDefault(rules);
  const trimmed = unit.trim();
  const listed = r.spellings.get(trimmed);
  if (listed !== undefined) return { ucum: listed, spelling: true };
  const micro = trimmed.replace(/[\u00b5\u03bc]/g, 'u');
  if (micro !== '' && isUcum(micro)) return { ucum: micro, spelling: micro !== trimmed };
  const folded = r.spellingsIgnoringCase.get(trimmed.toLowerCase());
  return folded === undefined ? undefined : { ucum: folded, spelling: true };
}

export const QUANTITY_STATUS = {
  /** In the preferred unit of its LOINC code (converted or sent so). */
  preferred: 'preferred',
  /** A valid UCUM unit; no preferred unit is configured for the code (or no code was given). */
  ucum: 'ucum',
  /** Kept as sent: no value, no unit, or a conversion that cannot be made safely (the issues say why). */
  kept: 'kept',
} as const;
export type QuantityStatus = (typeof QUANTITY_STATUS)[keyof typeof QUANTITY_STATUS];

export type NormalizedQuantity = {
  /** As sent: the value (a number, or the string it came as) and the unit. */
  readonly original: { readonly value: number | string | null; readonly unit: string | null };
  /** The value as a number (a numeric string read), converted when `status` is preferred; null when there is none. */
  readonly value: number | null;
  /** UCUM code of `value`, or null when the unit is missing or unreadable. */
  readonly unit: string | null;
  readonly status: QuantityStatus;
  readonly transformations: readonly Transformation[];
  /** Warnings flag what was repaired or left; an error (an unreadable unit that had to be read, or the wrong kind) refuses the datum. */
  readonly issues: readonly TranslationIssue[];
};

export type QuantityContext = {
  readonly path?: string;
  readonly rules?: UnitRules;
  /** The source says the unit is a UCUM code (FHIR Quantity.system, HL7 v2 OBX-6 coding system): one that is not is an error. */
  readonly ucumClaimed?: boolean;
};

// FHIR decimal: no hex, no leading '+', no "Infinity" (Number() takes all of those).
const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** Removes binary floating-point noise from a converted value (99.08579999999999 → 99.0858); clinical rounding is the reader's. */
const clean = (n: number): number => Number(n.toPrecision(12));

const dimensionless = (code: string): boolean => {
  const base = utils.convertToBaseUnits(code, 1);
  return base.status === 'succeeded' && !base.fromUnitIsSpecial && Object.keys(base.unitToExp ?? {}).length === 0;
};

/**
 * Normalizes one quantity: `value` as sent (number or numeric string), `unit` the unit string
 * (a UCUM code or a vendor spelling), `code` the LOINC code of the observation when known.
 */
export function normalizeQuantity(
  value: unknown,
  unit: string | null | undefined,
  code?: string | null,
  context: QuantityContext = {},
): NormalizedQuantity {
  const rules = rulesOrDefault(context.rules);
  const path = context.path ?? '';
  const issues: TranslationIssue[] = [];
  const transformations: Transformation[] = [];
  const original = {
    value: typeof value === 'number' || typeof value === 'string' ? value : null,
    unit: unit === undefined || unit === null || unit.trim() === '' ? null : unit,
  };
  const kept = (n: number | null, u: string | null): NormalizedQuantity => ({
    original,
    value: n,
    unit: u,
    status: QUANTITY_STATUS.kept,
    transformations,
    issues,
  });

  let n: number | null = null;
  if (typeof value === 'number' && Number.isFinite(value)) n = value;
  else if (typeof value === 'string' && DECIMAL.test(value.trim())) {
    n = Number(value.trim());
    issues.push(warning(`${path}.value`, 'number sent as a string; read as a number'));
    transformations.push({ kind: TRANSFORMATION_KIND.numberFromString, mapId: null, from: 'string', to: 'decimal' });
  } else if (value !== undefined && value !== null) issues.push(warning(`${path}.value`, 'value is not a number; kept as sent'));

  if (original.unit === null) {
    if (n !== null) issues.push(warning(`${path}.unit`, 'no unit; value kept unnormalized'));
    return kept(n, null);
  }
  const reading = readUnit(original.unit, rules);
  const preferred = code ? rules.preferred.get(code) : undefined;
  if (!reading) {
    // FHIR allows a free-text unit outside UCUM ("score", "# per day"): flagged. A unit claimed to be
    // UCUM that is not, or one on a code whose values are compared in one unit, cannot be placed: refused.
    if (context.ucumClaimed || preferred) {
      issues.push(error(`${path}.unit`, 'unit is neither UCUM nor a known spelling (config/units.json)'));
    } else issues.push(warning(`${path}.unit`, 'unit is not UCUM; value kept unnormalized'));
    return kept(n, null);
  }
  if (reading.spelling) {
    transformations.push({ kind: TRANSFORMATION_KIND.unitSpelling, mapId: rules.id, from: original.unit.trim(), to: reading.ucum });
  }
  if (!preferred) return { original, value: n, unit: reading.ucum, status: QUANTITY_STATUS.ucum, transformations, issues };
  if (reading.ucum === preferred.unit)
    return { original, value: n, unit: reading.ucum, status: QUANTITY_STATUS.preferred, transformations, issues };

  // A ratio's meaning depends on its method: HbA1c in IFCC mmol/mol is not NGSP % divided by ten.
  if (dimensionless(reading.ucum) && dimensionless(preferred.unit)) {
    issues.push(
      warning(`${path}.unit`, 'a ratio in another unit than the preferred one is not converted (the method differs); kept as sent'),
    );
    return kept(n, reading.ucum);
  }
  const probe = utils.convertUnitTo(reading.ucum, n ?? 1, preferred.unit, {
    ...(preferred.molecularWeight !== undefined ? { molecularWeight: preferred.molecularWeight } : {}),
  });
  if (probe.status !== 'succeeded' || probe.toVal === null) {
    const needsWeight = probe.msg.some((m) => /molecular weight/i.test(m));
    if (needsWeight) {
      issues.push(warning(`${path}.unit`, 'molar and mass units need a molecular weight, none is configured for this code; kept as sent'));
      return kept(n, reading.ucum);
    }
    issues.push(error(`${path}.unit`, 'unit cannot be converted to the preferred unit for this code (another kind of quantity)'));
    return kept(n, reading.ucum);
  }
  if (n === null) return kept(null, reading.ucum);
  const molar = probe.fromUnit !== undefined && probe.toUnit !== undefined && probe.fromUnit.moleExp_ !== probe.toUnit.moleExp_;
  transformations.push({
    kind: TRANSFORMATION_KIND.unitConversion,
    mapId: rules.id,
    from: molar ? `${reading.ucum} (molecular weight ${preferred.molecularWeight} g/mol)` : reading.ucum,
    to: preferred.unit,
  });
  return { original, value: clean(probe.toVal), unit: preferred.unit, status: QUANTITY_STATUS.preferred, transformations, issues };
}

type FhirQuantity = { value?: unknown; unit?: string; system?: string; code?: string };

/**
 * A FHIR Quantity: its UCUM `code` when `system` is UCUM (Cerner labels `[degF]` as "degF" in
 * `unit`), else its `unit`, else its `code`.
 */
export function normalizeFhirQuantity(
  q: FhirQuantity | undefined,
  loinc?: string | null,
  context: QuantityContext = {},
): NormalizedQuantity {
  const ucumClaimed = q?.system === SYSTEMS.ucum && q.code !== undefined && q.code !== '';
  const unit = ucumClaimed ? q.code : (q?.unit ?? q?.code);
  return normalizeQuantity(q?.value, unit, loinc, { ...context, ucumClaimed });
}

/**
 * The value two statements of one fact are compared by: a value converted from another unit rounded
 * to the decimals results are reported with in the preferred unit (5.55 mmol/L is 99.99 mg/dL, and
 * states 100 mg/dL; conversion noise below the reporting precision is no disagreement), any other
 * value as it is. A lab that rounded coarsely in the other unit (5.6 mmol/L against 101 mg/dL) still
 * differs.
 */
export function comparableValue(q: NormalizedQuantity, code: string | null, rules?: UnitRules): number | null {
  const decimals = code ? rulesOrDefault(rules).preferred.get(code)?.decimals : undefined;
  if (q.value === null || decimals === undefined || !q.transformations.some((t) => t.kind === TRANSFORMATION_KIND.unitConversion))
    return q.value;
  return Number(q.value.toFixed(decimals));
}
