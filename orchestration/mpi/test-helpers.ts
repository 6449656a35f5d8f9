// Shared by the MPI tests: a migrated database in a fresh schema (PostgreSQL when DATABASE_URL is
// set, else PGlite), field encryption with a throwaway key, and synthetic source records.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema, migrate, openDatabase, type Database, type Migration } from '../../platform/db.ts';
import { fieldCipher, loadFieldKeys } from '../../security/field-encryption.ts';
import { identifierProtection, type IdentifierProtection } from '../../security/identifier-protection.ts';
import { databaseUrl, uniqueSchema } from '../../test/support/env.ts';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import { MPI_MIGRATIONS } from './migrations.ts';

export type MpiTestDb = { readonly db: Database; readonly protection: IdentifierProtection; close(): Promise<void> };

/** Other stores' tests add their own migrations (applied after the MPI's) and a schema prefix. */
export type TestDbOptions = { readonly migrations?: readonly Migration[]; readonly prefix?: string; readonly maxConnections?: number };

export async function openMpiTestDb(options: TestDbOptions = {}): Promise<MpiTestDb> {
  const prefix = options.prefix ?? 'mpi';
  const db = await openDatabase({
    url: databaseUrl(),
    schema: uniqueSchema(prefix),
    ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
  });
  await migrate(db, [...MPI_MIGRATIONS, ...(options.migrations ?? [])]);
  const keysDir = mkdtempSync(join(tmpdir(), `${prefix}-keys-`));
  const protection = identifierProtection(fieldCipher(loadFieldKeys(keysDir, true)));
  return {
    db,
    protection,
    async close() {
      if (db.kind === 'postgres') await dropSchema(db);
      await db.close();
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

export const SSN = 'http://hl7.org/fhir/sid/us-ssn';

type PersonInput = {
  readonly source?: string;
  readonly id: string;
  readonly family?: string | null;
  readonly given?: readonly string[];
  readonly birthDate?: string | null;
  readonly gender?: string | null;
  readonly ssn?: string;
  readonly line?: string;
  readonly city?: string;
  readonly postalCode?: string;
  readonly phone?: string;
  readonly lastUpdated?: string;
  readonly suffix?: readonly string[];
};

/** A synthetic source record (invented people only). */
export function person(p: PersonInput): SourceDemographics {
  const source = p.source ?? 'epic-main';
  return {
    source,
    sourcePatientId: p.id,
    mrn: `MRN-${p.id}`,
    name:
      p.family === null && !p.given?.length
        ? null
        : { use: 'official', family: p.family ?? null, given: [...(p.given ?? [])], prefix: [], suffix: [...(p.suffix ?? [])], text: null },
    birthDate: p.birthDate === undefined ? '1970-03-14' : p.birthDate,
    birthDateAsRecorded: null,
    gender: p.gender === undefined ? 'female' : p.gender,
    identifiers: p.ssn ? [{ system: SSN, value: p.ssn, type: 'SS', source }] : [],
    addresses: p.line
      ? [{ use: 'home', line: [p.line], city: p.city ?? 'Springfield', state: 'IL', postalCode: p.postalCode ?? '62704', country: 'US' }]
      : [],
    telecom: p.phone ? [{ system: 'phone', value: p.phone, use: 'home' }] : [],
    lastUpdated: p.lastUpdated ?? '2026-01-01T00:00:00Z',
  };
}
