// Corrects the path of an error a subgraph returns for one of the entities it was sent.
//
// @apollo/gateway (2.14) turns `["_entities", i, ...]` into a client path by taking the i-th
// entity at the fetch's place in the response. But it sends a subgraph only the entities of that
// subgraph's types: under `sourceRecords`, the Cerner subgraph receives the CernerRecords and
// not the EpicRecords beside them, so its i-th representation is not the i-th record, and an
// error about one patient's Cerner list was shown at another patient's path. Here the index is
// rewritten to the entity's position among all of them, found in the root fetch's data (where
// `sourceRecords` come from) by the representations' types, and checked against the entity's key;
// when it cannot be found with certainty, the error is left as it was.
import type { GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import type { GraphQLFormattedError } from 'graphql';

type Json = Record<string, unknown>;
type Path = readonly (string | number)[];
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The data of each client request's root fetches, merged (root fields of different subgraphs do not overlap). */
const rootData = new WeakMap<object, Json>();

/**
 * The objects at a fetch's path (`["patients", "edges", "@", "node", "sourceRecords", "@"]`), in
 * the order @apollo/gateway enumerates them for error paths (nulls skipped, lists flattened).
 */
export function entitiesAt(data: unknown, path: Path): unknown[] {
  const found: unknown[] = [];
  const walk = (value: unknown, rest: Path): void => {
    if (value === null || value === undefined) return;
    const [head, ...tail] = rest;
    if (head === undefined) found.push(value);
    else if (head === '@' || Array.isArray(value)) {
      if (Array.isArray(value)) for (const item of value) walk(item, head === '@' ? tail : rest);
    } else if (isObject(value)) walk(value[head], tail);
  };
  walk(data, path);
  return found;
}

/** `["_entities", i, ...]` with i the representation's index made the entity's index at `path`, or undefined. */
export function entityErrorPath(
  error: GraphQLFormattedError,
  representations: readonly Json[],
  path: Path,
  data: unknown,
): Path | undefined {
  const [root, index, ...rest] = error.path ?? [];
  if (root !== '_entities' || typeof index !== 'number') return undefined;
  const representation = representations[index];
  if (!representation) return undefined;
  const types = new Set(representations.map((r) => r.__typename));
  let seen = -1;
  const entities = entitiesAt(data, path);
  for (let position = 0; position < entities.length; position++) {
    const entity = entities[position];
    if (!isObject(entity) || !types.has(entity.__typename) || ++seen !== index) continue;
    // The same entity: its type and key fields are the representation's.
    const same = Object.entries(representation).every(([k, v]) => JSON.stringify(entity[k]) === JSON.stringify(v));
    return same ? ['_entities', position, ...rest] : undefined;
  }
  return undefined;
}

type Process<C extends Record<string, unknown>> = RemoteGraphQLDataSource<C>['process'];

/** Wraps a data source so that its entity errors carry the entity's index among all those at the fetch's path. */
export function withEntityErrorPaths<C extends Record<string, unknown>, S extends RemoteGraphQLDataSource<C>>(source: S): S {
  const process: Process<C> = source.process.bind(source);
  source.process = async (options: GraphQLDataSourceProcessOptions<C>) => {
    const response = await process(options);
    // Health checks and schema loads: not part of a client's request.
    if (!('incomingRequestContext' in options)) return response;
    const request = options.incomingRequestContext;
    const path = options.pathInIncomingRequest ?? [];
    const representations = options.request.variables?.representations;
    if (path.length === 0) {
      if (isObject(response.data)) rootData.set(request, { ...rootData.get(request), ...response.data });
    } else if (response.errors?.length && Array.isArray(representations)) {
      const data = rootData.get(request);
      const errors = response.errors.map((e) => {
        const fixed = data ? entityErrorPath(e, representations as Json[], path, data) : undefined;
        return fixed ? { ...e, path: fixed } : e;
      });
      return { ...response, errors };
    }
    return response;
  };
  return source;
}
