// Group commit keeps receive()'s outcome per message: messages sent at once are stored in arrival
// order, a key sent twice at once is stored once (the second gets the first's ACK, or AR for other
// content), and a statement that fails acknowledges nobody.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../../platform/db.ts';
import { ProductError } from '../../platform/errors.ts';
import type { MpiTestDb } from '../mpi/test-helpers.ts';
import { groupReceive } from './group-receive.ts';
import { message, openInboxTestDb } from './test-helpers.ts';

let t: MpiTestDb;
before(async () => {
  t = await openInboxTestDb();
});
after(() => t.close());

const rows = async (prefix: string) =>
  (
    await t.db.query<{ control_id: string }>('SELECT control_id FROM inbox_message WHERE starts_with(control_id, $1) ORDER BY id', [prefix])
  ).rows.map((r) => r.control_id);

test('messages received at once: all committed, ids in arrival order, each with its own ACK', async () => {
  const receive = groupReceive(t.db, t.protection, { maxBatch: 4, maxInFlight: 1 });
  const sent = Array.from({ length: 10 }, (_, i) => message(`G-${String(i).padStart(2, '0')}`, { ack: `ACK ${i}` }));
  const results = await Promise.all(sent.map((m) => receive(m)));
  assert.deepEqual(
    results.map((r) => (r.status === 'accepted' ? r.ack.toString() : r.status)),
    sent.map((_, i) => `ACK ${i}`),
  );
  assert.deepEqual(
    await rows('G-'),
    sent.map((m) => m.key.controlId),
  );
});

test('one key twice at once: stored once; the same content gets the stored ACK, other content a conflict', async () => {
  const receive = groupReceive(t.db, t.protection);
  const [first, again, other] = await Promise.all([
    receive(message('D-1', { ack: 'first ACK' })),
    receive(message('D-1', { ack: 'second ACK' })),
    receive(message('D-1', { body: 'OTHERPERSON^BETA' })),
  ]);
  assert.equal(first!.status, 'accepted');
  assert.deepEqual(again!.status === 'duplicate' && again!.ack.toString(), 'first ACK');
  assert.equal(other!.status, 'conflict');
  assert.deepEqual(await rows('D-'), ['D-1']);
});

test('the database away: every message of the statement is refused (no ACK), nothing written', async () => {
  const away: Database = {
    ...t.db,
    query: async () => {
      throw new ProductError('DATABASE_UNAVAILABLE', 'the database is unreachable; retry shortly');
    },
  };
  const receive = groupReceive(away, t.protection);
  const outcomes = await Promise.allSettled([receive(message('U-1')), receive(message('U-2'))]);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['rejected', 'rejected'],
  );
  assert.deepEqual(await rows('U-'), []);
});
