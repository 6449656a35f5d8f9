// replayInboxMessages through the integration subgraph's schema (policies and audit included) on a
// real database: only integration engineers replay, arguments are checked before any work, dead
// letters go back to pending once (a second call changes nothing) and every message replayed is
// audited under its inbox id.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testPrincipal } from '../../orchestration/audit/test-helpers.ts';
import { inboxState } from '../../orchestration/ingest/inbox.ts';
import { makeDeadLetters, message, openInboxTestDb } from '../../orchestration/ingest/test-helpers.ts';
import type { MpiTestDb } from '../../orchestration/mpi/test-helpers.ts';
import type { Principal } from '../../security/principal.ts';
import { runIntegration } from './test-helpers.ts';

let t: MpiTestDb;
let dead: string[];
before(async () => {
  t = await openInboxTestDb();
  dead = await makeDeadLetters(t, [message('R-1'), message('R-2', { channel: 'feed-b' }), message('R-3', { channel: 'feed-b' })]);
});
after(() => t.close());

const run = (document: string, principal: Principal, variables?: Record<string, unknown>) =>
  runIntegration({ db: t.db, protection: t.protection, connections: [], adapters: [] }, document, principal, variables);

const engineer = testPrincipal({ sub: 'eng', roles: ['integration'], purposeOfUse: null });
const code = (r: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;
const BY_IDS = `mutation ($ids: [ID!]) { replayInboxMessages(ids: $ids) {
  replayed more messages { id channel sendingApplication sendingFacility controlId reason attempts lastError } } }`;
const state = async (id: string) => (await inboxState(t.db, id))?.state;

test('only integration engineers replay; a token bound to one patient cannot', async () => {
  for (const principal of [
    testPrincipal({ roles: ['clinician'] }),
    testPrincipal({ roles: ['security'], purposeOfUse: 'HOPERAT' }),
    testPrincipal({ roles: ['steward'] }),
    testPrincipal({ roles: ['integration'], purposeOfUse: null, patientContext: 'feed-b:p1' }),
  ]) {
    const { result } = await run(BY_IDS, principal, { ids: [dead[0]] });
    assert.equal(code(result), 'FORBIDDEN', principal.roles.join());
  }
  assert.equal(await state(dead[0]!), 'dead', 'a refused call changed nothing');
});

test('malformed arguments are BAD_USER_INPUT before any work', async () => {
  const bad = [
    'mutation { replayInboxMessages { replayed } }',
    'mutation { replayInboxMessages(ids: ["1"], filter: {}) { replayed } }',
    'mutation { replayInboxMessages(ids: ["not-an-id"]) { replayed } }',
    'mutation { replayInboxMessages(filter: { since: "yesterday" }) { replayed } }',
  ];
  for (const doc of bad) assert.equal(code((await run(doc, engineer)).result), 'BAD_USER_INPUT', doc);
  const tooMany = Array.from({ length: 501 }, (_, i) => String(i + 1));
  assert.equal(code((await run(BY_IDS, engineer, { ids: tooMany })).result), 'BAD_USER_INPUT');
  assert.deepEqual(await Promise.all(dead.map(state)), ['dead', 'dead', 'dead']);
});

test('replay by ids: dead letters go back to work once, each audited under its inbox id', async () => {
  const first = await run(BY_IDS, engineer, { ids: [dead[0], '999999'] });
  assert.equal(first.result.errors, undefined, JSON.stringify(first.result.errors));
  assert.deepEqual(JSON.parse(JSON.stringify(first.result.data)), {
    replayInboxMessages: {
      replayed: 1,
      more: false,
      messages: [
        {
          id: dead[0],
          channel: 'sim-mllp',
          sendingApplication: 'SIMADT',
          sendingFacility: 'SIMHOSP',
          controlId: 'R-1',
          reason: 'PERMANENT',
          attempts: 1,
          lastError: 'PermanentFailure: test',
        },
      ],
    },
  });
  assert.deepEqual(
    first.audit
      .accesses()
      .map((a) => a.patientRef)
      .sort(),
    ['Inbox', `InboxMessage/${dead[0]}`],
  );
  assert.equal(await state(dead[0]!), 'pending');

  const again = await run(BY_IDS, engineer, { ids: [dead[0]] });
  assert.deepEqual(JSON.parse(JSON.stringify(again.result.data)), { replayInboxMessages: { replayed: 0, more: false, messages: [] } });
  assert.deepEqual(
    again.audit.accesses().map((a) => a.patientRef),
    ['Inbox'],
    'a call that replayed nothing is audited too',
  );
});

test('replay by filter: only the matching dead letters, audited even when the client selects only the count', async () => {
  const doc = 'mutation ($f: DeadLetterFilter) { replayInboxMessages(filter: $f) { replayed more } }';
  const none = await run(doc, engineer, { f: { channel: 'feed-b', reason: 'MAX_ATTEMPTS' } });
  assert.deepEqual(JSON.parse(JSON.stringify(none.result.data)), { replayInboxMessages: { replayed: 0, more: false } });
  const done = await run(doc, engineer, { f: { channel: 'feed-b', reason: 'PERMANENT', since: '2000-01-01T00:00:00Z' } });
  assert.equal(done.result.errors, undefined, JSON.stringify(done.result.errors));
  assert.deepEqual(JSON.parse(JSON.stringify(done.result.data)), { replayInboxMessages: { replayed: 2, more: false } });
  assert.deepEqual(
    done.audit
      .accesses()
      .map((a) => a.patientRef)
      .sort(),
    ['Inbox', `InboxMessage/${dead[1]}`, `InboxMessage/${dead[2]}`],
  );
  assert.deepEqual(await Promise.all(dead.map(state)), ['pending', 'pending', 'pending']);
});
