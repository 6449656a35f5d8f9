// `npm start`: the whole product on one machine with nothing installed. Embedded PostgreSQL
// (PGlite) under .data/, an in-process cache, simulated Epic and Cerner EHRs, the subgraphs and
// the gateway on http://localhost:4000/graphql. DATABASE_URL and REDIS_URL switch storage to
// real PostgreSQL and Redis without any other change.
import { join } from 'node:path';
import { dataDir, hl7Feeds } from '../platform/config.ts';
import { exitOnUnhandledErrors } from './crash-policy.ts';
import { proxyTrustFromEnv } from './components.ts';
import { startStack, type Stack } from './stack.ts';
import { runCommand } from './cli.ts';

const START_COMMAND = {
  name: 'start',
  usage: 'npm start',
  description:
    'The whole product on this machine: simulated Epic and Cerner EHRs, the subgraphs and the gateway on\n' +
    'http://localhost:4000/graphql, over the embedded database in DATA_DIR/pg (default .data/pg) and an in-process cache.',
  options: {},
  example: 'npm start',
  notes:
    'DATABASE_URL and REDIS_URL switch storage to PostgreSQL and Redis. SIM_SIZE and SIM_SEED size the simulated population;\n' +
    'GATEWAY_PORT, MPI_PORT, EPIC_PORT, CERNER_PORT, AUDIT_PORT move the ports. One process at a time opens the embedded database.',
} as const;

/** A golden patient's record from every EHR that knows them: the product's first query. */
const sampleQuery = (id: string): string => `query GoldenPatient {
  patient(id: "${id}") {
    id name { family given } birthDate gender
    identifiers { system value }
    sourceRecords { source mrn observations { code { coding { system code display } } effective valueQuantity { value unit } } }
  }
  patients(first: 3) { totalCount edges { cursor node { id name { family } sourceRecords { source } } } }
}`;

let running: Stack | undefined;
// A bug nobody caught is logged without PHI and ends the process, the embedded database closed first.
exitOnUnhandledErrors(async () => running?.close());

async function main(): Promise<void> {
  const dir = dataDir();
  const started = Date.now();
  const production = process.env.NODE_ENV === 'production';
  const stack = await startStack({
    databaseUrl: process.env.DATABASE_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    pgliteDir: join(dir, 'pg'),
    keysDir: join(dir, 'keys'),
    simulators: {
      seed: Number(process.env.SIM_SEED ?? 42),
      size: Number(process.env.SIM_SIZE ?? 2000),
      truthFile: join(dir, 'ground-truth.csv'),
      // A person trying the product adds or changes patients at a simulated EHR (README, "Incremental sync").
      devWrites: !production,
      // The HL7 v2 feed's simulated site sends its ADT/ORU traffic over MLLP once the listener is up.
      hl7: process.env.SIM_HL7 !== 'false',
    },
    production,
    // The demo's tokens come from the development issuer, which production mode never trusts.
    trustDevIssuer: !production,
    proxyTrust: proxyTrustFromEnv(),
  });
  running = stack;
  const loaded = stack.loadReports
    .map(
      (r) =>
        `${r.source}: ${r.linked} linked${r.quarantined ? `, ${r.quarantined} quarantined` : ''}${r.failed ? `, FAILED (${r.failed})` : ''}`,
    )
    .join('; ');
  const url = stack.gateway.url.replace('127.0.0.1', 'localhost');
  // Show a person the MPI linked across EHRs, so the first query returns data from several sources.
  const { rows } = await stack.db.query<{ golden_id: string }>(
    'SELECT golden_id FROM source_record GROUP BY golden_id ORDER BY count(DISTINCT source) DESC, golden_id LIMIT 1',
  );
  const SAMPLE_QUERY = sampleQuery(rows[0]?.golden_id ?? '00000000-0000-4000-8000-000000000000');
  process.stdout.write(
    [
      '',
      `Patient federation gateway ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${url}`,
      `  storage: ${stack.db.kind === 'pglite' ? `embedded PostgreSQL in ${join(dir, 'pg')}` : 'PostgreSQL (DATABASE_URL)'}; cache: ${process.env.REDIS_URL ? 'Redis (REDIS_URL)' : 'in-process'}`,
      `  simulated EHRs: ${Object.entries(stack.simulators?.servers ?? {})
        .map(([id, s]) => `${id} ${s.url}`)
        .join(', ')}`,
      `  initial load: ${loaded || 'done before; incremental sync goes on from the stored watermarks'}`,
      ...(production
        ? []
        : [
            `  add a patient at a simulated EHR (found within a minute): curl -s -X POST ${new URL(Object.values(stack.simulators?.servers ?? {})[0]?.url ?? 'http://127.0.0.1:4101').origin}/_simulator/Patient -d '{"family":"Newpatient","given":"Ada","birthDate":"1990-01-02"}'`,
          ]),
      ...(stack.ingestion?.port
        ? [
            `  HL7 v2 MLLP listener: 127.0.0.1:${stack.ingestion.port} (feeds: ${hl7Feeds(stack.connections)
              .map((f) => `${f.id} MSH-4 ${f.facility.sendingFacility}`)
              .join(
                ', ',
              )}${Object.keys(stack.simulators?.hl7Traffic ?? {}).length > 0 ? '; the simulated site is sending its traffic' : ''})`,
          ]
        : []),
      `  Prometheus metrics: ${new URL('/metrics', url).href}${production ? ' (with the METRICS_TOKEN bearer token)' : ''}; every port shows the same`,
      `  ground truth of the simulated population: ${join(dir, 'ground-truth.csv')}`,
      `  steward console: ${url.replace(/\/graphql$/, '/console')}${production ? '' : ' (development sign-in: pick a role)'}`,
      ...(production ? [] : [`  GraphQL explorer: ${url.replace(/\/graphql$/, '/explorer')} (pick a role for a development token)`]),
      '',
      ...(production
        ? ['Production mode: tokens come from the identity providers of config/issuers.json (the development issuer is not trusted).']
        : ['Get a token (roles: clinician, analyst, steward, security):', '  TOKEN=$(npm run --silent token -- --role clinician)']),
      'Then run the sample query:',
      `  curl -s ${url} -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `    -d '${JSON.stringify({ query: SAMPLE_QUERY.replace(/\s+/g, ' ') })}'`,
      '',
      SAMPLE_QUERY,
      '',
    ].join('\n'),
  );
  const stop = async () => {
    await stack.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

runCommand(START_COMMAND, main);
