// `npm run translation:report`: the vendor and local codes no concept map covers, per source, with
// how many stored items carry each and how many quarantined resources were flagged for one of
// their system (orchestration/quarantine/unmapped.ts). Read-only, in one read-only transaction:
// safe beside the running product (the embedded database is read from a copy while it runs).
//
//   npm run translation:report [-- --json] [--source ID]
import { unmappedCodes, type UnmappedCode } from '../orchestration/quarantine/unmapped.ts';
import { loadTerminology } from '../translation/terminology/translate.ts';
import { EXIT, runCommand, usageError } from './cli.ts';
import { openStorageForReading } from './storage-for-reading.ts';

const TRANSLATION_REPORT_COMMAND = {
  name: 'translation:report',
  usage: 'npm run translation:report [-- --json] [--source ID]',
  description:
    'Lists the codes no concept map covers, per source: how many stored items carry each (they were kept and flagged),\n' +
    'and how many quarantined resources were flagged for an unmapped code of each system (their codes stay sealed).',
  options: {
    json: { type: 'boolean', description: 'print the rows as JSON' },
    source: { type: 'string', value: 'ID', description: 'only this source connection' },
  },
  example: 'npm run translation:report -- --source epic-main',
  notes:
    'Read-only. Storage as the product: DATABASE_URL (schema DB_SCHEMA), else DATA_DIR/pg (a copy while the product runs).\n' +
    'Standard systems (and every concept map target) come from the concept maps configured now (CONCEPT_MAP_DIRS).',
} as const;

runCommand(TRANSLATION_REPORT_COMMAND, async ({ values }) => {
  const terminology = loadTerminology();
  const { db, note, cleanup } = await openStorageForReading('reported on');
  try {
    const tables = (
      await db.query<{ items: string | null; quarantine: string | null }>(
        "SELECT to_regclass('clinical_item')::text AS items, to_regclass('quarantine')::text AS quarantine",
      )
    ).rows[0];
    if (!tables?.items || !tables.quarantine)
      throw usageError(`no clinical store in schema ${db.schema} (the product creates it when it starts)`);
    const rows = await db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return unmappedCodes(tx, terminology.standardSystems);
    });
    const shown = values.source ? rows.filter((r) => r.source === values.source) : rows;
    if (values.json) process.stdout.write(`${JSON.stringify({ schema: db.schema, note, unmapped: shown }, null, 2)}\n`);
    else {
      if (note) process.stdout.write(`note: ${note}\n`);
      process.stdout.write(formatTable(shown));
    }
    return EXIT.ok;
  } finally {
    await db.close();
    cleanup();
  }
});

/** Aligned columns, counts right-aligned. */
function formatTable(rows: readonly UnmappedCode[]): string {
  if (rows.length === 0) return 'no unmapped codes\n';
  const header = ['SOURCE', 'SYSTEM', 'CODE', 'STORED', 'QUARANTINED'];
  const cells = rows.map((r) => [r.source, r.system || '(no system)', r.code ?? '(sealed)', String(r.stored), String(r.quarantined)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (i >= 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...cells.map(line)].join('\n')}\n`;
}
