// Batch linking: the same engine, decision path (decision.ts) and tables as online linking (linking.ts), set-based.
// A chunk of new records is linked with a dozen statements instead of a dozen per record:
// candidates for the whole chunk in one query, every decision in memory (records of the chunk are
// candidates for the ones after them, in input order), then bulk inserts and one recomputation of
// the golden records touched. The batch lock is held exclusively meanwhile, so no online linker
// interleaves. On PostgreSQL the chunks of a call form a pipeline (linkPipelined). Records the MPI
// already knows are left alone when sent again unchanged; updates and repeats take the online path
// afterwards, so re-matching rules stay in one place.
import { randomUUID } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import type { Database, Queryable } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import type { SourceDemographics } from '../../translation/fhir-r4/patient.ts';
import type { MatchingConfig, NameFrequencies } from './matching/index.ts';
import {
  BATCH_LOCK,
  goldenColumns,
  goldenSources,
  inTransaction,
  isRetryable,
  appendLinkEvents,
  LINK_ORIGINS,
  LINK_STATES,
  queueReviews,
  recordKey,
  insertGoldens,
  SYSTEM_ACTOR,
  writeRecomputed,
  type GoldenSourceRow,
  type GoldenSources,
} from './golden.ts';
import { decideLink, linkChange, reviewsOf, sourceRecordRow, writeSourceRecords, type LinkDecision } from './decision.ts';
import { upkeepOf } from './upkeep.ts';
import {
  countTerms,
  defaultLinkConfig,
  frequenciesFor,
  linkPreparedRecord,
  linkSourceRecord,
  prepare,
  rankedCandidates,
  scoreCandidates,
  storedRecords,
  termCounts,
  type PendingCounts,
  unchangedOutcome,
  type Candidate,
  type LinkOptions,
  type LinkOutcome,
  type Prepared,
  type RankedCandidate,
} from './linking.ts';

/** Records per transaction: large enough to amortize round trips, small enough to keep locks short. */
export const BATCH_CHUNK = 500;

/**
 * A golden record the chunk decided to join was merged away after the chunk read it (SQLSTATE 40001 if it escapes: a lost race, worth
 * another try).
 */
class ChunkRaced extends Error {
  readonly code = '40001';
  constructor() {
    super('a golden record this chunk joins changed concurrently; link the chunk again');
  }
}

/**
 * Locks the existing golden records the chunk's decisions point to (joined, or queued for review)
 * and checks they are still active. Candidates' golden ids were read without locks: locking every
 * candidate's golden record (thousands per chunk) cost more than the rest of the chunk's reads.
 */
async function lockDecided(tx: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const wanted = [...new Set(ids)];
  const { rows } = await tx.query<{ id: string; version: string }>(
    "SELECT id, xmin::text AS version FROM golden_patient WHERE id = ANY($1::uuid[]) AND status = 'ACTIVE' ORDER BY id FOR UPDATE",
    [wanted],
  );
  if (rows.length !== wanted.length) throw new ChunkRaced();
  return new Map(rows.map((r) => [r.id, r.version]));
}

type Decided = {
  readonly p: Prepared;
  readonly goldenId: string;
  readonly created: boolean;
  readonly decision: LinkDecision;
};

/**
 * A chunk's decisions, and what the existing golden records they join are computed from, read while
 * deciding: the write recomputes them from it unless their version changed meanwhile, which keeps
 * that read off the write's path (the pipeline's slower half).
 */
type DecidedChunk = {
  readonly decisions: readonly Decided[];
  /** Golden records the chunk creates. */ readonly created: ReadonlySet<string>;
  readonly joined: ReadonlyMap<string, GoldenSources>;
};

/**
 * The golden records a decision's writes point to: the one it joins or creates, the one it is queued for review against, possible
 * duplicates.
 */
const referenced = (d: Decided): string[] => [
  d.goldenId,
  ...(d.decision.target && d.decision.state !== LINK_STATES.NO_MATCH ? [d.decision.target.goldenId] : []),
  ...d.decision.duplicates.map((s) => s.goldenId),
];

/** Records scored (or prepared) between two turns of the event loop: a few milliseconds of work. */
const YIELD_EVERY = 25;

const idOf = recordKey;

/** What a chunk's decisions need from the database: each record's stored candidates, and name frequencies. */
type ChunkReads = { readonly fromDb: ReadonlyMap<number, RankedCandidate[]>; readonly freq: NameFrequencies | undefined };

const readChunk = async (q: Queryable, chunk: Chunk, matching: MatchingConfig, protection: IdentifierProtection): Promise<ChunkReads> => {
  const [fromDb, freq] = await Promise.all([
    rankedCandidates(q, chunk.records, matching, protection),
    frequenciesFor(q, chunk.records, chunk.countsBefore),
  ]);
  return { fromDb, freq };
};

/**
 * A chunk of a batch, with the term counts of the batch's chunks before it: a batch counts its
 * records' names once, when it ends, so each chunk sees exactly the counts of the records linked
 * before it, whatever the timing of the pipeline's reads and writes.
 */
type Chunk = { readonly records: readonly Prepared[]; readonly countsBefore: PendingCounts };

/**
 * Every decision of a chunk, in input order. Candidates: the database's (`reads`), plus the records
 * of `previous` (the chunks before that were not committed when `reads` started, decided since) and
 * of this chunk before each record, found through their blocking keys in memory exactly as the
 * database would find them.
 */
async function decideChunk(
  q: Queryable,
  prepared: readonly Prepared[],
  reads: ChunkReads,
  matching: MatchingConfig,
  previous: readonly Decided[],
): Promise<DecidedChunk> {
  const { fromDb, freq } = reads;
  const inMemory = new Map<string, Candidate[]>();
  const remember = (d: Decided) => {
    const self: Candidate = { source: d.p.d.source, sourcePatientId: d.p.d.sourcePatientId, goldenId: d.goldenId, features: d.p.features };
    for (const k of d.p.blockKeys) (inMemory.get(k) ?? inMemory.set(k, []).get(k)!).push(self);
  };
  previous.forEach(remember);
  const decided: Decided[] = [];
  for (const [ord, p] of prepared.entries()) {
    // Let the event loop send the previous chunk's next write meanwhile (the pipeline's overlap).
    if (ord % YIELD_EVERY === YIELD_EVERY - 1) await turn();
    const shared = new Map<string, RankedCandidate>();
    for (const x of fromDb.get(ord) ?? []) shared.set(idOf(x.c), x);
    // A previous-chunk record that committed before the read is already counted, from the database.
    const counted = new Set(shared.keys());
    for (const k of p.blockKeys)
      for (const c of inMemory.get(k) ?? []) {
        const id = idOf(c);
        if (counted.has(id)) continue;
        shared.set(id, { c, shared: (shared.get(id)?.shared ?? 0) + 1 });
      }
    const candidates = [...shared.values()]
      .sort((a, b) => b.shared - a.shared)
      .slice(0, matching.blocking.capTotal)
      .map((x) => x.c);
    const decision = decideLink(scoreCandidates(p, candidates, matching, freq));
    const d: Decided = { p, goldenId: decision.joins ?? randomUUID(), created: decision.joins === null, decision };
    decided.push(d);
    remember(d);
  }
  // Golden records this chunk creates are not in the database yet: only the existing ones are read.
  const created = new Set(decided.filter((d) => d.created).map((d) => d.goldenId));
  const joined = await goldenSources(
    q,
    decided.filter((d) => !created.has(d.goldenId)).map((d) => d.goldenId),
  );
  return { decisions: decided, created, joined };
}

/** Writes a chunk's decisions: golden records, source records, blocking keys, identifiers, link history, review items. */
async function writeChunk(tx: Queryable, chunk: DecidedChunk, protection: IdentifierProtection, options: LinkOptions): Promise<void> {
  const decided = chunk.decisions;
  const survivorship = options.survivorship ?? defaultLinkConfig().survivorship;
  const { thresholds } = options.matching ?? defaultLinkConfig().matching;
  const who = options.actor ?? SYSTEM_ACTOR;
  const { created } = chunk;
  const versions = await lockDecided(
    tx,
    decided.flatMap(referenced).filter((id) => !created.has(id)),
  );
  // New golden records are inserted complete, from their records of this chunk.
  const newRows = new Map<string, GoldenSourceRow[]>();
  for (const d of decided)
    if (created.has(d.goldenId))
      (newRows.get(d.goldenId) ?? newRows.set(d.goldenId, []).get(d.goldenId)!).push({
        demographics: d.p.sealed,
        data_quality: d.p.flags,
        link_state: d.decision.state,
        link_origin: 'AUTO',
      });
  await insertGoldens(tx, new Map([...newRows].map(([id, rows]) => [id, goldenColumns(rows, {}, survivorship, protection)])));
  const ridOf = await writeSourceRecords(
    tx,
    decided.map((d) => sourceRecordRow(d.p, d.goldenId, d.decision)),
  );
  const blockRids: string[] = [];
  const blockKeys: string[] = [];
  for (const d of decided) {
    for (const k of d.p.blockKeys) {
      blockRids.push(ridOf.get(idOf(d.p.d))!);
      blockKeys.push(k);
    }
  }
  // Plain inserts: the records are new (a record's keys are distinct, its identifiers deduplicated below).
  await tx.query('INSERT INTO match_block (key, rid) SELECT * FROM unnest($1::bigint[], $2::bigint[])', [blockKeys, blockRids]);
  const identifiers = decided.flatMap((d) => {
    const own = new Map(
      d.p.d.identifiers.map((i) => {
        const value = protection.lookupValue(i.system, i.value);
        return [
          i.system + '\u0000' + value,
          { system: i.system, value, source: d.p.d.source, source_patient_id: d.p.d.sourcePatientId },
        ] as const;
      }),
    );
    return [...own.values()];
  });
  if (identifiers.length > 0)
    await tx.query(
      `INSERT INTO patient_identifier (system, value, source, source_patient_id) SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(system text, value text, source text, source_patient_id text)`,
      [JSON.stringify(identifiers)],
    );
  await appendLinkEvents(
    tx,
    decided.map((d) => linkChange(d.p.d, d.goldenId, null, d.decision)),
    who,
  );
  await queueReviews(
    tx,
    decided.flatMap((d) => reviewsOf(d.decision, d.p.d, d.goldenId, thresholds)),
  );

  // Existing golden records the chunk joined: recomputed from all of their records. Those unchanged
  // since the chunk was decided (same row version, held by our lock) from what was read then plus
  // this chunk's records; the others from a fresh read, which sees this chunk's inserts.
  const joining = Map.groupBy(
    decided.filter((d) => !created.has(d.goldenId)),
    (d) => d.goldenId,
  );
  const sources = new Map<string, Pick<GoldenSources, 'manual' | 'rows'>>(
    await goldenSources(
      tx,
      [...joining.keys()].filter((id) => chunk.joined.get(id)?.version !== versions.get(id)),
    ),
  );
  for (const [id, ds] of joining) {
    const read = chunk.joined.get(id);
    if (sources.has(id) || !read) continue;
    sources.set(id, {
      manual: read.manual,
      rows: [
        ...read.rows,
        ...ds.map((d) => ({
          demographics: d.p.sealed,
          data_quality: d.p.flags,
          link_state: d.decision.state,
          link_origin: LINK_ORIGINS.AUTO,
        })),
      ],
    });
  }
  await writeRecomputed(tx, sources, survivorship, protection);
}

const RACE_ATTEMPTS = 3;
const takeBatchLock = (tx: Queryable) => tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [BATCH_LOCK]);

/**
 * One chunk at a time, each in one transaction holding the batch lock (the embedded database has one connection). A lost race (ChunkRaced
 * included) is decided again by inTransaction's retry.
 */
async function linkOneByOne(
  db: Database,
  chunks: readonly Chunk[],
  protection: IdentifierProtection,
  matching: MatchingConfig,
  options: LinkOptions,
  onLinked: (d: readonly Decided[]) => Promise<void>,
): Promise<void> {
  for (const chunk of chunks) {
    const decided = await inTransaction(db, async (tx) => {
      await takeBatchLock(tx);
      const d = await decideChunk(tx, chunk.records, await readChunk(tx, chunk, matching, protection), matching, []);
      await writeChunk(tx, d, protection, options);
      return d.decisions;
    });
    await onLinked(decided);
  }
}

/**
 * The transaction holding the batch lock for a whole call: unbounded, because it waits for the lock
 * and then sits idle while the chunks are written on other connections, longer than a serving
 * process lets a statement or an idle transaction last.
 */
const holdingBatchLock = (db: Database, fn: (lock: Queryable) => Promise<void>): Promise<void> => db.transaction(fn, { unbounded: true });

/** Chunk writes in flight at once: the write half of the pipeline is PostgreSQL-bound, and two backends use the cores one leaves idle. */
const WRITERS = 2;

type Writing = { readonly at: number; readonly chunk: DecidedChunk; readonly done: Promise<unknown> };

/** Whether a chunk's writes reference golden records that another chunk's write creates (it must commit first). */
const dependsOn = (chunk: DecidedChunk, other: Writing): boolean =>
  chunk.decisions.some((d) => referenced(d).some((id) => other.chunk.created.has(id)));

/**
 * Chunks in a pipeline, on PostgreSQL: chunk n+2's candidates are read (on a connection of their own)
 * while chunk n+1 is scored (in this process) and chunks n and n-1 are written (a transaction each,
 * on connections of their own), so the parts of the work overlap instead of taking turns. What a read
 * cannot see yet (chunks not committed when it started) the decision gets from memory; a chunk that joins or points at a golden
 * record an uncommitted chunk creates waits for that chunk's commit. Golden records both writes lock
 * are locked in id order, so two writes never wait on each other in a cycle. A transaction on another
 * connection holds the batch lock for the whole call, so no online linker writes in between; online
 * linkers wait for the running call and the one queued behind it (a few chunks each), not longer.
 */
async function linkPipelined(
  db: Database,
  chunks: readonly Chunk[],
  protection: IdentifierProtection,
  matching: MatchingConfig,
  options: LinkOptions,
  onLinked: (d: readonly Decided[]) => Promise<void>,
): Promise<void> {
  // Not retried as a whole: chunks committed before a failure stay committed.
  await holdingBatchLock(db, async (lock) => {
    await takeBatchLock(lock);
    let retries = 0;
    const lostRace = (error: unknown): void => {
      if (!isRetryable(error) || ++retries >= RACE_ATTEMPTS * chunks.length) throw error;
    };
    const write = (chunk: DecidedChunk) => db.transaction((tx) => writeChunk(tx, chunk, protection, options));
    /**
     * A chunk whose write lost a race (e.g. a steward merged a golden record it joins), decided again from fresh reads and written alone.
     */
    const writeAlone = async (at: number): Promise<DecidedChunk> => {
      for (;;) {
        const chunk = await decideChunk(db, chunks[at]!.records, await readChunk(db, chunks[at]!, matching, protection), matching, []);
        try {
          await write(chunk);
          return chunk;
        } catch (error) {
          lostRace(error);
        }
      }
    };
    // Reads run one chunk ahead of decisions: chunk i+2's candidates are read while chunk i+1 is
    // scored. A read remembers how many chunks were committed when it started; the decisions of
    // the chunks after those (not visible to it) are added from memory.
    let settled = 0;
    const decisionsOf = new Map<number, readonly Decided[]>();
    const reads = new Map<number, { readonly after: number; readonly result: Promise<ChunkReads> }>();
    const startRead = (at: number): void => {
      if (at >= chunks.length || reads.has(at)) return;
      const result = readChunk(db, chunks[at]!, matching, protection);
      result.catch(() => undefined); // awaited when the chunk is decided
      reads.set(at, { after: settled, result });
    };
    const decideAt = async (at: number): Promise<DecidedChunk> => {
      startRead(at);
      const read = reads.get(at)!;
      reads.delete(at);
      const previous: Decided[] = [];
      for (let k = read.after; k < at; k++) previous.push(...decisionsOf.get(k)!);
      return decideChunk(db, chunks[at]!.records, await read.result, matching, previous);
    };
    const linked = async (at: number, decisions: readonly Decided[]): Promise<void> => {
      await onLinked(decisions);
      settled = at + 1;
      // Kept while a pending read may still need them.
      const oldest = Math.min(settled, ...[...reads.values()].map((r) => r.after));
      for (const k of decisionsOf.keys()) if (k < oldest) decisionsOf.delete(k);
    };
    const inflight: Writing[] = [];
    startRead(1);
    let decided = await decideAt(0);
    for (let i = 0; i < chunks.length; i++) {
      decisionsOf.set(i, decided.decisions);
      const after = inflight.filter((w) => dependsOn(decided, w)).map((w) => w.done);
      const chunk = decided;
      const done = Promise.allSettled(after).then(() => write(chunk));
      done.catch(() => undefined); // settled below, in order
      inflight.push({ at: i, chunk, done });
      const next = i + 1 < chunks.length ? decideAt(i + 1) : undefined;
      next?.catch(() => undefined);
      startRead(i + 2);
      let raced = false;
      // Settle the oldest writes first: outcomes are reported in input order.
      while (inflight.length >= WRITERS || (next === undefined && inflight.length > 0)) {
        const oldest = inflight[0]!;
        try {
          await oldest.done;
        } catch {
          raced = true;
          break;
        }
        inflight.shift();
        await linked(oldest.at, oldest.chunk.decisions);
      }
      if (raced) {
        // Everything in flight settles; the chunks that failed are linked again one by one, in order,
        // and the chunks after them are read and decided afresh (they were decided on the failed
        // ones' decisions).
        await Promise.allSettled([...inflight.map((w) => w.done), next, ...[...reads.values()].map((r) => r.result)]);
        reads.clear();
        for (const w of inflight.splice(0)) {
          const ok = await w.done.then(
            () => true,
            (error: unknown) => (lostRace(error), false),
          );
          const decisions = (ok ? w.chunk : await writeAlone(w.at)).decisions;
          decisionsOf.set(w.at, decisions);
          await linked(w.at, decisions);
        }
        if (next) {
          startRead(i + 2);
          decided = await decideAt(i + 1);
        }
        continue;
      }
      if (next) decided = await next;
    }
  });
}

/**
 * Links many records, in input order, in chunks of BATCH_CHUNK; outcomes come back in input order.
 * Records the store already knows (updates) and repeats within the call take the online path after
 * the new ones are linked, so re-matching rules stay in one place.
 */
export async function linkBatch(
  db: Database,
  records: readonly SourceDemographics[],
  protection: IdentifierProtection,
  options: LinkOptions = {},
): Promise<LinkOutcome[]> {
  const matching = options.matching ?? defaultLinkConfig().matching;
  const outcomes: LinkOutcome[] = new Array(records.length);
  // One read of the records the store already knows (deleted ones too: they take the online path).
  const stored = await storedRecords(db, records, { deleted: true });
  const seen = new Set<string>();
  const fresh: number[] = [];
  const later: number[] = [];
  /** Records the store knows, first time in this call: sent again exactly as stored, they are not linked again. */
  const again: number[] = [];
  records.forEach((d, i) => {
    const id = idOf(d);
    const known = stored.has(id);
    if (known && !seen.has(id)) again.push(i);
    if (known || seen.has(id)) later.push(i);
    else fresh.push(i);
    seen.add(id);
  });
  const unchanged = new Set<number>();
  /** Changed known records, prepared once: for the unchanged check, then for the online path. */
  const preparedAgain = new Map<number, Prepared>();
  for (const [n, i] of again.entries()) {
    if (n % YIELD_EVERY === YIELD_EVERY - 1) await turn();
    const p = prepare(records[i]!, protection, matching);
    const same = unchangedOutcome(stored.get(idOf(records[i]!)), p, protection);
    if (!same) {
      preparedAgain.set(i, p);
      continue;
    }
    outcomes[i] = same;
    unchanged.add(i);
  }
  const chunks: Chunk[] = [];
  const positions: number[][] = [];
  const counted = new Map<string, number>();
  let countedTotal = 0;
  for (let start = 0; start < fresh.length; start += BATCH_CHUNK) {
    const at = fresh.slice(start, start + BATCH_CHUNK);
    positions.push(at);
    const chunk: Prepared[] = [];
    for (const i of at) {
      if (chunk.length % YIELD_EVERY === YIELD_EVERY - 1) await turn();
      chunk.push(prepare(records[i]!, protection, matching));
    }
    const before = new Map<string, number>();
    for (const p of chunk) for (const t of p.terms) if (counted.has(t.term)) before.set(t.term, counted.get(t.term)!);
    chunks.push({ records: chunk, countsBefore: { total: countedTotal, counts: before } });
    for (const [t, k] of termCounts(chunk)) counted.set(t, (counted.get(t) ?? 0) + k);
    countedTotal += chunk.length;
  }
  let n = 0;
  const linked: Prepared[] = [];
  const onLinked = async (decided: readonly Decided[]) => {
    const at = positions[n++]!;
    decided.forEach(
      (d, j) =>
        (outcomes[at[j]!] = {
          goldenId: d.goldenId,
          created: d.created,
          decision: d.decision.state,
          score: d.decision.target?.comparison.probability ?? null,
          flags: d.p.flags,
        }),
    );
    linked.push(...decided.map((d) => d.p));
  };
  let failure: unknown = null;
  try {
    if (chunks.length > 0)
      await (db.kind === 'postgres' ? linkPipelined : linkOneByOne)(db, chunks, protection, matching, options, onLinked);
  } catch (error) {
    failure = error;
  }
  // What was linked is counted, also when a later chunk failed (committed chunks stay committed).
  if (linked.length > 0)
    await countTerms(db, linked).catch((error: unknown) => {
      failure ??= error;
    });
  if (failure) throw failure;
  upkeepOf(db).linked(fresh.length);
  for (const i of later) {
    if (unchanged.has(i)) continue;
    const p = preparedAgain.get(i);
    outcomes[i] = await (p ? linkPreparedRecord(db, p, protection, options) : linkSourceRecord(db, records[i]!, protection, options));
  }
  return outcomes;
}
