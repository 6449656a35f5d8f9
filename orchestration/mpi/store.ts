// The MPI store: golden records and the source records linked to them, in PostgreSQL. Linking
// is transactional and serialized per match key, so two records of one new person arriving at
// the same moment produce one golden record, not two.
import { randomUUID } from 'node:crypto';
import type { Database, Migration, Queryable } from '../../platform/db.ts';
import type { Address, ContactPoint, HumanName, Identifier } from '../../schema/__generated__/canonical.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import { deterministicMatchKey } from './match-key.ts';

export const MPI_MIGRATIONS: readonly Migration[] = [
  {
    id: 'mpi-001-golden-and-links',
    sql: `
      CREATE TABLE IF NOT EXISTS golden_patient (
        id uuid PRIMARY KEY,
        name jsonb,
        birth_date text,
        gender text,
        identifiers jsonb NOT NULL DEFAULT '[]',
        addresses jsonb NOT NULL DEFAULT '[]',
        telecom jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS source_record (
        source text NOT NULL,
        source_patient_id text NOT NULL,
        golden_id uuid NOT NULL REFERENCES golden_patient (id),
        mrn text,
        match_key text,
        demographics jsonb NOT NULL,
        source_updated_at text,
        linked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, source_patient_id)
      );
      CREATE INDEX IF NOT EXISTS source_record_golden ON source_record (golden_id);
      CREATE INDEX IF NOT EXISTS source_record_match_key ON source_record (match_key);
      CREATE TABLE IF NOT EXISTS patient_identifier (
        system text NOT NULL,
        value text NOT NULL,
        source text NOT NULL,
        source_patient_id text NOT NULL,
        PRIMARY KEY (system, value, source, source_patient_id),
        FOREIGN KEY (source, source_patient_id) REFERENCES source_record (source, source_patient_id) ON DELETE CASCADE
      )`,
  },
];

export type GoldenPatient = {
  readonly id: string;
  readonly name: HumanName | null;
  readonly birthDate: string | null;
  readonly gender: string | null;
  readonly identifiers: readonly Identifier[];
  readonly addresses: readonly Address[];
  readonly telecom: readonly ContactPoint[];
};

export type SourceLink = { readonly goldenId: string; readonly source: string; readonly sourcePatientId: string; readonly mrn: string | null };

type GoldenRow = { id: string; name: HumanName | null; birth_date: string | null; gender: string | null; identifiers: Identifier[]; addresses: Address[]; telecom: ContactPoint[] };
const toGolden = (r: GoldenRow): GoldenPatient => ({ id: r.id, name: r.name, birthDate: r.birth_date, gender: r.gender, identifiers: r.identifiers, addresses: r.addresses, telecom: r.telecom });
const GOLDEN_COLUMNS = 'id, name, birth_date, gender, identifiers, addresses, telecom';

/**
 * Survivorship (initial rule): demographics from the most recently updated linked source record;
 * identifiers are the union of all linked records'. The source of each value is kept in the link.
 */
export function survive(records: readonly SourceDemographics[]): Omit<GoldenPatient, 'id'> {
  const newest = [...records].sort((a, b) => (b.lastUpdated ?? '').localeCompare(a.lastUpdated ?? ''))[0];
  const seen = new Set<string>();
  const identifiers = records
    .flatMap((r) => r.identifiers)
    .filter((i) => {
      const key = `${i.system}|${i.value}|${i.source ?? ''}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
  return {
    name: newest?.name ?? null,
    birthDate: newest?.birthDate ?? null,
    gender: newest?.gender ?? null,
    identifiers,
    addresses: newest?.addresses ?? [],
    telecom: newest?.telecom ?? [],
  };
}

async function recomputeGolden(tx: Queryable, goldenId: string): Promise<void> {
  const { rows } = await tx.query<{ demographics: SourceDemographics }>('SELECT demographics FROM source_record WHERE golden_id = $1', [goldenId]);
  const g = survive(rows.map((r) => r.demographics));
  await tx.query(
    'UPDATE golden_patient SET name = $2, birth_date = $3, gender = $4, identifiers = $5, addresses = $6, telecom = $7, updated_at = now() WHERE id = $1',
    [goldenId, JSON.stringify(g.name), g.birthDate, g.gender, JSON.stringify(g.identifiers), JSON.stringify(g.addresses), JSON.stringify(g.telecom)],
  );
}

/** How a source record's link was decided (README, "Patient matching"). */
export const LINK_STATES = { MATCH: 'MATCH', POSSIBLE_MATCH: 'POSSIBLE_MATCH', NO_MATCH: 'NO_MATCH' } as const;
export type LinkState = (typeof LINK_STATES)[keyof typeof LINK_STATES];

export type LinkOutcome = {
  readonly goldenId: string;
  /** A new (provisional) golden record was created for this source record. */
  readonly created: boolean;
  readonly decision: LinkState;
  /** Match probability against the chosen golden record (or the best candidate); null without candidates. */
  readonly score: number | null;
  /** Data-quality flags of the record (for example NO_BIRTH_DATE); never silently linked on flagged data. */
  readonly flags: readonly string[];
};

/**
 * Links (or re-links after an update) one source record. An existing link is kept; a new record
 * joins the golden record of another record with the same match key, or starts a new one.
 * Protected identifier values (SSN) are stored encrypted, and indexed by their blind index.
 */
export async function linkSourceRecord(db: Database, d: SourceDemographics, protection: IdentifierProtection): Promise<LinkOutcome> {
  const stored: SourceDemographics = { ...d, identifiers: protection.seal(d.identifiers) };
  const matchKey = deterministicMatchKey(d);
  return db.transaction(async (tx) => {
    // Serialize on the match key (or the record itself when it has none) across processes.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [matchKey ?? `${d.source}|${d.sourcePatientId}`]);
    const existing = await tx.query<{ golden_id: string }>('SELECT golden_id FROM source_record WHERE source = $1 AND source_patient_id = $2', [d.source, d.sourcePatientId]);
    let goldenId = existing.rows[0]?.golden_id;
    let created = false;
    if (!goldenId && matchKey) {
      const match = await tx.query<{ golden_id: string }>('SELECT golden_id FROM source_record WHERE match_key = $1 ORDER BY linked_at LIMIT 1', [matchKey]);
      goldenId = match.rows[0]?.golden_id;
    }
    if (!goldenId) {
      goldenId = randomUUID();
      created = true;
      await tx.query('INSERT INTO golden_patient (id) VALUES ($1)', [goldenId]);
    }
    await tx.query(
      `INSERT INTO source_record (source, source_patient_id, golden_id, mrn, match_key, demographics, source_updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (source, source_patient_id) DO UPDATE SET mrn = EXCLUDED.mrn, match_key = EXCLUDED.match_key, demographics = EXCLUDED.demographics, source_updated_at = EXCLUDED.source_updated_at`,
      [d.source, d.sourcePatientId, goldenId, d.mrn, matchKey, JSON.stringify(stored), d.lastUpdated],
    );
    await tx.query('DELETE FROM patient_identifier WHERE source = $1 AND source_patient_id = $2', [d.source, d.sourcePatientId]);
    const ids = d.identifiers.map((i) => [i.system, protection.lookupValue(i.system, i.value)]);
    if (ids.length > 0) {
      await tx.query(
        `INSERT INTO patient_identifier (system, value, source, source_patient_id)
         SELECT x->>0, x->>1, $1, $2 FROM jsonb_array_elements($3::jsonb) AS x ON CONFLICT DO NOTHING`,
        [d.source, d.sourcePatientId, JSON.stringify(ids)],
      );
    }
    await recomputeGolden(tx, goldenId);
    return { goldenId, created, decision: created ? LINK_STATES.NO_MATCH : LINK_STATES.MATCH, score: null, flags: [] };
  });
}

export async function goldenByIds(db: Queryable, ids: readonly string[], protection: IdentifierProtection): Promise<Map<string, GoldenPatient>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<GoldenRow>(`SELECT ${GOLDEN_COLUMNS} FROM golden_patient WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((r) => [r.id, { ...toGolden(r), identifiers: protection.reveal(r.identifiers) }]));
}

export async function goldenIdByIdentifier(db: Queryable, system: string, value: string, protection: IdentifierProtection): Promise<string | undefined> {
  const { rows } = await db.query<{ golden_id: string }>(
    `SELECT s.golden_id FROM patient_identifier i JOIN source_record s USING (source, source_patient_id)
     WHERE i.system = $1 AND i.value = $2 ORDER BY s.linked_at LIMIT 1`,
    [system, protection.lookupValue(system, value)],
  );
  return rows[0]?.golden_id;
}

export type CohortFilter = {
  readonly onlyId?: string | null;
  readonly gender?: string | null;
  readonly birthYearFrom?: number | null;
  readonly birthYearTo?: number | null;
  readonly postalCodePrefix?: string | null;
  readonly source?: string | null;
};

/** The cohort's WHERE clause; parameters $1..$6 in the order of cohortParams. */
const COHORT_WHERE = `($1::uuid IS NULL OR g.id = $1::uuid)
  AND ($2::text IS NULL OR g.gender = $2)
  AND ($3::int IS NULL OR substring(g.birth_date from 1 for 4)::int >= $3)
  AND ($4::int IS NULL OR substring(g.birth_date from 1 for 4)::int <= $4)
  AND ($5::text IS NULL OR left(g.addresses->0->>'postalCode', 3) = $5)
  AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM source_record s WHERE s.golden_id = g.id AND s.source = $6))`;
const cohortParams = (f: CohortFilter): unknown[] => [f.onlyId ?? null, f.gender ?? null, f.birthYearFrom ?? null, f.birthYearTo ?? null, f.postalCodePrefix ?? null, f.source ?? null];

/** Golden patients of a cohort ordered by id, after the given id (keyset pagination), plus the cohort size. */
export async function goldenPage(db: Queryable, protection: IdentifierProtection, first: number, afterId: string | undefined, filter: CohortFilter = {}): Promise<{ patients: GoldenPatient[]; hasNextPage: boolean; totalCount: number }> {
  const params = cohortParams(filter);
  const { rows } = await db.query<GoldenRow>(
    `SELECT ${GOLDEN_COLUMNS.split(', ').map((c) => `g.${c}`).join(', ')} FROM golden_patient g WHERE ${COHORT_WHERE} AND ($7::uuid IS NULL OR g.id > $7::uuid) ORDER BY g.id LIMIT $8`,
    [...params, afterId ?? null, first + 1],
  );
  const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM golden_patient g WHERE ${COHORT_WHERE}`, params);
  return { patients: rows.slice(0, first).map((r) => ({ ...toGolden(r), identifiers: protection.reveal(r.identifiers) })), hasNextPage: rows.length > first, totalCount: total.rows[0]?.n ?? 0 };
}

export async function linksForGolden(db: Queryable, goldenIds: readonly string[]): Promise<Map<string, SourceLink[]>> {
  const result = new Map<string, SourceLink[]>(goldenIds.map((id) => [id, []]));
  if (goldenIds.length === 0) return result;
  const { rows } = await db.query<{ golden_id: string; source: string; source_patient_id: string; mrn: string | null }>(
    'SELECT golden_id, source, source_patient_id, mrn FROM source_record WHERE golden_id = ANY($1::uuid[]) ORDER BY source, source_patient_id',
    [goldenIds],
  );
  for (const r of rows) result.get(r.golden_id)?.push({ goldenId: r.golden_id, source: r.source, sourcePatientId: r.source_patient_id, mrn: r.mrn });
  return result;
}

export async function linkBySourceRecord(db: Queryable, source: string, sourcePatientId: string): Promise<SourceLink | undefined> {
  const { rows } = await db.query<{ golden_id: string; mrn: string | null }>('SELECT golden_id, mrn FROM source_record WHERE source = $1 AND source_patient_id = $2', [source, sourcePatientId]);
  const r = rows[0];
  return r ? { goldenId: r.golden_id, source, sourcePatientId, mrn: r.mrn } : undefined;
}
