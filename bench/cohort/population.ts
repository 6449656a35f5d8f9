// The cohort benchmark's population, in the product's own tables (golden_patient, source_record,
// clinical_item) in a schema of its own that is kept between runs and reused when it is complete.
//
// Distribution (BENCHMARKS.md, "Cohorts at a million patients"), deterministic per seed:
// - Golden patients: person(seed, i) of the MPI speed benchmark (bench/mpi/synthetic.ts): gender
//   49.5/49.5/0.5/0.5 %, birth dates 1920-2020, Zipf names and cities; one source record at
//   epic-main (E<i>), ~10 % a second one at cerner-main (C<i>, with registration errors); updated
//   over the two years before the build day. No merges, no match blocks (cohorts read neither).
// - Observations: 20 per patient on average (pairs of patients share 40: 6 to 34 each), 20,000,000
//   for a million. LOINC codes: systolic 18 %, diastolic 18 %, heart rate 14 %, weight 12 %,
//   glucose 10 %, BMI 8 %, HbA1c 6 %, creatinine 5 %, cholesterol 5 %, HDL 4 %; values roughly
//   normal in the code's preferred unit (config/units.json), higher for the 11 % "diabetic" (HbA1c
//   8.0 +- 1.5 % against 5.4 +- 0.35) and 30 % "hypertensive" patients; dates uniform over ten years.
// - Conditions: 2 per patient on average (pairs share 4: 0 to 4 each), 2,000,000 for a million,
//   ICD-10-CM: a diabetic patient's first is E11.9 (80 %) or E11.65, a hypertensive patient's next
//   is I10, the rest E78.5 22 %, M54.50 10 %, E66.9 10 %, F32.9 9 %, J45.909 8 %, K21.9 8 %,
//   F41.1 8 %, J06.9 8 %, Z00.00 8 %, G43.909 5 %, N18.3 4 %.
// - Items of a patient with two source records are split between them (40 % at cerner-main).
//
// Golden and source records are written from Node in batches; clinical items are generated inside
// PostgreSQL (INSERT ... SELECT over generate_series with a seeded hash, no client round trip) in
// the row shape the clinical store writes (resource, lineage, digests, codes); secondary indexes are
// dropped for the load and rebuilt from their own definitions after it, then the tables vacuumed.
import { createHash } from 'node:crypto';
import type { Database } from '../../platform/db.ts';
import { hasSecondRecord, person, secondRecord, type Person } from '../mpi/synthetic.ts';

export const SOURCES = { first: 'epic-main', second: 'cerner-main' } as const;
export const MRN_SYSTEMS = { first: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14', second: 'urn:oid:2.16.840.1.113883.6.1000' } as const;
export const META_TABLE = 'bench_cohort_population';
/** The day the population is dated to: clinical items fall in the ten years before it. */
export const BUILD_DAY = '2026-12-01';
const TABLES = ['golden_patient', 'source_record', 'clinical_item'] as const;
const GOLDEN_BATCH = 5000;
const PATIENTS_PER_CHUNK = 25_000;
const INDEX_BUILDS = 3;

export type PopulationSpec = { readonly seed: number; readonly patients: number };
export type PopulationSize = {
  readonly patients: number;
  readonly sourceRecords: number;
  readonly observations: number;
  readonly conditions: number;
};

/** A golden id derived from (seed, index): the same population gets the same ids at every build. */
export function goldenId(seed: number, index: number): string {
  const h = createHash('sha256').update(`bench-cohort:${seed}:${index}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const demographics = (p: Person) => ({
  name: { family: p.family, given: [p.given, ...(p.middle ? [p.middle] : [])] },
  birthDate: p.birthDate,
  gender: p.gender,
  address: { line: [p.address.line], city: p.address.city, state: p.address.state, postalCode: p.address.postalCode },
  phone: p.phone,
});

/** Golden rows and their source records for patients [from, to), as column arrays for unnest. */
function goldenBatch(spec: PopulationSpec, from: number, to: number) {
  const g = { id: [] as string[], name: [] as string[], birth: [] as string[], gender: [] as string[], ids: [] as string[] };
  const more = { addresses: [] as string[], telecom: [] as string[], updated: [] as string[] };
  const s = { source: [] as string[], pid: [] as string[], golden: [] as string[], mrn: [] as string[], demo: [] as string[] };
  const day0 = Date.parse(`${BUILD_DAY}T00:00:00Z`);
  for (let i = from; i < to; i++) {
    const p = person(spec.seed, i);
    const id = goldenId(spec.seed, i);
    const second = hasSecondRecord(spec.seed, i);
    g.id.push(id);
    g.name.push(JSON.stringify({ family: p.family, given: [p.given, ...(p.middle ? [p.middle] : [])] }));
    g.birth.push(p.birthDate);
    g.gender.push(p.gender);
    g.ids.push(
      JSON.stringify([{ system: MRN_SYSTEMS.first, value: `E${i}` }, ...(second ? [{ system: MRN_SYSTEMS.second, value: `C${i}` }] : [])]),
    );
    more.addresses.push(
      JSON.stringify([
        { use: 'home', line: [p.address.line], city: p.address.city, state: p.address.state, postalCode: p.address.postalCode },
      ]),
    );
    more.telecom.push(JSON.stringify(p.phone ? [{ system: 'phone', value: p.phone, use: 'home' }] : []));
    // Spread over two years, from a hash of the index (not its order): the UPDATED_AT order is not the build order.
    const spread = Number.parseInt(id.slice(0, 8), 16) / 2 ** 32;
    more.updated.push(new Date(day0 - Math.floor(spread * 730 * 86_400_000)).toISOString());
    const records: [string, string, Person][] = [[SOURCES.first, `E${i}`, p]];
    if (second) records.push([SOURCES.second, `C${i}`, secondRecord(spec.seed, i)]);
    for (const [source, pid, who] of records) {
      s.source.push(source);
      s.pid.push(pid);
      s.golden.push(id);
      s.mrn.push(pid);
      s.demo.push(JSON.stringify(demographics(who)));
    }
  }
  return { g, more, s };
}

async function insertGolden(db: Database, spec: PopulationSpec, from: number, to: number): Promise<void> {
  const { g, more, s } = goldenBatch(spec, from, to);
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO golden_patient (id, name, birth_date, gender, identifiers, addresses, telecom, created_at, updated_at, provisional)
       SELECT id, name, birth, gender, ids, addr, tel, upd, upd, false
       FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::jsonb[], $8::timestamptz[])
         AS x(id, name, birth, gender, ids, addr, tel, upd)`,
      [g.id, g.name, g.birth, g.gender, g.ids, more.addresses, more.telecom, more.updated],
    );
    await tx.query(
      `INSERT INTO source_record (source, source_patient_id, golden_id, mrn, demographics, link_state, link_origin, link_score, match_reason)
       SELECT source, pid, golden, mrn, demo, 'MATCH', 'AUTO', 1, 'BENCH_SYNTHETIC'
       FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::jsonb[]) AS x(source, pid, golden, mrn, demo)`,
      [s.source, s.pid, s.golden, s.mrn, s.demo],
    );
  });
}

// A uniform draw in [0, 1) from (key, salt) under the seed: hashint8extended is stable across PostgreSQL versions.
const U = (key: string, salt: number, seed: number) =>
  `((hashint8extended((${key}) * 32 + ${salt}, ${seed}) & 2147483647)::float8 / 2147483648.0)`;
// Roughly standard normal: three uniforms (Irwin-Hall), centred and scaled.
const Z = (key: string, salt: number, seed: number) =>
  `((${U(key, salt, seed)} + ${U(key, salt + 1, seed)} + ${U(key, salt + 2, seed)} - 1.5) * 2)`;

/** [code, share, display, unit, decimals, normal mean, sd, diabetic/hypertensive mean, sd, which flag] */
const OBSERVATION_CODES = [
  ['8480-6', 0.18, 'Systolic blood pressure', 'mm[Hg]', 0, 118, 10, 142, 14, 'htn'],
  ['8462-4', 0.18, 'Diastolic blood pressure', 'mm[Hg]', 0, 76, 7, 90, 9, 'htn'],
  ['8867-4', 0.14, 'Heart rate', '/min', 0, 74, 10, 74, 10, 'htn'],
  ['29463-7', 0.12, 'Body weight', 'kg', 1, 80, 16, 80, 16, 'htn'],
  ['2345-7', 0.1, 'Glucose', 'mg/dL', 0, 95, 12, 165, 45, 'diab'],
  ['39156-5', 0.08, 'Body mass index', 'kg/m2', 1, 28, 5, 28, 5, 'htn'],
  ['4548-4', 0.06, 'Hemoglobin A1c', '%', 1, 5.4, 0.35, 8, 1.5, 'diab'],
  ['2160-0', 0.05, 'Creatinine', 'mg/dL', 2, 0.95, 0.25, 0.95, 0.25, 'htn'],
  ['2093-3', 0.05, 'Cholesterol', 'mg/dL', 0, 195, 38, 195, 38, 'htn'],
  ['2085-9', 0.04, 'Cholesterol in HDL', 'mg/dL', 0, 52, 13, 52, 13, 'htn'],
] as const;
const OTHER_CONDITIONS = [
  ['E78.5', 0.22],
  ['M54.50', 0.1],
  ['E66.9', 0.1],
  ['F32.9', 0.09],
  ['J45.909', 0.08],
  ['K21.9', 0.08],
  ['F41.1', 0.08],
  ['J06.9', 0.08],
  ['Z00.00', 0.08],
  ['G43.909', 0.05],
  ['N18.3', 0.04],
] as const;
export const SHARES = { diabetic: 0.11, hypertensive: 0.3, secondSourceItems: 0.4 } as const;

const cumulative = <T>(rows: readonly (readonly [T, number, ...unknown[]])[]): [T, number][] => {
  let total = 0;
  return rows.map((r) => [r[0], (total += r[1])]);
};
/** CASE picking a value by a uniform draw over cumulative shares. */
const pickBy = (u: string, table: readonly [string, number][], value: (i: number) => string): string =>
  `(CASE ${table.map(([, c], i) => (i === table.length - 1 ? `ELSE ${value(i)}` : `WHEN ${u} < ${c.toFixed(4)} THEN ${value(i)}`)).join(' ')} END)`;

const lit = (s: string | number) => (typeof s === 'number' ? String(s) : `'${s.replace(/'/g, "''")}'`);

/**
 * One chunk of patients' clinical items: per patient p, its item count (pairs sharing a fixed
 * total), its flags, its second source record; per item k, the code, value, date and the record it is at.
 */
export function itemsSql(kind: 'Observation' | 'Condition', seed: number): string {
  const obs = kind === 'Observation';
  const perPair = obs ? 40 : 4;
  const spreadMax = obs ? 14 : 2;
  const uCode = U('x.key', 3, seed);
  const codeExpr = obs
    ? pickBy(uCode, cumulative(OBSERVATION_CODES), (i) => lit(OBSERVATION_CODES[i]![0]))
    : `(CASE WHEN x.k = 0 AND x.diab THEN (CASE WHEN ${U('x.key', 4, seed)} < 0.8 THEN 'E11.9' ELSE 'E11.65' END)
         WHEN x.k = (CASE WHEN x.diab THEN 1 ELSE 0 END) AND x.htn THEN 'I10'
         ELSE ${pickBy(uCode, cumulative(OTHER_CONDITIONS), (i) => lit(OTHER_CONDITIONS[i]![0]))} END)`;
  const valueExpr = obs
    ? `(CASE y.code ${OBSERVATION_CODES.map(
        ([code, , , , decimals, m, sd, fm, fsd, flag]) =>
          `WHEN ${lit(code)} THEN round((CASE WHEN y.${flag} THEN ${fm} + ${fsd} * y.z ELSE ${m} + ${sd} * y.z END)::numeric, ${decimals})`,
      ).join(' ')} END)`
    : 'NULL::numeric';
  const unitExpr = obs
    ? `(CASE y.code ${OBSERVATION_CODES.map(([code, , , unit]) => `WHEN ${lit(code)} THEN ${lit(unit)}`).join(' ')} END)`
    : 'NULL::text';
  const system = obs ? 'http://loinc.org' : 'http://hl7.org/fhir/sid/icd-10-cm';
  const coding = `'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('code', v.code, 'system', '${system}')))`;
  const subject = `'subject', jsonb_build_object('reference', 'Patient/' || v.subject)`;
  const resource = obs
    ? `jsonb_build_object('id', v.rid, ${coding}, 'status', 'final', ${subject}, 'resourceType', 'Observation',
        'valueQuantity', jsonb_build_object('code', v.unit, 'unit', v.unit, 'value', v.value, 'system', 'http://unitsofmeasure.org'),
        'effectiveDateTime', v.at_text)`
    : `jsonb_build_object('id', v.rid, ${coding}, ${subject}, 'resourceType', 'Condition', 'onsetDateTime', v.at_text,
        'clinicalStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('code', 'active',
          'system', 'http://terminology.hl7.org/CodeSystem/condition-clinical'))))`;
  const retrieved = `${BUILD_DAY}T00:00:00Z`;
  // Each LATERAL step is evaluated once per row (OFFSET 0 keeps the planner from inlining it, which
  // would evaluate the hashes and the resource again wherever they are used).
  return `
    WITH p AS MATERIALIZED (
      SELECT p, ${U('p / 2', 1, seed)} < ${SHARES.diabetic} AS diab, ${U('p / 2 + 7919', 1, seed)} < ${SHARES.hypertensive} AS htn,
        ${perPair / 2} + (CASE WHEN p % 2 = 0 THEN 1 ELSE -1 END) * floor(${U('p / 2', 2, seed)} * ${spreadMax + 1})::int AS n,
        EXISTS (SELECT 1 FROM source_record s WHERE s.source = '${SOURCES.second}' AND s.source_patient_id = 'C' || p) AS second
      FROM generate_series($1::bigint, $2::bigint - 1) AS p
    )
    INSERT INTO clinical_item (resource_type, source, resource_id, version, version_order, content_digest, subject_id, code_system, code,
      codes, effective_at, effective_precision, value_num, value_unit, original_value, original_unit, fact_key, resource, flags, lineage,
      message_id, map_ids, retrieved_at)
    SELECT '${kind}', y.source, v.rid, 'sha256:' || d.digest, '00000000000000000000|0000-01-01T00:00:00.000Z|${BUILD_DAY}T00:00:00.000Z',
      d.digest, v.subject, '${system}', y.code, ARRAY['${system}|' || y.code], y.at, 'second', v.value, v.unit,
      v.value::text, v.unit, md5(v.subject || '|' || y.code || '|' || v.at_text), w.resource, '[]',
      jsonb_build_object('source', y.source, 'version', 'sha256:' || d.digest, 'messageId', NULL, 'resourceId', v.rid,
        'retrievedAt', '${retrieved}', 'resourceType', '${kind}', 'softwareVersion', 'bench-cohort', 'transformations', '[]'::jsonb),
      NULL, '{}', '${retrieved}'
    FROM p
    CROSS JOIN LATERAL generate_series(0, p.n - 1) AS k
    CROSS JOIN LATERAL (SELECT p.p, k, p.diab, p.htn, p.second, (p.p * 64 + k) AS key, ${U('p.p * 64 + k', 3, seed)} AS u OFFSET 0) AS x
    CROSS JOIN LATERAL (
      SELECT x.*, ${codeExpr.replaceAll(uCode, 'x.u')} AS code, ${Z('x.key', 10, seed)} AS z,
        CASE WHEN x.second AND ${U('x.key', 5, seed)} < ${SHARES.secondSourceItems} THEN '${SOURCES.second}' ELSE '${SOURCES.first}' END AS source,
        date_trunc('second', '${BUILD_DAY}'::timestamptz - ${U('x.key', 6, seed)} * interval '3652 days') AS at
      OFFSET 0
    ) AS y
    CROSS JOIN LATERAL (
      SELECT y.code, '${obs ? 'o' : 'c'}' || y.p || '-' || y.k AS rid, CASE WHEN y.source = '${SOURCES.second}' THEN 'C' ELSE 'E' END || y.p AS subject,
        ${valueExpr} AS value, ${unitExpr} AS unit, to_char(y.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') AS at_text
      OFFSET 0
    ) AS v
    CROSS JOIN LATERAL (SELECT ${resource} AS resource OFFSET 0) AS w
    CROSS JOIN LATERAL (SELECT md5(w.resource::text) AS digest OFFSET 0) AS d`;
}

type SavedIndexes = {
  readonly indexes: readonly { name: string; def: string }[];
  readonly constraints: readonly { table: string; name: string; def: string }[];
};

/** The secondary indexes and unique constraints of the loaded tables (primary keys and the foreign keys on them stay). */
async function secondaryIndexes(db: Database): Promise<SavedIndexes> {
  const constraints = await db.query<{ table: string; name: string; def: string }>(
    `SELECT c.conrelid::regclass::text AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
     WHERE c.connamespace = current_schema()::regnamespace AND c.contype = 'u' AND c.conrelid::regclass::text = 'clinical_item'`,
  );
  const indexes = await db.query<{ name: string; def: string }>(
    `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
     WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[])
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.connamespace = current_schema()::regnamespace)
     ORDER BY i.tablename, i.indexname`,
    [[...TABLES]],
  );
  return { indexes: indexes.rows, constraints: constraints.rows };
}

type Meta = { spec?: PopulationSpec; size?: PopulationSize; complete?: boolean; saved?: SavedIndexes; seconds?: Record<string, number> };

async function readMeta(db: Database): Promise<Meta> {
  await db.query(`CREATE TABLE IF NOT EXISTS ${META_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)`);
  const { rows } = await db.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${META_TABLE}`);
  return Object.fromEntries(rows.map((r) => [r.key, r.value])) as Meta;
}
const writeMeta = (db: Database, key: keyof Meta, value: unknown) =>
  db.query(`INSERT INTO ${META_TABLE} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [
    key,
    JSON.stringify(value),
  ]);

/** Runs tasks [0, n) with at most `width` at once. */
async function pooled(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

const sameSpec = (a: PopulationSpec | undefined, b: PopulationSpec) => a?.seed === b.seed && a?.patients === b.patients;

/**
 * The population of `spec` in db's schema: reused when a complete one of the same spec is there,
 * otherwise (absent, another spec, or a build that was interrupted) built afresh.
 */
export async function ensurePopulation(
  db: Database,
  spec: PopulationSpec,
  log: (line: string) => void,
  width = 2,
): Promise<{ size: PopulationSize; reused: boolean; seconds: Record<string, number> }> {
  const meta = await readMeta(db);
  if (meta.complete && sameSpec(meta.spec, spec) && meta.size) return { size: meta.size, reused: true, seconds: meta.seconds ?? {} };
  const seconds: Record<string, number> = {};
  const timed = async (name: string, work: () => Promise<void>) => {
    const t = performance.now();
    await work();
    seconds[name] = Math.round((performance.now() - t) / 100) / 10;
    log(`population: ${name} in ${seconds[name]} s`);
  };
  await writeMeta(db, 'complete', false);
  await writeMeta(db, 'spec', spec);
  // An interrupted build dropped the indexes already: the definitions it saved are the ones to restore.
  const saved = meta.saved ?? (await secondaryIndexes(db));
  await writeMeta(db, 'saved', saved);
  await timed('empty tables and drop secondary indexes', async () => {
    await db.query(`TRUNCATE clinical_item, source_record, golden_patient CASCADE`, [], { unbounded: true });
    for (const c of saved.constraints) await db.query(`ALTER TABLE ${c.table} DROP CONSTRAINT IF EXISTS ${c.name}`);
    for (const i of saved.indexes) await db.query(`DROP INDEX IF EXISTS ${i.name}`);
  });
  const batches = Math.ceil(spec.patients / GOLDEN_BATCH);
  let done = 0;
  await timed('golden patients and source records', () =>
    pooled(batches, width, async (b) => {
      await insertGolden(db, spec, b * GOLDEN_BATCH, Math.min(spec.patients, (b + 1) * GOLDEN_BATCH));
      if (++done % 20 === 0) log(`population: golden ${Math.min(spec.patients, done * GOLDEN_BATCH).toLocaleString('en-US')}`);
    }),
  );
  for (const kind of ['Observation', 'Condition'] as const) {
    const sql = itemsSql(kind, spec.seed);
    const chunks = Math.ceil(spec.patients / PATIENTS_PER_CHUNK);
    let chunksDone = 0;
    await timed(`${kind} items`, () =>
      pooled(chunks, width, async (c) => {
        await db.transaction(
          async (tx) => {
            await tx.query('SET LOCAL synchronous_commit = off');
            // Compiling this one statement took the JIT most of a minute per chunk.
            await tx.query('SET LOCAL jit = off');
            await tx.query(sql, [c * PATIENTS_PER_CHUNK, Math.min(spec.patients, (c + 1) * PATIENTS_PER_CHUNK)]);
          },
          { unbounded: true },
        );
        log(`population: ${kind} chunk ${++chunksDone} / ${chunks}`);
      }),
    );
  }
  await timed('indexes rebuilt', async () => {
    for (const c of saved.constraints)
      await db.transaction(
        async (tx) => {
          await tx.query(`SET LOCAL maintenance_work_mem = '512MB'`);
          await tx.query(`ALTER TABLE ${c.table} ADD CONSTRAINT ${c.name} ${c.def}`);
        },
        { unbounded: true },
      );
    // Built three at a time: PostgreSQL's synchronized scans let them share one pass over the table.
    await pooled(saved.indexes.length, INDEX_BUILDS, (n) => {
      const i = saved.indexes[n]!;
      return db.transaction(
        async (tx) => {
          await tx.query(`SET LOCAL maintenance_work_mem = '512MB'`);
          await tx.query(i.def.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
        },
        { unbounded: true },
      );
    });
  });
  // The stored code tokens, as the clinical store's writer keeps them (items here are written by SQL, not by it).
  await timed('code tokens', async () => {
    await db.query(`TRUNCATE clinical_code_token`);
    await db.query(`INSERT INTO clinical_code_token (token) SELECT DISTINCT t FROM clinical_item, unnest(codes) AS t`, [], {
      unbounded: true,
    });
  });
  // The visibility map lets the cohort queries scan indexes only; statistics for the planner.
  await timed('vacuum analyze', async () => {
    for (const t of TABLES) await db.query(`VACUUM (ANALYZE) ${t}`, [], { unbounded: true });
  });
  const count = async (sql: string) => (await db.query<{ n: number }>(sql, [], { unbounded: true })).rows[0]!.n;
  // One pass over the items for both counts.
  const items = await db.query<{ t: string; n: number }>(
    `SELECT resource_type AS t, count(*)::int AS n FROM clinical_item GROUP BY 1`,
    [],
    {
      unbounded: true,
    },
  );
  const ofType = (t: string) => items.rows.find((r) => r.t === t)?.n ?? 0;
  const size: PopulationSize = {
    patients: await count(`SELECT count(*)::int AS n FROM golden_patient`),
    sourceRecords: await count(`SELECT count(*)::int AS n FROM source_record`),
    observations: ofType('Observation'),
    conditions: ofType('Condition'),
  };
  await writeMeta(db, 'size', size);
  await writeMeta(db, 'seconds', seconds);
  await db.query(`DELETE FROM ${META_TABLE} WHERE key = 'saved'`);
  await writeMeta(db, 'complete', true);
  return { size, reused: false, seconds };
}
