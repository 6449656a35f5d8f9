// The audit log is append-only for the application only if the application's database role does
// not own it. As an operator would: a deployment whose application created its own tables is
// refused at start in production mode; `npm run audit:harden`, run as the owner, takes the tables
// back and limits the role; as that role, every way to rewrite the log fails, and the product
// still writes and reads audit rows. PostgreSQL only: PGlite has a single user.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openDatabase, type Database } from '../../../platform/db.ts';
import { listAuditPartitions } from '../../../orchestration/audit/retention.ts';
import { openStorage } from '../../../runtime/components.ts';
import { startStack, type Stack } from '../../../runtime/stack.ts';
import { databaseUrl, redisUrl, uniqueSchema } from '../../support/env.ts';
import { gql, TEST_POPULATION, tokenFor } from '../../support/stack.ts';

const CLI = fileURLToPath(new URL('../../../runtime/audit-harden.ts', import.meta.url));
const url = databaseUrl();
const schema = uniqueSchema('harden');
const role = `pgw_app_${randomBytes(4).toString('hex')}`;
/** The same server and database, logged in as the application role (CI trusts local connections). */
const appUrl = (() => {
  if (!url) return '';
  const u = new URL(url);
  u.username = role;
  u.password = '';
  return u.toString();
})();

function harden(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: url, DB_SCHEMA: schema, LOG_LEVEL: 'warn' };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe(
  'the application role and the audit log',
  { skip: url ? false : 'DATABASE_URL is not set: the role split needs PostgreSQL' },
  () => {
    let owner: Database;
    before(async () => {
      owner = await openDatabase({ url, schema });
      await owner.query(`CREATE ROLE ${role} LOGIN`);
      // As in a deployment where the application created the schema and its tables itself.
      await owner.query(`ALTER SCHEMA ${schema} OWNER TO ${role}`);
      await (await openStorage({ url: appUrl, schema })).close();
    });
    after(async () => {
      if (!owner) return;
      await owner.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await owner.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await owner.query(`DROP ROLE IF EXISTS ${role}`);
      await owner.close();
    });

    test('in production, a role that could rewrite the log is refused at start (or only warned, when the operator says so)', async () => {
      await assert.rejects(openStorage({ url: appUrl, schema }, { production: true }), (e: Error) => {
        assert.match(e.message, new RegExp(`role ${role} owns, or may act as the owner of, .*table audit_event,`));
        assert.match(e.message, /npm run audit:harden/);
        return true;
      });
      await assert.rejects(openStorage({ url, schema }, { production: true }), /is a superuser/);
      await (await openStorage({ url: appUrl, schema }, { production: true, auditRoleCheck: 'warn' })).close();
      await (await openStorage({ url: appUrl, schema }, { production: false })).close();
    });

    test('audit:harden takes the log back; as the application role, nothing rewrites it; the start-up check passes', async () => {
      const run = await harden('--app-role', role);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      assert.match(run.stdout, new RegExp(`taken back from ${role}: .*audit_event`));
      assert.match(run.stdout, /^ok: /m);
      const again = await harden('--app-role', role);
      assert.equal(again.code, 0, again.stderr);
      assert.doesNotMatch(again.stdout, /taken back/, 'idempotent');

      const app = await openStorage({ url: appUrl, schema }, { production: true });
      try {
        await app.query(
          `SELECT audit_append('[{"request_id":"r-app","subgraph":"mpi","actor_sub":"app","actor_roles":["clinician"],"fields":["Patient.id"],"decision":"permit"}]'::jsonb)`,
        );
        const partition = (await listAuditPartitions(app)).find((p) => !p.isDefault)!.name;
        for (const sql of [
          "UPDATE audit_event SET actor_sub = 'someone-else'",
          'DELETE FROM audit_event',
          'TRUNCATE audit_event',
          `TRUNCATE ${partition}`,
          `UPDATE ${partition} SET actor_sub = 'x'`,
          'ALTER TABLE audit_event DISABLE TRIGGER audit_append_only',
          'ALTER TABLE audit_event DISABLE TRIGGER ALL',
          'DROP TRIGGER audit_append_only ON audit_event',
          'DROP TRIGGER audit_no_truncate ON audit_event',
          `DROP TABLE ${partition}`,
          `ALTER TABLE audit_event DETACH PARTITION ${partition}`,
          'ALTER TABLE audit_event OWNER TO CURRENT_USER',
          "INSERT INTO audit_event (seq, recorded_at, request_id, subgraph, actor_sub, actor_roles, fields, decision, prev_hash, hash) VALUES (999, now(), 'x', 'x', 'x', '{}', '{}', 'permit', '\\x00', '\\x00')",
          'UPDATE audit_chain_head SET seq = 0',
          'CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$',
          'CREATE FUNCTION sha256(bytea) RETURNS bytea LANGUAGE sql AS $$ SELECT $1 $$',
          `DROP SCHEMA ${schema} CASCADE`,
        ])
          await assert.rejects(app.query(sql), /permission denied|must be owner|must be the owner/, sql);
        const { rows } = await app.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_event WHERE request_id = 'r-app'");
        assert.equal(rows[0]!.n, '1');
      } finally {
        await app.close();
      }
      // A privilege granted by hand later is caught at the next start too.
      await owner.query(`GRANT UPDATE, TRUNCATE ON audit_event TO ${role}`);
      await assert.rejects(
        openStorage({ url: appUrl, schema }, { production: true }),
        /may TRUNCATE on audit_event.*may UPDATE on audit_event|may UPDATE on audit_event/,
      );
      await owner.query(`REVOKE UPDATE, TRUNCATE ON audit_event FROM ${role}`);
    });

    test('the product runs as the application role: it links patients, writes and reads audit rows', async () => {
      let stack: Stack | undefined;
      try {
        stack = await startStack({
          databaseUrl: appUrl,
          redisUrl: redisUrl(),
          dbSchema: schema,
          simulators: TEST_POPULATION,
          ephemeralPorts: true,
        });
        assert.ok(
          stack.loadReports.every((r) => !r.failed && r.linked > 0),
          JSON.stringify(stack.loadReports),
        );
        const clinician = await tokenFor(stack, ['clinician']);
        const read = await gql<{ patients: { edges: { node: { id: string; birthDate: string } }[] } }>(
          stack,
          clinician.token,
          'query Chart { patients(first: 2) { edges { node { id birthDate } } } }',
        );
        assert.equal(read.body.errors, undefined, JSON.stringify(read.body.errors));
        const security = await tokenFor(stack, ['security']);
        const log = await gql<{ auditEvents: { edges: { node: { operationName: string; patientRef: string } }[] } }>(
          stack,
          security.token,
          'query ($a: String) { auditEvents(actor: $a) { edges { node { operationName patientRef } } } }',
          { a: clinician.sub },
        );
        assert.equal(log.body.errors, undefined, JSON.stringify(log.body.errors));
        assert.deepEqual(
          new Set(log.body.data!.auditEvents.edges.map((e) => e.node.patientRef)),
          new Set(read.body.data!.patients.edges.map((e) => `Patient/${e.node.id}`)),
        );
      } finally {
        await stack?.close();
      }
    });
  },
);
