// The loader's own database bounds: beside the serving pool (3 s statements), the initial load,
// sync and their appliers get a pool with LOADING_TIMEOUTS on the same schema, so a batch slowed by
// a busy machine does not fail a source's load; PGlite (no timeouts, one connection) is shared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropSchema, LOADING_TIMEOUTS, openDatabase, SERVING_TIMEOUTS } from '../platform/db.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';
import { openLoadingStorage, openStorage } from './components.ts';

test('the loader pool has the loading bounds, on the serving schema; embedded storage is shared', async () => {
  const url = databaseUrl();
  // Embedded: an in-memory PGlite is enough to see it shared (migrating it would only cost time).
  const serving = url
    ? await openStorage({ url, schema: uniqueSchema('load'), timeouts: SERVING_TIMEOUTS })
    : await openDatabase({ schema: uniqueSchema('load') });
  const loading = await openLoadingStorage(serving, url);
  try {
    if (!url) {
      assert.equal(loading.db, serving);
      return;
    }
    assert.notEqual(loading.db, serving);
    assert.equal(loading.db.schema, serving.schema);
    const timeout = async (db: typeof serving) => (await db.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0];
    assert.deepEqual(await timeout(serving), { statement_timeout: '3s' });
    assert.deepEqual(await timeout(loading.db), { statement_timeout: `${LOADING_TIMEOUTS.statementMs / 60_000}min` });
    // Same tables: what the loader writes, the serving side reads.
    await loading.db.query("INSERT INTO sync_watermark (connection_id, resource_type, watermark) VALUES ('c', 'Patient', now())");
    assert.equal((await serving.query('SELECT 1 FROM sync_watermark')).rows.length, 1);
  } finally {
    await loading.close();
    await dropSchema(serving);
    await serving.close();
  }
});
