// Backend child of the gateway benchmark: simulated EHRs, the product's guarded subgraphs and
// storage (startStack), plus the SAME subgraph code started unguarded over the same database,
// cache and EHR connections, for the stock gateway. Reports URLs and golden patient ids over
// IPC, then serves until the parent says stop (the benchmark schema is dropped on the way out).
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fhirConnections, loadAdapters } from '../../platform/config.ts';
import type { RunningHttpServer } from '../../platform/graphql-http.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../platform/keys.ts';
import { openConnections } from '../../protocol/connections.ts';
import { writeAuditEvents } from '../../orchestration/audit/audit-log.ts';
import { linksForGolden } from '../../orchestration/mpi/store.ts';
import { startStack, type Stack } from '../../runtime/stack.ts';
import { protectionFor, vendorAdapterDeps } from '../../runtime/components.ts';
import { identitySigner, identityVerifier, type IdentityVerifier } from '../../security/identity-token.ts';
import type { Principal } from '../../security/principal.ts';
import { DEFAULT_AUDIENCE, DEV_ISSUER, mintDevToken, userTokenVerifier } from '../../security/user-token.ts';
import { mpiSubgraph } from '../../subgraphs/mpi/subgraph.ts';
import { auditCollector } from '../../orchestration/audit/collector.ts';
import { buildSubgraph, startSubgraph, type SubgraphDefinition } from '../../subgraphs/shared/subgraph-server.ts';
import { vendorAdapterSubgraph } from '../../subgraphs/vendor-adapter/subgraph.ts';
import { AUDIT_CHECKPOINT_ALG, AUDIT_CHECKPOINT_KEY } from '../../orchestration/audit/checkpoint.ts';
import { DEFAULT_RETENTION_YEARS } from '../../orchestration/audit/retention.ts';
import { formatReport, verifyAuditLog } from '../../orchestration/audit/verify.ts';
import type { Database } from '../../platform/db.ts';
import { BENCH_CLINICIAN, maxRssKb, send, stopOnRequest, type AuditSummary, type MicroCost } from './protocol.ts';

const SIMULATORS = { seed: 42, size: 1000 } as const;
const CACHE_TTL_SECONDS = 300;

/** The principal the unguarded subgraphs act as: a clinician reading for treatment. */
const UNGUARDED_CLINICIAN: Principal = {
  sub: 'bench-unguarded-clinician',
  roles: ['clinician'],
  purposeOfUse: 'TREAT',
  clientId: 'bench',
  scopes: ['user/*.rs'],
  patientContext: null,
  breakGlassReason: null,
  clientIp: null,
  requestId: 'bench-unguarded',
};

const refuseIdentity: IdentityVerifier = async () => {
  throw new Error('unguarded subgraphs verify no identity');
};

async function timeOps(name: string, ops: number, op: (i: number) => Promise<unknown>): Promise<MicroCost> {
  for (let i = 0; i < Math.min(50, ops); i++) await op(i); // warm the JIT and any lazy setup
  const started = performance.now();
  for (let i = 0; i < ops; i++) await op(i);
  return { name, ops, microsPerOp: Math.round(((performance.now() - started) * 1000) / ops) };
}

/** Costs of the guards measured one at a time, sequentially, before any load (not under load). */
async function measureMicroCosts(stack: Stack): Promise<MicroCost[]> {
  const devIssuer = await loadKeyPair(stack.keys, keyNames.devIssuer, KEY_ALGORITHMS.devIssuer);
  const gatewayKey = await loadKeyPair(stack.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  const token = await mintDevToken(devIssuer, { sub: 'bench-micro', roles: ['clinician'], purposeOfUse: 'TREAT' });
  const verifyUser = userTokenVerifier([{ issuer: DEV_ISSUER, audience: DEFAULT_AUDIENCE, jwks: [devIssuer.publicJwk] }]);
  const sign = identitySigner(gatewayKey);
  const verifyIdentity = identityVerifier([gatewayKey.publicJwk], 'mpi');
  const principal = await verifyUser(`Bearer ${token}`, 'bench-micro');
  // An identity is single-use and bound to its request: sign one per verification ahead of timing.
  const request = { query: 'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }', variables: { r: [] } };
  const identities = await Promise.all(Array.from({ length: 1050 }, () => sign(principal, 'mpi', request)));
  const fields = ['Patient.id', 'Patient.name', 'Patient.birthDate', 'Patient.gender', 'Patient.identifiers', 'Patient.sourceRecords'];
  return [
    await timeOps('user JWT verification (ES256, gateway, 1 per request)', 1000, () => verifyUser(`Bearer ${token}`, 'bench-micro')),
    await timeOps('identity token signing (EdDSA, gateway, 1 per subgraph call)', 1000, () => sign(principal, 'mpi', request)),
    await timeOps('identity token verification (EdDSA, subgraph, 1 per subgraph call)', 1000, () => verifyIdentity(identities.pop()!)),
    await timeOps('audit insert (1 row, sequential, subgraph, 1 per subgraph call)', 300, (i) =>
      writeAuditEvents(
        stack.db,
        { principal: { ...principal, requestId: `bench-micro-${i}` }, subgraph: 'bench-micro', operationName: 'Micro' },
        [{ patientRef: 'Patient/bench-micro', fields }],
        [],
      ),
    ),
  ];
}

/**
 * What graphql-shield and the audit middleware add to executing one subgraph call: the same
 * operation executed in-process (no HTTP, no audit insert) on the guarded schema and on the
 * unguarded one, alternately, with the data already cached.
 */
type MiddlewareCase = { readonly def: SubgraphDefinition; readonly operation: string; readonly variables: Record<string, unknown> };

async function measureMiddleware(defs: readonly MiddlewareCase[]): Promise<MicroCost[]> {
  const principal: Principal = { ...UNGUARDED_CLINICIAN, sub: 'bench-micro', requestId: 'bench-micro' };
  const costs: MicroCost[] = [];
  for (const { def, operation, variables } of defs) {
    const document: DocumentNode = parse(operation);
    const guarded = buildSubgraph(def);
    const unguarded = buildSubgraphSchema([{ typeDefs: parse(def.typeDefs), resolvers: def.resolvers }]);
    const run = async (schema: GraphQLSchema, audited: boolean) => {
      const contextValue = {
        principal,
        audit: auditCollector(audited ? def.auditSubjects : {}),
        subgraph: def.name,
        perRequest: new Map(),
      };
      const result = await execute({ schema, document, variableValues: variables, contextValue });
      if (result.errors?.length) throw new Error(`${def.name} micro-benchmark: ${JSON.stringify(result.errors)}`);
    };
    const ops = 300;
    let guardedMs = 0;
    let unguardedMs = 0;
    for (let i = 0; i < 30; i++) await Promise.all([run(guarded, true), run(unguarded, false)]);
    for (let i = 0; i < ops; i++) {
      let t = performance.now();
      await run(guarded, true);
      guardedMs += performance.now() - t;
      t = performance.now();
      await run(unguarded, false);
      unguardedMs += performance.now() - t;
    }
    costs.push({
      name: `${def.name} subgraph call executed in-process, guarded (shield + audit middleware, no insert)`,
      ops,
      microsPerOp: Math.round((guardedMs * 1000) / ops),
    });
    costs.push({
      name: `${def.name} subgraph call executed in-process, unguarded`,
      ops,
      microsPerOp: Math.round((unguardedMs * 1000) / ops),
    });
  }
  return costs;
}

/**
 * The full target's audit rows (the bench clinician's): counts, and for the rows after `sinceSeq`
 * which patients each request's rows name. With `verify`, the hash chain is verified here too (the
 * only way for PGlite, which no other process can open).
 */
async function auditSummary(stack: Stack, sinceSeq: number, verify: boolean): Promise<AuditSummary> {
  const db: Database = stack.db;
  const totals = await db.query<{ rows: number; requests: number; disclosures: number; last_seq: string | null }>(
    `SELECT count(*)::int AS rows, count(DISTINCT request_id)::int AS requests,
            count(DISTINCT (request_id, subgraph, patient_ref))::int AS disclosures, max(seq)::text AS last_seq
       FROM audit_event WHERE actor_sub = $1`,
    [BENCH_CLINICIAN],
  );
  const bySubgraph = await db.query<{ subgraph: string; n: number }>(
    'SELECT subgraph, count(*)::int AS n FROM audit_event WHERE actor_sub = $1 GROUP BY subgraph ORDER BY subgraph',
    [BENCH_CLINICIAN],
  );
  const since = await db.query<{ request_id: string; patients: string[] }>(
    `SELECT request_id, array_agg(DISTINCT patient_ref) AS patients
       FROM audit_event WHERE actor_sub = $1 AND seq > $2 AND patient_ref LIKE 'Patient/%' GROUP BY request_id`,
    [BENCH_CLINICIAN, sinceSeq],
  );
  // Requests after sinceSeq whose rows name no patient at all still count, with no patients.
  const anyRow = await db.query<{ request_id: string }>('SELECT DISTINCT request_id FROM audit_event WHERE actor_sub = $1 AND seq > $2', [
    BENCH_CLINICIAN,
    sinceSeq,
  ]);
  const patientsOfRequestsSince: Record<string, string[]> = Object.fromEntries(anyRow.rows.map((r) => [r.request_id, []]));
  for (const r of since.rows) patientsOfRequestsSince[r.request_id] = r.patients;
  const t = totals.rows[0]!;
  let verified: AuditSummary['verified'];
  if (verify) {
    const checkpointKey = await loadKeyPair(stack.keys, AUDIT_CHECKPOINT_KEY, AUDIT_CHECKPOINT_ALG);
    const report = await verifyAuditLog(db, { publicKeys: [checkpointKey.publicJwk], retentionYears: DEFAULT_RETENTION_YEARS });
    verified = { ok: report.ok, report: formatReport(report) };
  }
  return {
    type: 'audit',
    rows: t.rows,
    requests: t.requests,
    disclosures: t.disclosures,
    rowsBySubgraph: Object.fromEntries(bySubgraph.rows.map((r) => [r.subgraph, r.n])),
    patientsOfRequestsSince,
    lastSeq: Number(t.last_seq ?? 0),
    ...(verified ? { verified } : {}),
  };
}

const OBSERVATION_FIELDS = 'observations { code { coding { system code display } } effective valueQuantity { value unit } }';

async function main(): Promise<void> {
  const started = performance.now();
  const keysDir = process.argv[2];
  if (!keysDir) throw new Error('usage: backend.ts <keysDir>');
  const adapters = loadAdapters();
  const unguarded: Record<string, RunningHttpServer> = {};
  const starting = startStack({
    databaseUrl: process.env.DATABASE_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    dbSchema: `bench_gw_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`,
    dropSchemaOnClose: true,
    keysDir,
    simulators: SIMULATORS,
    ephemeralPorts: true,
    adapters,
    cacheTtlSeconds: CACHE_TTL_SECONDS,
  });
  // Registered before the stack is up, so a stop during start-up still drops the schema.
  const stop = async () => {
    for (const s of Object.values(unguarded)) await s.close().catch(() => undefined);
    const stack = await starting.catch(() => undefined);
    await stack?.close();
  };
  stopOnRequest(
    stop,
    async () => ({ type: 'stats', maxRssKb: maxRssKb() }),
    async (sinceSeq, verify) => auditSummary(await starting, sinceSeq, verify),
  );
  const stack = await starting;
  try {
    // The unguarded twins: same definitions, same database, same cache, same EHRs (own SMART clients).
    const runtime = { db: stack.db, verifyIdentity: refuseIdentity, port: 0, production: false, unguardedAs: UNGUARDED_CLINICIAN };
    const clients = await openConnections(fhirConnections(stack.connections), stack.keys);
    unguarded.mpi = await startSubgraph(
      mpiSubgraph({ db: stack.db, protection: protectionFor(stack.keys), adapters, connections: stack.connections }),
      runtime,
    );
    for (const adapter of adapters) {
      const deps = vendorAdapterDeps({ ...stack, adapter, clients, ttlSeconds: CACHE_TTL_SECONDS });
      unguarded[adapter.name] = await startSubgraph(vendorAdapterSubgraph(adapter, deps), runtime);
    }

    // Golden patients linked to a record of every adapter (both EHRs), confirmed through the MPI store.
    // The simulated EHRs only: a feed connection (HL7 v2) gets no messages in the benchmark, so no records.
    const adapterOfSource = Object.fromEntries(fhirConnections(stack.connections).map((c) => [c.id, c.adapter]));
    const { rows } = await stack.db.query<{ golden_id: string }>(
      'SELECT golden_id FROM source_record GROUP BY golden_id HAVING count(DISTINCT source) >= 2 ORDER BY golden_id',
    );
    const links = await linksForGolden(
      stack.db,
      rows.map((r) => r.golden_id),
    );
    const goldenCandidates = [...links]
      .filter(([, ls]) => new Set(ls.map((l) => adapterOfSource[l.source])).size === new Set(Object.values(adapterOfSource)).size)
      .map(([id]) => id);
    const total = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM golden_patient');

    // One patient of both EHRs, for the middleware measurement (its observations get cached here).
    const sample = goldenCandidates[0];
    const micro = await measureMicroCosts(stack);
    if (sample) {
      const epicLink = links.get(sample)!.find((l) => adapterOfSource[l.source] === 'epic');
      const epic = adapters.find((a) => a.name === 'epic');
      const defs: MiddlewareCase[] = [
        {
          def: mpiSubgraph({ db: stack.db, protection: protectionFor(stack.keys), adapters, connections: stack.connections }),
          operation:
            'query($id: ID!) { patient(id: $id) { id name { family given } birthDate gender identifiers { system value } sourceRecords { __typename id source mrn } } }',
          variables: { id: sample },
        },
      ];
      if (epicLink && epic) {
        defs.push({
          def: vendorAdapterSubgraph(epic, vendorAdapterDeps({ ...stack, adapter: epic, clients, ttlSeconds: CACHE_TTL_SECONDS })),
          operation: `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${epic.recordType} { ${OBSERVATION_FIELDS} } } }`,
          variables: { r: [{ __typename: epic.recordType, id: `${epicLink.source}:${epicLink.sourcePatientId}` }] },
        });
      }
      micro.push(...(await measureMiddleware(defs)));
    }
    send({
      type: 'ready',
      guarded: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
      unguarded: Object.fromEntries(Object.entries(unguarded).map(([name, s]) => [name, s.url])),
      goldenCandidates,
      adapterOfSource,
      subgraphOfRecordType: Object.fromEntries(adapters.map((a) => [a.recordType, a.name])),
      dbSchema: stack.db.schema,
      storage: stack.db.kind,
      cache: process.env.REDIS_URL ? 'redis' : 'in-process',
      population: { ...SIMULATORS, goldenPatients: total.rows[0]?.n ?? 0, linkedToAllAdapters: goldenCandidates.length },
      startupSeconds: (performance.now() - started) / 1000,
      micro,
    });
  } catch (error) {
    await stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench backend] ${(error as Error).stack ?? String(error)}\n`);
  send({ type: 'failed', message: (error as Error).message });
  // Let the IPC message flush before exiting.
  setTimeout(() => process.exit(1), 200);
});
