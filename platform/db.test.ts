import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropSchema, migrate, openDatabase } from './db.ts';
import { databaseUrl, uniqueSchema } from '../test/support/env.ts';

const engines = [
  ['pglite', undefined],
  ['postgres', databaseUrl()],
] as const;

for (const [engine, url] of engines) {
  test(
    `${engine}: migrations apply once, transactions roll back, schemas isolate`,
    { skip: engine === 'postgres' && !url && 'DATABASE_URL is not set' },
    async () => {
      const db = await openDatabase({ url, schema: uniqueSchema('db') });
      try {
        const migrations = [{ id: 'm1', sql: 'CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1)' }];
        await migrate(db, migrations);
        await migrate(db, migrations);
        assert.deepEqual((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows, [{ n: 1 }]);
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.query('INSERT INTO t VALUES (2)');
            throw new Error('boom');
          }),
        );
        assert.deepEqual((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows, [{ n: 1 }]);
      } finally {
        await dropSchema(db);
        await db.close();
      }
    },
  );
}
