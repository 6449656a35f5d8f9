// Operation limits: one set of bounds, applied by the gateway and by every subgraph, that refuse a
// GraphQL document before it costs anything (characters and tokens before or during parsing,
// shape during validation, cost and page sizes once the variables are known).
//
// Every refusal is a GraphQL error with no data: `extensions.code` is GRAPHQL_VALIDATION_FAILED
// (BAD_USER_INPUT for a page size over its cap, as for any malformed argument in the public
// contract), `extensions.limit` names the limit and `extensions.max` its bound.
import type { ErrorCode } from '../errors.ts';
import { GraphQLError, type ASTNode } from 'graphql';

export type OperationLimits = {
  /** Characters of the document, checked before it is parsed. */
  readonly maxCharacters: number;
  /** Tokens of the document (graphql-js stops parsing at this count). */
  readonly maxTokens: number;
  /** Nesting of fields; fragments (named and inline) add no level but are followed. */
  readonly maxDepth: number;
  /** Aliased fields in an operation, `__typename` included, fragments expanded. */
  readonly maxAliases: number;
  /** Directives in an operation (on the operation, variables, fields and fragments), fragments expanded. */
  readonly maxDirectives: number;
  /** Distinct response names at the root of an operation (aliases of one field count apart). */
  readonly maxRootFields: number;
  /** How often one response name may be selected in one selection set (through fragments). */
  readonly maxFieldRepeats: number;
  /** Cost of an operation: 1 per field, a paginated field's selections times its page size. */
  readonly maxCost: number;
  /** Arguments that size a page (Relay `first`/`last`). */
  readonly pageSizeArguments: readonly string[];
  /** Page size of a paginated field called without one and without a schema default. */
  readonly defaultPageSize: number;
  /** Largest page size of any paginated field not named in pageSizeCaps. */
  readonly maxPageSize: number;
  /** Largest page size per field, by schema coordinate (`Query.patients`). */
  readonly pageSizeCaps: Readonly<Record<string, number>>;
  /** Multiplier for a list field that takes no page size (its length is bounded by data, not by the query). */
  readonly assumedListSize: number;
};

/**
 * Defaults, chosen so that the product's real queries pass with room to spare and the known
 * abuse patterns (PRODUCT.md §5, issue 3) do not:
 *
 * - maxCharacters 20,000: the README's sample query is 194 characters, the golden-patient page
 *   (test/e2e/golden-patient) 559, a page with every field of Patient, its source records and
 *   their clinical data about 1,000. 20,000 leaves room for indented, commented, fragment-heavy
 *   client documents; a 1 MB query is refused before parsing (by the 1,000,000-byte HTTP body
 *   limit, or by this one below it).
 * - maxTokens 2,000: the sample is 44 tokens, the every-field page 163. The bound also caps the
 *   work of graphql-js validation, whose overlapping-fields rule compares same-named fields
 *   pairwise (graphql 16.15 aborts it past its own budget); the worst 2,000-token documents found
 *   validate in ~40 ms, less than the every-field page takes to answer.
 * - maxDepth 15: the deepest data path is 8 (patients > edges > node > sourceRecords >
 *   observations > valueCodeableConcept > coding > system); graphql-js's standard introspection
 *   query, which IDEs and code generators send outside production, reaches 15. The data schema
 *   has no cycles, so today only introspection (refused in production) can nest deeper.
 * - maxAliases 50: there is no batch lookup by id, so a client resolving a short list of ids
 *   aliases `patient(id:)` once per id; 50 covers a screen of results (a cohort is read with
 *   `patients(filter:)`). `__typename` aliases count like any other.
 * - maxDirectives 50: clients use a handful of @include/@skip per operation.
 * - maxRootFields 50: three root fields exist; the bound matters for aliased lookups, as above.
 * - maxFieldRepeats 30: repeats are legitimate when colocated fragments each select `id` and
 *   `__typename` (Apollo Client and Relay add them to every fragment); 30 fragments on one type
 *   is generous. Repeats are free to execute but not to validate or plan. Inline fragments on
 *   different types count together, and the gateway's query plan selects `__typename` once per
 *   vendor record type under `sourceRecords`: beyond ~25 vendor adapters, raise this bound.
 * - maxCost 15,000 with defaultPageSize 20 (the SDL default of `patients(first:)`) and
 *   assumedListSize 1: the README's sample query costs 55, the golden-patient page of 100 4,901,
 *   a page of 100 with every field 10,301. Lists without a page size (identifiers,
 *   source records, observations, codings) are bounded by the data, not by what the client asks
 *   for, so they count once; the page size the client chooses multiplies everything below it.
 *   The bound allows one full page, or three golden-patient pages, per request. The gateway applies
 *   it to the client's operation and to each subgraph's part of the query plan (gateway/subgraph-limits.ts),
 *   which is what each subgraph applies it to.
 * - maxPageSize 100: the public contract (`first` ≤ 100), checked before execution.
 * - pageSizeCaps 1,000 for cohort paging (`Query.patients`, `Cohort.members`): analytics tools
 *   stream cohorts of 100,000 members, and each page is a round trip with its own audit record. The
 *   cost bound still applies: a page of 1,000 with the few de-identified fields a cohort tool reads
 *   costs about 7,000; one with every field (about 103,000) is refused.
 */
export const DEFAULT_OPERATION_LIMITS = {
  maxCharacters: 20_000,
  maxTokens: 2_000,
  maxDepth: 15,
  maxAliases: 50,
  maxDirectives: 50,
  maxRootFields: 50,
  maxFieldRepeats: 30,
  maxCost: 15_000,
  pageSizeArguments: ['first', 'last'],
  defaultPageSize: 20,
  maxPageSize: 100,
  pageSizeCaps: { 'Query.patients': 1000, 'Cohort.members': 1000 },
  assumedListSize: 1,
} as const satisfies OperationLimits;

/** The defaults with some bounds replaced. */
export function operationLimits(overrides: Partial<OperationLimits> = {}): OperationLimits {
  return { ...DEFAULT_OPERATION_LIMITS, ...overrides };
}

export const LIMIT_NAMES = {
  characters: 'characters',
  tokens: 'tokens',
  depth: 'depth',
  aliases: 'aliases',
  directives: 'directives',
  rootFields: 'rootFields',
  fieldRepeats: 'fieldRepeats',
  cost: 'cost',
  pageSize: 'pageSize',
} as const;
export type LimitName = (typeof LIMIT_NAMES)[keyof typeof LIMIT_NAMES];

export const VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED' satisfies ErrorCode;

/** A refusal: a GraphQL error with the limit's name and bound (never the offending document). */
export function limitError(
  limit: LimitName,
  max: number,
  message: string,
  options: { readonly nodes?: readonly ASTNode[]; readonly code?: ErrorCode; readonly extra?: Readonly<Record<string, unknown>> } = {},
): GraphQLError {
  return new GraphQLError(message, {
    nodes: options.nodes,
    extensions: { code: options.code ?? VALIDATION_FAILED, limit, max, ...options.extra },
  });
}

/** The page size cap of a field, by schema coordinate. */
export function pageSizeCap(limits: OperationLimits, coordinate: string): number {
  return limits.pageSizeCaps[coordinate] ?? limits.maxPageSize;
}
