// `node bench/speed/run.ts`: what two of issue 17's speed steps save, in CPU time per operation, each
// against what it replaced, in interleaved rounds in one process (CPU time is steadier than wall time
// on a shared machine; BENCHMARKS.md, "Issue 17: speed steps"):
// * a subgraph call from @apollo/gateway's RemoteGraphQLDataSource with Node's fetch (before) and with
//   the gateway's node:http client (gateway/subgraph-client.ts), against a subgraph stand-in in a child
//   process answering a golden patient's observations (about 10 kB of JSON), 16 calls in flight;
// * a gateway identity signed and verified with jose (before) and with node:crypto (security/identity-token.ts).
import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet, SignJWT } from 'jose';
import { subgraphFetcher } from '../../gateway/subgraph-client.ts';
import { GATEWAY_ISSUER, identitySigner, identityVerifier, subgraphRequestHash } from '../../security/identity-token.ts';
import type { Principal } from '../../security/principal.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CALLS = Number(process.env.BENCH_CALLS ?? 2000);

// The stand-in subgraph: a child process so that its CPU is not counted with the client's.
if (process.argv[2] === 'server') {
  const observation = (i: number) => ({
    code: { coding: [{ system: 'http://loinc.org', code: `${1000 + i}-1`, display: 'Hemoglobin A1c/Hemoglobin.total in Blood' }] },
    effective: '2026-11-02T10:15:00.000Z',
    valueQuantity: { value: 5.4 + i / 100, unit: '%' },
  });
  const body = JSON.stringify({
    data: { _entities: [{ source: 'epic-main', mrn: 'E123456', observations: Array.from({ length: 50 }, (_, i) => observation(i)) }] },
  });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as { port: number }).port));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

type Variant = { readonly name: string; readonly op: () => Promise<unknown>; readonly concurrency: number };

/** CPU µs of this process per operation over `calls` operations, `concurrency` in flight. */
async function measure(v: Variant, calls: number): Promise<number> {
  let next = 0;
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: v.concurrency }, async () => {
      while (next++ < calls) await v.op();
    }),
  );
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / calls;
}

async function compare(title: string, before: Variant, after: Variant): Promise<void> {
  for (const v of [before, after]) await measure(v, Math.min(300, CALLS)); // warm-up
  const results: Record<string, number[]> = { [before.name]: [], [after.name]: [] };
  for (let r = 0; r < ROUNDS; r++) for (const v of [before, after]) results[v.name]!.push(await measure(v, CALLS));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [b, a] = [median(results[before.name]!), median(results[after.name]!)];
  process.stdout.write(
    `${title}\n  ${before.name}: ${b.toFixed(0)} µs CPU/op (rounds ${results[before.name]!.map((x) => x.toFixed(0)).join(', ')})\n` +
      `  ${after.name}: ${a.toFixed(0)} µs CPU/op (rounds ${results[after.name]!.map((x) => x.toFixed(0)).join(', ')})\n` +
      `  after/before: x${(a / b).toFixed(2)}\n`,
  );
}

async function main(): Promise<void> {
  process.stdout.write(
    `load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${ROUNDS} rounds x ${CALLS} operations\n`,
  );
  const child = fork(fileURLToPath(import.meta.url), ['server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))));
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    const request = {
      query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on EpicRecord { source mrn observations { effective } } } }',
      variables: { r: [{ __typename: 'EpicRecord', id: 'epic-main:1' }] },
    };
    const call = (source: RemoteGraphQLDataSource) => () =>
      source.process({ kind: 'loading schema' as never, request: { ...request }, context: {} });
    const viaFetch = new RemoteGraphQLDataSource({
      url,
      fetcher: ((input: string, init?: RequestInit) => fetch(input, { ...init, signal: AbortSignal.timeout(10_000) })) as never,
    });
    const viaNodeHttp = new RemoteGraphQLDataSource({ url, fetcher: subgraphFetcher(url, 10_000) as never });
    await compare(
      'subgraph call (RemoteGraphQLDataSource.process, 16 in flight), gateway process',
      { name: 'fetch (before)', op: call(viaFetch), concurrency: 16 },
      { name: 'node:http keep-alive (after)', op: call(viaNodeHttp), concurrency: 16 },
    );

    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
    const principal: Principal = {
      sub: 'bench',
      roles: ['clinician'],
      purposeOfUse: 'TREAT',
      clientId: 'bench',
      scopes: ['user/*.rs'],
      patientContext: null,
      breakGlassReason: null,
      clientIp: '127.0.0.1',
      requestId: 'r-1',
    };
    const jwks = createLocalJWKSet({ keys: [publicJwk] });
    const joseRoundTrip = async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ roles: principal.roles, rid: principal.requestId, req: subgraphRequestHash(request) })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'gateway-identity+jwt' })
        .setIssuer(GATEWAY_ISSUER)
        .setSubject(principal.sub)
        .setAudience('epic')
        .setJti(crypto.randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + 15)
        .sign(privateKey);
      await jwtVerify(token, jwks, {
        issuer: GATEWAY_ISSUER,
        audience: 'epic',
        algorithms: ['EdDSA'],
        typ: 'gateway-identity+jwt',
        requiredClaims: ['jti', 'exp', 'iat', 'rid', 'req'],
        maxTokenAge: '15s',
        clockTolerance: 5,
      });
    };
    const sign = identitySigner({ privateKey, kid: 'k1', alg: 'EdDSA' });
    const verify = identityVerifier([publicJwk], 'epic');
    await compare(
      'gateway identity, signed and verified once (one subgraph call)',
      { name: 'jose (before)', op: joseRoundTrip, concurrency: 1 },
      { name: 'node:crypto (after)', op: async () => verify(await sign(principal, 'epic', request)), concurrency: 1 },
    );
  } finally {
    child.kill();
  }
}
