// Shared by the clinical store's tests: a database in a fresh schema (PostgreSQL when
// DATABASE_URL is set, else PGlite) with the MPI, quarantine and clinical tables, a throwaway
// field key, a query counter, and synthetic resources of two connections.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../platform/db.ts';
import { openMpiTestDb, type MpiTestDb } from '../mpi/test-helpers.ts';
import { QUARANTINE_MIGRATIONS } from '../../translation/quarantine.ts';
import { loadTerminology } from '../../translation/terminology/translate.ts';
import { CLINICAL_STORE_MIGRATIONS } from './migrations.ts';
import type { IngestContext } from './ingest.ts';

export type ClinicalTestDb = MpiTestDb;

export const openClinicalTestDb = (): Promise<ClinicalTestDb> =>
  openMpiTestDb({ migrations: [...QUARANTINE_MIGRATIONS, ...CLINICAL_STORE_MIGRATIONS], prefix: 'clin', maxConnections: 4 });

/** The same queryable, counting its statements. */
export function counting(db: Queryable): Queryable & { count: number } {
  const counter = {
    count: 0,
    query: (text: string, params?: readonly unknown[]) => {
      counter.count++;
      return db.query(text, params);
    },
  };
  return counter as Queryable & { count: number };
}

const terminology = loadTerminology();

export const EPIC = 'epic-a';
export const CERNER = 'cerner-b';
export const EPIC_GLUCOSE = { system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: '1510010' };

export const context = (source: string, retrievedAt = '2026-12-01T10:00:00Z'): IngestContext => ({
  source,
  timeZone: 'America/Chicago',
  retrievedAt,
  terminology,
  numbersAsStrings: true,
  softwareVersion: 'test-1',
});

type ObsInput = {
  readonly id: string;
  readonly patient: string;
  readonly coding?: { system: string; code: string };
  readonly at?: string;
  readonly value?: number | string;
  readonly unit?: string;
  readonly versionId?: string;
  readonly extra?: Record<string, unknown>;
};

export const observation = (o: ObsInput): Record<string, unknown> => ({
  resourceType: 'Observation',
  id: o.id,
  ...(o.versionId ? { meta: { versionId: o.versionId } } : {}),
  status: 'final',
  code: { coding: [o.coding ?? { system: 'http://loinc.org', code: '2339-0' }] },
  subject: { reference: `Patient/${o.patient}` },
  effectiveDateTime: o.at ?? '2026-11-30T14:00:00Z',
  valueQuantity: { value: o.value ?? 100, unit: o.unit ?? 'mg/dL' },
  ...o.extra,
});

/** A golden patient with one source record per [source, patient id]. */
export async function golden(db: Queryable, records: readonly (readonly [string, string])[]): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO golden_patient (id) VALUES ($1)', [id]);
  for (const [source, pid] of records)
    await db.query(`INSERT INTO source_record (source, source_patient_id, golden_id, demographics) VALUES ($1, $2, $3, '{}')`, [
      source,
      pid,
      id,
    ]);
  return id;
}
