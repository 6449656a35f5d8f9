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
  /** A local time read in the connection's time zone: mapId is the IANA zone, from the value as sent, to the UTC instant. */
  timeZone: 'time-zone',
} as const;
export type TransformationKind = (typeof TRANSFORMATION_KIND)[keyof typeof TRANSFORMATION_KIND];

export type Transformation = {
  readonly kind: TransformationKind;
  /** The rule set used, as a versioned canonical reference (`url|version` for a ConceptMap); null for built-in rules. */
  readonly mapId: string | null;
  readonly from: string;
  readonly to: string;
};

/** Where a stored datum came from and what was done to it (the `provenance` every canonical item answers). */
export type Lineage = {
  readonly source: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly version: string;
  readonly retrievedAt: string;
  /** The inbound message (HL7 v2 control id, Bulk file) it arrived in; null for a FHIR read. */
  readonly messageId: string | null;
  readonly transformations: readonly Transformation[];
  readonly softwareVersion: string;
};
