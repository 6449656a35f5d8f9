// `npm run audit:export -- --out audit.ndjson [--patient <golden id>] [--actor <sub>] [--from <instant>] [--to <instant>]`
// Exports the audit log as FHIR R4 AuditEvent resources (IHE BALP), one per line, newest first.
// The export is itself recorded in the audit log, with the operating-system user as the actor.
import { createWriteStream } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { openDatabase } from '../platform/db.ts';
import { databaseOptionsFromEnv } from './components.ts';
import { writeAuditEvents } from '../orchestration/audit/audit-log.ts';
import { auditEventPage, toFhirAuditEvent } from '../orchestration/audit/query.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    patient: { type: 'string' },
    actor: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  },
});
if (!values.out) {
  process.stderr.write('usage: npm run audit:export -- --out FILE [--patient ID] [--actor SUB] [--from ISO] [--to ISO]\n');
  process.exit(2);
}
const db = await openDatabase(databaseOptionsFromEnv());
const out = createWriteStream(values.out, { mode: 0o600 });
try {
  let before: string | null = null;
  let written = 0;
  for (;;) {
    const page = await auditEventPage(
      db,
      { patientId: values.patient, actor: values.actor, from: values.from, to: values.to },
      500,
      before,
    );
    for (const e of page.events) out.write(`${JSON.stringify(toFhirAuditEvent(e))}\n`);
    written += page.events.length;
    if (!page.hasNextPage) break;
    before = page.events.at(-1)!.seq;
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  await writeAuditEvents(
    db,
    {
      principal: {
        sub: `os:${userInfo().username}`,
        roles: ['security'],
        purposeOfUse: null,
        clientId: 'audit-export',
        scopes: [],
        patientContext: values.patient ?? null,
        breakGlassReason: null,
        clientIp: null,
        requestId: `export-${Date.now()}`,
      },
      subgraph: 'audit-export',
      operationName: 'audit:export',
    },
    [{ patientRef: values.patient ? `Patient/${values.patient}` : 'AuditLog', fields: ['AuditEvent.fhir'] }],
    [],
  );
  process.stdout.write(`${written} AuditEvent resources written to ${values.out}\n`);
} finally {
  await db.close();
}
