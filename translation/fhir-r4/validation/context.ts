// What every rule gets: the resource, its typed elements, the R4 definitions and the options.
import type { TranslationIssue } from '../../issues.ts';
import type { Definitions } from './definitions.ts';
import type { Json, Node } from './walk.ts';

export const GRADE = { error: 'error', warning: 'warning', ignore: 'ignore' } as const;
export type Grade = (typeof GRADE)[keyof typeof GRADE];

export type ValidationOptions = {
  /**
   * An extension that no definition describes: 'warning' (default: FHIR lets a receiver ignore an
   * extension it does not know) or 'error' (the HL7 validator's default). An unknown modifier
   * extension is always an error: it changes the meaning of what it is on.
   */
  readonly unknownExtensions?: Grade;
  /** Extension URL prefixes known to this deployment (a vendor profile's extensions), never flagged as unknown. */
  readonly knownExtensionPrefixes?: readonly string[];
  /**
   * Resource types held to their main US Core profile even when they do not claim it (e.g. ['Patient']):
   * its absent mandatory and must-support elements are flagged as warnings. A resource that claims a
   * US Core profile in meta.profile is always checked against it, and its absent mandatory elements are errors.
   */
  readonly assumeUsCore?: readonly string[];
};

export type Resolved = Required<ValidationOptions>;

export const resolveOptions = (o: ValidationOptions = {}): Resolved => ({
  unknownExtensions: o.unknownExtensions ?? GRADE.warning,
  knownExtensionPrefixes: o.knownExtensionPrefixes ?? [],
  assumeUsCore: o.assumeUsCore ?? [],
});

export type Context = {
  readonly resource: Json;
  readonly nodes: readonly Node[];
  readonly defs: Definitions;
  readonly options: Resolved;
};

export type Rule = (ctx: Context) => TranslationIssue[];

/** An issue at `grade`, or none when the grade is 'ignore'. */
export const graded = (grade: Grade, path: string, message: string): TranslationIssue[] =>
  grade === GRADE.ignore ? [] : [{ severity: grade, path, message }];

/** A URI with a scheme (http:, urn:, ...). */
export const isAbsoluteUri = (s: string): boolean => /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(s);
