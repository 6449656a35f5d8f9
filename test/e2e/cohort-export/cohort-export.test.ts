// Saved cohorts and their exports through the gateway: versioned definitions with CONFLICT on a
// stale version, live members against a snapshot after a new matching patient and after a merge,
// analysts' de-identified view (and no one else's identified cohorts or exports), an export job
// that completes with a valid Bulk-style manifest and NDJSON lines that are valid FHIR R4,
// resumable downloads (Range, If-Range), expiry (410, files swept), audit rows for all of it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../../../runtime/stack.ts';
import { protectionFor } from '../../../runtime/components.ts';
import { loadAdapters, loadVendorProfile } from '../../../platform/config.ts';
import { ingestResources } from '../../../orchestration/clinical-store/ingest.ts';
import { sweepExpiredExports } from '../../../orchestration/cohort/export.ts';
import { isAccepted, validateResource } from '../../../translation/fhir-r4/validation/validate.ts';
import { loadTerminology } from '../../../translation/terminology/translate.ts';
import { cohortExport } from '../../../runtime/cohort-export.ts';
import { KEY_ALGORITHMS, keyNames, loadKeyPair } from '../../../platform/keys.ts';
import { httpRouteRequest, identitySigner } from '../../../security/identity-token.ts';
import { gql, startTestStack, tokenFor, type GraphQLResponse } from '../../support/stack.ts';

const EPIC = 'epic-main';
const HBA1C = { system: 'http://loinc.org', code: '4548-4' };
// A year the synthetic population does not use, so items the initial load may store never interfere.
const YEAR = '2002';
const A1C_HIGH = { observation: { code: '4548-4', valueFrom: 9, unit: '%', from: YEAR, to: YEAR } };

let stack: Stack;
let exportsDir: string;
let origin: string;
let clinician: string;
let steward: string;
const analystA = { token: '', sub: '' };
const analystB = { token: '', sub: '' };
/** Epic records (source id, golden id), the first 12 with an HbA1c of 9 % or more in YEAR. */
let records: { id: string; golden_id: string }[];
let high: string[];

const hba1c = (patient: string, value: number) => ({
  resourceType: 'Observation',
  id: `a1c-${randomUUID().slice(0, 8)}`,
  status: 'final',
  code: { coding: [HBA1C] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: `${YEAR}-04-1${Math.round(value) % 10}T10:00:00Z`,
  valueQuantity: { value, unit: '%' },
});

async function ingest(resources: object[]): Promise<void> {
  const connection = stack.connections.find((c) => c.id === EPIC)!;
  const profile = loadAdapters().find((a) => a.name === connection.adapter)!.profile;
  const report = await ingestResources(
    stack.db,
    resources,
    {
      source: EPIC,
      timeZone: connection.timeZone,
      retrievedAt: new Date().toISOString(),
      terminology: loadTerminology(),
      numbersAsStrings: loadVendorProfile(profile).numbersAsStrings,
    },
    protectionFor(stack.keys),
  );
  assert.deepEqual(report.quarantined, []);
}

before(async () => {
  exportsDir = mkdtempSync(join(tmpdir(), 'pgw-exports-'));
  stack = await startTestStack({ exports: { dir: exportsDir } });
  origin = new URL(stack.gateway.url).origin;
  clinician = (await tokenFor(stack, ['clinician'])).token;
  steward = (await tokenFor(stack, ['steward'])).token;
  Object.assign(analystA, await tokenFor(stack, ['analyst']));
  Object.assign(analystB, await tokenFor(stack, ['analyst']));
  records = (
    await stack.db.query<{ golden_id: string; id: string }>(
      `SELECT DISTINCT ON (s.golden_id) s.golden_id::text, s.source_patient_id AS id FROM source_record s
       JOIN golden_patient g ON g.id = s.golden_id
       WHERE s.source = $1 AND s.deleted_at IS NULL AND g.status = 'ACTIVE' ORDER BY s.golden_id, s.source_patient_id LIMIT 14`,
      [EPIC],
    )
  ).rows;
  assert.equal(records.length, 14);
  await ingest([9, 9.4, 10, 11, 12.5, 9.1, 9.9, 13, 9.2, 10.5, 9.7, 14].map((v, i) => hba1c(records[i]!.id, v)));
  high = records.slice(0, 12).map((r) => r.golden_id);
});
after(async () => {
  await stack?.close();
  rmSync(exportsDir, { recursive: true, force: true });
});

type Errors = { extensions?: Record<string, unknown> }[] | undefined;
const codeOf = (errors: Errors): [unknown, unknown] => [errors?.[0]?.extensions?.code, errors?.[0]?.extensions?.argument];

const COHORT = `id name view version createdBy versions { version createdBy filter } snapshots { id memberCount }`;
type CohortShape = {
  id: string;
  name: string;
  view: string;
  version: number;
  createdBy: string;
  versions: { version: number; createdBy: string; filter: string }[];
};
const create = (token: string, name: string, filter: unknown) =>
  gql<{ createCohort: CohortShape }>(
    stack,
    token,
    `mutation ($n: String!, $f: PatientFilter!) { createCohort(name: $n, filter: $f) { ${COHORT} } }`,
    {
      n: name,
      f: filter,
    },
  );
const update = (token: string, id: string, filter: unknown, v: number) =>
  gql<{ updateCohort: CohortShape }>(
    stack,
    token,
    `mutation ($id: ID!, $f: PatientFilter!, $v: Int!) { updateCohort(id: $id, filter: $f, expectedVersion: $v) { ${COHORT} } }`,
    { id, f: filter, v },
  );

type Connection = {
  totalCount: number | null;
  countSuppressed: boolean;
  edges: { node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
};
const MEMBERS = `query ($id: ID!, $n: Int, $a: String, $s: ID, $at: String) { cohort(id: $id) {
  members(first: $n, after: $a, snapshot: $s, asOf: $at) { totalCount countSuppressed edges { node { id } } pageInfo { hasNextPage endCursor } } } }`;

/** Every member, page by page; fails on a repeat. */
async function members(token: string, id: string, o: { n?: number; snapshot?: string; asOf?: string } = {}) {
  const ids: string[] = [];
  let total: number | null = null;
  for (let a: string | null = null; ;) {
    const res: GraphQLResponse<{ cohort: { members: Connection } | null }> = await gql(stack, token, MEMBERS, {
      id,
      n: o.n ?? 50,
      a,
      s: o.snapshot,
      at: o.asOf,
    });
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    const page: Connection = res.body.data!.cohort!.members;
    total ??= page.totalCount;
    ids.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) break;
    a = page.pageInfo.endCursor;
  }
  assert.equal(new Set(ids).size, ids.length, 'no member twice');
  return { ids: [...ids].sort(), total };
}

let analystCohort: string;

test('cohorts are versioned: who made each version, CONFLICT on a stale version, bad input named, changes audited', async () => {
  const made = await create(analystA.token, '  HbA1c over 9 % ', A1C_HIGH);
  assert.equal(made.body.errors, undefined, JSON.stringify(made.body.errors));
  const c = made.body.data!.createCohort;
  analystCohort = c.id;
  assert.deepEqual([c.name, c.view, c.version, c.createdBy], ['HbA1c over 9 %', 'DEIDENTIFIED', 1, analystA.sub]);
  // Another analyst changes it (the same cohort, the range written with its unit spelled out).
  const v2 = await update(analystB.token, c.id, { observation: { ...A1C_HIGH.observation, valueTo: 99 } }, 1);
  assert.equal(v2.body.errors, undefined, JSON.stringify(v2.body.errors));
  assert.deepEqual(
    v2.body.data!.updateCohort.versions.map((v) => [v.version, v.createdBy]),
    [
      [1, analystA.sub],
      [2, analystB.sub],
    ],
  );
  assert.deepEqual(JSON.parse(v2.body.data!.updateCohort.versions[0]!.filter), A1C_HIGH);
  // Based on version 1 while it is at 2: CONFLICT, nothing changed.
  const stale = await update(analystA.token, c.id, { gender: 'female' }, 1);
  assert.equal(stale.body.errors?.[0]?.extensions?.code, 'CONFLICT');
  const now = await gql<{ cohort: { version: number } }>(stack, analystA.token, `query ($id: ID!) { cohort(id: $id) { version } }`, {
    id: c.id,
  });
  assert.equal(now.body.data!.cohort.version, 2);
  // Bad input: named, nothing saved.
  assert.deepEqual(codeOf((await create(analystA.token, '   ', A1C_HIGH)).body.errors), ['BAD_USER_INPUT', 'name']);
  assert.deepEqual(codeOf((await create(analystA.token, 'x', { birthDateFrom: '1970-01-01' })).body.errors), [
    'BAD_USER_INPUT',
    'filter.birthDateFrom',
  ]);
  assert.deepEqual(codeOf((await update(analystA.token, c.id, { gender: 'nobody' }, 2)).body.errors), ['BAD_USER_INPUT', 'filter.gender']);
  // Audited in the change's own transaction, with the version made.
  const rows = await stack.db.query<{ actor_sub: string; fields: string[] }>(
    `SELECT actor_sub, fields FROM audit_event WHERE patient_ref = $1 AND 'Cohort.version=1' = ANY(fields) OR patient_ref = $1 AND 'Cohort.version=2' = ANY(fields) ORDER BY seq`,
    [`Cohort/${c.id}`],
  );
  assert.deepEqual(
    rows.rows.map((r) => [r.actor_sub, r.fields[0]]),
    [
      [analystA.sub, 'Mutation.createCohort'],
      [analystB.sub, 'Mutation.updateCohort'],
    ],
  );
});

test('live members follow the data; a snapshot keeps its members; after a merge its member is answered by the survivor once', async () => {
  const made = await create(clinician, 'identified a1c', A1C_HIGH);
  const c = made.body.data!.createCohort;
  assert.equal(c.view, 'IDENTIFIED');
  // An identified cohort is not for analysts: as if it did not exist.
  assert.equal(
    (await gql<{ cohort: null }>(stack, analystA.token, `query ($id: ID!) { cohort(id: $id) { id } }`, { id: c.id })).body.data!.cohort,
    null,
  );
  const snap = await gql<{ snapshotCohort: { id: string; version: number; memberCount: number } }>(
    stack,
    clinician,
    `mutation ($id: ID!) { snapshotCohort(id: $id) { id version memberCount } }`,
    { id: c.id },
  );
  const snapshot = snap.body.data!.snapshotCohort;
  assert.deepEqual([snapshot.version, snapshot.memberCount], [1, 12]);
  assert.deepEqual((await members(clinician, c.id)).ids, [...high].sort());
  // A new matching patient: live has it, the snapshot does not (by id or by time).
  await ingest([hba1c(records[12]!.id, 10.2)]);
  const newcomer = records[12]!.golden_id;
  assert.deepEqual((await members(clinician, c.id, { n: 5 })).ids, [...high, newcomer].sort());
  assert.deepEqual((await members(clinician, c.id, { n: 5, snapshot: snapshot.id })).ids, [...high].sort());
  assert.deepEqual((await members(clinician, c.id, { asOf: new Date().toISOString() })).ids, [...high].sort());
  const early = await gql(stack, clinician, MEMBERS, { id: c.id, at: '2000-01-01T00:00:00Z' });
  assert.deepEqual(codeOf(early.body.errors), ['BAD_USER_INPUT', 'asOf']);
  const both = await gql(stack, clinician, MEMBERS, { id: c.id, s: snapshot.id, at: '2030-01-01T00:00:00Z' });
  assert.deepEqual(codeOf(both.body.errors), ['BAD_USER_INPUT', 'asOf']);
  // A steward merges the second member into the first: the snapshot answers the first once.
  const [survivor, merged] = [high[0]!, high[1]!];
  const merge = await gql<{ mergePatients: { changed: boolean } }>(
    stack,
    steward,
    'mutation ($s: ID!, $m: ID!) { mergePatients(survivorId: $s, mergedId: $m, reason: "same person (test)") { changed } }',
    { s: survivor, m: merged },
  );
  assert.equal(merge.body.data?.mergePatients.changed, true, JSON.stringify(merge.body.errors));
  const afterMerge = await members(clinician, c.id, { n: 2, snapshot: snapshot.id });
  assert.deepEqual(afterMerge.ids, high.filter((id) => id !== merged).sort());
  assert.equal(afterMerge.total, 11);
  assert.deepEqual((await members(clinician, c.id)).ids, [...high.filter((id) => id !== merged), newcomer].sort());
});

test('analysts get de-identified members, and no members of a small cohort', async () => {
  const live = await members(analystA.token, analystCohort, { n: 4 });
  assert.deepEqual(live.ids, [...high.filter((id) => id !== high[1]), records[12]!.golden_id].sort());
  const names = await gql(
    stack,
    analystA.token,
    `query ($id: ID!) { cohort(id: $id) { members(first: 1) { edges { node { name { family } } } } } }`,
    {
      id: analystCohort,
    },
  );
  assert.ok(names.body.errors?.length && names.body.errors.every((e) => e.extensions?.code === 'FORBIDDEN'));
  const small = await create(analystA.token, 'tiny', { observation: { ...A1C_HIGH.observation, valueFrom: 12.9 } });
  const tiny = await gql<{ cohort: { members: Connection } }>(stack, analystA.token, MEMBERS, { id: small.body.data!.createCohort.id });
  assert.deepEqual([tiny.body.data!.cohort.members.countSuppressed, tiny.body.data!.cohort.members.edges], [true, []]);
  const refused = await gql(stack, analystA.token, `mutation ($id: ID!) { exportCohort(id: $id) { id } }`, {
    id: small.body.data!.createCohort.id,
  });
  assert.deepEqual(codeOf(refused.body.errors), ['BAD_USER_INPUT', 'id']);
});

type Job = { id: string; status: string; membersTotal: number; membersDone: number; resourcesWritten: number; manifestUrl: string | null };
const JOB = 'id status membersTotal membersDone resourcesWritten manifestUrl types expiresAt';
let job: Job;

const download = (path: string, token: string | null, headers: Record<string, string> = {}) =>
  fetch(new URL(path, origin), { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

test('an analyst exports: the job completes, the manifest is valid, every NDJSON line is a de-identified FHIR R4 resource', async () => {
  const started = await gql<{ exportCohort: Job }>(stack, analystA.token, `mutation ($id: ID!) { exportCohort(id: $id) { ${JOB} } }`, {
    id: analystCohort,
  });
  assert.equal(started.body.errors, undefined, JSON.stringify(started.body.errors));
  const id = started.body.data!.exportCohort.id;
  for (let i = 0; i < 300; i++) {
    const res = await gql<{ exportJob: Job }>(stack, analystA.token, `query ($id: ID!) { exportJob(id: $id) { ${JOB} } }`, { id });
    job = res.body.data!.exportJob;
    if (job.status === 'COMPLETED' || job.status === 'FAILED') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(job.status, 'COMPLETED');
  assert.deepEqual([job.membersTotal, job.membersDone], [12, 12]);
  // Another analyst: no job, no file.
  const other = await gql<{ exportJob: Job | null }>(stack, analystB.token, `query ($id: ID!) { exportJob(id: $id) { id } }`, { id });
  assert.equal(other.body.data!.exportJob, null);
  assert.equal((await download(`/exports/${id}/manifest.json`, analystB.token)).status, 404);
  assert.equal((await download(`/exports/${id}/manifest.json`, null)).status, 401);
  assert.equal(job.manifestUrl, `${origin}/exports/${id}/manifest.json`);
  const manifest = (await (await download(new URL(job.manifestUrl!).pathname, analystA.token)).json()) as {
    transactionTime: string;
    request: string;
    requiresAccessToken: boolean;
    output: { type: string; url: string; count: number }[];
    error: unknown[];
  };
  assert.ok(!Number.isNaN(Date.parse(manifest.transactionTime)));
  assert.equal(manifest.requiresAccessToken, true);
  assert.ok(manifest.request.includes(analystCohort));
  assert.deepEqual(manifest.error, []);
  const byType = new Map(manifest.output.map((o) => [o.type, o]));
  assert.equal(byType.get('Patient')?.count, 12);
  assert.ok((byType.get('Observation')?.count ?? 0) >= 12);
  let total = 0;
  for (const o of manifest.output) {
    assert.ok(o.url.startsWith(`${origin}/exports/${id}/`));
    const res = await download(new URL(o.url).pathname, analystA.token);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    const lines = (await res.text()).split('\n').filter((l) => l !== '');
    assert.equal(lines.length, o.count);
    total += lines.length;
    for (const line of lines) {
      const r = JSON.parse(line) as Record<string, unknown> & { resourceType: string };
      assert.equal(r.resourceType, o.type);
      const issues = validateResource(r);
      assert.ok(isAccepted(issues), `${o.type}: ${JSON.stringify(issues.filter((i) => i.severity === 'error'))}`);
      // No direct identifiers; dates to the year.
      for (const k of ['name', 'identifier', 'telecom', 'text', 'note', 'performer', 'encounter'])
        assert.equal(r[k], undefined, `${o.type}.${k}`);
      if (r.birthDate !== undefined) assert.match(String(r.birthDate), /^\d{4}$/);
      if (r.effectiveDateTime !== undefined) assert.match(String(r.effectiveDateTime), /^\d{4}$/);
      if (o.type === 'Patient') {
        assert.ok(live(r.id));
        for (const a of (r.address as { postalCode?: string; line?: unknown }[] | undefined) ?? []) {
          assert.equal(a.line, undefined);
          assert.match(a.postalCode ?? '', /^\d{3}$/);
        }
      } else assert.ok(live(String((r.subject as { reference: string }).reference).replace('Patient/', '')));
    }
  }
  assert.equal(total, job.resourcesWritten);
});

const live = (id: unknown): boolean => [...high.filter((x) => x !== high[1]), records[12]!.golden_id].includes(String(id));

test('a download resumes with Range and If-Range to the same bytes; downloads and exported pages are audited', async () => {
  const path = `/exports/${job.id}/Patient.ndjson`;
  const whole = Buffer.from(await (await download(path, analystA.token)).arrayBuffer());
  const first = await download(path, analystA.token, { range: 'bytes=0-99' });
  assert.equal(first.status, 206);
  const etag = first.headers.get('etag')!;
  const head = Buffer.from(await first.arrayBuffer());
  const rest = await download(path, analystA.token, { range: `bytes=${head.length}-`, 'if-range': etag });
  assert.equal(rest.status, 206);
  assert.equal(rest.headers.get('content-range'), `bytes ${head.length}-${whole.length - 1}/${whole.length}`);
  assert.deepEqual(Buffer.concat([head, Buffer.from(await rest.arrayBuffer())]), whole);
  assert.equal((await download(path, analystA.token, { range: `bytes=${whole.length}-` })).status, 416);
  const downloads = await stack.db.query<{ actor_sub: string; fields: string[] }>(
    `SELECT actor_sub, fields FROM audit_event WHERE patient_ref = $1 AND 'GET Patient.ndjson' = ANY(fields)`,
    [`CohortExport/${job.id}`],
  );
  assert.ok(downloads.rows.length >= 4);
  assert.ok(downloads.rows.every((r) => r.actor_sub === analystA.sub));
  // The export itself: every patient it wrote, in one audit append (one page of members).
  const exported = await stack.db.query<{ patient_ref: string; recorded_at: Date }>(
    `SELECT patient_ref, recorded_at FROM audit_event WHERE actor_sub = $1 AND 'Mutation.exportCohort' = ANY(fields) AND patient_ref LIKE 'Patient/%'`,
    [analystA.sub],
  );
  assert.deepEqual(
    exported.rows.map((r) => r.patient_ref.slice('Patient/'.length)).sort(),
    [...high.filter((x) => x !== high[1]), records[12]!.golden_id].sort(),
  );
  assert.equal(new Set(exported.rows.map((r) => r.recorded_at.toISOString())).size, 1);
});

test('npm run cohort:export: follows the job with a progress bar, downloads, and resumes an interrupted download with Range', async () => {
  const out = join(exportsDir, 'cli-out');
  const shown: string[] = [];
  const args = {
    cohort: analystCohort,
    out,
    url: origin,
    token: analystA.token,
    pollMs: 50,
    progress: { isTTY: true, write: (text: string) => void shown.push(text) },
  };
  const summary = await cohortExport(args);
  assert.match(summary, /^exported 12 members: \d+ resources in \d+ files/);
  assert.ok(shown.some((l) => /\[[#.]{30}\] \d+%/.test(l)));
  const whole = readFileSync(join(out, 'Patient.ndjson'));
  assert.equal(whole.toString().trim().split('\n').length, 12);
  // Interrupted after 50 bytes: the next run continues from there (same job, Range + If-Range) to the same bytes.
  rmSync(join(out, 'Patient.ndjson'));
  writeFileSync(join(out, 'Patient.ndjson.partial'), whole.subarray(0, 50));
  const state = JSON.parse(readFileSync(join(out, '.cohort-export.json'), 'utf8')) as { job: string };
  assert.match(await cohortExport(args), /^exported 12 members/);
  assert.deepEqual(readFileSync(join(out, 'Patient.ndjson')), whole);
  assert.equal(existsSync(join(out, 'Patient.ndjson.partial')), false);
  assert.equal((JSON.parse(readFileSync(join(out, '.cohort-export.json'), 'utf8')) as { job: string }).job, state.job);
  const resumed = await stack.db.query(`SELECT 1 FROM audit_event WHERE patient_ref = $1 AND 'range=bytes=50-' = ANY(fields)`, [
    `CohortExport/${state.job}`,
  ]);
  assert.equal(resumed.rows.length, 1);
});

test('the MPI subgraph serves downloads only to the gateway, with an identity signed for that very path', async () => {
  const direct = new URL(`/exports/${job.id}/Patient.ndjson`, stack.subgraphs.mpi!.url);
  assert.equal((await fetch(direct, { headers: { authorization: `Bearer ${analystA.token}` } })).status, 401);
  // A gateway identity signed for another request (a GraphQL document) is refused too.
  const key = await loadKeyPair(stack.keys, keyNames.gatewayIdentity, KEY_ALGORITHMS.gatewayIdentity);
  const principal = {
    sub: analystA.sub,
    roles: ['analyst' as const],
    purposeOfUse: null,
    clientId: null,
    scopes: ['user/*.rs'],
    patientContext: null,
    breakGlassReason: null,
    clientIp: null,
    requestId: randomUUID(),
  };
  const sign = identitySigner(key);
  const other = await sign(principal, 'mpi', { query: '{ __typename }' });
  assert.equal((await fetch(direct, { headers: { authorization: `Bearer ${other}`, 'x-request-id': principal.requestId } })).status, 401);
  const right = await sign(principal, 'mpi', httpRouteRequest('GET', direct.pathname));
  assert.equal((await fetch(direct, { headers: { authorization: `Bearer ${right}`, 'x-request-id': principal.requestId } })).status, 200);
});

test('each page of members is one audit append naming the cohort and every patient it showed', async () => {
  const { token, sub } = await tokenFor(stack, ['analyst']);
  const res = await gql<{ cohort: { members: Connection } }>(stack, token, MEMBERS, { id: analystCohort, n: 5 });
  const shown = res.body.data!.cohort.members.edges.map((e) => `Patient/${e.node.id}`);
  assert.equal(shown.length, 5);
  const rows = await stack.db.query<{ patient_ref: string; fields: string[]; recorded_at: Date }>(
    `SELECT patient_ref, fields, recorded_at FROM audit_event WHERE actor_sub = $1 AND decision = 'permit' ORDER BY seq`,
    [sub],
  );
  assert.deepEqual(rows.rows.map((r) => r.patient_ref).sort(), [`Cohort/${analystCohort}`, ...shown].sort());
  for (const r of rows.rows.filter((x) => x.patient_ref.startsWith('Patient/')))
    assert.ok(r.fields.includes('Cohort.members'), r.fields.join());
  assert.equal(new Set(rows.rows.map((r) => r.recorded_at.toISOString())).size, 1);
});

test('an expired export answers 410 and the sweeper removes its files', async () => {
  await stack.db.query(`UPDATE cohort_export SET expires_at = now() - interval '1 second' WHERE id = $1`, [job.id]);
  const gone = await download(`/exports/${job.id}/Patient.ndjson`, analystA.token);
  assert.equal(gone.status, 410);
  assert.ok(existsSync(join(exportsDir, job.id)));
  assert.ok((await sweepExpiredExports(stack.db, exportsDir)) >= 1);
  assert.equal(existsSync(join(exportsDir, job.id)), false);
  const res = await gql<{ exportJob: Job }>(stack, analystA.token, `query ($id: ID!) { exportJob(id: $id) { ${JOB} } }`, { id: job.id });
  assert.deepEqual([res.body.data!.exportJob.status, res.body.data!.exportJob.manifestUrl], ['EXPIRED', null]);
  assert.equal((await download(`/exports/${job.id}/manifest.json`, analystA.token)).status, 410);
});
