// What a translation did to a datum, for its provenance (`transformations { kind mapId from to }`):
// enough to find everything a concept-map version or a unit rule produced, and to redo it.
export const TRANSFORMATION_KIND = {
  /** A code translated by a concept map: from `system|code` to `system|code`. */
  conceptMap: 'concept-map',
  /** A value converted between UCUM units: from and to are UCUM codes. */
  unitConversion: 'unit-conversion',
  /** A non-UCUM unit spelling read as a UCUM code: from the spelling to the code. */
  unitSpelling: 'unit-spelling',
  /** A number sent as a JSON string, read as a number. */
  numberFromString: 'number-from-string',
} as const;
export type TransformationKind = (typeof TRANSFORMATION_KIND)[keyof typeof TRANSFORMATION_KIND];

export type Transformation = {
  readonly kind: TransformationKind;
  /** The rule set used, as a versioned canonical reference (`url|version` for a ConceptMap); null for built-in rules. */
  readonly mapId: string | null;
  readonly from: string;
  readonly to: string;
};
