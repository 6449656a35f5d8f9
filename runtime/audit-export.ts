// `npm run audit:export -- --out audit.ndjson [--patient <golden id>] [--actor <sub>] [--from <instant>] [--to <instant>]`
// Exports the audit log as FHIR R4 AuditEvent resources (IHE BALP), one per line, newest first.
// The export is itself recorded in the audit log (who, purpose HOPERAT, how many rows, the file's
// SHA-256) BEFORE the file is put in place: an export that could not be recorded leaves no file.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { openDatabase } from '../platform/db.ts';
import { ProductError } from '../platform/errors.ts';
import { databaseOptionsFromEnv } from './components.ts';
import { writeAuditEvents } from '../orchestration/audit/audit-log.ts';
import { auditEventPage, toFhirAuditEvent } from '../orchestration/audit/query.ts';
import { runCommand, usageError } from './cli.ts';

const AUDIT_EXPORT_COMMAND = {
  name: 'audit:export',
  usage: 'npm run audit:export -- --out FILE [--patient ID] [--actor SUB] [--from INSTANT] [--to INSTANT] [--operator NAME]',
  description:
    'Writes the audit log as FHIR R4 AuditEvent resources (IHE BALP), one per line, newest first. The export itself is\n' +
    'recorded in the audit log first (operator, purpose HOPERAT, rows exported, SHA-256 of the file); FILE appears only then.',
  options: {
    out: { type: 'string', required: true, value: 'FILE', description: 'NDJSON file to write (mode 600)' },
    patient: { type: 'string', value: 'ID', description: "only this golden patient's rows (and its source records')" },
    actor: { type: 'string', value: 'SUB', description: 'only the rows of this actor (token subject)' },
    from: { type: 'string', value: 'INSTANT', description: 'only rows recorded at or after this ISO 8601 instant' },
    to: { type: 'string', value: 'INSTANT', description: 'only rows recorded before this ISO 8601 instant' },
    operator: { type: 'string', value: 'NAME', description: 'who is exporting, as recorded in the audit log (default os:<user name>)' },
  },
  example: 'npm run audit:export -- --out audit.ndjson --from 2025-01-01T00:00:00Z',
  notes: 'Storage as the product: DATABASE_URL, else the embedded database in DATA_DIR/pg (stop `npm start` first); schema DB_SCHEMA.',
} as const;

const instant = (name: string, value: string | undefined): string | undefined => {
  if (value !== undefined && Number.isNaN(Date.parse(value)))
    throw usageError(`--${name} must be an ISO 8601 instant such as 2025-01-31T00:00:00Z (got ${JSON.stringify(value)})`, name);
  return value;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

runCommand(AUDIT_EXPORT_COMMAND, async ({ values }) => {
  if (values.patient !== undefined && !UUID.test(values.patient))
    throw usageError(`--patient must be a golden patient id (a UUID), got ${JSON.stringify(values.patient)}`, 'patient');
  const patientId = values.patient?.toLowerCase();
  const filter = { patientId, actor: values.actor, from: instant('from', values.from), to: instant('to', values.to) };
  const operator = values.operator ?? `os:${userInfo().username}`;
  const db = await openDatabase(databaseOptionsFromEnv());
  const partial = `${values.out}.partial`;
  try {
    const table = (await db.query<{ t: string | null }>("SELECT to_regclass('audit_event')::text AS t")).rows[0];
    if (!table?.t) throw usageError(`no audit log in schema ${db.schema} (the product creates it when it starts)`);
    const out = createWriteStream(partial, { mode: 0o600 });
    const closed = new Promise<void>((resolve, reject) => out.once('close', resolve).once('error', reject));
    const digest = createHash('sha256');
    let written = 0;
    try {
      let before: string | null = null;
      for (;;) {
        const page = await auditEventPage(db, filter, 500, before);
        for (const e of page.events) {
          const line = `${JSON.stringify(toFhirAuditEvent(e))}\n`;
          digest.update(line);
          if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        }
        written += page.events.length;
        if (!page.hasNextPage) break;
        before = page.events.at(-1)!.seq;
      }
    } finally {
      out.end();
      await closed;
    }
    // Recorded before FILE exists: if the row cannot be written, nothing leaves the log unaudited.
    const requestId = `audit-export-${randomUUID()}`;
    await writeAuditEvents(
      db,
      {
        principal: {
          sub: operator,
          roles: ['security'],
          // Auditing is a health care operation (45 CFR 164.501).
          purposeOfUse: 'HOPERAT',
          clientId: 'audit-export',
          scopes: [],
          patientContext: patientId ?? null,
          breakGlassReason: null,
          clientIp: null,
          requestId,
        },
        subgraph: 'audit-export',
        operationName: 'audit:export',
        documentHash: digest.digest('hex'),
        outcome: 'success',
      },
      [{ patientRef: patientId ? `Patient/${patientId}` : 'AuditLog', fields: ['AuditEvent.fhir', `rows=${written}`] }],
      [],
    ).catch((error: unknown) => {
      throw new ProductError(
        'AUDIT_UNAVAILABLE',
        'the export could not be recorded in the audit log, so nothing was exported',
        {},
        { cause: error },
      );
    });
    await rename(partial, values.out);
    process.stdout.write(`${written} AuditEvent resources written to ${values.out} (recorded as ${requestId})\n`);
  } finally {
    await rm(partial, { force: true });
    await db.close();
  }
});
