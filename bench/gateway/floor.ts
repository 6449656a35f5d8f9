// The benchmark's floor: no gateway, no planner, no GraphQL execution of its own. A small HTTP
// server that answers the golden-patient query by making the same three subgraph calls a
// federation gateway plans for it (mpi, then the vendor subgraphs in parallel) over kept-alive
// connections, and assembling the same answer. What is left is the physical cost of the calls.
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { GOLDEN_PATIENT_QUERY } from './query.ts';
import { listen, stopServer } from '../../platform/graphql-http.ts';

const OBSERVATION_FIELDS = 'observations { code { coding { system code display } } effective valueQuantity { value unit } }';

/** The `mpi` fetch of the plan: the patient and the keys of its source records. */
export const FLOOR_MPI_QUERY =
  'query GoldenPatient__mpi__0($id: ID!) { patient(id: $id) { id name { family given } birthDate gender identifiers { system value } sourceRecords { __typename source mrn id } } }';

/** The fetch of one vendor subgraph: observations of its source records, by entity key. */
export const floorEntitiesQuery = (recordType: string): string =>
  `query GoldenPatient__entities($representations: [_Any!]!) { _entities(representations: $representations) { ... on ${recordType} { ${OBSERVATION_FIELDS} } } }`;

type SourceRecordKey = { __typename: string; source: string; mrn: string | null; id: string };
type MpiPatient = {
  id: string;
  name: unknown;
  birthDate: unknown;
  gender: unknown;
  identifiers: unknown;
  sourceRecords: SourceRecordKey[] | null;
};
type GraphQLAnswer<T> = { data?: T | null; errors?: unknown[] };

/** The subgraph calls after `mpi`: one per subgraph that resolves some of the patient's records. */
export function entityCalls(
  records: readonly SourceRecordKey[],
  subgraphOfRecordType: Readonly<Record<string, string>>,
): { subgraph: string; recordType: string; indexes: number[] }[] {
  const calls = new Map<string, { subgraph: string; recordType: string; indexes: number[] }>();
  records.forEach((r, i) => {
    const subgraph = subgraphOfRecordType[r.__typename];
    if (!subgraph) return;
    const call = calls.get(r.__typename) ?? { subgraph, recordType: r.__typename, indexes: [] };
    call.indexes.push(i);
    calls.set(r.__typename, call);
  });
  return [...calls.values()];
}

/** The client's answer from the subgraphs' answers: only the fields the client asked for. */
export function assemble(patient: MpiPatient | null, observations: ReadonlyMap<number, unknown>): unknown {
  if (!patient) return { data: { patient: null } };
  return {
    data: {
      patient: {
        id: patient.id,
        name: patient.name,
        birthDate: patient.birthDate,
        gender: patient.gender,
        identifiers: patient.identifiers,
        sourceRecords:
          patient.sourceRecords?.map((r, i) => ({ source: r.source, mrn: r.mrn, observations: observations.get(i) ?? null })) ?? null,
      },
    },
  };
}

export type Floor = { readonly url: string; close(): Promise<void> };

export async function startFloor(
  subgraphUrls: Readonly<Record<string, string>>,
  subgraphOfRecordType: Readonly<Record<string, string>>,
): Promise<Floor> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });

  const post = <T>(subgraph: string, body: string): Promise<GraphQLAnswer<T>> =>
    new Promise((resolve, reject) => {
      const url = subgraphUrls[subgraph];
      if (!url) return reject(new Error(`no URL for subgraph ${subgraph}`));
      const req = request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as GraphQLAnswer<T>);
            } catch (error) {
              reject(error as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const answer = async (id: string): Promise<unknown> => {
    const mpi = await post<{ patient: MpiPatient | null }>('mpi', JSON.stringify({ query: FLOOR_MPI_QUERY, variables: { id } }));
    if (mpi.errors?.length) return { errors: mpi.errors, data: null };
    const patient = mpi.data?.patient ?? null;
    const observations = new Map<number, unknown>();
    const records = patient?.sourceRecords ?? [];
    const calls = entityCalls(records, subgraphOfRecordType);
    const answers = await Promise.all(
      calls.map((c) =>
        post<{ _entities: ({ observations?: unknown } | null)[] }>(
          c.subgraph,
          JSON.stringify({
            query: floorEntitiesQuery(c.recordType),
            variables: { representations: c.indexes.map((i) => ({ __typename: records[i]!.__typename, id: records[i]!.id })) },
          }),
        ),
      ),
    );
    for (const [n, call] of calls.entries()) {
      const a = answers[n]!;
      if (a.errors?.length) return { errors: a.errors, data: null };
      call.indexes.forEach((recordIndex, k) => observations.set(recordIndex, a.data?._entities[k]?.observations ?? null));
    }
    return assemble(patient, observations);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      let id: unknown;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query?: string; variables?: { id?: unknown } };
        // The floor knows one query only; anything else is refused rather than answered wrongly.
        if (body.query !== GOLDEN_PATIENT_QUERY)
          return reply(400, { errors: [{ message: 'the floor answers the golden-patient query only' }] });
        id = body.variables?.id;
      } catch {
        return reply(400, { errors: [{ message: 'body is not JSON' }] });
      }
      if (typeof id !== 'string') return reply(400, { errors: [{ message: 'variables.id is required' }] });
      answer(id).then(
        (body) => reply(200, body),
        (error: unknown) => reply(502, { errors: [{ message: (error as Error).message }] }),
      );
    });
  };

  const server = createServer({ keepAliveTimeout: 65_000 }, handle);
  const port = await listen(server, 0);
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      await stopServer(server);
      agent.destroy();
    },
  };
}
