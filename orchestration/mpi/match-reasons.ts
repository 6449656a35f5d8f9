// Why a link or a review item is what it is: one stable code per decision, stored where the
// decision is made (source_record, link_event, review_item) so that history keeps it. The codes
// for automatic decisions are read off the matcher's own decision (compare.ts: the thresholds and
// matchCap's guards), never re-derived from a second set of rules; the steward codes name the
// operation that decided. Descriptions are looked up when read, so they can be reworded freely.
import { matchCap, type Comparison, type MatchFeatures, type MatchingConfig } from './matching/index.ts';

export const MATCH_REASONS = {
  // Automatic decisions, from the score and the thresholds in force.
  ABOVE_AUTO_LINK: 'The score reached the auto-link threshold and no guard held the pair back: linked automatically.',
  BELOW_AUTO_LINK: 'The score is between the review and the auto-link thresholds: a steward decides.',
  BELOW_REVIEW: 'The score is below the review threshold: kept apart as different people.',
  NO_CANDIDATE:
    'No candidate to compare with (no stored record shared a blocking key, or a steward had kept the candidates apart): a patient of its own.',
  // Guards: the score alone would have auto-linked (or, for the weighted guards, would have without the guard's weight).
  SSN_ONLY:
    'The score reached the auto-link threshold only through the SSN: without it the other fields add up to too little (or only the name agrees), and an SSN alone (shared or mistyped) never links.',
  SSN_CONFLICT:
    'Both SSNs are known and differ (not a typo) and no birth date confirms the pair, or another SSN level the matching configuration sends to review (reviewLevels).',
  TWIN_GUARD: 'Suspected twins: same family name, birth date and home, clearly different given names, and no equal SSN to refute it.',
  SUFFIX_GUARD: 'Different generational suffixes (Jr / Sr): a parent and a child, never linked automatically.',
  GENERATION_GUARD:
    'The birth dates differ beyond a typo (a one-digit change of ten years or more, 1960 / 1990, is another generation) and no SSN agrees: never linked automatically.',
  HOUSEHOLD_GUARD:
    'A shared home (address or phone) with a conflict on given name, birth date or gender: living together explains the home, so it is not counted as evidence; counted, the pair would have been auto-linked.',
  GOLDEN_CONFLICT:
    "The record matches one of the patient's records but conflicts with another (suspected twins, Jr / Sr, another generation, or two different SSNs with no birth date to confirm): joining would chain two people.",
  INSUFFICIENT_DATA:
    'Too little identity to link automatically, whatever else agrees: a record has neither a name nor a birth date; or one has no birth date and no SSN agrees (a Jr / Sr without the suffix); or neither name agrees without an equal SSN and a confirming birth date.',
  REVIEW_LEVEL: 'A field level the matching configuration sends to review (reviewLevels) held the pair back: see the evidence.',
  CANDIDATE_UNAVAILABLE: 'The golden record it matched was merged away while the record was being linked: a steward decides.',
  MULTIPLE_GOLDEN_RECORDS: 'A record linked to one of these golden records also matches the other: they may be one person.',
  // A steward's decisions (the steward's own words are in `reason`).
  STEWARD_LINKED: 'A steward linked the record (linkRecord, or a review resolved as MATCH).',
  STEWARD_UNLINKED: 'A steward moved the record out to a patient of its own.',
  STEWARD_MERGED: "A steward's merge of two patients moved the record.",
  STEWARD_NOT_DUPLICATE: 'A steward decided the record is not the candidate patient (markNotDuplicate, or a review resolved as NO_MATCH).',
  UNKNOWN: 'Decided before the MPI recorded reasons.',
} as const;
export type MatchReasonCode = keyof typeof MATCH_REASONS;
export const MATCH_REASON_CODES = Object.keys(MATCH_REASONS) as MatchReasonCode[];

/** A stored code as read back: rows written before reasons were recorded (null), or by another version, read UNKNOWN. */
export const reasonCode = (stored: string | null | undefined): MatchReasonCode =>
  stored && Object.hasOwn(MATCH_REASONS, stored) ? (stored as MatchReasonCode) : 'UNKNOWN';

export const describeReason = (code: MatchReasonCode): { code: MatchReasonCode; description: string } => ({
  code,
  description: MATCH_REASONS[code],
});

/** The thresholds a decision was taken under (the configuration may change later). */
export type Thresholds = MatchingConfig['thresholds'];

const log2Odds = (p: number): number => Math.log2(p / (1 - p));

/**
 * Guard fields (hand-set evidence in config/matching.json) and the code of each, most specific
 * first: suspected twins always share a home too, and "twins" tells a steward more than "household".
 */
const GUARDS: Readonly<Record<string, MatchReasonCode>> = {
  twin: 'TWIN_GUARD',
  suffix: 'SUFFIX_GUARD',
  generation: 'GENERATION_GUARD',
  household: 'HOUSEHOLD_GUARD',
};
const GUARD_ORDER = Object.keys(GUARDS);

/**
 * matchCap names its rule (`SSN_DECISIVE`, `NO_NAME_NO_BIRTH_DATE`, `NO_BIRTH_DATE_NO_SSN`, `NAMES_DIFFER` or
 * `<FIELD>_<LEVEL>` of a review level): its stable code.
 */
export function capReason(cap: string): MatchReasonCode {
  if (cap === 'SSN_DECISIVE') return 'SSN_ONLY';
  if (cap === 'NO_NAME_NO_BIRTH_DATE' || cap === 'NO_BIRTH_DATE_NO_SSN' || cap === 'NAMES_DIFFER') return 'INSUFFICIENT_DATA';
  if (cap === 'SSN_DIFFERENT' || cap === 'SSN_CONFLICT_UNCONFIRMED') return 'SSN_CONFLICT';
  for (const [field, code] of Object.entries(GUARDS)) if (cap.startsWith(`${field.toUpperCase()}_`)) return code;
  return 'REVIEW_LEVEL';
}

/**
 * Why `decide` decided as it did for this pair (the same bands, the same order). In the review
 * band a guard's negative weight is named when the pair would have reached auto-link without it:
 * the guard, not the score, is why a steward sees the pair.
 */
export function matchReason(c: Comparison, a: MatchFeatures, b: MatchFeatures, config: MatchingConfig): MatchReasonCode {
  const p = Number.isFinite(c.probability) ? c.probability : 0;
  const { review, autoLink } = config.thresholds;
  if (p < review) return 'BELOW_REVIEW';
  if (p >= autoLink) {
    const cap = matchCap(c, a, b, config);
    return cap === null ? 'ABOVE_AUTO_LINK' : capReason(cap);
  }
  const guards = c.evidence.filter((e) => e.weight < 0 && Object.hasOwn(GUARDS, e.field));
  const withoutGuards = c.weight - guards.reduce((s, e) => s + e.weight, 0);
  if (guards.length === 0 || withoutGuards < log2Odds(autoLink)) return 'BELOW_AUTO_LINK';
  const named = GUARD_ORDER.find((field) => guards.some((e) => e.field === field))!;
  return GUARDS[named]!;
}

/** The decision an automatic reason stands for (checked against `decide` by the tests). */
export function decisionOf(code: MatchReasonCode): 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH' {
  if (code === 'ABOVE_AUTO_LINK') return 'MATCH';
  return code === 'BELOW_REVIEW' || code === 'NO_CANDIDATE' ? 'NO_MATCH' : 'POSSIBLE_MATCH';
}

/**
 * The reason of a record's automatic link, given the state it got and the candidate it was decided
 * against (if any): the candidate's reason, except when a MATCH could not join its golden record.
 */
export function linkReason(
  state: 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH',
  target: { readonly decision: string; readonly reason: MatchReasonCode } | undefined,
): MatchReasonCode {
  if (!target) return 'NO_CANDIDATE';
  if (state !== 'MATCH' && target.decision === 'MATCH') return 'CANDIDATE_UNAVAILABLE';
  return target.reason;
}
