// Probabilistic patient matching (Fellegi–Sunter): pure functions, no database. The store keeps
// features and blocking keys, counts name frequencies and calls compareFeatures/decide on candidates.
export type { MatchingConfig, FieldConfig, LevelProbabilities } from './config.ts';
export { loadMatchingConfig, validateMatchingConfig, matchingConfigFile, DEFAULT_MATCHING_CONFIG_FILE } from './config.ts';
export type { MatchFeatures } from './features.ts';
export { matchFeatures, blockingKeys, frequencyTerms, parseName, featuresAreCurrent, FEATURES_VERSION } from './features.ts';
export type { AddressFeatures } from './features.ts';
export { dataQualityFlags, QUALITY_FLAGS } from './quality.ts';
export type { NameFrequencies, FieldEvidence, Comparison, Decision } from './compare.ts';
export { compareFeatures, comparisonLevels, conflictsWithGolden, decide, matchCap, lacksIdentity, levelsOf, DECISIONS } from './compare.ts';
export type { EmOptions } from './em.ts';
export {
  estimateParameters,
  estimateU,
  estimateMatchShare,
  blockedPrior,
  randomPairVectors,
  candidatePairVectors,
  seededRandom,
  TRAINING_BLOCKING_KEYS,
} from './em.ts';
export type { Calibration, CalibrationOptions, LevelChange } from './calibrate.ts';
export { calibrate, MIN_CALIBRATION_SAMPLE } from './calibrate.ts';
export { FIELD_LEVELS, BLOCKING_KINDS } from './fields.ts';
