// The ingestion guarantee under faults (issue 15, item 9): an ACKed message is never lost and never
// applied twice. The ingester is the product's own `service ingest` process on loopback, started,
// killed and restarted by the test; senders retransmit each message until it is positively ACKed,
// as HL7 senders do. Effects are counted in the database: one inbox row, one source record and one
// link event per patient (each message admits a patient of its own). Real PostgreSQL only
// (DATABASE_URL); the restart also needs root and pg_ctlcluster on this host; Redis a
// redis-server binary (a private one, on its own port, is started and killed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { databaseUrl } from '../../support/env.ts';
import { clusterCtl, restartUnavailable } from '../../support/postgres-cluster.ts';
import { SENDER } from '../../support/hl7-messages.ts';
import {
  admissions,
  effects,
  freePort,
  inboxSettled,
  ingestEnv,
  retransmittingSender,
  sleep,
  startIngester,
  type Ack,
  type IngestEnv,
  type Ingester,
} from './harness.ts';

const url = databaseUrl();
const SKIP = url ? false : 'DATABASE_URL is not set: ingest faults are injected into a real PostgreSQL';

let e: IngestEnv;
let ingester: Ingester;
before(async () => {
  if (SKIP) return;
  e = await ingestEnv(url!);
  ingester = await startIngester(e);
});
after(async () => {
  await ingester?.stop();
  await e?.close();
});

const report = (label: string, figures: Record<string, number>): void => {
  process.stdout.write(`# ${label}: ${JSON.stringify(figures)}\n`);
};

/** `senders` connections, each sending its share of `messages` until every one is positively ACKed. */
async function load(prefix: string, senders: number, perSender: number, acks: Ack[], offset: number, gapMs = 0) {
  const results = await Promise.all(
    Array.from({ length: senders }, (_, s) =>
      retransmittingSender(e.port, admissions(`${prefix}${s}-`, perSender, offset + s * perSender), acks, { gapMs }),
    ),
  );
  return results.reduce((n, r) => n + r.retransmissions, 0);
}

/** Every message of the prefix ACKed once, stored once, applied (done) once: one source record and one link event each. */
async function assertExactlyOnce(prefix: string, expected: number, acks: readonly Ack[]): Promise<void> {
  const mine = acks.filter((a) => a.controlId.startsWith(prefix));
  assert.equal(new Set(mine.map((a) => a.controlId)).size, expected, 'every message was positively ACKed');
  await inboxSettled(e.db);
  const found = await effects(e.db, prefix);
  assert.equal(found.inboxRows, expected, 'one inbox row per message');
  assert.deepEqual(
    [...found.inbox.values()].filter((s) => s !== 'done'),
    [],
    'every message applied',
  );
  for (const a of mine) assert.equal(found.inbox.get(a.controlId), 'done', `ACKed ${a.controlId} is in the inbox, applied`);
  assert.equal(found.records, expected, 'one source record per admitted patient: none lost');
  assert.deepEqual(
    [...found.linkEvents].filter(([, n]) => n !== 1),
    [],
    'one link event per patient: no message applied twice in effect',
  );
  assert.equal(found.linkEvents.size, expected);
}

test('kill -9 of the ingester at random points under load: every ACKed message applied once, none lost', { skip: SKIP }, async () => {
  const acks: Ack[] = [];
  const SENDERS = 4;
  const EACH = 120;
  let done = false;
  // Paced (about 200 messages/s in all) so that three kills land while messages are both arriving and being applied.
  const sending = load('K', SENDERS, EACH, acks, 0, 20).finally(() => (done = true));
  let kills = 0;
  let orphaned = 0;
  for (let i = 0; i < 3 && !done; i++) {
    await sleep(300 + Math.floor(Math.random() * 1200));
    await ingester.kill9();
    kills++;
    // The killed process's claims would be claimed again when their lease (60 s) ends; end it now.
    orphaned += (await e.db.query("UPDATE inbox_message SET lease_until = now() WHERE state = 'processing' RETURNING id")).rows.length;
    ingester = await startIngester(e);
  }
  const retransmissions = await sending;
  await assertExactlyOnce('K', SENDERS * EACH, acks);
  report('kill -9 under load', { messages: SENDERS * EACH, kills, retransmissions, claimsOrphaned: orphaned });
  assert.equal(kills, 3, 'the load lasted long enough to kill the ingester three times');
});

test('PostgreSQL stopped mid-load: no positive ACK while it is down, full recovery after', { skip: SKIP }, async (t) => {
  const why = await restartUnavailable(url!);
  if (why) {
    t.skip(`PostgreSQL is not stopped by this test: ${why}`);
    return;
  }
  const acks: Ack[] = [];
  const sending = load('P', 4, 40, acks, 1000);
  while (acks.length < 20) await sleep(20);
  await clusterCtl('stop');
  const downAt = performance.now();
  // Short: other test runs on this machine share this PostgreSQL.
  await sleep(3000);
  const upAt = performance.now();
  await clusterCtl('start');
  const retransmissions = await sending;
  // An ACK already on its way when the server went down may be read just after: a 250 ms grace.
  const duringOutage = acks.filter((a) => a.at > downAt + 250 && a.at < upAt);
  assert.deepEqual(
    duringOutage.map((a) => a.controlId),
    [],
    'no positive ACK while PostgreSQL was down',
  );
  assert.equal(ingester.child.exitCode, null, 'the ingester kept running');
  await assertExactlyOnce('P', 160, acks);
  report('PostgreSQL stopped 3 s', { messages: 160, retransmissions, ackedBeforeStop: acks.filter((a) => a.at <= downAt).length });
});

test('Redis killed: ingestion continues (the wake-up is only a hint)', { skip: SKIP }, async (t) => {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    t.skip('redis-server is not installed');
    return;
  }
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  try {
    await ingester.stop();
    ingester = await startIngester(e, `redis://127.0.0.1:${port}`);
    const acks: Ack[] = [];
    await load('R1-', 2, 15, acks, 2000);
    await assertExactlyOnce('R1-', 30, acks);
    redis.kill('SIGKILL');
    await sleep(200);
    await load('R2-', 2, 15, acks, 3000);
    await assertExactlyOnce('R2-', 30, acks);
    assert.equal(ingester.child.exitCode, null, 'the ingester kept running');
  } finally {
    redis.kill('SIGKILL');
  }
});

test(
  'a poison message is dead-lettered and the next ones flow; a duplicate resend gets the same ACK and no second effect',
  {
    skip: SKIP,
  },
  async () => {
    const acks: Ack[] = [];
    // Parses (so it is ACKed and stored) but names no patient: translation refuses it for good.
    const poison = {
      controlId: 'POISON-1',
      text: `MSH|^~\\&|${SENDER.application}|${SENDER.facility}|PGW|PGW|20261205031500||ADT^A01|POISON-1|P|2.5\rEVN|A01|20261205031500\r`,
    };
    const next = admissions('X-', 5, 4000);
    await retransmittingSender(e.port, [poison, ...next], acks);
    await inboxSettled(e.db);
    const dead = await e.db.query<{ state: string; dead_reason: string }>(
      "SELECT state, dead_reason FROM inbox_message WHERE control_id = 'POISON-1'",
    );
    assert.deepEqual(
      dead.rows.map((r) => ({ ...r })),
      [{ state: 'dead', dead_reason: 'permanent' }],
    );
    const quarantined = await e.db.query("SELECT 1 FROM quarantine WHERE source = 'fault-feed' AND resource_id = 'POISON-1'");
    assert.equal(quarantined.rows.length, 1, 'quarantined with its reason');

    const resent: Ack[] = [];
    await retransmittingSender(e.port, [next[0]!], resent);
    assert.equal(resent[0]!.bytes, acks.find((a) => a.controlId === next[0]!.controlId)!.bytes, 'the stored ACK, byte for byte');
    await assertExactlyOnce(
      'X-',
      5,
      acks.filter((a) => a.controlId !== 'POISON-1'),
    );
  },
);
