// The compared fields and their comparison levels, most to least similar. A comparator returns
// the first level that holds. Besides these, every field can be 'missing' (either side has no
// value; weight 0), and 'given' is 'swapped' when the family field already scored a given/family
// swap (the family level carries the whole name's evidence, so given must not count it twice).
export const FIELD_LEVELS: Readonly<Record<string, readonly string[]>> = {
  family: ['exact', 'swapped', 'token', 'jw_high', 'phonetic', 'jw_mid', 'different'],
  given: ['exact', 'nickname', 'middle', 'jw_high', 'phonetic', 'jw_mid', 'initial', 'different'],
  birth_date: ['exact', 'one_digit', 'day_month_swap', 'day_off_one', 'year_off_one', 'partial', 'different'],
  address: ['exact', 'street', 'close', 'near', 'different'],
  city: ['exact', 'close', 'different'],
  postal_code: ['exact', 'one_digit', 'different'],
  phone: ['exact', 'different'],
  email: ['exact', 'different'],
  ssn: ['exact', 'one_digit', 'different'],
  gender: ['exact', 'different'],
  // Guards (hand-set, not estimated): Jr vs Sr, and twins (same family, birth date and home, clearly different given name).
  suffix: ['exact', 'different'],
  twin: ['suspected', 'possible', 'refuted_by_ssn'],
  household: ['conflict', 'conflict_ssn_agrees'],
  // Birth dates beyond a typo with no SSN agreement: another person, never auto-linked.
  generation: ['different', 'refuted_by_ssn'],
  // Both SSNs known and different, and no birth date confirming the pair: never auto-linked.
  ssn_conflict: ['unconfirmed'],
};

/**
 * Levels that never carry evidence (weight 0). Any level a field's configuration lacks (given 'swapped') weighs 0 too.
 * 'implied': the agreement follows from another field's and is counted there (city when the postal code agrees).
 */
export const NEUTRAL_LEVELS: ReadonlySet<string> = new Set(['missing', 'none', 'implied']);

/**
 * Blocking key kinds. fdm: family Double Metaphone + birth year; gsx: given Soundex + birth date;
 * nms: the two name Soundex codes in either order (survives a wrong birth date and a swap);
 * ssn; tel; eml; pcd: postal code + birth date; adr: street line + postal code; dob: birth date + family initial;
 * fpc: family Double Metaphone + postal code; gpc: given Soundex + postal code; fhn: family Double Metaphone + house number.
 */
export const BLOCKING_KINDS: readonly string[] = ['fdm', 'gsx', 'nms', 'ssn', 'tel', 'eml', 'pcd', 'adr', 'dob', 'fpc', 'gpc', 'fhn'];
