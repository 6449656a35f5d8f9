// Planner statistics and visibility maps of the tables a large load grows, kept current while it
// runs. Why: a table PostgreSQL has never analyzed gets default selectivities, so reading the
// records of 500 golden records (`golden_id = ANY(...)`) was planned as a scan of a fifth of
// source_record, and at a million records the joining phase of a load spent half its time there;
// and blocking-key lookups are index-only only where the visibility map says so. Autovacuum
// analyzes a table after 10% growth and vacuums it after 20%, when it runs at all (some
// deployments turn it off, as CI's PostgreSQL does), so during a load from empty it lags behind.
import type { Database } from '../../platform/db.ts';
import { logger } from '../../platform/log.ts';

const log = logger('mpi-upkeep');

/** What a load grows and then reads by index: blocking keys, source records, golden records, identifiers. */
export const UPKEEP_TABLES = ['match_block', 'source_record', 'golden_patient', 'patient_identifier', 'name_frequency'] as const;
/**
 * What a load rewrites rather than grows: every chunk adds to the counts of the same names, places
 * and population shards (a new row version each), so without a vacuum between the growth-paced
 * runs each count read and upsert wades through dead versions (3× slower at 200,000 records).
 * Small: a vacuum of it takes tens of milliseconds.
 */
export const CHURN_TABLES = ['name_frequency'] as const;

export type UpkeepPolicy = {
  /** Records linked before the first run, and at least between two runs. */
  readonly minRecords: number;
  /** Each later run once the records linked by this process grew by this factor (runs stay logarithmic in the load's size). */
  readonly growth: number;
  /** Records linked between two vacuums of CHURN_TABLES alone (between the full runs). */
  readonly churnEvery: number;
};

export const DEFAULT_UPKEEP: UpkeepPolicy = { minRecords: 20_000, growth: 1.25, churnEvery: 10_000 };

export type Upkeep = {
  /**
   * Counts records linked; past the policy's next mark, starts a VACUUM (ANALYZE) in the background (one at a time), and between
   * those a VACUUM of CHURN_TABLES every churnEvery records.
   */
  linked(records: number): void;
  /** Resolves when no run is in progress (a run that failed is logged, never thrown). */
  settled(): Promise<void>;
  /** Full runs completed so far. */
  readonly runs: number;
  /** Vacuums of CHURN_TABLES alone completed so far. */
  readonly churnRuns: number;
};

/**
 * Upkeep for one database. On PostgreSQL a run is one `VACUUM (ANALYZE)` of UPKEEP_TABLES on a
 * pooled connection of its own, beside the load (it takes no lock a writer waits for), and it
 * only visits pages changed since the last one. PGlite (one connection, small data) has none.
 */
export function createUpkeep(db: Database, policy: UpkeepPolicy = DEFAULT_UPKEEP): Upkeep {
  let linked = 0;
  let nextAt = policy.minRecords;
  let nextChurnAt = policy.churnEvery;
  let running: Promise<void> | null = null;
  let runs = 0;
  let churnRuns = 0;
  const run = async (full: boolean): Promise<void> => {
    const started = performance.now();
    try {
      if (full) await db.query(`VACUUM (ANALYZE) ${UPKEEP_TABLES.join(', ')}`, [], { unbounded: true });
      else await db.query(`VACUUM ${CHURN_TABLES.join(', ')}`, [], { unbounded: true });
      if (full) runs++;
      else churnRuns++;
      log.info(full ? 'tables_maintained' : 'counts_vacuumed', { linked, ms: Math.round(performance.now() - started) });
    } catch (error) {
      // Statistics are an optimization: a failed run (a role that does not own the tables, say) costs speed, not data.
      log.warn('table_upkeep_failed', { code: String((error as { code?: unknown }).code ?? 'unknown') });
    } finally {
      running = null;
    }
  };
  return {
    linked(records: number) {
      if (db.kind !== 'postgres') return;
      linked += records;
      if (running) return;
      if (linked >= nextAt) {
        nextAt = Math.max(linked + policy.minRecords, Math.ceil(linked * policy.growth));
        nextChurnAt = linked + policy.churnEvery;
        running = run(true);
      } else if (linked >= nextChurnAt) {
        nextChurnAt = linked + policy.churnEvery;
        running = run(false);
      }
    },
    settled: async () => {
      await running;
    },
    get runs() {
      return runs;
    },
    get churnRuns() {
      return churnRuns;
    },
  };
}

const perDatabase = new WeakMap<Database, Upkeep>();

/** The upkeep of a database, shared by every batch link of this process on it. */
export function upkeepOf(db: Database): Upkeep {
  let u = perDatabase.get(db);
  if (!u) perDatabase.set(db, (u = createUpkeep(db)));
  return u;
}
