// One audit commit per client request: the subgraphs hand their rows to the gateway, which appends
// them all before its response leaves (orchestration/audit/handoff.ts). Rows missing, replayed or
// made for another request withhold the data; a client cannot add rows; a subgraph called without
// the gateway's hand-off nonce commits its own rows, as before.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Stack } from '../../../runtime/stack.ts';
import { startGatewayService } from '../../../runtime/components.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../../platform/keys.ts';
import { AUDIT_HANDOFF_EXTENSION, newHandoffNonce } from '../../../orchestration/audit/handoff.ts';
import { formatReport, verifyAuditLog } from '../../../orchestration/audit/verify.ts';
import { identitySigner } from '../../../security/identity-token.ts';
import type { RunningHttpServer } from '../../../platform/graphql-http.ts';
import { post, startTestStack, tokenFor } from '../../support/stack.ts';

let stack: Stack;
before(async () => {
  stack = await startTestStack();
});
after(() => stack?.close());

type Row = { subgraph: string; patient_ref: string | null; request_id: string; recorded_at: string; seq: string; actor_sub: string };
const rowsOf = async (sub: string): Promise<Row[]> =>
  (
    await stack.db.query<Row>(
      'SELECT subgraph, patient_ref, request_id, recorded_at::text AS recorded_at, seq::text AS seq, actor_sub FROM audit_event WHERE actor_sub = $1 ORDER BY seq',
      [sub],
    )
  ).rows;

const GOLDEN = `query Golden($id: ID!) { patient(id: $id) { id birthDate name { family }
  sourceRecords { source observations { id } } } }`;

const linkedPatient = async (): Promise<string> =>
  (
    await stack.db.query<{ golden_id: string }>(
      'SELECT golden_id FROM source_record GROUP BY golden_id HAVING count(DISTINCT source) >= 2 ORDER BY golden_id LIMIT 1',
    )
  ).rows[0]!.golden_id;

test('through the gateway, the rows of every subgraph call of a request are appended together, once', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const id = await linkedPatient();
  const res = await post<{ patient: { sourceRecords: { source: string }[] } }>(
    stack.gateway.url,
    { query: GOLDEN, variables: { id } },
    { authorization: `Bearer ${token}` },
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.doesNotMatch(JSON.stringify(res.body), new RegExp(AUDIT_HANDOFF_EXTENSION), 'the rows never reach the client');
  const rows = await rowsOf(sub);
  const subgraphs = new Set(rows.map((r) => r.subgraph));
  assert.ok(subgraphs.has('mpi') && subgraphs.size >= 3, `mpi and both EHRs: ${[...subgraphs].join()}`);
  assert.deepEqual(
    rows.filter((r) => r.subgraph === 'mpi').map((r) => r.patient_ref),
    [`Patient/${id}`],
    'one row per patient per subgraph',
  );
  // One audit_append() call: consecutive seqs, one recorded_at.
  assert.equal(new Set(rows.map((r) => r.recorded_at)).size, 1, JSON.stringify(rows));
  assert.equal(Number(rows.at(-1)!.seq) - Number(rows[0]!.seq), rows.length - 1);
  assert.equal(new Set(rows.map((r) => r.request_id)).size, 1);
});

/** A gateway whose calls to mpi pass through `tamper`, which may change the subgraph's answer. */
async function tamperedGateway(
  tamper: (answer: Record<string, unknown>) => Record<string, unknown>,
): Promise<{ gateway: RunningHttpServer; close(): Promise<void> }> {
  const mpiUrl = stack.subgraphs.mpi!.url;
  const proxy = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const headers = Object.fromEntries(
        ['authorization', 'x-request-id', 'x-client-operation-name', 'x-client-document-hash']
          .filter((h) => typeof req.headers[h] === 'string')
          .map((h) => [h, String(req.headers[h])]),
      );
      fetch(mpiUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body })
        .then(async (r) => {
          const answer = (await r.json()) as Record<string, unknown>;
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.ok ? tamper(answer) : answer));
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const gateway = await startGatewayService({
    keys: stack.keys,
    subgraphUrls: {
      ...Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
      mpi: `http://127.0.0.1:${(proxy.address() as { port: number }).port}/graphql`,
    },
    port: 0,
    production: false,
    trustDevIssuer: true,
    auditDb: stack.db,
  });
  return {
    gateway,
    close: async () => {
      await gateway.close();
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    },
  };
}

type Envelope = { nonce: string; rows: Record<string, unknown>[] };
const envelopeOf = (answer: Record<string, unknown>): Envelope | undefined =>
  (answer.extensions as Record<string, Envelope> | undefined)?.[AUDIT_HANDOFF_EXTENSION];
const withEnvelope = (answer: Record<string, unknown>, envelope: Envelope | undefined) => ({
  ...answer,
  extensions: envelope === undefined ? {} : { [AUDIT_HANDOFF_EXTENSION]: envelope },
});

test('an answer whose audit rows are missing, replayed or made for another request releases no patient data', async () => {
  const id = await linkedPatient();
  let earlier: Envelope | undefined;
  const tampers: Record<string, (answer: Record<string, unknown>) => Record<string, unknown>> = {
    missing: (answer) => withEnvelope(answer, undefined),
    // The rows of an earlier call of the same caller, for the same patient: another nonce.
    replayed: (answer) => withEnvelope(answer, earlier),
    otherRequest: (answer) => {
      const envelope = envelopeOf(answer)!;
      return withEnvelope(answer, { ...envelope, rows: envelope.rows.map((r) => ({ ...r, request_id: 'another-request' })) });
    },
    nothingAudited: (answer) => withEnvelope(answer, { ...envelopeOf(answer)!, rows: envelopeOf(answer)!.rows.slice(0, 0) }),
  };
  let mode = 'none';
  const tampered = await tamperedGateway((answer) => {
    if (mode === 'none') earlier = envelopeOf(answer);
    return mode === 'none' ? answer : tampers[mode]!(answer);
  });
  try {
    const { token, sub } = await tokenFor(stack, ['clinician']);
    const ask = () =>
      post<{ patient: { birthDate: string } | null }>(
        tampered.gateway.url,
        { query: 'query One($id: ID!) { patient(id: $id) { birthDate } }', variables: { id } },
        { authorization: `Bearer ${token}` },
      );
    const honest = await ask();
    assert.ok(honest.body.data?.patient?.birthDate, JSON.stringify(honest.body));
    assert.ok(earlier && earlier.rows.length === 1, 'the honest answer handed over its row');
    const rowsBefore = (await rowsOf(sub)).length;
    assert.equal(rowsBefore, 1);
    for (const name of ['missing', 'replayed', 'otherRequest']) {
      mode = name;
      const res = await ask();
      assert.equal(res.body.data?.patient ?? null, null, `${name}: ${JSON.stringify(res.body)}`);
      assert.ok(
        res.body.errors?.some((e) => e.extensions?.code === 'AUDIT_UNAVAILABLE'),
        `${name}: ${JSON.stringify(res.body.errors)}`,
      );
      assert.doesNotMatch(JSON.stringify(res.body), /birthDate"\s*:\s*"/, name);
    }
    assert.equal((await rowsOf(sub)).length, rowsBefore, 'refused rows are not appended');
    // Rows are what the subgraph says it disclosed: the gateway cannot tell a subgraph that audits
    // nothing from one that disclosed nothing (the subgraph is trusted for its rows as for its data).
    mode = 'nothingAudited';
    assert.ok((await ask()).body.data?.patient);
  } finally {
    await tampered.close();
  }
});

test('a client cannot add audit rows: rows in its request are ignored', async () => {
  const { token, sub } = await tokenFor(stack, ['clinician']);
  const forged = { nonce: newHandoffNonce(), rows: [{ request_id: 'x', subgraph: 'mpi', actor_sub: 'someone-else', decision: 'permit' }] };
  const res = await post(
    stack.gateway.url,
    { query: '{ patients(first: 1) { edges { node { id } } } }', extensions: { [AUDIT_HANDOFF_EXTENSION]: forged } },
    { authorization: `Bearer ${token}` },
  );
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.equal((await rowsOf(sub)).length, 1, 'the one patient returned, nothing else');
  assert.equal((await rowsOf('someone-else')).length, 0);
});

test('called with an identity that carries no hand-off nonce, a subgraph commits its own rows before answering', async () => {
  const key = await loadKeyPair(stack.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  const sign = identitySigner(key);
  const call = async (requestId: string, auditHandoff?: string) => {
    const principal = {
      sub: `direct-${requestId}`,
      roles: ['clinician'] as const,
      purposeOfUse: 'TREAT' as const,
      clientId: null,
      scopes: ['user/*.rs'],
      patientContext: null,
      breakGlassReason: null,
      clientIp: null,
      requestId,
    };
    const body = { query: '{ patients(first: 1) { edges { node { id } } } }' };
    const identity = await sign({ ...principal, roles: [...principal.roles] }, 'mpi', body, auditHandoff ? { auditHandoff } : undefined);
    return post<{ patients: { edges: { node: { id: string } }[] } }>(stack.subgraphs.mpi!.url, body, {
      authorization: `Bearer ${identity}`,
    });
  };
  const self = await call('direct-self');
  assert.ok(self.body.data?.patients.edges[0]?.node.id);
  assert.equal((await rowsOf('direct-direct-self')).length, 1, 'committed by the subgraph before it answered');

  const nonce = newHandoffNonce();
  const handed = (await call('direct-handed', nonce)) as { body: { data?: unknown; extensions?: Record<string, Envelope> } };
  const envelope = handed.body.extensions?.[AUDIT_HANDOFF_EXTENSION];
  assert.equal(envelope?.nonce, nonce);
  assert.equal(envelope?.rows.length, 1);
  assert.equal((await rowsOf('direct-direct-handed')).length, 0, 'handed over, not committed');
});

test('the log verifies after hand-offs', async () => {
  const report = await verifyAuditLog(stack.db, { publicKeys: [] });
  assert.equal(report.ok, true, formatReport(report));
});
